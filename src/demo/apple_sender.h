// Playing Apple's gateway towards a CSP: one POST /message as Apple makes it (spec §1.3, §8) —
// an HS256 JWT with aud = the CSP id, the gzipped JSON body, and the id, source-id,
// destination-id and capability-list headers. The gateway double delivers the device's replies
// with it, `bcauth replay` sends saved payloads with it, and the tests, the load benchmark and
// the fuzz seeds build their deliveries with it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "clients/http_call.h"

namespace bcauth::demo {

// The CSP as Apple's gateway knows it.
struct AppleAccount {
  std::string cspId;
  std::string secret;  // the Messaging API secret, Base64-decoded
};

// The message's own id, sender and recipient, which Apple repeats in headers.
struct AppleMessageIds {
  std::string id;
  std::string sourceId;       // the customer's opaque id
  std::string destinationId;  // the business id
};

struct AppleMessageOptions {
  std::string capabilities;                  // capability-list; empty: the header is left out
  bool gzip = true;                          // Apple always gzips; false sends the JSON as it is
  std::optional<std::string> authorization;  // instead of a fresh "Bearer <JWT>"; "": no Authorization
  std::optional<std::int64_t> issuedAt;      // the fresh JWT's iat; nullopt: now
  // The id headers; nullopt: read from the JSON's id, sourceId and destinationId (left out when
  // it has none: tests send broken JSON on purpose).
  std::optional<AppleMessageIds> ids;
};

// One POST /message: its headers (names as Apple spells them) and its body.
struct AppleMessage {
  std::map<std::string, std::string> headers;
  std::string body;
};

AppleMessage appleMessage(const AppleAccount& account, const std::string& json, const AppleMessageOptions& options = {});

// Sends appleMessage(account, json, options) to bcauthUrl + "/message" (bcauthUrl: scheme, host
// and port, no trailing slash).
clients::HttpAnswer deliverAsApple(const std::string& bcauthUrl, const AppleAccount& account, const std::string& json,
                                   const AppleMessageOptions& options = {});

}  // namespace bcauth::demo
