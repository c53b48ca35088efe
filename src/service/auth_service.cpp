// Providers, request creation, cancel, tokens and events.
#include "service/auth_service.h"

#include <algorithm>
#include <chrono>

#include <Poco/Net/IPAddress.h>

#include "bcauth/crypto.h"
#include "bcauth/protocol.h"
#include "bcauth/secure.h"
#include "clients/outbound_url.h"
#include "protocol/ids.h"
#include "protocol/json_util.h"
#include "protocol/message_info.h"
#include "service/json_views.h"

namespace bcauth::service {
namespace {

using protocol::detail::Fields;

// Random bytes in an OAuth state (both flows), as in Apple's sample: 192 bits, sent as 32
// Base64url characters, which IdPs pass through redirects unchanged (spec §9.11).
constexpr std::size_t kStateBytes = 24;

Status notFound(const std::string& what, const std::string& id) { return Status::notFound(what + " " + id + " does not exist"); }

bool isLoopbackHost(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

Result<std::vector<std::string>> stringList(const Fields& fields, const std::string& key) {
  auto array = fields.optionalArray(key);
  if (!array) return array.status();
  std::vector<std::string> out;
  if (!*array) return out;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const auto item = (*array)->get(static_cast<unsigned>(i));
    if (!item.isString() || item.extract<std::string>().empty()) {
      return Status::invalidArgument("must be a non-empty string", fields.path(key) + "[" + std::to_string(i) + "]");
    }
    out.push_back(item.extract<std::string>());
  }
  return out;
}

Result<protocol::MessageInfo> messageInfo(const Fields& fields, const std::string& key, const std::string& defaultTitle) {
  auto object = fields.optionalObject(key);
  if (!object) return object.status();
  protocol::MessageInfo info;
  if (*object) {
    auto parsed = protocol::detail::parseMessageInfo(*object, fields.path(key));
    if (!parsed) return parsed.status();
    info = std::move(*parsed);
  }
  if (info.title.empty()) info.title = defaultTitle;
  return info;
}

JsonObject eventView(const store::Event& event) {
  auto view = protocol::detail::newObject();
  view->set("seq", event.seq);
  view->set("type", event.type);
  view->set("at", detail::isoTime(event.at));
  view->set("conversationId", event.conversationId);
  if (!event.authRequestId.empty()) view->set("authRequestId", event.authRequestId);
  view->set("data", detail::parseJsonObject(event.dataJson));
  return view;
}

// The message as stored and shown: the legacy clientSecret never leaves bcauth through the API.
std::string redactedMessage(const protocol::AuthenticateMessage& message) {
  auto json = message.toJson();
  auto oauth2 = json->getObject("interactiveData")->getObject("data")->getObject("authenticate")->getObject("oauth2");
  if (oauth2->has("clientSecret")) oauth2->set("clientSecret", std::string("[redacted]"));
  return detail::toJsonString(json);
}

}  // namespace

std::string sealContext(const std::string& kind, const std::string& id) { return kind + ":" + id; }

AuthService::AuthService(store::Store& store, crypto::Sealer sealer, ServiceConfig config,
                         std::function<std::int64_t()> nowMillis)
    : store_(store),
      sealer_(std::move(sealer)),
      config_(std::move(config)),
      now_(std::move(nowMillis)),
      outbound_{config_.allowHttpLoopbackProviders, config_.outboundAllowCidrs},
      idp_(outbound_),
      gateway_(config_.gateway),
      keyPool_(config_.keyPool),
      // Commits in this process and, on PostgreSQL, in every other one wake the waiting readers.
      eventWatch_(store_.watchEvents([this] { notifyEvents(); })) {}

Status AuthService::checkOutboundUrl(const std::string& url, const std::string& field) const {
  const auto parsed = clients::parseOutboundUrl(url);
  if (!parsed) return Status::invalidArgument(parsed.status().message(), field);
  if (parsed->scheme != "https" && !(config_.allowHttpLoopbackProviders && isLoopbackHost(parsed->host))) {
    return Status::invalidArgument("must be an https URL", field);
  }
  // A name is checked when it is called (it may resolve differently then); a literal now.
  if (parsed->hostIsAddress) {
    const Poco::Net::IPAddress address(parsed->host);
    if (const auto refusal = outbound_.refusal(address); !refusal.empty()) {
      return Status::invalidArgument("must not point into the operator's network: " + address.toString() + " " + refusal +
                                         " (BCAUTH_OUTBOUND_ALLOW_CIDRS opens a range)",
                                     field);
    }
  }
  return Status::ok();
}

// --- providers ------------------------------------------------------------------

Result<JsonObject> AuthService::putProvider(const std::string& id, const JsonObject& body) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  const Fields fields(body, "");
  store::Provider p;
  p.id = id;
  for (auto [key, target] : {std::pair{"name", &p.name}, std::pair{"authorizationUrl", &p.authorizationUrl},
                             std::pair{"tokenUrl", &p.tokenUrl}, std::pair{"clientId", &p.clientId}}) {
    auto value = fields.requiredString(key);
    if (!value) return value.status();
    *target = *value;
  }
  auto userinfo = fields.optionalString("userinfoUrl");
  if (!userinfo) return userinfo.status();
  p.userinfoUrl = userinfo->value_or("");
  for (auto [key, value] : {std::pair{"authorizationUrl", &p.authorizationUrl}, std::pair{"tokenUrl", &p.tokenUrl},
                            std::pair{"userinfoUrl", &p.userinfoUrl}}) {
    if (value->empty()) continue;
    if (auto s = checkOutboundUrl(*value, key); !s) return s;
  }
  auto scopes = stringList(fields, "scopes");
  if (!scopes) return scopes.status();
  if (scopes->empty()) return Status::invalidArgument("needs at least one scope", "scopes");
  p.scopes = *scopes;
  if (fields.has("enabled")) {
    const auto& enabled = body->get("enabled");
    if (!enabled.isBoolean()) return fields.wrongType("enabled", "a boolean");
    p.enabled = enabled.extract<bool>();
  }
  auto authMethod = fields.optionalString("tokenAuthMethod");
  if (!authMethod) return authMethod.status();
  if (*authMethod) {
    if (**authMethod != "client_secret_post" && **authMethod != "client_secret_basic") {
      return Status::invalidArgument("must be client_secret_post or client_secret_basic", "tokenAuthMethod");
    }
    p.tokenAuthMethod = **authMethod;
  }
  auto profile = fields.optionalObject("profileFields");
  if (!profile) return profile.status();
  if (*profile) {
    for (const auto& name : (*profile)->getNames()) {
      const auto& claim = (*profile)->get(name);
      if (!claim.isString()) return Status::invalidArgument("must map to a claim name", "profileFields." + name);
      p.profileFields[name] = claim.extract<std::string>();
    }
  }
  const auto existing = store_.provider(id);
  p.createdAt = existing ? existing->createdAt : now_();
  p.updatedAt = now_();
  // The secret is write-only: a PUT without clientSecret keeps the one already stored.
  auto secret = fields.optionalString("clientSecret");
  if (!secret) return secret.status();
  if (*secret && (*secret)->find_first_of("&+") != std::string::npos) {
    // The legacy device form-encodes the token request without escaping these (spec §9.10).
    return Status::invalidArgument("must not contain '&' or '+': the device sends them unescaped to the token URL",
                                   "clientSecret");
  }
  if (*secret) {
    p.sealedClientSecret = (*secret)->empty() ? std::nullopt
                                              : std::optional(sealer_.seal(**secret, sealContext("provider", id)));
  } else if (existing) {
    p.sealedClientSecret = existing->sealedClientSecret;
  }
  store_.transaction([&](store::Transaction& tx) { tx.putProvider(p); });
  return provider(id);
}

