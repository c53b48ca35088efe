#include "http/web_assets.h"

#include <array>
#include <string>
#include <utility>

namespace bcauth::http {

const WebAsset* findPageAsset(std::string_view page, std::string_view name) {
  const std::string own = std::string(page) + "/" + std::string(name);
  if (const WebAsset* asset = findWebAsset(own)) return asset;
  return findWebAsset("shared/" + std::string(name));
}

std::string_view webContentType(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".ico", "image/x-icon"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (path.size() >= extension.size() && path.substr(path.size() - extension.size()) == extension) return type;
  }
  return "application/octet-stream";
}

void sendWebAsset(Poco::Net::HTTPServerResponse& response, const WebAsset& asset, std::string_view csp) {
  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType(std::string(webContentType(asset.path)));
  response.set("Content-Security-Policy", std::string(csp));
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  // Small files that change with the binary: always revalidated, never served stale after an upgrade.
  response.set("Cache-Control", "no-cache");
  response.setContentLength(static_cast<std::streamsize>(asset.body.size()));
  response.send().write(asset.body.data(), static_cast<std::streamsize>(asset.body.size()));
}

}  // namespace bcauth::http
