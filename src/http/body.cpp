#include "http/body.h"

#include <algorithm>
#include <new>
#include <stdexcept>

#include <zlib.h>

#include "http/exchange.h"

namespace bcauth::http {
namespace {

// The one loop that reads a body: chunk by chunk until the body ends or more than `limit` bytes
// have been read, keeping them in `kept` (or dropping them when it is null). True when the body
// ended within the bound.
bool readAtMost(std::istream& in, std::size_t limit, std::string* kept) {
  char buffer[8192];
  std::size_t read = 0;
  while (in && read <= limit) {
    in.read(buffer, sizeof buffer);
    const auto n = static_cast<std::size_t>(in.gcount());
    read += n;
    if (kept != nullptr) kept->append(buffer, n);
  }
  return !in;
}

// Drops up to `limit` more bytes of the body; a body that goes on past them closes the connection.
void dropRest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::size_t limit) {
  if (!readAtMost(request.stream(), limit, nullptr)) response.setKeepAlive(false);
}

}  // namespace

std::string gzip(std::string_view plain) {
  // zlib directly, its window and hash sized to the body: with zlib's defaults every stream
  // allocates (and the kernel zeroes) about 256 KiB, far more work than compressing a message
  // of a few KiB. Any window makes valid gzip; a small one only finds fewer long repeats.
  int windowBits = 9;
  while (windowBits < MAX_WBITS && (std::size_t{1} << windowBits) < plain.size()) ++windowBits;
  const int memLevel = std::clamp(windowBits - 6, 1, 8);
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + windowBits, memLevel, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(plain.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  stream.avail_in = static_cast<uInt>(plain.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);  // deflateBound leaves room for all of it
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  return out;
}

BodyError inflateIfGzip(std::string& body, std::size_t cap) {
  if (body.size() < 2 || static_cast<unsigned char>(body[0]) != 0x1f || static_cast<unsigned char>(body[1]) != 0x8b) {
    return BodyError::kNone;
  }
  // zlib directly: Poco's InflatingInputStream stops at the end of the first gzip member and
  // ignores whatever follows, and takes a truncated stream for a short one. Here the body must
  // be exactly one complete member: Z_STREAM_END with every input byte consumed. A second member
  // (concatenated gzip, RFC 1952 §2.2) is refused too: Apple sends one, and bytes past the first
  // member are where a smuggled payload would hide from a reader that stops early.
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return BodyError::kBadGzip;  // 16: gzip wrapper only
  stream.next_in = reinterpret_cast<Bytef*>(body.data());
  stream.avail_in = static_cast<uInt>(body.size());  // bodies are capped far below 4 GiB
  std::string plain;
  char buffer[8192];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    result = inflate(&stream, Z_NO_FLUSH);
    plain.append(buffer, sizeof buffer - stream.avail_out);
    if (plain.size() > cap) {
      inflateEnd(&stream);
      return BodyError::kTooLarge;
    }
  }
  const bool complete = result == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  if (!complete) return BodyError::kBadGzip;
  body.swap(plain);
  return BodyError::kNone;
}

BodyError readBody(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::size_t cap,
                   std::string& body) {
  body.clear();
  if (!hasBody(request)) return BodyError::kNone;  // nothing to wait for (RFC 9112 §6.3)
  const std::size_t excess = 4 * cap;  // what is read and dropped before a 413 at most
  if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(cap)) {
    if (request.getContentLength64() > static_cast<Poco::Int64>(excess)) response.setKeepAlive(false);
    else dropRest(request, response, excess);
    return BodyError::kTooLarge;
  }
  readAtMost(request.stream(), cap, &body);
  if (body.size() > cap) {
    dropRest(request, response, excess);
    return BodyError::kTooLarge;
  }
  // Apple gzips its bodies, with or without Content-Encoding (§8).
  return inflateIfGzip(body, cap);
}

void drainBody(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, std::size_t cap) {
  if (!hasBody(request)) return;
  try {
    dropRest(request, response, cap);
  } catch (const std::exception&) {
    response.setKeepAlive(false);
  }
}

}  // namespace bcauth::http