Result<JsonObject> AuthService::provider(const std::string& id) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  const auto p = store_.provider(id);
  if (!p) return notFound("provider", id);
  return providerView(*p);
}

JsonObject AuthService::providerView(const store::Provider& provider) {
  const store::Provider* p = &provider;
  auto view = protocol::detail::newObject();
  view->set("id", p->id);
  view->set("name", p->name);
  view->set("authorizationUrl", p->authorizationUrl);
  view->set("tokenUrl", p->tokenUrl);
  if (!p->userinfoUrl.empty()) view->set("userinfoUrl", p->userinfoUrl);
  view->set("clientId", p->clientId);
  view->set("clientSecretSet", p->sealedClientSecret.has_value());
  view->set("tokenAuthMethod", p->tokenAuthMethod);
  view->set("scopes", detail::stringArray(p->scopes));
  view->set("enabled", p->enabled);
  auto profile = protocol::detail::newObject();
  for (const auto& [field, claim] : p->profileFields) profile->set(field, claim);
  view->set("profileFields", profile);
  view->set("createdAt", detail::isoTime(p->createdAt));
  view->set("updatedAt", detail::isoTime(p->updatedAt));
  return view;
}

Result<Poco::JSON::Array::Ptr> AuthService::providers(bool enabledOnly) {
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
  for (const auto& p : store_.providers(enabledOnly)) list->add(providerView(p));
  return list;
}

