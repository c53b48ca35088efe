// The fuzz targets (see targets.h and docs/fuzzing.md). Built twice: with clang, libFuzzer's
// instrumentation and ASan/UBSan for the fuzzers (scripts/fuzz), and with the project's gcc
// build for test_fuzz_regressions.
#include "targets.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "bcauth/defaults.h"
#include "bcauth/outcome.h"
#include "bcauth/protocol.h"
#include "bcauth/schema.h"
#include "bcauth/seal.h"
#include "demo/apple_sender.h"
#include "demo/temp_dir.h"
#include "http/apple_jwt.h"
#include "http/body.h"
#include "http/inputs.h"
#include "http/views.h"
#include "protocol/apple_jwt.h"
#include "protocol/json_util.h"
#include "protocol/text.h"
#include "service/auth_service.h"
#include "store/store.h"

#ifndef BCAUTH_FUZZ_PRIVATE_KEY
#error "BCAUTH_FUZZ_PRIVATE_KEY (fixtures/keys.json spec-c privateKey) is set by fuzz/targets.cmake"
#endif

namespace bcauth::fuzz {
namespace {

// --- fixed inputs: one key, one Apple secret, one clock ---------------------------------------

// fixtures/keys.json "spec-c": it decrypts inbound/legacy-success*.json (test data, never real).
constexpr std::string_view kPrivateKeyBase64 = BCAUTH_FUZZ_PRIVATE_KEY;
const std::string kAppleSecret = "bcauth-fuzz-apple-messaging-secret";  // the Base64-decoded bytes
const std::string kCspId = "bcauth-fuzz-csp";
constexpr std::int64_t kNowSeconds = 1'700'000'000;  // fixed, so a saved JWT stays valid
constexpr std::int64_t kNowMillis = kNowSeconds * 1000;
constexpr std::int64_t kJwtWindowSeconds = defaults::kJwtWindowSeconds;  // as the server runs by default
constexpr std::size_t kMaxBodyBytes = defaults::kMaxBodyBytes;

const std::string kRequestId = "fuzz-request";
const std::string kProviderId = "idp";
const std::string kWebhookId = "desk";

std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return size == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data), size);
}

std::pair<std::string_view, std::string_view> splitLine(std::string_view text) {
  const auto newline = text.find('\n');
  if (newline == std::string_view::npos) return {text, {}};
  return {text.substr(0, newline), text.substr(newline + 1)};
}

std::string stringify(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

[[noreturn]] void violated(const std::string& what) { throw InvariantViolation(what); }

// A view written as text (views::request copies the stored message in): one JSON object.
void parsesAsObject(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    if (parser.parse(text).extract<Poco::JSON::Object::Ptr>().isNull()) violated("a view is not a JSON object");
  } catch (const Poco::Exception& e) {
    violated("a view is not JSON: " + e.displayText());
  }
}

// BCAUTH_FUZZ_TRACE=1 prints what each input did (to stderr), to look into a saved input:
//   BCAUTH_FUZZ_TRACE=1 build-fuzz/fuzz/fuzz_intake fuzz/regressions/intake/<file>
void trace(const std::string& line) {
  static const bool enabled = std::getenv("BCAUTH_FUZZ_TRACE") != nullptr;
  if (enabled) std::fprintf(stderr, "bcauth-fuzz: %s\n", line.c_str());
}

// Every refusal traced here is one a client could read as JSON: its message and field must be
// valid UTF-8 whatever the input's bytes were (issue 12 §5).
std::string describe(const Status& status) {
  if (!protocol::isValidUtf8(status.message()) || !protocol::isValidUtf8(status.field())) {
    violated("a status is not valid UTF-8: " + protocol::toValidUtf8(status.toString()));
  }
  return status ? std::string("ok") : std::string(toString(status.code())) + " (" + status.toString() + ")";
}

const crypto::PrivateKey& fixedKey() {
  static const crypto::PrivateKey key = [] {
    auto parsed = crypto::PrivateKey::fromBase64Scalar(kPrivateKeyBase64);
    if (!parsed) violated("the fixed fuzz key does not load: " + parsed.status().toString());
    return std::move(parsed).value();
  }();
  return key;
}

// --- the service on a SQLite store in a temporary directory, made once per process ------------

// Directories of earlier runs whose process is gone: libFuzzer leaves with _Exit after a crash
// (and after running single inputs), so the harness's destructor never removed them.
void removeStaleTempDirs(const std::filesystem::path& base) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("bcauth-fuzz-", 0) != 0) continue;
    const std::string pid = name.substr(12, name.find('-', 12) - 12);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ignored;
    if (!std::filesystem::exists("/proc/" + pid, ignored)) std::filesystem::remove_all(entry.path(), ignored);
  }
}

