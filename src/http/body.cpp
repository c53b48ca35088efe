#include "http/body.h"

#include <sstream>

#include <Poco/DeflatingStream.h>
#include <zlib.h>

namespace bcauth::http {

std::string gzip(std::string_view plain) {
  std::ostringstream out;
  Poco::DeflatingOutputStream deflater(out, Poco::DeflatingStreamBuf::STREAM_GZIP);
  deflater.write(plain.data(), static_cast<std::streamsize>(plain.size()));
  deflater.close();
  return out.str();
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

}  // namespace bcauth::http
