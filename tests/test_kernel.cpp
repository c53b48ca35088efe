// The service kernel and its use cases without any server: a fake clock, and doubles for Apple's
// gateway and the identity provider injected through the ports (service/ports.h).
#define BOOST_TEST_MODULE kernel
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <set>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "test_support.h"
#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "bcauth/secure.h"
#include "demo/temp_dir.h"
#include "service/auth_service.h"
#include "service/delivery_envelope.h"
#include "service/event_type.h"
#include "service/vault.h"

using namespace bcauth;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

// Apple's gateway: records what it is given, answers with `status`.
struct GatewayDouble final : service::GatewayPort {
  bool enabled() const override { return true; }
  clients::GatewayAnswer sendAuthenticate(const clients::GatewayMessage& message) override {
    sent.push_back(message);
    return {true, status, ""};
  }
  std::vector<clients::GatewayMessage> sent;
  int status = 200;
};

// An IdP that grants every code and knows one customer.
struct IdpDouble final : service::IdentityProviderPort {
  clients::TokenResponse exchangeCode(const std::string& tokenUrl, const clients::ClientCredentials& client,
                                      const std::string& code, const std::string& redirectUri,
                                      const std::optional<std::string>& codeVerifier) override {
    exchanged.push_back({tokenUrl, client.clientId, code, redirectUri, codeVerifier.value_or("")});
    return tokens("access-1", "refresh-1");
  }
  clients::TokenResponse refresh(const std::string&, const clients::ClientCredentials&, const std::string&) override {
    return tokens("access-2", "refresh-2");
  }
  clients::UserinfoResponse userinfo(const std::string&, const std::string& accessToken) override {
    clients::UserinfoResponse answer;
    answer.claims = parse(R"({"sub":"customer-7","email":"c7@example.com","extra":"not mapped"})");
    userinfoTokens.push_back(accessToken);
    return answer;
  }
  static clients::TokenResponse tokens(const std::string& access, const std::string& refresh) {
    clients::TokenResponse t;
    t.accessToken = crypto::Secret(access);
    t.refreshToken = crypto::Secret(refresh);
    t.tokenType = "Bearer";
    t.expiresInSeconds = 3600;
    return t;
  }
  std::vector<std::vector<std::string>> exchanged;
  std::vector<std::string> userinfoTokens;
};

struct Kernel {
  demo::TempDir dir;
  std::unique_ptr<store::Store> db = store::openSqliteStore(dir.path());
  std::atomic<std::int64_t> now{1'700'000'000'000};
  std::shared_ptr<GatewayDouble> gateway = std::make_shared<GatewayDouble>();
  std::shared_ptr<IdpDouble> idp = std::make_shared<IdpDouble>();
  service::AuthService service{*db, crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value(),
                               config(), [this] { return now.load(); },
                               service::Ports{gateway, idp, nullptr}};

  static service::ServiceConfig config() {
    service::ServiceConfig c;
    c.publicUrl = "https://bcauth.test";
    c.gateway.baseUrl.clear();  // the real gateway is never made: the double stands in
    return c;
  }

  Kernel() {
    service::ProviderInput provider;
    provider.name = "IdP";
    provider.authorizationUrl = "https://idp.test/authorize";
    provider.tokenUrl = "https://idp.test/token";
    provider.userinfoUrl = "https://idp.test/userinfo";
    provider.clientId = "client-1";
    provider.clientSecret = "client-secret-1";
    provider.scopes = {"openid"};
    provider.profileFields = {{"id", "sub"}, {"email", "email"}};
    BOOST_REQUIRE(service.admin.putProvider(test::kOperator, "idp", provider).isOk());
  }

  service::Created create(const std::string& flow, bool deliver) {
    service::CreateRequestInput in;
    in.conversationId = "urn:mbid:kernel";
    in.businessId = "biz";
    in.providerId = "idp";
    in.flow = flow;
    in.deliver = deliver;
    auto created = service.requests.create(test::kOperator, in, std::nullopt);
    BOOST_REQUIRE_MESSAGE(created.isOk(), created.status().toString());
    return *created;
  }

