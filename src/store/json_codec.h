// A tiny JSON codec for the two shapes the store keeps in TEXT columns: an array of strings and
// an object of string → string. Encoding escapes only what JSON requires (", \ and control
// characters) and copies every other byte as it is, so decode(encode(x)) == x byte for byte, even
// for text that is not valid UTF-8. The decoder accepts any standard JSON of those two shapes.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace bcauth::store::json {

std::string encodeStringArray(const std::vector<std::string>& values);
std::vector<std::string> decodeStringArray(const std::string& text);  // throws std::runtime_error

std::string encodeStringMap(const std::map<std::string, std::string>& values);
std::map<std::string, std::string> decodeStringMap(const std::string& text);  // throws std::runtime_error

}  // namespace bcauth::store::json