Status AuthService::deleteProvider(const std::string& id) {
  if (auto valid = protocol::ids::checkProviderId(id); !valid) return valid;
  bool deleted = false;
  store_.transaction([&](store::Transaction& tx) { deleted = tx.deleteProvider(id); });
  return deleted ? Status::ok() : notFound("provider", id);
}

// --- requests -------------------------------------------------------------------

Result<Created> AuthService::replayCreate(const store::AuthRequest& existing, const std::string& bodySha256) {
  // A request stored before bodies were hashed (migration 7) has nothing to compare: replayed.
  if (existing.idempotencyBodySha256 && *existing.idempotencyBodySha256 != bodySha256) {
    return Status::idempotencyConflict("this Idempotency-Key was already used with a different body; "
                                       "retry with the first body, or use a new key for a new request",
                                       "Idempotency-Key");
  }
  auto view = request(existing.id);
  if (!view) return view.status();
  return Created{*view, false};
}

Result<Created> AuthService::createRequest(const JsonObject& body, const std::optional<std::string>& idempotencyKey,
                                           const Admission& admit) {
  std::optional<std::string> bodySha256;
  if (idempotencyKey) {
    if (auto valid = protocol::ids::checkIdempotencyKey(*idempotencyKey); !valid) return valid;
    bodySha256 = detail::hex(crypto::sha256(protocol::detail::canonicalJson(Poco::Dynamic::Var(body))));
    if (auto existing = store_.requestByIdempotencyKey(*idempotencyKey)) return replayCreate(*existing, *bodySha256);
  }
  const Fields fields(body, "");
  store::AuthRequest request;
  for (auto [key, target] : {std::pair{"conversationId", &request.conversationId},
                             std::pair{"businessId", &request.businessId},
                             std::pair{"providerId", &request.providerId}}) {
    auto value = fields.requiredString(key);
    if (!value) return value.status();
    *target = *value;
  }
  for (const auto& valid : {protocol::ids::checkConversationId(request.conversationId),
                            protocol::ids::checkBusinessId(request.businessId),
                            protocol::ids::checkProviderId(request.providerId)}) {
    if (!valid) return valid;
  }
  const auto provider = store_.provider(request.providerId);
  if (!provider) return Status::invalidArgument("names no registered provider", "providerId");
  if (!provider->enabled) return Status::conflict("provider " + provider->id + " is disabled");

  auto scopes = stringList(fields, "scopes");
  if (!scopes) return scopes.status();
  request.scopes = scopes->empty() ? provider->scopes : *scopes;
  for (const auto& s : request.scopes) {
    if (std::find(provider->scopes.begin(), provider->scopes.end(), s) == provider->scopes.end()) {
      return Status::invalidArgument("\"" + s + "\" is not one of the provider's scopes", "scopes");
    }
  }

  auto flowText = fields.optionalString("flow");
  if (!flowText) return flowText.status();
  const std::string flowName = flowText->value_or("auto");
  protocol::Flow flow;
  if (flowName == "auto") {
    const auto capabilities = store_.capabilities(request.conversationId);
    if (!capabilities) {
      return Status::conflict("flow auto: no capability-list is recorded for this conversation yet; "
                              "wait for a message from the customer or choose flow legacy or v2");
    }
    if (protocol::hasCapability(*capabilities, "AUTH2")) flow = protocol::Flow::kV2;
    else if (protocol::hasCapability(*capabilities, "AUTH")) flow = protocol::Flow::kLegacy;
    else return Status::conflict("flow auto: the customer's device supports neither AUTH nor AUTH2");
  } else if (auto parsed = protocol::parseFlow(flowName)) {
    flow = *parsed;
  } else {
    return Status::invalidArgument("must be auto, legacy or v2", "flow");
  }
  if (flow == protocol::Flow::kV2 && config_.publicUrl.empty()) {
    return Status::conflict("the v2 flow needs BCAUTH_PUBLIC_URL (the base of bcauth's /oauth/callback)");
  }
  request.flow = std::string(protocol::toString(flow));

  std::int64_t ttl = config_.defaultTtlSeconds;
  auto ttlValue = fields.optionalInteger("ttlSeconds");
  if (!ttlValue) return ttlValue.status();
  if (*ttlValue) {
    if (**ttlValue < 30 || **ttlValue > config_.maxTtlSeconds) {
      return Status::invalidArgument("must be between 30 and " + std::to_string(config_.maxTtlSeconds), "ttlSeconds");
    }
    ttl = **ttlValue;
  }

  bool deliver = gateway_.enabled(), waitForDelivery = false, autoReply = false;
  for (auto [key, target] : {std::pair{"deliver", &deliver}, std::pair{"waitForDelivery", &waitForDelivery},
                             std::pair{"autoReply", &autoReply}}) {
    if (!fields.has(key)) continue;
    if (!body->get(key).isBoolean()) return fields.wrongType(key, "a boolean");
    *target = body->get(key).extract<bool>();
  }
  if (deliver && !gateway_.enabled()) {
    return Status::conflict("delivery through Apple's gateway is disabled (BCAUTH_APPLE_GATEWAY_URL=none); "
                            "send deliver: false and deliver the returned message yourself");
  }

  protocol::AuthenticateRequest message;
  message.id = crypto::randomUuid();
  message.sourceId = request.businessId;
  message.destinationId = request.conversationId;
  message.requestIdentifier = crypto::randomUuid();
  auto received = messageInfo(fields, "receivedMessage", "Sign in to " + provider->name);
  if (!received) return received.status();
  auto reply = messageInfo(fields, "replyMessage", "You signed in");
  if (!reply) return reply.status();
  message.receivedMessage = *received;
  message.replyMessage = *reply;
  auto images = fields.optionalArray("images");
  if (!images) return images.status();
  if (*images) {
    for (std::size_t i = 0; i < (*images)->size(); ++i) {
      const auto item = (*images)->get(static_cast<unsigned>(i));
      const std::string path = "images[" + std::to_string(i) + "]";
      if (item.type() != typeid(Poco::JSON::Object::Ptr)) return Status::invalidArgument("must be an object", path);
      const Fields image(item.extract<Poco::JSON::Object::Ptr>(), path);
      auto identifier = image.requiredString("identifier");
      if (!identifier) return identifier.status();
      auto data = image.requiredString("data");
      if (!data) return data.status();
      auto description = image.optionalString("description");
      if (!description) return description.status();
      message.images.push_back({*identifier, *data, *description});
    }
  }

  std::optional<crypto::PrivateKey> key;
  std::optional<std::string> verifier;
  std::optional<store::Delivery> queued;
  if (flow == protocol::Flow::kLegacy) {
    auto generated = keyPool_.take();
    if (!generated) return generated.status();
    key = std::move(*generated);
    std::optional<std::string> clientSecret;
    if (provider->sealedClientSecret) {
      auto secret = sealer_.unseal(*provider->sealedClientSecret, sealContext("provider", provider->id));
      if (!secret) return Status::internal("the provider's client secret does not unseal (wrong master key?)");
      clientSecret = std::string(secret->view());
    }
    // The legacy reply does not echo the state (spec §4.1): it is the IdP's anti-forgery value
    // for the device's own redirect, so it is sent, fresh per request, and not stored for a
    // lookup (request.state stays the v2 callback's key).
    message.oauth2 = protocol::LegacyOAuth2{"code", request.scopes, key->publicKey().toBase64(),
                                            crypto::randomUrlToken(kStateBytes), clientSecret};
  } else {
    message.version = config_.v2MessageVersion;
    request.state = crypto::randomUrlToken(kStateBytes);
    verifier = crypto::randomUrlToken(32);
    message.oauth2 = protocol::RedirectOAuth2{
        "code", request.scopes, *request.state, config_.publicUrl + "/oauth/callback",
        "code_challenge=" + crypto::pkceChallengeS256(*verifier) + "&code_challenge_method=S256"};
  }
  auto built = protocol::AuthenticateMessage::create(std::move(message));
  if (!built) return built.status();
  // Valid and new: only now may a rate limit charge it. (A legacy key already taken from the
  // pool is dropped on a refusal; the pool refills, and the API-key limit bounds the rate.)
  if (admit) {
    if (auto admitted = admit(request.conversationId); !admitted) return admitted;
  }

  request.id = crypto::randomUuid();
  request.requestIdentifier = built->request().requestIdentifier;
  request.createdAt = request.updatedAt = now_();
  request.expiresAt = request.createdAt + ttl * 1000;
  request.messageJson = redactedMessage(*built);
  request.idempotencyKey = idempotencyKey;
  request.idempotencyBodySha256 = bodySha256;

  auto data = protocol::detail::newObject();
  data->set("flow", request.flow);
  data->set("providerId", request.providerId);
  data->set("scopes", detail::stringArray(request.scopes));
  try {
    store_.transaction([&](store::Transaction& tx) {
      tx.insertRequest(request);
      if (key) {
        const crypto::Secret scalar = key->exportKeypair();
        tx.putSecret(request.id, store::secret::kPrivateKey,
                     sealer_.seal(scalar.view(), sealContext(store::secret::kPrivateKey, request.id)));
      }
      if (verifier) {
        tx.putSecret(request.id, store::secret::kPkceVerifier,
                     sealer_.seal(*verifier, sealContext(store::secret::kPkceVerifier, request.id)));
      }
      tx.appendEvent(detail::makeEvent("auth.requested", request.createdAt, request.conversationId, request.id, data));
      if (deliver) {
        // The exact message, client secret included, goes to the outbox sealed.
        auto envelope = protocol::detail::newObject();
        envelope->set("autoReply", autoReply);
        envelope->set("message", built->toJson());
        store::Delivery delivery;
        delivery.requestId = request.id;
        delivery.sealedBody = sealer_.seal(detail::toJsonString(envelope), sealContext("delivery", request.id));
        delivery.nextAttemptAt = request.createdAt;
        delivery.updatedAt = request.createdAt;
        if (waitForDelivery) {
          // Written already claimed by this call, as deliverOne would claim it: the sweeper
          // cannot take the first attempt from under a caller waiting for its outcome, and a
          // crash before the attempt leaves the lease to expire, then the sweeper sends it.
          delivery.attempts = 1;
          delivery.nextAttemptAt = request.createdAt + config_.deliveryLeaseMs;
        }
        tx.insertDelivery(delivery);
        queued = std::move(delivery);
      }
    });
  } catch (const store::DuplicateError&) {
    // Another create with the same Idempotency-Key won the race: answer with its request.
    if (idempotencyKey) {
      if (auto existing = store_.requestByIdempotencyKey(*idempotencyKey)) return replayCreate(*existing, *bodySha256);
    }
    throw;
  }
  JsonObject view;
  if (deliver && waitForDelivery) {
    attemptDelivery(*queued);
    view = requestView(request);
  } else {
    view = requestView(request, queued);  // what was just written: no need to read it back
  }
  view->set("message", detail::parseJsonObject(request.messageJson));
  return Created{view, true};
}

