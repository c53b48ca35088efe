#include "protocol/ids.h"

namespace bcauth::protocol::ids {
namespace {

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// "letters, digits and - . _ ~" for the message; the Idempotency-Key's long list is summarised.
std::string allowed(const Rule& rule) {
  if (rule.punctuation.size() > 16) return "visible ASCII characters (no spaces)";
  std::string list = "letters, digits";
  for (std::size_t i = 0; i < rule.punctuation.size(); ++i) {
    list += i + 1 == rule.punctuation.size() ? " and " : ", ";
    list += rule.punctuation[i];
  }
  return list;
}

}  // namespace

Status check(std::string_view value, const Rule& rule, const std::string& field) {
  const auto refuse = [&] {
    // The message never quotes the value: it may be huge or not text at all.
    return Status::invalidArgument(
        "must be 1 to " + std::to_string(rule.maxLength) + " characters: " + allowed(rule) + " (not . or ..)", field);
  };
  if (value.empty() || value.size() > rule.maxLength || value == "." || value == "..") return refuse();
  for (const char c : value) {
    if (!isAlnum(c) && rule.punctuation.find(c) == std::string_view::npos) return refuse();
  }
  return Status::ok();
}

}  // namespace bcauth::protocol::ids
