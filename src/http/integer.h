// The one integer parser of the HTTP edge: query parameters, path ids, Last-Event-ID and
// Content-Length all read through it, so each is held to the same rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bcauth/status.h"

namespace bcauth::http {

// Decimal digits only (no sign, no space, no exponent), within [min, max] (min ≥ 0). Anything
// else is invalid_argument "must be an integer from <min> to <max>" naming `field`: std::stoll
// would take "+5", " 5" and "5x" (stopping at the x), none of which a client means as a number.
Result<std::int64_t> parseInteger(std::string_view text, const std::string& field, std::int64_t min, std::int64_t max);

}  // namespace bcauth::http
