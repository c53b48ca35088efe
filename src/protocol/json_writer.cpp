#include "protocol/json_writer.h"

#include <sstream>

#include <Poco/JSON/Stringifier.h>

namespace bcauth::protocol::json {

void appendQuoted(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.reserve(out.size() + value.size() + 2);
  out += '"';
  std::size_t plain = 0;  // the start of the run of bytes copied as they are
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(value.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(value.data() + plain, value.size() - plain);
  out += '"';
}

void Writer::separate() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!first_) out_ += ',';
  first_ = false;
}

Writer& Writer::open(char bracket) {
  separate();
  out_ += bracket;
  first_ = true;
  return *this;
}

// The container just closed is a value of the one around it, so that one is no longer empty.
Writer& Writer::close(char bracket) {
  out_ += bracket;
  first_ = false;
  return *this;
}

Writer& Writer::beginObject() { return open('{'); }
Writer& Writer::endObject() { return close('}'); }
Writer& Writer::beginArray() { return open('['); }
Writer& Writer::endArray() { return close(']'); }

Writer& Writer::key(std::string_view name) {
  separate();
  appendQuoted(out_, name);
  out_ += ':';
  afterKey_ = true;
  return *this;
}

Writer& Writer::string(std::string_view value) {
  separate();
  appendQuoted(out_, value);
  return *this;
}

Writer& Writer::integer(std::int64_t value) {
  separate();
  out_ += std::to_string(value);
  return *this;
}

Writer& Writer::boolean(bool value) {
  separate();
  out_ += value ? "true" : "false";
  return *this;
}

Writer& Writer::var(const Poco::Dynamic::Var& value) {
  separate();
  std::ostringstream text;
  Poco::JSON::Stringifier::stringify(value, text);
  out_ += text.str();
  return *this;
}

Writer& Writer::raw(std::string_view json) {
  separate();
  out_.append(json);
  return *this;
}

Writer& Writer::strings(const std::vector<std::string>& values) {
  beginArray();
  for (const auto& value : values) string(value);
  return endArray();
}

}  // namespace bcauth::protocol::json