JsonObject AuthService::requestView(const store::AuthRequest& r) { return requestView(r, store_.delivery(r.id)); }

JsonObject AuthService::requestView(const store::AuthRequest& r, const std::optional<store::Delivery>& d) {
  auto view = protocol::detail::newObject();
  view->set("id", r.id);
  view->set("requestIdentifier", r.requestIdentifier);
  view->set("conversationId", r.conversationId);
  view->set("businessId", r.businessId);
  view->set("providerId", r.providerId);
  view->set("flow", r.flow);
  view->set("scopes", detail::stringArray(r.scopes));
  view->set("status", r.status);
  if (!r.statusReason.empty()) view->set("statusReason", r.statusReason);
  view->set("createdAt", detail::isoTime(r.createdAt));
  view->set("updatedAt", detail::isoTime(r.updatedAt));
  view->set("expiresAt", detail::isoTime(r.expiresAt));
  if (d) {
    auto delivery = protocol::detail::newObject();
    delivery->set("status", d->status);
    delivery->set("attempts", d->attempts);
    if (d->lastHttpStatus != 0) delivery->set("appleStatus", d->lastHttpStatus);
    if (!d->lastError.empty()) delivery->set("lastError", d->lastError);
    view->set("delivery", delivery);
  } else {
    auto delivery = protocol::detail::newObject();
    delivery->set("status", std::string("not_requested"));
    view->set("delivery", delivery);
  }
  view->set("tokenAvailable", r.status == store::status::kSucceeded &&
                                  store_.secret(r.id, store::secret::kAccessToken).has_value());
  return view;
}

