#include "http/body.h"

#include <sstream>

#include <Poco/DeflatingStream.h>
#include <Poco/InflatingStream.h>

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
  try {
    std::istringstream compressed(body);
    Poco::InflatingInputStream inflater(compressed, Poco::InflatingStreamBuf::STREAM_GZIP);
    std::string plain;
    char buffer[8192];
    while (inflater) {
      inflater.read(buffer, sizeof buffer);
      plain.append(buffer, static_cast<std::size_t>(inflater.gcount()));
      if (plain.size() > cap) return BodyError::kTooLarge;
    }
    if (inflater.bad()) return BodyError::kBadGzip;
    body.swap(plain);
  } catch (const std::exception&) {
    return BodyError::kBadGzip;
  }
  return BodyError::kNone;
}

}  // namespace bcauth::http
