// Writes JSON text straight into a string: what the hot paths render (the authenticate message
// twice per create, an event per transition) without building a Poco::JSON tree first and
// stringifying it through an ostream, which was most of their cost. The text is byte for byte
// what Poco::JSON's stringify writes for the same values (its escaping included), so stored
// messages and events read the same as before; tests/test_json_writer.cpp checks this against
// Poco on every byte value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Poco/Dynamic/Var.h>

namespace bcauth::protocol::json {

class Writer {
 public:
  Writer& beginObject();
  Writer& endObject();
  Writer& beginArray();
  Writer& endArray();

  // An object's member name; its value follows.
  Writer& key(std::string_view name);

  Writer& string(std::string_view value);
  Writer& integer(std::int64_t value);
  Writer& boolean(bool value);
  // Any Poco value (an object from a parsed document, say), as Poco stringifies it.
  Writer& var(const Poco::Dynamic::Var& value);
  Writer& strings(const std::vector<std::string>& values);  // an array of strings
  // JSON text the caller vouches for (a document bcauth wrote itself), copied in as it is.
  Writer& raw(std::string_view json);

  // key and value in one call; the *If forms write nothing for an empty optional.
  Writer& field(std::string_view name, std::string_view value) { return key(name).string(value); }
  Writer& field(std::string_view name, std::int64_t value) { return key(name).integer(value); }
  template <typename T>
  Writer& fieldIf(std::string_view name, const std::optional<T>& value) {
    if (!value) return *this;
    key(name);
    if constexpr (std::is_same_v<T, bool>) return boolean(*value);
    else if constexpr (std::is_integral_v<T>) return integer(*value);
    else return string(*value);
  }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();  // the comma before every value but a container's first
  Writer& open(char bracket);
  Writer& close(char bracket);

  std::string out_;
  bool first_ = true;     // nothing written yet in the innermost container
  bool afterKey_ = false;  // a key was written: its value takes no comma
};

// value as a JSON string literal, quotes included, escaped as Poco::JSON escapes it.
void appendQuoted(std::string& out, std::string_view value);

}  // namespace bcauth::protocol::json
