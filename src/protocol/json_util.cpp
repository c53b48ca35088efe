#include "protocol/json_util.h"

#include <algorithm>
#include <charconv>
#include <sstream>
#include <set>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include "protocol/text.h"

namespace bcauth::protocol::json {

Result<std::string> Fields::requiredString(const std::string& key) const {
  if (!has(key)) return missing(key);
  const auto& value = object_->get(key);
  if (!value.isString()) return wrongType(key, "a string");
  std::string text = value.extract<std::string>();
  if (text.empty()) return Status::invalidArgument("must not be empty", path(key));
  return text;
}

Result<std::optional<std::string>> Fields::optionalString(const std::string& key) const {
  if (!has(key)) return std::optional<std::string>();
  const auto& value = object_->get(key);
  if (!value.isString()) return wrongType(key, "a string");
  return std::optional<std::string>(value.extract<std::string>());
}

Result<std::optional<std::int64_t>> Fields::optionalInteger(const std::string& key) const {
  if (!has(key)) return std::optional<std::int64_t>();
  const auto& value = object_->get(key);
  if (value.isBoolean()) return wrongType(key, "an integer");
  if (value.isInteger()) {
    // An unsigned literal above INT64_MAX parses as UInt64; converting it throws.
    try {
      return std::optional<std::int64_t>(value.convert<std::int64_t>());
    } catch (const Poco::RangeException&) {
      return wrongType(key, "an integer");
    }
  }
  if (value.isNumeric()) {
    const double d = value.convert<double>();
    // Casting a double outside int64's range is undefined behaviour (found by fuzz_api: 1e300).
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      const auto i = static_cast<std::int64_t>(d);
      if (static_cast<double>(i) == d) return std::optional<std::int64_t>(i);
    }
  }
  if (value.isString()) {
    const std::string text = value.extract<std::string>();
    std::int64_t parsed = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) {
      return std::optional<std::int64_t>(parsed);
    }
  }
  return wrongType(key, "an integer");
}

Result<Poco::JSON::Object::Ptr> Fields::requiredObject(const std::string& key) const {
  if (!has(key)) return missing(key);
  auto object = optionalObject(key);
  return object;
}

Result<Poco::JSON::Object::Ptr> Fields::optionalObject(const std::string& key) const {
  if (!has(key)) return Poco::JSON::Object::Ptr();
  const auto& value = object_->get(key);
  if (value.type() != typeid(Poco::JSON::Object::Ptr)) return wrongType(key, "an object");
  return value.extract<Poco::JSON::Object::Ptr>();
}

Result<Poco::JSON::Array::Ptr> Fields::optionalArray(const std::string& key) const {
  if (!has(key)) return Poco::JSON::Array::Ptr();
  const auto& value = object_->get(key);
  if (value.type() != typeid(Poco::JSON::Array::Ptr)) return wrongType(key, "an array");
  return value.extract<Poco::JSON::Array::Ptr>();
}

namespace {

struct DuplicateKey {
  std::string key;
};

// Poco's ParseHandler keeps one of two values under the same key; other parsers keep the other
// one, so a body with a duplicate key could mean one thing to bcauth and another to whoever
// checked it first. The keys of each open object are tracked and a repeat stops the parse.
class UniqueKeysHandler : public Poco::JSON::ParseHandler {
 public:
  void reset() override {
    ParseHandler::reset();
    open_.clear();
  }
  void startObject() override {
    ParseHandler::startObject();
    open_.emplace_back();
  }
  void endObject() override {
    ParseHandler::endObject();
    if (!open_.empty()) open_.pop_back();
  }
  void key(const std::string& k) override {
    if (!open_.empty() && !open_.back().insert(k).second) throw DuplicateKey{k};
    ParseHandler::key(k);
  }

 private:
  std::vector<std::set<std::string>> open_;
};

}  // namespace

Result<Poco::JSON::Object::Ptr> parseObject(std::string_view text) {
  // The parser's own messages quote the offending byte raw (0xFF for the end of input) and name
  // its internals ("Attempt to set value on an empty stack"), so none of them reaches the client.
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') {
    return Status::invalidArgument(first == std::string_view::npos ? "malformed JSON: the body is empty"
                                                                    : "the body must be a JSON object");
  }
  try {
    Poco::JSON::Parser parser(new UniqueKeysHandler);
    const Poco::Dynamic::Var root = parser.parse(std::string(text));
    if (root.type() != typeid(Poco::JSON::Object::Ptr)) {
      return Status::invalidArgument("the body must be a JSON object");
    }
    return root.extract<Poco::JSON::Object::Ptr>();
  } catch (const DuplicateKey& duplicate) {
    return Status::invalidArgument("a JSON object has the same key twice: \"" + boundedText(duplicate.key, 64) + "\"");
  } catch (const std::exception&) {
    return Status::invalidArgument("malformed JSON: the body is not one well-formed JSON object in UTF-8");
  }
}

void setIf(Poco::JSON::Object& object, const std::string& key, const std::optional<std::string>& value) {
  if (value) object.set(key, *value);
}

Poco::JSON::Object::Ptr newObject() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

Poco::JSON::Object::Ptr parseOrdered(const std::string& text) {
  Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

namespace {

void writeCanonical(std::ostream& out, const Poco::Dynamic::Var& value) {
  if (value.type() == typeid(Poco::JSON::Object::Ptr)) {
    const auto object = value.extract<Poco::JSON::Object::Ptr>();
    std::vector<std::string> names = object->getNames();
    std::sort(names.begin(), names.end());
    out << '{';
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out << ',';
      Poco::JSON::Stringifier::stringify(Poco::Dynamic::Var(names[i]), out);
      out << ':';
      writeCanonical(out, object->get(names[i]));
    }
    out << '}';
  } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
    const auto array = value.extract<Poco::JSON::Array::Ptr>();
    out << '[';
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (i > 0) out << ',';
      writeCanonical(out, array->get(static_cast<unsigned>(i)));
    }
    out << ']';
  } else {
    Poco::JSON::Stringifier::stringify(value, out);  // a scalar: string, number, bool or null
  }
}

}  // namespace

std::string canonicalJson(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  writeCanonical(out, value);
  return out.str();
}

}  // namespace bcauth::protocol::json
