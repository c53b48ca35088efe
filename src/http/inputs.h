// The CSP API's request bodies read into the service's typed inputs. Errors name the field by
// its dotted path ({"error":{"code":"invalid_argument","field":"images[0].data",…}}); what the
// values mean (a known provider, a scope it offers, a URL bcauth may call) is the service's to
// check.
#pragma once

#include <optional>
#include <string>

#include <Poco/JSON/Object.h>

#include "bcauth/status.h"
#include "service/admin.h"
#include "service/requests.h"
#include "service/tenancy.h"

namespace bcauth::http::inputs {

using Body = Poco::JSON::Object::Ptr;

Result<service::ProviderInput> provider(const Body& body);
Result<service::WebhookInput> webhook(const Body& body);
Result<service::CreateRequestInput> createRequest(const Body& body);
Result<service::BusinessInput> business(const Body& body);
Result<service::ApiKeyInput> apiKey(const Body& body);

// A create's Idempotency-Key with the SHA-256 of its body's canonical JSON (key order, spacing
// and escaping do not change it); none without a key.
std::optional<service::IdempotencyKey> idempotencyKey(const std::optional<std::string>& key, const Body& body);

}  // namespace bcauth::http::inputs
