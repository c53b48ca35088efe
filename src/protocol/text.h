// Text that leaves bcauth (error bodies, events) is valid UTF-8 whatever bytes came in.
// Pure functions: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bcauth::protocol {

bool isValidUtf8(std::string_view text);

// The text with every invalid UTF-8 sequence (stray continuation bytes, overlong forms,
// surrogates, code points above U+10FFFF, a truncated tail) replaced by U+FFFD.
std::string toValidUtf8(std::string_view text);

// Text from outside (an identity provider's error, error_description, an exception text) fit to
// copy into an event: valid UTF-8, control and bidi-format characters replaced by a space, and at
// most maxChars code points (the cut marked with "…").
inline constexpr std::size_t kMaxForeignTextChars = 200;
std::string boundedText(std::string_view text, std::size_t maxChars = kMaxForeignTextChars);

}  // namespace bcauth::protocol
