#include "http/integer.h"

#include <charconv>

namespace bcauth::http {

Result<std::int64_t> parseInteger(std::string_view text, const std::string& field, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  // from_chars takes a leading '-', so the first character must be a digit too.
  const bool digitsOnly = !text.empty() && text.front() >= '0' && text.front() <= '9';
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (digitsOnly && error == std::errc() && end == text.data() + text.size() && value >= min && value <= max) {
    return value;
  }
  return Status::invalidArgument("must be an integer from " + std::to_string(min) + " to " + std::to_string(max), field);
}

}  // namespace bcauth::http
