// JSON Schema validation through valijson's Poco adapter. Each schema is parsed once, on first
// use; validation itself keeps no state between calls.
#include "bcauth/schema.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <Poco/JSON/Parser.h>
#include <valijson/adapters/poco_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace bcauth::protocol {
namespace detail {
extern const std::pair<std::string_view, std::string_view> kEmbeddedSchemas[];
extern const std::size_t kEmbeddedSchemaCount;
}  // namespace detail

namespace {

constexpr SchemaKind kKinds[] = {SchemaKind::kAuthenticateRequest, SchemaKind::kAuthenticateReply,
                                 SchemaKind::kInboundMessage};

struct CompiledSchemas {
  valijson::Schema schemas[std::size(kKinds)];

  CompiledSchemas() {
    for (std::size_t i = 0; i < std::size(kKinds); ++i) {
      Poco::JSON::Parser parser;
      const Poco::Dynamic::Var document = parser.parse(std::string(schemaText(kKinds[i])));
      valijson::SchemaParser schemaParser(valijson::SchemaParser::kDraft7);
      schemaParser.populateSchema(valijson::adapters::PocoJsonAdapter(document), schemas[i]);
    }
  }
};

const valijson::Schema& compiled(SchemaKind kind) {
  static const CompiledSchemas all;  // thread-safe one-time initialisation
  return all.schemas[static_cast<std::size_t>(kind)];
}

// valijson's context is {"<root>", "[interactiveData]", "[data]", "[0]"} → "/interactiveData/data/0".
std::string toPointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    pointer.push_back('/');
    for (char c : std::string_view(part).substr(1, part.size() - 2)) {
      if (c == '~') pointer += "~0";
      else if (c == '/') pointer += "~1";
      else pointer.push_back(c);
    }
  }
  return pointer;
}

bool isObject(const Poco::Dynamic::Var& v) { return v.type() == typeid(Poco::JSON::Object::Ptr); }

Poco::JSON::Object::Ptr child(const Poco::JSON::Object::Ptr& object, const std::string& key) {
  if (!object || !object->has(key) || !isObject(object->get(key))) return nullptr;
  return object->getObject(key);
}

}  // namespace

std::string_view schemaName(SchemaKind kind) {
  switch (kind) {
    case SchemaKind::kAuthenticateRequest: return "authenticate-request";
    case SchemaKind::kAuthenticateReply: return "authenticate-reply";
    case SchemaKind::kInboundMessage: return "inbound-message";
  }
  return "";
}

std::optional<SchemaKind> schemaKindFromName(std::string_view name) {
  for (auto kind : kKinds) {
    if (schemaName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string_view schemaText(SchemaKind kind) {
  const auto name = schemaName(kind);
  for (std::size_t i = 0; i < detail::kEmbeddedSchemaCount; ++i) {
    if (detail::kEmbeddedSchemas[i].first == name) return detail::kEmbeddedSchemas[i].second;
  }
  throw std::logic_error("schema not compiled in: " + std::string(name));
}

SchemaKind detectSchema(const Poco::Dynamic::Var& payload) {
  if (!isObject(payload)) return SchemaKind::kInboundMessage;
  const auto authenticate = child(child(child(payload.extract<Poco::JSON::Object::Ptr>(), "interactiveData"), "data"),
                                  "authenticate");
  if (!authenticate) return SchemaKind::kInboundMessage;
  return authenticate->has("oauth2") ? SchemaKind::kAuthenticateRequest : SchemaKind::kAuthenticateReply;
}

std::vector<SchemaViolation> validateSchema(SchemaKind kind, const Poco::Dynamic::Var& payload) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  validator.validate(compiled(kind), valijson::adapters::PocoJsonAdapter(payload), &results);
  std::vector<SchemaViolation> violations;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) violations.push_back({toPointer(error.context), error.description});
  // valijson reports the enclosing failures (oneOf, properties) after the specific ones; the
  // deepest pointer is the most useful first line.
  std::stable_sort(violations.begin(), violations.end(), [](const SchemaViolation& a, const SchemaViolation& b) {
    return std::count(a.pointer.begin(), a.pointer.end(), '/') > std::count(b.pointer.begin(), b.pointer.end(), '/');
  });
  return violations;
}

}  // namespace bcauth::protocol
