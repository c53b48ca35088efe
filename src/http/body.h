#pragma once
// How the server reads a request body (bounded, whatever the client sends) and turns its bytes
// into the JSON text it parses; and how whatever a route left unread is dropped.

#include <cstddef>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

namespace bcauth::http {

enum class BodyError { kNone, kTooLarge, kBadGzip };

// Apple gzips its webhook bodies with or without Content-Encoding, so gzip is recognised by its
// magic bytes. A gzip body is inflated in place, refusing anything that inflates beyond `cap`
// (a decompression bomb stops there) and anything that is not exactly one complete gzip member
// (truncated, corrupt, trailing bytes, a second member): kBadGzip. Any other body is left as it is.
BodyError inflateIfGzip(std::string& body, std::size_t cap);

// Reads the body whole, at most `cap` bytes (compressed or not), inflating gzip. A larger body is
// refused (kTooLarge) before it is read whole: one of modest excess (up to 4 × cap) is read and
// dropped so the client, still sending, gets the answer instead of a connection reset; a far
// larger one is left unread and the response closes the connection.
BodyError readBody(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::size_t cap,
                   std::string& body);

// After the answer: whatever a route did not read of the body is read and dropped, so it can never
// be taken for the next request on a kept-alive connection (request smuggling). A body of more
// than `cap` bytes still unread, or one that fails to read, closes the connection instead.
void drainBody(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::size_t cap);

// What Apple's gateway does to a body before it POSTs it to /message: for everything that plays
// Apple (the CLI's replay, the demo, the tests, the fuzzers' seeds and the load benchmark).
std::string gzip(std::string_view plain);

}  // namespace bcauth::http