demo::TempDir makeTempDir() {
  // tmpfs when there is one: the store commits with synchronous=FULL, and fsync there is free.
  std::filesystem::path base = "/dev/shm";
  std::error_code ec;
  if (!std::filesystem::is_directory(base, ec) || ::access(base.c_str(), W_OK) != 0) {
    base = std::filesystem::temp_directory_path();
  }
  removeStaleTempDirs(base);
  return demo::TempDir("bcauth-fuzz-" + std::to_string(::getpid()) + "-", base.string());
}

class Harness {
 public:
  static Harness& instance() {
    static Harness harness;
    return harness;
  }

  service::AuthService& service() { return *service_; }
  store::Store& store() { return *store_; }
  const crypto::Sealer& sealer() const { return sealer_; }

  // Empties every table but the schema version and writes the baseline rows: one enabled
  // provider (with a client secret, no userinfo URL) and one webhook subscription.
  void reset() {
    wipe_->begin();
    for (const auto& table : tables_) *wipe_ << "DELETE FROM \"" + table + "\"", Poco::Data::Keywords::now;
    wipe_->commit();
    store::Provider provider;
    provider.id = kProviderId;
    provider.name = "Example IdP";
    provider.authorizationUrl = "https://idp.example.com/authorize";
    provider.tokenUrl = "https://idp.example.com/token";
    provider.clientId = "client-1";
    provider.sealedClientSecret = sealer_.seal("provider-client-secret", service::sealContext(service::SealKind::kProviderSecret, kProviderId));
    provider.scopes = {"openid", "email", "profile"};
    provider.createdAt = provider.updatedAt = kNowMillis - 86'400'000;
    store::Subscription webhook;
    webhook.id = kWebhookId;
    webhook.url = "https://csp.example.com/hooks";
    webhook.sealedSecret = sealer_.seal("webhook-secret-0123456789", service::sealContext(service::SealKind::kWebhookSecret, kWebhookId));
    webhook.createdAt = webhook.updatedAt = kNowMillis - 86'400'000;
    store_->transaction([&](store::Transaction& tx) {
      tx.putProvider(provider);
      tx.putSubscription(webhook);
    });
  }

  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

 private:
  Harness()
      : dir_(makeTempDir()),
        store_(store::openSqliteStore(dir_.path())),
        sealer_(crypto::Sealer::fromKey(std::array<std::uint8_t, crypto::Sealer::kKeySize>{1, 2, 3, 4}).value()) {
    service::ServiceConfig config;
    config.publicUrl = "https://bcauth.fuzz.example";
    config.gateway.baseUrl.clear();  // delivery off: nothing here may reach the network
    service_ = std::make_unique<service::AuthService>(*store_, sealer_, config, [] { return kNowMillis; });
    // A second connection empties the tables between inputs (the Store interface deletes no
    // rows wholesale). Every table is listed, so new ones are emptied too.
    wipe_ = std::make_unique<Poco::Data::Session>(Poco::Data::SQLite::Connector::KEY, (std::filesystem::path(dir_.path()) / "bcauth.db").string());
    *wipe_ << "PRAGMA busy_timeout = 5000", Poco::Data::Keywords::now;
    std::vector<std::string> names;
    *wipe_ << "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_version'",
        Poco::Data::Keywords::into(names), Poco::Data::Keywords::now;
    tables_ = std::move(names);
  }

  ~Harness() {
    wipe_.reset();
    service_.reset();
    store_.reset();
  }

  demo::TempDir dir_;  // removed last, once the store above is closed
  std::unique_ptr<store::Store> store_;
  crypto::Sealer sealer_;
  std::unique_ptr<service::AuthService> service_;
  std::unique_ptr<Poco::Data::Session> wipe_;
  std::vector<std::string> tables_;
};

// --- intake helpers ---------------------------------------------------------------------------

// The JWT checks that hold for any header (spec §1.2 and apple_jwt.h).
void checkJwtVerdict(const std::string& header, const http::JwtCheck& check) {
  const bool bearer = header.compare(0, 7, "Bearer ") == 0;
  if ((check.verdict == http::JwtVerdict::kMissing) != (header.empty() || !bearer)) {
    violated("JWT verdict kMissing for a header that " + std::string(bearer ? "is" : "is not") + " a Bearer token");
  }
  const std::string token = bearer ? header.substr(7) : std::string();
  if (token.size() >= 16 && check.reason.find(token) != std::string::npos) violated("the JWT check's reason shows the token");
  if (check.verdict == http::JwtVerdict::kValid) {
    const auto other = http::verifyAppleJwt(header, kAppleSecret + "x", kCspId, kNowSeconds, kJwtWindowSeconds);
    if (other.verdict == http::JwtVerdict::kValid) violated("a JWT verifies under two different secrets");
  }
}

