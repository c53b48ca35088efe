// The service reached as the HTTP edge reaches it — JSON bodies read by http::inputs, answers
// shown by http::views — for tests that drive the use cases directly, without a server.
#pragma once

#include <optional>
#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "http/inputs.h"
#include "http/views.h"
#include "service/auth_service.h"
#include "test_support.h"

namespace bcauth::test {

inline Poco::JSON::Object::Ptr json(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

inline Result<Poco::JSON::Object::Ptr> putProvider(service::AuthService& s, const std::string& id,
                                                   const Poco::JSON::Object::Ptr& body) {
  return http::views::of(s.admin.putProvider(test::kOperator, id, http::inputs::provider(body)));
}

// POST /v1/auth-requests: the request's view and whether it was made now (false: a replay).
struct CreatedView {
  Poco::JSON::Object::Ptr body;
  bool created = true;
};

inline Result<CreatedView> createRequest(service::AuthService& s, const Poco::JSON::Object::Ptr& body,
                                         const std::optional<std::string>& key,
                                         const service::Requests::Admission& admit = {}) {
  auto created = s.requests.create(test::kOperator, http::inputs::createRequest(body), http::inputs::idempotencyKey(key, body), admit);
  if (!created) return created.status();
  return CreatedView{json(http::views::request(created->state)), created->created};
}

}  // namespace bcauth::test