  std::vector<store::Event> events() { return db->events(0, 1000); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_event_type_has_one_wire_name) {
  const std::set<std::string> expected = {"auth.requested", "auth.delivered", "auth.delivery_failed",
                                          "auth.succeeded", "auth.failed",    "auth.cancelled",
                                          "auth.expired",   "auth.rejected",  "message.received"};
  std::set<std::string> names;
  for (const auto type : service::allEventTypes()) {
    const std::string wire(service::name(type));
    names.insert(wire);
    BOOST_TEST((service::parseEventType(wire) == type));
  }
  BOOST_TEST(names == expected);
  BOOST_TEST(!service::parseEventType("auth.Succeeded").has_value());
}

// The contexts are part of the sealed data: these bytes must never change, or stored secrets
// (and `bcauth rekey`) stop opening.
BOOST_AUTO_TEST_CASE(seal_contexts_keep_their_bytes) {
  using service::SealKind;
  BOOST_TEST(service::sealContext(SealKind::kProviderSecret, "idp") == "provider:idp");
  BOOST_TEST(service::sealContext(SealKind::kWebhookSecret, "desk") == "webhook:desk");
  BOOST_TEST(service::sealContext(SealKind::kDelivery, "r1") == "delivery:r1");
  BOOST_TEST(service::sealContext(SealKind::kPrivateKey, "r1") == "private_key:r1");
  BOOST_TEST(service::sealContext(SealKind::kAccessToken, "r1") == "access_token:r1");
  BOOST_TEST(service::sealContext(SealKind::kRefreshToken, "r1") == "refresh_token:r1");
  BOOST_TEST(service::sealContext(SealKind::kPkceVerifier, "r1") == "pkce_verifier:r1");
  // A value sealed the old way (a free string) opens through the vault, and only as its kind.
  const auto sealer = crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value();
  const std::string old = sealer.seal("s3cret", "refresh_token:r1");
  const service::Vault vault(sealer);
  BOOST_TEST(std::string(vault.unseal(SealKind::kRefreshToken, "r1", old).value().view()) == "s3cret");
  BOOST_TEST(!vault.unseal(SealKind::kAccessToken, "r1", old).isOk());
  BOOST_TEST((service::requestSecretKind(store::secret::kPkceVerifier) == SealKind::kPkceVerifier));
  BOOST_TEST((service::kindOf({"deliveries", "r1", "", ""}) == SealKind::kDelivery));
  BOOST_TEST(!service::kindOf({"request_secrets", "r1", "unknown_kind", ""}).has_value());
}

// The message is built once: the outbox sends the very bytes create stored, with its ids as
// headers beside them (the gateway client no longer parses the body for them).
BOOST_FIXTURE_TEST_CASE(a_delivery_sends_the_body_built_at_create, Kernel) {
  const auto created = create("legacy", true);
  BOOST_TEST(service.appleOutbox.deliverDue() == 1);
  BOOST_REQUIRE_EQUAL(gateway->sent.size(), 1u);
  const auto& sent = gateway->sent.front();
  const auto body = parse(sent.body);
  BOOST_TEST(sent.id == body->getValue<std::string>("id"));
  BOOST_TEST(sent.sourceId == "biz");
  BOOST_TEST(sent.destinationId == "urn:mbid:kernel");
  BOOST_TEST(!sent.autoReply);
  // Apple gets the client secret; the stored (and API) copy shows it redacted, byte for byte
  // otherwise the same message.
  const auto secretAt = sent.body.find("client-secret-1");
  BOOST_REQUIRE(secretAt != std::string::npos);
  std::string redacted = sent.body;
  redacted.replace(secretAt, std::string("client-secret-1").size(), "[redacted]");
  BOOST_TEST(created.state.request.messageJson == redacted);
  const auto events = this->events();
  BOOST_REQUIRE_EQUAL(events.size(), 2u);
  BOOST_TEST(events[1].type == "auth.delivered");
  BOOST_TEST(events[1].dataJson == R"({"attempts":1,"appleStatus":200})");
  BOOST_TEST(db->delivery(created.state.request.id)->status == "delivered");
}

// Deliveries queued by an older bcauth (the whole message as a JSON object) still go out.
BOOST_AUTO_TEST_CASE(an_envelope_of_the_old_form_still_decodes) {
  const auto message = service::decodeEnvelope(
      R"({"autoReply":true,"message":{"id":"m-1","sourceId":"biz","destinationId":"urn:mbid:o","v":1}})");
  BOOST_REQUIRE(message.isOk());
  BOOST_TEST(message->id == "m-1");
  BOOST_TEST(message->sourceId == "biz");
  BOOST_TEST(message->destinationId == "urn:mbid:o");
  BOOST_TEST(message->autoReply);
  BOOST_TEST(message->body == R"({"id":"m-1","sourceId":"biz","destinationId":"urn:mbid:o","v":1})");
  const auto roundTrip = service::decodeEnvelope(service::encodeEnvelope({"i", "s", "d", R"({"x":1})", false}));
  BOOST_REQUIRE(roundTrip.isOk());
  BOOST_TEST(roundTrip->body == R"({"x":1})");
  BOOST_TEST(!service::decodeEnvelope("not json").isOk());
}

// The v2 redirect callback end to end against the IdP double: the code exchange with PKCE, the
// profile, the tokens sealed, one auth.succeeded, and the token's expiry on the fake clock.
BOOST_FIXTURE_TEST_CASE(the_redirect_callback_runs_against_an_idp_double, Kernel) {
  const auto created = create("v2", false);
  const auto& request = created.state.request;
  BOOST_REQUIRE(request.state.has_value());
  BOOST_TEST(service.redirect.complete({{"state", *request.state}, {"code", "code-1"}}) ==
             "messages-auth://?status=success");
  BOOST_REQUIRE_EQUAL(idp->exchanged.size(), 1u);
  BOOST_TEST(idp->exchanged[0][1] == "client-1");
  BOOST_TEST(idp->exchanged[0][2] == "code-1");
  BOOST_TEST(idp->exchanged[0][3] == "https://bcauth.test/oauth/callback");
  BOOST_TEST(crypto::pkceChallengeS256(idp->exchanged[0][4]).size() == 43u);  // a verifier was sent
  BOOST_TEST(idp->userinfoTokens == std::vector<std::string>{"access-1"});
  const auto stored = db->request(request.id).value();
  BOOST_TEST(stored.status == "succeeded");
  BOOST_TEST(stored.completedBy == "callback");
  BOOST_TEST(stored.tokenExpiresAt == now.load() + 3'600'000);
  BOOST_TEST(!db->secret(request.id, store::secret::kPkceVerifier).has_value());  // used once
  const auto last = events().back();
  BOOST_TEST(last.type == "auth.succeeded");
  const auto data = parse(last.dataJson);
  BOOST_TEST(data->getObject("customer")->getValue<std::string>("id") == "customer-7");
  BOOST_TEST(!data->getObject("customer")->has("extra"));
  BOOST_TEST(data->getValue<bool>("refreshTokenAvailable"));

  auto token = service.requests.token(test::kOperator, request.id);
  BOOST_REQUIRE(token.isOk());
  BOOST_TEST(std::string(token->accessToken.view()) == "access-1");
  now += 3'601'000;
  BOOST_TEST(service.requests.token(test::kOperator, request.id).status().code() == StatusCode::kConflict);
  auto refreshed = service.requests.refresh(test::kOperator, request.id);
  BOOST_REQUIRE_MESSAGE(refreshed.isOk(), refreshed.status().toString());
  BOOST_TEST(std::string(refreshed->accessToken.view()) == "access-2");
}

// finish(): every terminal transition ends the same way — status, who, secrets gone, one event.
BOOST_FIXTURE_TEST_CASE(a_cancel_and_an_expiry_finish_alike, Kernel) {
  const auto cancelled = create("legacy", false).state.request.id;
  const auto expired = create("legacy", false).state.request.id;
  BOOST_TEST(db->secret(cancelled, store::secret::kPrivateKey).has_value());
  BOOST_REQUIRE(service.requests.cancel(test::kOperator, cancelled).isOk());
  now += 901'000;
  BOOST_TEST(service.requests.expireDue() == 1);
  for (const auto& [id, status, by] : {std::tuple{cancelled, "cancelled", "agent"}, std::tuple{expired, "expired", "sweeper"}}) {
    const auto row = db->request(id).value();
    BOOST_TEST(row.status == status);
    BOOST_TEST(row.completedBy == by);
    BOOST_TEST(!db->secret(id, store::secret::kPrivateKey).has_value());
  }
  const auto all = events();
  BOOST_TEST(all[all.size() - 2].type == "auth.cancelled");
  BOOST_TEST(all[all.size() - 2].dataJson == R"({"by":"agent"})");
  BOOST_TEST(all.back().type == "auth.expired");
  BOOST_TEST(all.back().dataJson == "{}");
}

// A legacy success waits for its profile; completeProfiles records auth.succeeded from the
// profile alone (no reply is made up for it).
BOOST_FIXTURE_TEST_CASE(a_legacy_success_gets_its_profile_from_the_idp_double, Kernel) {
  const auto created = create("legacy", false);
  const auto message = parse(created.state.request.messageJson);
  const std::string key = message->getObject("interactiveData")->getObject("data")->getObject("authenticate")
                              ->getObject("oauth2")->getValue<std::string>("responseEncryptionKey");
  const std::string token = crypto::encrypt(crypto::PublicKey::fromBase64(key).value(), "legacy-token").value();
  const std::string reply =
      R"({"id":"k1","type":"interactive","sourceId":"urn:mbid:kernel","destinationId":"biz","interactiveData":{"data":{"requestIdentifier":")" +
      created.state.request.requestIdentifier + R"(","authenticate":{"status":"authenticated","token":")" + token +
      R"("}}}})";
  const auto inbound = service.intake.handleInbound(reply, "AUTH");
  BOOST_REQUIRE(inbound.isOk());
  BOOST_TEST(inbound->eventType == "auth.succeeded");
  BOOST_TEST(events().back().type == "auth.requested");  // waits for the profile
  BOOST_TEST(service.intake.completeProfiles() == 1);
  BOOST_TEST(idp->userinfoTokens == std::vector<std::string>{"legacy-token"});
  const auto last = events().back();
  BOOST_TEST(last.type == "auth.succeeded");
  BOOST_TEST(last.dataJson ==
             R"({"flow":"legacy","agentMessage":"The customer signed in.","customerMessage":"You signed in.",)"
             R"("providerId":"idp","requestIdentifier":")" + created.state.request.requestIdentifier +
                 R"(","tokenAvailable":true,"customer":{"email":"c7@example.com","id":"customer-7"}})");
}

