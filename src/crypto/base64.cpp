#include "bcauth/base64.h"

#include <array>

namespace bcauth::crypto {
namespace {

constexpr char kStandard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::span<const std::uint8_t> in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    if (rest == 2) v |= std::uint32_t{in[i + 1]} << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

constexpr std::array<std::int8_t, 256> makeDecodeTable() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kStandard[i])] = static_cast<std::int8_t>(i);
  return table;
}
constexpr auto kDecode = makeDecodeTable();

std::string describe(char c) {
  if (c == '-' || c == '_') return "'" + std::string(1, c) + "' (URL-safe Base64; the standard alphabet uses + and /)";
  if (c == ' ') return "a space (a '+' that went through URL decoding?)";
  if (c == '\n' || c == '\r' || c == '\t') return "whitespace";
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return "a non-printable byte";
  return "'" + std::string(1, c) + "'";
}

}  // namespace

std::string base64Encode(std::span<const std::uint8_t> bytes) { return encode(bytes, kStandard, true); }

std::string base64Encode(std::string_view bytes) {
  return base64Encode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::string base64UrlEncode(std::span<const std::uint8_t> bytes) { return encode(bytes, kUrlSafe, false); }

Result<SecureBytes> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::invalidArgument("not standard Base64: length " + std::to_string(text.size()) +
                                   " is not a multiple of 4 (padding missing or text cut off)");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;

  SecureBytes out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  const std::size_t dataChars = text.size() - padding;
  for (std::size_t i = 0; i < dataChars; ++i) {
    const std::int8_t v = kDecode[static_cast<unsigned char>(text[i])];
    if (v < 0) {
      return Status::invalidArgument("not standard Base64: " + describe(text[i]) + " at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (i % 4 == 3) {
      out.push_back(static_cast<std::uint8_t>(acc >> 16));
      out.push_back(static_cast<std::uint8_t>(acc >> 8));
      out.push_back(static_cast<std::uint8_t>(acc));
      acc = 0;
    }
  }
  if (padding == 2) {
    if ((acc & 0x0F) != 0) return Status::invalidArgument("not canonical Base64: unused bits set before '=='");
    out.push_back(static_cast<std::uint8_t>(acc >> 4));
  } else if (padding == 1) {
    if ((acc & 0x03) != 0) return Status::invalidArgument("not canonical Base64: unused bits set before '='");
    out.push_back(static_cast<std::uint8_t>(acc >> 10));
    out.push_back(static_cast<std::uint8_t>(acc >> 2));
  }
  cleanse(&acc, sizeof acc);
  return out;
}

Result<SecureBytes> base64DecodeSecret(std::string_view text) {
  auto decoded = base64Decode(text);
  if (decoded) return decoded;
  return Status::invalidArgument("not standard padded Base64 (A-Z a-z 0-9 + /, '=' padding, no whitespace)");
}

Result<SecureBytes> base64UrlDecode(std::string_view text) {
  // Read through the strict decoder: the URL-safe characters mapped to the standard ones, the
  // padding added; a standard-only character or padding of its own is refused first.
  const auto refuse = [] { return Status::invalidArgument("not unpadded URL-safe Base64 (A-Z a-z 0-9 - _)"); };
  if (text.size() % 4 == 1) return refuse();
  std::string standard(text);
  for (char& c : standard) {
    if (c == '+' || c == '/' || c == '=') return refuse();
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  standard.append((4 - standard.size() % 4) % 4, '=');
  auto decoded = base64Decode(standard);
  cleanse(standard.data(), standard.size());
  if (!decoded) return refuse();
  return decoded;
}

}  // namespace bcauth::crypto