// What readBody (src/http/body.cpp) does with a body it has read: the same cap, the same inflation.
http::BodyError readLikeTheServer(std::string_view raw, std::string& body) {
  body.assign(raw);
  if (body.size() > kMaxBodyBytes) return http::BodyError::kTooLarge;
  return http::inflateIfGzip(body, kMaxBodyBytes);
}

// The request a reply finds. By default a pending one that the reply answers: same
// requestIdentifier, conversation and flow, not expired, and for the legacy flow the fixed key
// as its sealed private key. The first character of the message id picks another state, so the
// fuzzer reaches every branch of the intake with a one-byte change (targets.h).
void provisionRequest(Harness& harness, const protocol::InboundMessage& message) {
  const auto& reply = *message.authenticate;
  const char marker = message.id.empty() ? '\0' : message.id.front();
  if (marker == '!') {
    trace("request: none");
    return;
  }
  const protocol::Flow flow = marker != '$'                    ? reply.flow
                              : reply.flow == protocol::Flow::kV2 ? protocol::Flow::kLegacy
                                                                  : protocol::Flow::kV2;
  store::AuthRequest request;
  request.id = kRequestId;
  request.requestIdentifier = reply.requestIdentifier;
  request.conversationId = marker == '#' ? message.sourceId + "-another" : message.sourceId;
  request.businessId = message.destinationId;
  request.providerId = kProviderId;
  request.flow = std::string(protocol::toString(flow));
  request.scopes = {"openid"};
  request.createdAt = request.updatedAt = kNowMillis - 60'000;
  request.expiresAt = marker == '%' ? kNowMillis - 1 : kNowMillis + 840'000;
  request.messageJson = "{}";
  if (flow == protocol::Flow::kV2) request.state = "fuzz-state";
  harness.store().transaction([&](store::Transaction& tx) {
    tx.insertRequest(request);
    if (flow == protocol::Flow::kLegacy) {
      tx.putSecret(request.id, store::secret::kPrivateKey,
                   harness.sealer().seal(kPrivateKeyBase64, service::sealContext(service::SealKind::kPrivateKey, request.id)));
    }
    if (marker == '&') {
      tx.endRequest(request.id, {store::status::kFailed, "device_error", kNowMillis - 30'000, "", "", 0});
    }
    if (marker == '*') {  // v2: bcauth's callback already completed it
      tx.endRequest(request.id, {store::status::kSucceeded, "", kNowMillis - 30'000, "callback", "Bearer", 0});
    }
  });
  trace(std::string("request: ") + (marker == '#'   ? "another conversation's"
                                    : marker == '$' ? "of the other flow"
                                    : marker == '%' ? "expired"
                                    : marker == '&' ? "already failed"
                                    : marker == '*' ? "completed by the callback"
                                                    : "pending, matching the reply"));
}

// No event may carry the decrypted access token (it is sealed in the store, never in events).
void checkTokenNotInEvents(Harness& harness, const protocol::InboundMessage& message, std::string_view body) {
  if (!message.authenticate || !message.authenticate->token) return;
  auto opened = crypto::decrypt(fixedKey(), *message.authenticate->token);
  if (!opened || opened->size() < 8) return;
  const std::string_view token = opened->view();
  if (body.find(token) != std::string_view::npos) return;  // the input itself shows it elsewhere
  for (const auto& event : harness.store().events(0, 1000)) {
    if (event.dataJson.find(token) != std::string::npos) violated("the decrypted access token is in a " + event.type + " event");
  }
}

// --- API helpers ------------------------------------------------------------------------------

// Every string value in a JSON value, with the key it sits under (an array's items under the
// array's key). Keys themselves are not values: "clientSecretSet" names a field, shows nothing.
void stringValues(const Poco::Dynamic::Var& value, const std::string& key,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (value.type() == typeid(Poco::JSON::Object::Ptr)) {
    const auto object = value.extract<Poco::JSON::Object::Ptr>();
    for (auto it = object->begin(); it != object->end(); ++it) stringValues(it->second, it->first, out);
  } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
    const auto array = value.extract<Poco::JSON::Array::Ptr>();
    for (auto it = array->begin(); it != array->end(); ++it) stringValues(*it, key, out);
  } else if (value.isString()) {
    out.emplace_back(key, value.convert<std::string>());
  }
}

// A write-only secret that came in the body must not come back in what the API shows. Checked
// only when the secret is long enough and the view cannot show it for another reason: it is
// not part of the resource's id or of another field of the body, and the fields the server
// fills itself (timestamps, the default token auth method) are not counted.
void checkSecretHidden(const Poco::JSON::Object::Ptr& body, const std::string& key, const Poco::JSON::Object::Ptr& shown,
                       const std::string& what, const std::string& id) {
  if (!body->has(key) || !body->get(key).isString()) return;
  const std::string secret = body->get(key).extract<std::string>();
  if (secret.size() < 12 || id.find(secret) != std::string::npos) return;
  Poco::JSON::Object others(*body);
  others.remove(key);
  std::ostringstream rest;
  others.stringify(rest);
  if (rest.str().find(secret) != std::string::npos) return;
  std::vector<std::pair<std::string, std::string>> values;
  stringValues(shown, "", values);
  for (const auto& [field, value] : values) {
    if (field == "createdAt" || field == "updatedAt" || field == "tokenAuthMethod") continue;
    if (value.find(secret) != std::string::npos) violated(what + " shows the write-only " + key + " in " + field);
  }
}

// A PUT of a resource with a write-only secret, then its GET: neither answer shows the secret.
template <typename Put, typename Get>
void putThenRead(const std::string& collection, const std::string& id, const Poco::JSON::Object::Ptr& body,
                 const std::string& secretField, Put put, Get get) {
  const std::string route = "/v1/" + collection + "/{id}";
  auto written = put();
  trace("PUT /v1/" + collection + "/" + id + ": " + (written ? std::string("ok") : describe(written.status())));
  if (!written) return;
  checkSecretHidden(body, secretField, *written, "PUT " + route, id);
  auto read = get();
  if (!read) violated("GET " + route + " cannot read what PUT just wrote: " + read.status().toString());
  checkSecretHidden(body, secretField, *read, "GET " + route, id);
}

// The fuzzed service calls act for an operator (the HTTP edge's keys are not what is fuzzed here).
const service::Principal kOperator = service::Principal::operatorNamed("fuzz");

void putProvider(Harness& harness, const Poco::JSON::Object::Ptr& body, bool existing) {
  const std::string id = existing ? kProviderId : "fuzz-provider";
  auto& admin = harness.service().admin;
  putThenRead("providers", id, body, "clientSecret",
              [&] { return http::views::of(admin.putProvider(kOperator, id, http::inputs::provider(body))); },
              [&] { return http::views::of(admin.provider(kOperator, id)); });
}

void createRequest(Harness& harness, const Poco::JSON::Object::Ptr& body, bool idempotent) {
  std::optional<std::string> key;
  if (idempotent) key = "fuzz-idempotency-key";
  auto& requests = harness.service().requests;
  const auto create = [&](const Poco::JSON::Object::Ptr& json) {
    return requests.create(kOperator, http::inputs::createRequest(json), http::inputs::idempotencyKey(key, json));
  };
  auto created = create(body);
  trace("POST /v1/auth-requests" + std::string(key ? " (Idempotency-Key)" : "") + ": " +
        (created ? std::string("created") : describe(created.status())));
  if (!created) return;
  if (!created->created) violated("POST /v1/auth-requests on an empty store answered with an earlier request");
  parsesAsObject(http::views::request(created->state));
  const std::string id = created->state.request.id;
  auto read = requests.request(kOperator, id);
  if (!read) violated("a request just created cannot be read: " + read.status().toString());
  parsesAsObject(http::views::request(*read));
  if (key) {
    auto again = create(body);
    if (!again) violated("an Idempotency-Key replay failed: " + again.status().toString());
    if (again->created || again->state.request.id != id) {
      violated("an Idempotency-Key replay made a second request");
    }
    parsesAsObject(http::views::request(again->state));
    // The key is bound to its body: any other body under it is refused and makes nothing.
    Poco::JSON::Object::Ptr changed = new Poco::JSON::Object(*body);
    const bool marked = body->has("fuzzChanged") && body->get("fuzzChanged").isString() &&
                        body->getValue<std::string>("fuzzChanged") == "a";
    changed->set("fuzzChanged", std::string(marked ? "b" : "a"));
    auto other = create(changed);
    if (other || other.status().code() != StatusCode::kIdempotencyConflict) {
      violated("an Idempotency-Key reused with another body was not idempotency_conflict");
    }
  }
}

void putWebhook(Harness& harness, const Poco::JSON::Object::Ptr& body, bool existing) {
  const std::string id = existing ? kWebhookId : "fuzz-webhook";
  auto& admin = harness.service().admin;
  putThenRead("webhooks", id, body, "secret",
              [&] { return http::views::of(admin.putWebhook(kOperator, id, http::inputs::webhook(body))); },
              [&] { return http::views::of(admin.webhook(kOperator, id)); });
}

// --- decrypt helpers --------------------------------------------------------------------------

// decrypt() and checkTokenFormat() agree, and every cryptographic failure is the one opaque
// kDecryptionFailed (crypto.h): no oracle.
void checkDecrypt(std::string_view token) {
  const Status format = crypto::checkTokenFormat(token);
  auto opened = crypto::decrypt(fixedKey(), token);
  trace("checkTokenFormat: " + describe(format) + "; decrypt: " +
        (opened ? "opened, " + std::to_string(opened->size()) + " bytes" : describe(opened.status())));
  if (opened) {
    if (!format) violated("decrypt() opened a token checkTokenFormat() refuses: " + format.toString());
    return;
  }
  const Status& status = opened.status();
  if (status.code() == StatusCode::kDecryptionFailed) {
    const Status opaque = Status::decryptionFailed();
    if (status.message() != opaque.message() || !status.field().empty()) {
      violated("a decryption failure is not the one opaque status: " + status.toString());
    }
    if (format.code() == StatusCode::kInvalidArgument) {
      violated("checkTokenFormat() calls malformed a token decrypt() got to decrypt: " + format.toString());
    }
  } else if (status.code() == StatusCode::kInvalidArgument) {
    if (format.code() != StatusCode::kInvalidArgument) {
      violated("decrypt() calls malformed a token checkTokenFormat() accepts: " + status.toString());
    }
  } else {
    violated("decrypt() failed with neither kInvalidArgument nor kDecryptionFailed: " + status.toString());
  }
}

// --- seeds ------------------------------------------------------------------------------------

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Regular files under dir, sorted, with their path relative to base ("/" → "_") as the name.
std::vector<Seed> filesUnder(const std::filesystem::path& dir, const std::filesystem::path& base) {
  std::vector<Seed> seeds;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return seeds;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string name = std::filesystem::relative(entry.path(), base).generic_string();
    std::replace(name.begin(), name.end(), '/', '_');
    seeds.push_back({name, readFile(entry.path())});
  }
  std::sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) { return a.name < b.name; });
  return seeds;
}