Result<JsonObject> AuthService::request(const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  auto r = store_.request(id);
  if (!r) return notFound("auth request", id);
  auto view = requestView(*r);
  view->set("message", detail::parseJsonObject(r->messageJson));
  return view;
}

Result<JsonObject> AuthService::cancelRequest(const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  Status outcome = Status::ok();
  store_.transaction([&](store::Transaction& tx) {
    auto r = tx.request(id);
    if (!r) {
      outcome = notFound("auth request", id);
      return;
    }
    if (r->status != store::status::kPending) {
      outcome = Status::conflict("auth request " + id + " is " + r->status + ", not pending");
      return;
    }
    const auto at = now_();
    tx.updateRequestStatus(id, store::status::kCancelled, "cancelled by agent", at);
    tx.setCompletion(id, "agent", "", 0);
    tx.deleteSecret(id, store::secret::kPrivateKey);
    tx.deleteSecret(id, store::secret::kPkceVerifier);
    auto data = protocol::detail::newObject();
    data->set("by", std::string("agent"));
    tx.appendEvent(detail::makeEvent("auth.cancelled", at, r->conversationId, id, data));
  });
  if (!outcome) return outcome;
  return request(id);
}

Result<JsonObject> AuthService::token(const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  const auto r = store_.request(id);
  if (!r) return notFound("auth request", id);
  if (r->status != store::status::kSucceeded) {
    return Status::conflict("auth request " + id + " is " + r->status + "; a token exists only once it succeeded");
  }
  const auto sealed = store_.secret(id, store::secret::kAccessToken);
  if (!sealed) return Status::conflict("auth request " + id + " succeeded without a token (v2 before the callback)");
  auto accessToken = sealer_.unseal(*sealed, sealContext(store::secret::kAccessToken, id));
  if (!accessToken) return Status::internal("the stored token does not unseal (wrong master key?)");
  const bool refreshable = store_.secret(id, store::secret::kRefreshToken).has_value();
  if (r->tokenExpiresAt != 0 && r->tokenExpiresAt <= now_()) {
    return Status::conflict("the access token of auth request " + id + " expired at " + detail::isoTime(r->tokenExpiresAt) +
                            (refreshable ? "; POST .../refresh for a new one" : ""));
  }
  auto view = protocol::detail::newObject();
  view->set("authRequestId", id);
  view->set("accessToken", std::string(accessToken->view()));
  view->set("tokenType", r->tokenType.empty() ? std::string("Bearer") : r->tokenType);
  if (r->tokenExpiresAt != 0) view->set("expiresAt", detail::isoTime(r->tokenExpiresAt));
  view->set("refreshTokenAvailable", refreshable);
  return view;
}