// The webhook fan-out is the service's rule: an event published in a transaction queues one
// delivery per subscription that wants its type, in that transaction.
BOOST_FIXTURE_TEST_CASE(publishing_an_event_queues_its_webhooks, Kernel) {
  service::WebhookInput all;
  all.url = "https://hooks.test/all";
  all.secret = "webhook-secret-0123456789";
  BOOST_REQUIRE(service.admin.putWebhook(test::kOperator, "all", all).isOk());
  service::WebhookInput some = all;
  some.url = "https://hooks.test/some";
  some.eventTypes = {"auth.cancelled"};
  BOOST_REQUIRE(service.admin.putWebhook(test::kOperator, "some", some).isOk());
  const auto id = create("legacy", false).state.request.id;  // auth.requested: "all" only
  BOOST_REQUIRE(service.requests.cancel(test::kOperator, id).isOk());           // auth.cancelled: both
  std::multiset<std::string> queued;
  for (const auto& d : db->dueWebhookDeliveries(now.load(), 100)) queued.insert(d.subscriptionId);
  // Due lists hold one per (subscription, conversation): "all" shows its first only.
  BOOST_TEST(queued == (std::multiset<std::string>{"all", "some"}));
  BOOST_TEST(!service.admin.putWebhook(test::kOperator, "bad", [&] {
                          auto bad = all;
                          bad.eventTypes = {"auth.nope"};
                          return bad;
                        }())
                  .isOk());
}