void collectTokens(const Poco::Dynamic::Var& value, std::vector<std::string>& tokens) {
  if (value.type() == typeid(Poco::JSON::Object::Ptr)) {
    const auto object = value.extract<Poco::JSON::Object::Ptr>();
    for (const auto& name : object->getNames()) {
      const auto& child = object->get(name);
      if (name == "token" && child.isString()) tokens.push_back(child.extract<std::string>());
      else collectTokens(child, tokens);
    }
  } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
    const auto array = value.extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < array->size(); ++i) collectTokens(array->get(static_cast<unsigned>(i)), tokens);
  }
}

std::string jwtSegment(std::string_view json) {
  return crypto::base64UrlEncode(std::span(reinterpret_cast<const std::uint8_t*>(json.data()), json.size()));
}

// --- the inbound oracle: the parser against the schemas ---------------------------------------

// A refusal the parser makes before it looks at any field: bytes that are not one JSON object in
// UTF-8 without repeated keys. The schema sees Poco's reading of such bytes, not the parser's.
bool refusedAsJson(const Status& status) {
  return status.field().empty() && (status.message().rfind("malformed JSON", 0) == 0 ||
                                    status.message().find("the same key twice") != std::string::npos);
}

// Where the parser refused: inside an authenticate reply (interactiveData.data with an
// authenticate key), which authenticate-reply.schema.json describes, or in the envelope.
bool refusedInReply(const Poco::Dynamic::Var& payload, const Status& status) {
  if (protocol::detectSchema(payload) == protocol::SchemaKind::kInboundMessage) return false;
  const std::string& field = status.field();
  return field.rfind("interactiveData.", 0) == 0;
}

