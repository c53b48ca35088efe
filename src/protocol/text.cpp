#include "protocol/text.h"

#include <cstdint>

namespace bcauth::protocol {
namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes the code point at text[at], advancing at past it; kInvalid (advancing one byte) for a
// byte that does not start a well-formed sequence (RFC 3629).
char32_t next(std::string_view text, std::size_t& at) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(at);
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++at;
    return lead;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1Fu, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0Fu, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    ++at;
    return kInvalid;
  }
  if (at + length > text.size()) {
    ++at;
    return kInvalid;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const std::uint8_t continuation = byte(at + i);
    if ((continuation & 0xC0u) != 0x80u) {
      ++at;
      return kInvalid;
    }
    cp = (cp << 6) | (continuation & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++at;
    return kInvalid;
  }
  at += length;
  return cp;
}

// Characters that can break a log line or reorder what a reader sees: C0, DEL, C1, and the
// Unicode bidi and line-separator format characters.
bool isControl(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    if (next(text, at) == kInvalid) return false;
  }
  return true;
}

std::string toValidUtf8(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t start = at;
    if (next(text, at) == kInvalid) out += kReplacement;
    else out.append(text.substr(start, at - start));
  }
  return out;
}

std::string boundedText(std::string_view text, std::size_t maxChars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (chars == maxChars) {
      out += "\xE2\x80\xA6";  // …
      break;
    }
    const std::size_t start = at;
    const char32_t cp = next(text, at);
    if (cp == kInvalid) out += kReplacement;
    else if (isControl(cp)) out += ' ';
    else out.append(text.substr(start, at - start));
    ++chars;
  }
  return out;
}

}  // namespace bcauth::protocol