// A business's webhook is offered its own business's events only; the operator's every event,
// also those of a business bcauth does not know (which belong to no business).
BOOST_FIXTURE_TEST_CASE(a_business_webhook_hears_its_business_only, Kernel) {
  BOOST_REQUIRE(service.tenancy.createBusiness({"biz-a", "A"}).isOk());
  BOOST_REQUIRE(service.tenancy.createBusiness({"biz-b", "B"}).isOk());
  const service::Principal businessA{std::string("biz-a"), "key-a"};
  service::WebhookInput hook;
  hook.url = "https://hooks.test/a";
  hook.secret = "webhook-secret-0123456789";
  BOOST_REQUIRE(service.admin.putWebhook(businessA, "a", hook).isOk());
  hook.url = "https://hooks.test/operator";
  BOOST_REQUIRE(service.admin.putWebhook(test::kOperator, "operator", hook).isOk());
  db->transaction([&](store::Transaction& tx) {
    for (const char* business : {"biz-a", "biz-b", "biz-unknown"}) {
      service.kernel.publish(tx, {service::EventType::kMessageReceived, now.load(), business,
                                  std::string("urn:mbid:") + business, "",
                                  service::MessageData{"text", "m", {}, new Poco::JSON::Object}});
    }
  });
  std::multiset<std::string> heard;
  for (const auto& d : db->dueWebhookDeliveries(now.load(), 100)) {
    heard.insert(d.subscriptionId + " " + d.conversationId);
  }
  BOOST_TEST(heard == (std::multiset<std::string>{"a urn:mbid:biz-a", "operator urn:mbid:biz-a",
                                                  "operator urn:mbid:biz-b", "operator urn:mbid:biz-unknown"}));
  const auto events = db->events(0, 10);
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[2].businessId.empty());  // bcauth does not know biz-unknown
}