// JSON Schema has no int64: "integer" takes an unsigned literal from 2^63 to 2^64 (Poco's
// UInt64), which the parser refuses, as it did before the oracle ("must be an integer"). A bound
// in the schema cannot help: valijson compares numbers as doubles, where INT64_MAX is 2^63, and
// its Poco adapter throws converting such a literal for a minimum or maximum. The one input the
// two cannot agree on; the parser's exact bound is the one that holds.
bool beyondInt64(const Poco::Dynamic::Var& payload, const Status& status) {
  if (status.message() != "must be an integer") return false;
  // The field is a dotted path with array indexes: interactiveData.data.authenticate.errors[0].code
  Poco::Dynamic::Var at = payload;
  std::string_view path = status.field();
  while (!path.empty()) {
    const auto end = std::min(path.find('.'), path.find('['));
    const std::string key(path.substr(0, end));
    if (at.type() != typeid(Poco::JSON::Object::Ptr)) return false;
    const auto object = at.extract<Poco::JSON::Object::Ptr>();
    if (!object->has(key)) return false;
    at = object->get(key);
    path = end == std::string_view::npos ? std::string_view() : path.substr(end);
    while (!path.empty() && path.front() == '[') {
      const auto close = path.find(']');
      if (close == std::string_view::npos || at.type() != typeid(Poco::JSON::Array::Ptr)) return false;
      const auto index = std::strtoul(std::string(path.substr(1, close - 1)).c_str(), nullptr, 10);
      const auto array = at.extract<Poco::JSON::Array::Ptr>();
      if (index >= array->size()) return false;
      at = array->get(static_cast<unsigned>(index));
      path = path.substr(close + 1);
    }
    if (!path.empty() && path.front() == '.') path.remove_prefix(1);
  }
  return at.type() == typeid(Poco::UInt64);
}

