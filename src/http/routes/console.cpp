// /console/: the web console's files (web/console/, compiled in). No API key: the pages hold no
// data; the console's script asks for the key and sends it to the API as the bearer header.
#include "http/routes/routes.h"
#include "http/web_assets.h"

namespace bcauth::http::routes {
namespace {

void serve(Call& call, const std::string& name) {
  const WebAsset* asset = findPageAsset("console", name);
  if (asset == nullptr) return sendStatus(call.response, Status::notFound("no such console file"));
  sendWebAsset(call.response, *asset, kConsoleCsp);
}

}  // namespace

void consoleRedirect(Call& call) {
  call.response.set("Location", "/console/");
  call.response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_MOVED_PERMANENTLY);
  call.response.setContentLength(0);
  call.response.send();
}

void consoleIndex(Call& call) { serve(call, "index.html"); }

void consoleAsset(Call& call) { serve(call, call.params[0]); }

}  // namespace bcauth::http::routes