// --- tenancy: businesses and API keys ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(businesses_are_made_once_with_an_apple_business_id) {
  Kernel k;
  auto& tenancy = k.service.tenancy;
  const auto made = tenancy.createBusiness({"b6c0-4f5e", ""});
  BOOST_REQUIRE(made.isOk());
  BOOST_TEST(made->name == "b6c0-4f5e");  // no name: the id
  BOOST_TEST(made->createdAt == k.now.load());
  BOOST_TEST((tenancy.createBusiness({"b6c0-4f5e", "again"}).status().code() == StatusCode::kConflict));
  const auto bad = tenancy.createBusiness({"has space", "x"});
  BOOST_TEST((bad.status().code() == StatusCode::kInvalidArgument));
  BOOST_TEST(bad.status().field() == "id");
  BOOST_TEST(tenancy.createBusiness({"ok", "tab\there"}).status().field() == "name");
  BOOST_TEST(tenancy.business("b6c0-4f5e")->name == "b6c0-4f5e");
  BOOST_TEST((tenancy.business("nope").status().code() == StatusCode::kNotFound));
  BOOST_TEST(tenancy.businesses().size() == 1u);
}

// A key is shown once as bcak_<keyid>_<secret>; the store keeps the SHA-256 of the secret only.
BOOST_AUTO_TEST_CASE(api_keys_are_shown_once_and_stored_as_a_hash) {
  Kernel k;
  auto& tenancy = k.service.tenancy;
  BOOST_REQUIRE(tenancy.createBusiness({"biz-a", "A"}).isOk());
  const auto desk = tenancy.createApiKey({"desk", std::string("biz-a")});
  BOOST_REQUIRE(desk.isOk());
  const auto parts = service::parseApiKey(desk->presented);
  BOOST_REQUIRE(parts.has_value());
  BOOST_TEST(parts->keyId == desk->key.id);
  BOOST_TEST(parts->keyId.size() == 16u);
  BOOST_TEST(parts->secret.size() == 43u);  // 32 bytes, Base64url, unpadded
  BOOST_TEST(desk->presented == "bcak_" + parts->keyId + "_" + parts->secret);
  const auto digest = crypto::sha256(parts->secret);
  const auto stored = k.db->apiKey(desk->key.id);
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST((stored->secretHash == std::string(reinterpret_cast<const char*>(digest.data()), digest.size())));
  BOOST_TEST(stored->businessId.value_or("") == "biz-a");
  BOOST_TEST(stored->name == "desk");
  BOOST_TEST(stored->secretHash.find(parts->secret) == std::string::npos);

  const auto principal = tenancy.authenticate(desk->presented);
  BOOST_REQUIRE(principal.has_value());
  BOOST_TEST(principal->businessId.value_or("") == "biz-a");
  BOOST_TEST(principal->keyId == desk->key.id);
  BOOST_TEST(!principal->isOperator());

  const auto op = tenancy.createApiKey({"ops", std::nullopt});
  BOOST_REQUIRE(op.isOk());
  BOOST_TEST(tenancy.authenticate(op->presented)->isOperator());
  BOOST_TEST(op->presented != desk->presented);

  // Wrong secret, unknown id, malformed: nobody.
  std::string wrong = desk->presented;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& presented :
       {wrong, "bcak_0000000000000000_" + parts->secret, std::string("bcak_"), "bcak_" + parts->keyId,
        "bcak_" + parts->keyId + "_", "bcak_" + parts->keyId.substr(1) + "_" + parts->secret, parts->secret}) {
    BOOST_TEST(!tenancy.authenticate(presented).has_value(), presented);
  }

  // Names and businesses are checked.
  BOOST_TEST(tenancy.createApiKey({"", std::nullopt}).status().field() == "name");
  BOOST_TEST(tenancy.createApiKey({"x", std::string("no-such-business")}).status().field() == "businessId");
}