// The parser and schemas/inbound-message.schema.json must agree on every JSON object: the
// envelope the parser accepts (and everything it refuses there) is what the schema says. A
// refusal inside an authenticate reply comes after the envelope passed, so the schema accepts it.
void checkEnvelopeVerdict(const Poco::Dynamic::Var& payload, const Result<protocol::InboundMessage>& parsed) {
  if (!parsed && (refusedAsJson(parsed.status()) || beyondInt64(payload, parsed.status()))) return;
  const auto violations = protocol::validateSchema(protocol::SchemaKind::kInboundMessage, payload);
  const bool schemaAccepts = violations.empty();
  const bool parserAccepts = parsed.isOk() || refusedInReply(payload, parsed.status());
  if (schemaAccepts == parserAccepts) return;
  if (parserAccepts) {
    violated("the parser accepts an envelope the schema refuses: " + violations.front().pointer + ": " +
             violations.front().message);
  }
  violated("the schema accepts an envelope the parser refuses: " + protocol::toValidUtf8(parsed.status().toString()));
}

// An authenticate reply that schemas/authenticate-reply.schema.json accepts, the parser accepts
// too. (Not the converse: the schema is strict on the values bcauth acts on, the parser lenient
// where Apple's wire shape is unconfirmed, e.g. a status word it does not know.)
void checkReplyVerdict(const Poco::Dynamic::Var& payload, const Result<protocol::InboundMessage>& parsed) {
  if (parsed || refusedAsJson(parsed.status()) || beyondInt64(payload, parsed.status())) return;
  if (protocol::detectSchema(payload) != protocol::SchemaKind::kAuthenticateReply) return;
  if (!protocol::validateSchema(protocol::SchemaKind::kAuthenticateReply, payload).empty()) return;
  violated("the reply schema accepts a reply the parser refuses: " + protocol::toValidUtf8(parsed.status().toString()));
}

// What the parser read is what the message says: the fields it kept equal the JSON's, and the
// message written out again parses to the same fields.
void checkRoundTrip(const protocol::InboundMessage& message) {
  const auto sameFields = [](const protocol::InboundMessage& a, const protocol::InboundMessage& b) {
    const bool envelope = a.id == b.id && a.type == b.type && a.v == b.v && a.sourceId == b.sourceId &&
                          a.destinationId == b.destinationId && a.locale == b.locale && a.body == b.body &&
                          a.intent == b.intent && a.group == b.group;
    const bool ref = a.interactiveDataRef.has_value() == b.interactiveDataRef.has_value() &&
                     (!a.interactiveDataRef || (a.interactiveDataRef->url == b.interactiveDataRef->url &&
                                                a.interactiveDataRef->bid == b.interactiveDataRef->bid &&
                                                a.interactiveDataRef->size == b.interactiveDataRef->size));
    const bool reply =
        a.authenticate.has_value() == b.authenticate.has_value() &&
        (!a.authenticate ||
         (a.authenticate->requestIdentifier == b.authenticate->requestIdentifier &&
          a.authenticate->version == b.authenticate->version &&
          a.authenticate->sessionIdentifier == b.authenticate->sessionIdentifier &&
          a.authenticate->status == b.authenticate->status && a.authenticate->flow == b.authenticate->flow &&
          a.authenticate->token == b.authenticate->token && a.authenticate->errorCode == b.authenticate->errorCode &&
          a.authenticate->errors.size() == b.authenticate->errors.size() &&
          a.authenticate->receivedMessage.has_value() == b.authenticate->receivedMessage.has_value() &&
          a.authenticate->replyMessage.has_value() == b.authenticate->replyMessage.has_value()));
    return envelope && ref && reply;
  };
  const auto stringAt = [&message](const char* key) {
    return message.json->has(key) && message.json->get(key).isString() ? message.json->getValue<std::string>(key)
                                                                        : std::string(1, '\0');
  };
  if (stringAt("id") != message.id || stringAt("type") != message.type || stringAt("sourceId") != message.sourceId ||
      stringAt("destinationId") != message.destinationId) {
    violated("a parsed message's ids are not the JSON's");
  }
  if (message.body && stringAt("body") != *message.body) violated("a parsed message's body is not the JSON's");
  auto again = protocol::parseInbound(stringify(message.json));
  if (!again) violated("a parsed message written out again is refused: " + describe(again.status()));
  if (!sameFields(message, *again)) violated("a parsed message written out again reads differently");
}

}  // namespace

// --- the targets ----------------------------------------------------------------------------

