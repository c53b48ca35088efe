// Strict Base64. Apple's tokens and keys use the standard alphabet with '=' padding;
// a decoder that silently accepts URL-safe characters, whitespace or missing padding
// hides exactly the bugs spec §9 lists, so this one refuses them with a clear message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bcauth/secure.h"
#include "bcauth/status.h"

namespace bcauth::crypto {

std::string base64Encode(std::span<const std::uint8_t> bytes);
std::string base64Encode(std::string_view bytes);

// Standard alphabet (A–Z a–z 0–9 + /), padded to a multiple of 4, no whitespace.
// Non-zero unused bits in the last character are refused too (non-canonical encoding).
// The result is wiped when freed, since what is decoded is often key material.
Result<SecureBytes> base64Decode(std::string_view text);

// base64Decode for secrets (keys, the Apple secret): the same rules, but a refusal never
// quotes a character of the input or its position.
Result<SecureBytes> base64DecodeSecret(std::string_view text);

// RFC 4648 §5 alphabet (- _), without padding: for state, PKCE and URL tokens.
std::string base64UrlEncode(std::span<const std::uint8_t> bytes);
// Its inverse, as strict as base64Decode: '+', '/', '=' and non-canonical endings are refused.
Result<SecureBytes> base64UrlDecode(std::string_view text);

}  // namespace bcauth::crypto
