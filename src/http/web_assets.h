// The web pages bcauth ships (web/console/ for `bcauth serve`'s /console/, web/phone/ for the demo's
// phone page, web/shared/ for what both load), compiled in by CMake, and how one is answered: its Content-Type, no caching
// without revalidation, and the headers that keep the page to its own script (docs/security.md,
// The console's Content-Security-Policy).
#pragma once

#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerResponse.h>

namespace bcauth::http {

struct WebAsset {
  std::string_view path;  // "console/index.html": the file's path under web/
  std::string_view body;
};

// The asset at exactly this path, or nullptr: a name is looked up, never resolved on a disk, so
// no "..", "%2e" or "/" can reach anything else.
const WebAsset* findWebAsset(std::string_view path);

// A page's file by name: web/<page>/<name>, else web/shared/<name> (what both pages load).
const WebAsset* findPageAsset(std::string_view page, std::string_view name);

// By the file's extension; application/octet-stream for one it does not know.
std::string_view webContentType(std::string_view path);

// The console's policy: its own script and styles only, no framing, no form posts elsewhere.
inline constexpr std::string_view kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// Sends the asset with 200 and the headers above, `csp` as its Content-Security-Policy.
void sendWebAsset(Poco::Net::HTTPServerResponse& response, const WebAsset& asset, std::string_view csp);

}  // namespace bcauth::http