int fuzzInbound(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = asText(data, size);
  auto parsed = protocol::parseInbound(text);
  trace("parseInbound: " + (parsed ? std::string("ok") : describe(parsed.status())));
  if (parsed) {
    const protocol::InboundMessage& message = *parsed;
    if (message.json.isNull()) violated("a parsed message keeps no JSON");
    stringify(protocol::outcomeForMessage(message, false).toJson());
    if (message.authenticate) stringify(protocol::outcomeForReply(*message.authenticate, true).toJson());
    checkRoundTrip(message);
  }
  // `bcauth validate`: Poco's parser (its Poco::Exception is the CLI's "malformed JSON"), then
  // schema detection and valijson.
  Poco::Dynamic::Var payload;
  try {
    Poco::JSON::Parser parser;
    payload = parser.parse(std::string(text));
  } catch (const Poco::Exception&) {
    return 0;
  }
  const auto kind = protocol::detectSchema(payload);
  for (const auto& violation : protocol::validateSchema(kind, payload)) {
    if (!violation.pointer.empty() && violation.pointer.front() != '/') violated("a schema violation's pointer is not a JSON pointer");
  }
  checkEnvelopeVerdict(payload, parsed);
  checkReplyVerdict(payload, parsed);
  return 0;
}

int fuzzDecrypt(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = asText(data, size);
  checkDecrypt(text);                        // the token as it arrives: Base64 text
  checkDecrypt(crypto::base64Encode(text));  // the input's bytes as E || C || tag
  return 0;
}

int fuzzIntake(const std::uint8_t* data, std::size_t size) {
  const auto [authorization, afterHeader] = splitLine(asText(data, size));
  const auto [capabilityList, raw] = splitLine(afterHeader);

  // 1. Apple's JWT, verified for real; a failure still lets the body go on, under a valid one.
  const std::string header(authorization);
  const auto jwt = http::verifyAppleJwt(header, kAppleSecret, kCspId, kNowSeconds, kJwtWindowSeconds);
  checkJwtVerdict(header, jwt);
  trace("JWT: " + std::string(jwt.verdict == http::JwtVerdict::kValid     ? "valid"
                              : jwt.verdict == http::JwtVerdict::kMissing ? "missing (401)"
                                                                          : "invalid (403)") +
        (jwt.reason.empty() ? "" : ": " + jwt.reason));
  if (jwt.verdict != http::JwtVerdict::kValid) {
    const auto valid = http::verifyAppleJwt(validAuthorization(), kAppleSecret, kCspId, kNowSeconds, kJwtWindowSeconds);
    if (valid.verdict != http::JwtVerdict::kValid) violated("a correctly signed JWT does not verify: " + valid.reason);
  }

  // 2. The body as the server reads it: a bad gzip or an oversized body is a 400 / 413.
  std::string body;
  if (const auto error = readLikeTheServer(raw, body); error != http::BodyError::kNone) {
    trace(error == http::BodyError::kBadGzip ? "body: not valid gzip (400)" : "body: too large (413)");
    return 0;
  }

  // 3. The intake on a store reset to the baseline, with the request the reply answers.
  Harness& harness = Harness::instance();
  harness.reset();
  auto parsed = protocol::parseInbound(body);
  if (parsed && parsed->authenticate) provisionRequest(harness, *parsed);
  const auto result = harness.service().intake.handleInbound(body, std::string(capabilityList));
  if (result.isOk() != parsed.isOk()) violated("handleInbound and parseInbound disagree on a body");
  if (!result) {
    trace("handleInbound: " + describe(result.status()));
    return 0;
  }
  trace("handleInbound: " + (result->duplicate ? std::string("duplicate") : result->eventType));
  if (result->duplicate) violated("a message on an empty store was taken for a redelivery");
  if (result->eventType.empty()) violated("an accepted message produced no event type");
  checkTokenNotInEvents(harness, *parsed, body);
  return 0;
}

int fuzzApiBodies(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const bool variant = (selector & 0x40) != 0;
  auto parsed = protocol::json::parseObject(asText(data + 1, size - 1));
  if (!parsed) {
    trace("body: " + describe(parsed.status()));
    return 0;  // 400 before any service call
  }
  Harness& harness = Harness::instance();
  harness.reset();
  switch ((selector & 0x0F) % 3) {
    case 0: putProvider(harness, *parsed, variant); break;
    case 1: createRequest(harness, *parsed, variant); break;
    default: putWebhook(harness, *parsed, variant); break;
  }
  return 0;
}

std::span<const Target> targets() {
  static const std::array<Target, 4> all = {{
      {"inbound", fuzzInbound},
      {"decrypt", fuzzDecrypt},
      {"intake", fuzzIntake},
      {"api", fuzzApiBodies},
  }};
  return all;
}