BOOST_AUTO_TEST_CASE(a_revoked_key_stops_at_once) {
  Kernel k;
  auto& tenancy = k.service.tenancy;
  const auto key = tenancy.createApiKey({"ops", std::nullopt});
  BOOST_REQUIRE(key.isOk());
  BOOST_REQUIRE(tenancy.authenticate(key->presented).has_value());
  BOOST_TEST(tenancy.revokeApiKey(key->key.id).isOk());
  BOOST_TEST(!tenancy.authenticate(key->presented).has_value());
  BOOST_TEST(tenancy.revokeApiKey(key->key.id).isOk());  // again: still revoked, first time kept
  BOOST_TEST(k.db->apiKey(key->key.id)->revokedAt.value_or(0) == k.now.load());
  BOOST_TEST((tenancy.revokeApiKey("0123456789abcdef").code() == StatusCode::kNotFound));
}

// last_used_at is written at most once a minute per key: a hot key does not write per request.
BOOST_AUTO_TEST_CASE(a_keys_last_use_is_written_at_most_once_a_minute) {
  Kernel k;
  auto& tenancy = k.service.tenancy;
  const auto key = tenancy.createApiKey({"ops", std::nullopt});
  BOOST_REQUIRE(key.isOk());
  BOOST_TEST(!k.db->apiKey(key->key.id)->lastUsedAt.has_value());
  const std::int64_t t0 = k.now.load();
  std::vector<std::int64_t> seen;
  for (const std::int64_t step : {std::int64_t{0}, std::int64_t{30'000}, store::kApiKeyTouchIntervalMs}) {
    k.now = t0 + step;
    BOOST_REQUIRE(tenancy.authenticate(key->presented).has_value());
    seen.push_back(k.db->apiKey(key->key.id)->lastUsedAt.value_or(-1));
  }
  BOOST_TEST((seen == std::vector<std::int64_t>{t0, t0, t0 + store::kApiKeyTouchIntervalMs}));
}
