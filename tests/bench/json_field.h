// The string value of "name":"..." in a flat JSON text, found without a parse: the load
// generator and bcauth_floor must not spend the CPU they are measuring on a JSON parser.
// Empty when absent. Only for the known, unescaped values these tools exchange.
#pragma once

#include <string>

namespace bcauth::bench {

inline std::string jsonStringField(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const auto at = json.find(key);
  if (at == std::string::npos) return {};
  const auto start = at + key.size();
  return json.substr(start, json.find('"', start) - start);
}

}  // namespace bcauth::bench