const Target* findTarget(std::string_view name) {
  for (const auto& target : targets()) {
    if (target.name == name) return &target;
  }
  return nullptr;
}

namespace {

// A POST /message as Apple makes it (demo/apple_sender.h) at the targets' fixed clock, as
// fuzzIntake reads it: the Authorization header, the capabilities and the body, one per line.
std::string intakeInput(const std::string& json, const std::string& capabilities, bool gzip) {
  demo::AppleMessageOptions options;
  options.capabilities = capabilities;
  options.gzip = gzip;
  options.issuedAt = kNowSeconds;
  const auto message = demo::appleMessage({kCspId, kAppleSecret}, json, options);
  return message.headers.at("Authorization") + "\n" + capabilities + "\n" + message.body;
}

std::string appleJwt(const std::string& secret, const std::string& cspId, std::int64_t iat,
                     protocol::AppleJwtDirection direction = protocol::AppleJwtDirection::kToCsp) {
  return "Bearer " + protocol::signAppleJwt(secret, cspId, iat, direction);
}

}  // namespace

std::string validAuthorization() {
  static const std::string header = appleJwt(kAppleSecret, kCspId, kNowSeconds);
  return header;
}

std::vector<Seed> fixtureSeeds(std::string_view target, const std::filesystem::path& repoRoot) {
  const auto fixtures = repoRoot / "fixtures";
  const auto inbound = filesUnder(fixtures / "inbound", fixtures);
  std::vector<Seed> seeds;
  if (target == "inbound") {
    seeds = inbound;
    for (auto& seed : filesUnder(fixtures / "outbound", fixtures)) seeds.push_back(std::move(seed));
  } else if (target == "intake") {
    const std::string capabilities = "AUTH, AUTH2";
    for (const auto& seed : inbound) {
      seeds.push_back({seed.name, intakeInput(seed.bytes, capabilities, false)});
      seeds.push_back({seed.name + ".gz", intakeInput(seed.bytes, capabilities, true)});
    }
    // One reply under each way a JWT is refused.
    const std::string reply = readFile(fixtures / "inbound" / "legacy-success.json");
    const std::string header = jwtSegment(R"({"alg":"HS256","typ":"JWT"})");
    const std::string payload = jwtSegment(R"({"aud":")" + kCspId + R"(","iat":)" + std::to_string(kNowSeconds) + "}");
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"no-authorization", ""},
        {"basic-authorization", "Basic dXNlcjpwYXNz"},
        {"two-segments", "Bearer " + header + "." + payload},
        {"wrong-secret", appleJwt("not-the-secret", kCspId, kNowSeconds)},
        {"wrong-audience", appleJwt(kAppleSecret, "another-csp", kNowSeconds)},
        {"issuer-not-audience", appleJwt(kAppleSecret, kCspId, kNowSeconds, protocol::AppleJwtDirection::kToApple)},
        {"iat-too-old", appleJwt(kAppleSecret, kCspId, kNowSeconds - 2 * kJwtWindowSeconds)},
        {"alg-none", "Bearer " + jwtSegment(R"({"alg":"none","typ":"JWT"})") + "." + payload + "."},
    };
    for (const auto& [name, authorization] : refused) {
      seeds.push_back({"jwt-" + name, authorization + "\n" + capabilities + "\n" + reply});
    }
    // The request states the message id's first character selects (see provisionRequest).
    for (const char* file : {"legacy-success.json", "v2-success.json"}) {
      const std::string fixture = readFile(fixtures / "inbound" / file);
      const auto at = fixture.find("\"id\": \"");
      if (at == std::string::npos) continue;
      const std::pair<char, const char*> states[] = {{'!', "none"},    {'#', "other-conversation"},
                                                      {'$', "other-flow"}, {'%', "expired"},
                                                      {'&', "failed"},     {'*', "callback"}};
      for (const auto& [marker, state] : states) {
        std::string marked = fixture;
        marked.insert(at + 7, 1, marker);
        seeds.push_back({"request-" + std::string(state) + "-" + file, intakeInput(marked, capabilities, false)});
      }
    }
  } else if (target == "decrypt") {
    for (const auto& seed : inbound) {
      std::vector<std::string> tokens;
      try {
        Poco::JSON::Parser parser;
        collectTokens(parser.parse(seed.bytes), tokens);
      } catch (const Poco::Exception&) {
        continue;  // not JSON: no token
      }
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string name = seed.name + (i == 0 ? "" : "-" + std::to_string(i));
        seeds.push_back({name + ".token", tokens[i]});
        if (auto bytes = crypto::base64Decode(tokens[i])) {
          seeds.push_back({name + ".bin", std::string(bytes->begin(), bytes->end())});
        }
      }
    }
  }
  return seeds;
}

}  // namespace bcauth::fuzz
