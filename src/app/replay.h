// `bcauth replay`: sends payloads to a running bcauth as Apple's gateway would (gzip, an HS256
// JWT with aud = the CSP id, Apple's headers) and reports what each produced.
//
// An authenticate reply needs a pending request to answer. With an API key, replay creates one
// through the CSP API for the reply's conversation and flow, rewrites the reply's
// requestIdentifier to it, and — for a legacy token it can open with a key from --keys —
// re-encrypts the same plaintext to the new request's responseEncryptionKey. Tokens it cannot
// open (the malformed fixtures) are sent unchanged. Each delivery gets a fresh message id so a
// replay can be repeated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bcauth/status.h"

namespace bcauth::app {

struct ReplayOptions {
  std::string server;  // http://host:port
  std::string cspId;
  std::string secret;  // decoded Messaging API secret
  std::optional<std::string> apiKey;
  std::string providerId = "bcauth-replay";
  std::string businessId = "bcauth-replay-business";
  std::vector<std::string> privateKeys;  // Base64 scalars that may open fixture tokens
  std::string capabilities = "QUICK,LIST,TIME,AUTH,AUTH2,FORM";
};

struct ReplayResult {
  int httpStatus = 0;
  std::string answer;                   // the response body
  std::vector<std::string> eventTypes;  // events the delivery produced (needs the API key)
  std::vector<std::string> reasons;     // data.reason of each, or ""
  std::string setup;                    // what was arranged first, for the report
};

// Replays one payload (the text of a fixture file). Throws on connection failures.
ReplayResult replayPayload(const ReplayOptions& options, const std::string& payload);

// `bcauth replay --server URL --csp-id ID --secret B64 [--api-key KEY] [--keys keys.json] FILE...`
int runReplay(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace bcauth::app
