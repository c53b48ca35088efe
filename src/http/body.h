#pragma once
// How the server turns the bytes of a request body into the JSON text it parses.

#include <cstddef>
#include <string>
#include <string_view>

namespace bcauth::http {

enum class BodyError { kNone, kTooLarge, kBadGzip };

// Apple gzips its webhook bodies with or without Content-Encoding, so gzip is recognised by its
// magic bytes. A gzip body is inflated in place, refusing anything that inflates beyond `cap`
// (a decompression bomb stops there) and anything that is not exactly one complete gzip member
// (truncated, corrupt, trailing bytes, a second member): kBadGzip. Any other body is left as it is.
BodyError inflateIfGzip(std::string& body, std::size_t cap);

// What Apple's gateway does to a body before it POSTs it to /message: for everything that plays
// Apple (the CLI's replay, the demo, the tests, the fuzzers' seeds and the load benchmark).
std::string gzip(std::string_view plain);

}  // namespace bcauth::http
