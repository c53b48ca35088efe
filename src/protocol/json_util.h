// Reading Poco::JSON values with errors that name the field by its dotted path. Public to the
// layers above (the HTTP edge reads the CSP API's bodies with it) as protocol::json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "bcauth/status.h"

namespace bcauth::protocol::json {

class Fields {
 public:
  Fields(Poco::JSON::Object::Ptr object, std::string path) : object_(std::move(object)), path_(std::move(path)) {}

  const Poco::JSON::Object::Ptr& object() const { return object_; }
  std::string path(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }
  bool has(const std::string& key) const { return object_->has(key) && !object_->isNull(key); }

  // A string that must be present and non-empty.
  Result<std::string> requiredString(const std::string& key) const;
  Result<std::optional<std::string>> optionalString(const std::string& key) const;
  // An integer; a string of digits is accepted too, since the reply's exact wire shape for
  // numbers is not confirmed (spec §10).
  Result<std::optional<std::int64_t>> optionalInteger(const std::string& key) const;
  Result<Poco::JSON::Object::Ptr> requiredObject(const std::string& key) const;
  Result<Poco::JSON::Object::Ptr> optionalObject(const std::string& key) const;  // null when absent
  Result<Poco::JSON::Array::Ptr> optionalArray(const std::string& key) const;    // null when absent

  Status missing(const std::string& key) const { return Status::invalidArgument("is required", path(key)); }
  Status wrongType(const std::string& key, std::string_view expected) const {
    return Status::invalidArgument("must be " + std::string(expected), path(key));
  }

 private:
  Poco::JSON::Object::Ptr object_;
  std::string path_;
};

// Parses text that must hold one JSON object.
Result<Poco::JSON::Object::Ptr> parseObject(std::string_view text);

// Sets key only when the optional has a value.
void setIf(Poco::JSON::Object& object, const std::string& key, const std::optional<std::string>& value);

Poco::JSON::Object::Ptr newObject();  // keeps keys in insertion order

// JSON text bcauth wrote itself (one object), back as an object that keeps its key order.
// Throws Poco::Exception if the text is not that.
Poco::JSON::Object::Ptr parseOrdered(const std::string& text);

// value as compact JSON with every object's keys in byte order, at every depth: two documents
// that differ only in key order, spacing or escaping give the same text (Idempotency-Key bodies
// are compared by the SHA-256 of this). A repeated key counts once, as the parser keeps it.
std::string canonicalJson(const Poco::Dynamic::Var& value);

}  // namespace bcauth::protocol::json