// --- events ---------------------------------------------------------------------

void AuthService::shutdown() {
  {
    std::lock_guard lock(eventsMutex_);
    shuttingDown_ = true;
    ++eventsVersion_;
  }
  eventsChanged_.notify_all();
}

void AuthService::notifyEvents() {
  {
    std::lock_guard lock(eventsMutex_);
    ++eventsVersion_;
  }
  eventsChanged_.notify_all();
}

Result<JsonObject> AuthService::events(std::int64_t afterSeq, std::size_t limit, std::int64_t waitMillis) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(waitMillis, 0));
  const auto recheck = std::chrono::milliseconds(std::max<std::int64_t>(config_.eventsRecheckMillis, 1));
  std::vector<store::Event> found;
  std::unique_lock lock(eventsMutex_);
  // Every pass reads the store — the first, each wake (a commit here or in another instance),
  // each recheck, and the last one at the deadline — so an answer is never empty while an
  // event committed before it was waiting in the store.
  for (;;) {
    const auto seen = eventsVersion_;  // taken before the read: a commit after it wakes the wait
    lock.unlock();
    found = store_.events(afterSeq, limit);
    lock.lock();
    if (!found.empty() || shuttingDown_ || Clock::now() >= deadline) break;
    eventsChanged_.wait_until(lock, std::min(deadline, Clock::now() + recheck), [&] { return eventsVersion_ != seen; });
  }
  lock.unlock();
  auto body = protocol::detail::newObject();
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
  std::int64_t last = afterSeq;
  for (const auto& e : found) {
    list->add(eventView(e));
    last = e.seq;
  }
  body->set("events", list);
  body->set("next", last);
  return body;
}

Result<JsonObject> AuthService::conversationEvents(const std::string& conversationId, std::int64_t afterSeq,
                                                   std::size_t limit) {
  if (auto valid = protocol::ids::checkConversationId(conversationId); !valid) return valid;
  auto body = protocol::detail::newObject();
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
  std::int64_t last = afterSeq;
  for (const auto& e : store_.conversationEvents(conversationId, afterSeq, limit)) {
    list->add(eventView(e));
    last = e.seq;
  }
  body->set("events", list);
  body->set("next", last);
  return body;
}

}  // namespace bcauth::service
