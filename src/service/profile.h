// The customer's profile as auth.succeeded carries it (both flows fetch it from the IdP's
// userinfo URL: the legacy one after the reply, the v2 one in the callback).
#pragma once

#include <Poco/JSON/Object.h>

#include "clients/idp_client.h"
#include "service/event_codec.h"
#include "store/store.h"

namespace bcauth::service {

// The customer{…}: the provider's profileFields (customer field → claim), or sub, email and
// name when it maps none.
Poco::JSON::Object::Ptr customerFrom(const store::Provider& provider, const Poco::JSON::Object::Ptr& claims);

// A profile fetch's result into the event: customer{…}, or profileError. A profile failure does
// not undo the sign-in: it is recorded beside it.
void addProfile(ConclusionData& data, const store::Provider& provider, const clients::UserinfoResponse& profile);

}  // namespace bcauth::service
