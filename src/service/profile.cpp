#include "service/profile.h"

#include "protocol/text.h"

namespace bcauth::service {

Poco::JSON::Object::Ptr customerFrom(const store::Provider& provider, const Poco::JSON::Object::Ptr& claims) {
  auto customer = Poco::JSON::Object::Ptr(new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER));
  if (provider.profileFields.empty()) {
    for (const char* claim : {"sub", "email", "name"}) {
      if (claims->has(claim)) customer->set(claim, claims->get(claim));
    }
  }
  for (const auto& [field, claim] : provider.profileFields) {
    if (claims->has(claim)) customer->set(field, claims->get(claim));
  }
  return customer;
}

void addProfile(ConclusionData& data, const store::Provider& provider, const clients::UserinfoResponse& profile) {
  if (profile.failure == clients::IdpFailure::kNone) data.customer = customerFrom(provider, profile.claims);
  else data.profileError = protocol::boundedText(profile.detail);
}

}  // namespace bcauth::service
