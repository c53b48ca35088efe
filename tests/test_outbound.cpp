// Outbound URLs (issue 12 §3): provider and webhook URLs are read by one strict parser when
// stored and again when sent, so nothing in them reaches a request line or a header; IdP and
// webhook calls refuse addresses inside the operator's network, checked on the address actually
// connected to; BCAUTH_OUTBOUND_ALLOW_CIDRS and the loopback development switch open ranges.
#define BOOST_TEST_MODULE outbound
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <sstream>
#include <thread>

#include <Poco/File.h>

#include <Poco/JSON/Array.h>
#include <Poco/URI.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "clients/http_call.h"
#include "clients/idp_client.h"
#include "clients/outbound_url.h"
#include "demo/idp_double.h"
#include "server_harness.h"
#include "http/views.h"
#include "service/auth_service.h"

using namespace bcauth;
using bcauth::demo::IdpDouble;
using bcauth::test::TestServer;

namespace {

const std::string kWebhookSecret = "webhook-secret-0123456789";

// A self-signed certificate for localhost, made before any TLS client context exists and
// trusted as this process's CA file (OpenSSL reads SSL_CERT_FILE when it loads the default CAs).
struct LocalhostCertificate {
  std::string dir = TestServer::freshDir();
  std::string cert = dir + "/cert.pem";
  std::string key = dir + "/key.pem";
  LocalhostCertificate() {
    Poco::File(dir).createDirectories();
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost -keyout " + key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
    ::setenv("SSL_CERT_FILE", cert.c_str(), 1);
  }
};
const LocalhostCertificate& certificate() {
  static const LocalhostCertificate made;
  return made;
}
struct MakeCertificateFirst {
  MakeCertificateFirst() { certificate(); }
};

// The header injection of the issue, aimed at the IdP double.
std::string injected(const std::string& base, const std::string& path) {
  return base + path + "?x=1 HTTP/1.1\r\nX-Injected: yes\r\nX-Pad: ";
}

// Every URL the issue lists, and more of each family. None may be stored.
std::vector<std::string> badUrls(const std::string& idpBase) {
  return {
      injected(idpBase, "/token"),
      "https://idp.example.com/token#fragment",
      "https://user:pass@idp.example.com/token",
      "https://169.254.169.254/latest/meta-data/",
      "https://10.0.0.1/",
      "https://[fd00::1]/",
      "https://0x7f000001/",
      "https://2130706433/",
      "https://0177.0.0.1/",
      "https://127.1/",
      "https://0x7f.0.0.1/",
      "https://10.0.0.01/",
      "https://172.16.5.4/",
      "https://192.168.0.10/",
      "https://100.64.0.1/",
      "https://0.0.0.0/",
      "https://224.0.0.1/",
      "https://[::ffff:10.0.0.1]/",
      "https://[::ffff:169.254.169.254]/",
      "https://[fe80::1]/",
      "https://[::]/",
      "https://[ff02::1]/",
      "https://[64:ff9b::a9fe:a9fe]/",
      "https://idp.example.com/a b",
      "https://idp.example.com/\ttab",
      "https://idp.example.com/caf\xc3\xa9",
      "https://idp.example.com/%zz",
      "https://idp.example.com:0/",
      "https://idp.example.com:65536/",
      "https://idp.example.com:/",
      "https://idp.exa\\mple.com/",
      "https://idp.example.com\\@evil.example/",
      "https://@idp.example.com/",
      "ftp://idp.example.com/",
      "//idp.example.com/token",
      "https:///token",
  };
}

std::string json(const Poco::JSON::Object& object) {
  std::ostringstream out;
  object.stringify(out);
  return out.str();
}

std::string providerBody(const std::string& base, const std::string& field = "", const std::string& value = "") {
  Poco::JSON::Object body;
  body.set("name", std::string("IdP"));
  body.set("authorizationUrl", base + "/authorize");
  body.set("tokenUrl", base + "/token");
  body.set("userinfoUrl", base + "/userinfo");
  body.set("clientId", std::string("bcauth-client"));
  body.set("clientSecret", std::string("idp-client-secret-0001"));
  Poco::JSON::Array::Ptr scopes = new Poco::JSON::Array();
  scopes->add(std::string("openid"));
  body.set("scopes", scopes);
  if (!field.empty()) body.set(field, value);
  return json(body);
}

std::string webhookBody(const std::string& url) {
  Poco::JSON::Object body;
  body.set("url", url);
  body.set("secret", kWebhookSecret);
  return json(body);
}

void expectFieldRefused(const test::Response& r, const std::string& field, const std::string& url) {
  BOOST_TEST_CONTEXT("URL " << url) {
    BOOST_TEST(r.status == 400);
    if (r.status == 400) BOOST_TEST(r.json()->getObject("error")->getValue<std::string>("field") == field);
  }
}

app::Settings settingsWithoutLoopback() {
  auto s = test::testSettings(TestServer::freshDir());
  s.allowHttpLoopbackProviders = false;
  s.webhookMaxAttempts = 1;
  return s;
}

// Waits (bounded) for the first dead letter and returns it.
Poco::JSON::Object::Ptr firstDeadLetter(const TestServer& server) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto dead = server.call("GET", "/v1/webhooks/dead-letters").json()->getArray("deadLetters");
    if (dead->size() > 0) return dead->getObject(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nullptr;
}

std::string textMessage(const std::string& conversation) {
  return R"({"id":")" + crypto::randomUuid() + R"(","type":"text","sourceId":")" + conversation +
         R"(","destinationId":"biz","body":"hi"})";
}

clients::ClientCredentials credentials() {
  clients::ClientCredentials c;
  c.clientId = "bcauth-client";
  c.clientSecret = crypto::Secret(std::string("idp-client-secret-0001"));
  return c;
}

}  // namespace

namespace bcauth::clients {
std::ostream& operator<<(std::ostream& out, IdpFailure failure) { return out << static_cast<int>(failure); }
}  // namespace bcauth::clients

BOOST_TEST_GLOBAL_FIXTURE(MakeCertificateFirst);

namespace {

clients::OutboundPolicy policy(bool allowLoopback, const std::string& cidrs = "") {
  return {allowLoopback, clients::parseCidrList(cidrs).value()};
}

}  // namespace

// --- the URL parser ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(urls_parse_into_host_port_and_target) {
  auto u = clients::parseOutboundUrl("HTTPS://IdP.Example.com:8443/a%2Fb/c?x=1&y=%20");
  BOOST_REQUIRE(u.isOk());
  BOOST_TEST(u->scheme == "https");
  BOOST_TEST(u->host == "idp.example.com");
  BOOST_TEST(u->port == 8443);
  BOOST_TEST(u->authority == "IdP.Example.com:8443");
  BOOST_TEST(u->target == "/a%2Fb/c?x=1&y=%20");  // as written: %2F stays one segment
  BOOST_TEST(!u->hostIsAddress);
  // A query straight after the authority: the old slicing sent "/y" as the target.
  u = clients::parseOutboundUrl("https://idp.example.com?next=/y");
  BOOST_REQUIRE(u.isOk());
  BOOST_TEST(u->target == "/?next=/y");
  BOOST_TEST(u->port == 443);
  u = clients::parseOutboundUrl("http://[2001:DB8::1]/token");
  BOOST_REQUIRE(u.isOk());
  BOOST_TEST(u->host == "2001:db8::1");
  BOOST_TEST(u->hostIsAddress);
  BOOST_TEST(u->port == 80);
  u = clients::parseOutboundUrl("https://93.184.216.34/token");
  BOOST_REQUIRE(u.isOk());
  BOOST_TEST(u->hostIsAddress);
  for (const auto& bad : badUrls("http://127.0.0.1:1")) {
    const auto parsed = clients::parseOutboundUrl(bad);
    // Literal private addresses parse (the policy refuses them); every other bad URL does not.
    if (parsed.isOk()) BOOST_TEST(parsed->hostIsAddress, bad);
  }
  BOOST_TEST(clients::parseOutboundUrl("https://0x7f000001/").status().message().find("dotted quad") != std::string::npos);
  BOOST_TEST(clients::parseOutboundUrl("https://a@b.example/").status().message().find("user-info") != std::string::npos);
  BOOST_TEST(clients::parseOutboundUrl("https://b.example/#f").status().message().find("fragment") != std::string::npos);
  BOOST_TEST(clients::parseOutboundUrl("https://b.example/\r\n").status().message().find("control") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(address_ranges_are_classified) {
  const auto strict = policy(false);
  const std::vector<std::pair<const char*, const char*>> expected = {
      {"127.0.0.1", "is a loopback address"},        {"127.255.0.9", "is a loopback address"},
      {"10.1.2.3", "is a private address"},          {"172.16.0.1", "is a private address"},
      {"172.31.255.255", "is a private address"},    {"172.32.0.1", ""},
      {"192.168.1.1", "is a private address"},       {"169.254.169.254", "is a link-local address"},
      {"100.64.0.1", "is a shared (CGNAT) address"}, {"0.0.0.0", "is an unspecified address"},
      {"0.1.2.3", "is an unspecified address"},      {"224.0.0.251", "is a multicast address"},
      {"255.255.255.255", "is a reserved address"},  {"8.8.8.8", ""},
      {"::1", "is a loopback address"},              {"::", "is an unspecified address"},
      {"fd00::1", "is a private address"},           {"fc00::1", "is a private address"},
      {"fe80::1", "is a link-local address"},        {"ff02::1", "is a multicast address"},
      {"::ffff:127.0.0.1", "is a loopback address"}, {"::ffff:10.0.0.1", "is a private address"},
      {"::127.0.0.1", "is a loopback address"},      {"64:ff9b::a9fe:a9fe", "is a link-local address"},
      {"2002:a00:1::", "is a private address"},      {"2606:4700::1111", ""},
  };
  for (const auto& [address, refusal] : expected) {
    BOOST_TEST(strict.refusal(Poco::Net::IPAddress(address)) == refusal, address);
  }
  // The loopback development switch opens loopback only, in every form.
  const auto dev = policy(true);
  BOOST_TEST(dev.refusal(Poco::Net::IPAddress("127.0.0.1")).empty());
  BOOST_TEST(dev.refusal(Poco::Net::IPAddress("::ffff:127.0.0.1")).empty());
  BOOST_TEST(dev.refusal(Poco::Net::IPAddress("::1")).empty());
  BOOST_TEST(dev.refusal(Poco::Net::IPAddress("10.0.0.1")) == "is a private address");
  // An allowed range opens its addresses, also written IPv4-mapped, and nothing else.
  const auto allowed = policy(false, "10.0.0.0/8, fd00:1::/32");
  BOOST_TEST(allowed.refusal(Poco::Net::IPAddress("10.200.0.1")).empty());
  BOOST_TEST(allowed.refusal(Poco::Net::IPAddress("::ffff:10.200.0.1")).empty());
  BOOST_TEST(allowed.refusal(Poco::Net::IPAddress("fd00:1::5")).empty());
  BOOST_TEST(allowed.refusal(Poco::Net::IPAddress("fd00:2::5")) == "is a private address");
  BOOST_TEST(allowed.refusal(Poco::Net::IPAddress("192.168.0.1")) == "is a private address");
}

BOOST_AUTO_TEST_CASE(cidr_lists_parse_strictly) {
  const auto list = clients::parseCidrList(" 10.0.0.0/8,fd00::/8  192.168.1.5 ");
  BOOST_REQUIRE(list.isOk());
  BOOST_REQUIRE_EQUAL(list->size(), 3u);
  BOOST_TEST((*list)[2].prefixBits == 32u);
  BOOST_TEST(clients::parseCidrList("").value().empty());
  for (const char* bad : {"10.1/8", "10.0.0.1/8", "10.0.0.0/33", "fd00::/129", "fd00::1/8", "x", "10.0.0.0/", "0x0a000000/8"}) {
    BOOST_TEST(!clients::parseCidrList(bad).isOk(), bad);
  }
}

// --- refused when stored --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(provider_put_refuses_each_bad_url_naming_the_field) {
  IdpDouble idp;
  TestServer server;
  for (const char* field : {"authorizationUrl", "tokenUrl", "userinfoUrl"}) {
    for (const auto& url : badUrls(idp.baseUrl())) {
      expectFieldRefused(server.call("PUT", "/v1/providers/idp", providerBody(idp.baseUrl(), field, url)), field, url);
    }
  }
  BOOST_TEST(server.call("GET", "/v1/providers/idp").status == 404);  // nothing was stored
  // Good URLs still pass, the development loopback ones too.
  for (const std::string url : {"https://idp.example.com/token?x=1&y=%2F", "https://idp.example.com:8443/token",
                                "https://[2001:db8::1]/token", "https://93.184.216.34/token", "https://idp.example.com?x=1"}) {
    const auto r = server.call("PUT", "/v1/providers/idp", providerBody(idp.baseUrl(), "tokenUrl", url));
    BOOST_TEST(r.status == 200, url << ": " << r.body);
  }
  BOOST_TEST(server.call("PUT", "/v1/providers/idp", providerBody(idp.baseUrl())).status == 200);
  BOOST_TEST(idp.requests() == 0);
}

BOOST_AUTO_TEST_CASE(webhook_put_refuses_each_bad_url_naming_the_field) {
  IdpDouble idp;
  TestServer server;
  for (const auto& url : badUrls(idp.baseUrl())) {
    expectFieldRefused(server.call("PUT", "/v1/webhooks/hook", webhookBody(url)), "url", url);
  }
  BOOST_TEST(server.call("GET", "/v1/webhooks/hook").status == 404);
  BOOST_TEST(server.call("PUT", "/v1/webhooks/hook", webhookBody("https://csp.example.com/hooks")).status == 200);
}

BOOST_AUTO_TEST_CASE(literal_loopback_needs_the_switch_and_allow_list_opens_a_range) {
  IdpDouble idp;
  auto settings = settingsWithoutLoopback();
  {
    TestServer server(settings);
    const auto loopback = server.call("PUT", "/v1/providers/idp", providerBody("https://127.0.0.1:8443"));
    expectFieldRefused(loopback, "authorizationUrl", "https://127.0.0.1:8443");
    BOOST_TEST(loopback.json()->getObject("error")->getValue<std::string>("message").find("127.0.0.1 is a loopback address") !=
               std::string::npos);
    expectFieldRefused(server.call("PUT", "/v1/webhooks/hook", webhookBody("https://10.0.0.1/hooks")), "url",
                       "https://10.0.0.1/hooks");
  }
  settings.outboundAllowCidrs = clients::parseCidrList("10.0.0.0/8, 127.0.0.0/8, fd00::/8").value();
  TestServer server(settings);
  BOOST_TEST(server.call("PUT", "/v1/providers/idp", providerBody("https://127.0.0.1:8443")).status == 200);
  BOOST_TEST(server.call("PUT", "/v1/providers/idp", providerBody("https://[fd00::1]")).status == 200);
  BOOST_TEST(server.call("PUT", "/v1/webhooks/hook", webhookBody("https://10.0.0.1/hooks")).status == 200);
  // Opened ranges do not open odd notations or other ranges.
  expectFieldRefused(server.call("PUT", "/v1/webhooks/hook", webhookBody("https://0x0a000001/")), "url", "0x0a000001");
  expectFieldRefused(server.call("PUT", "/v1/webhooks/hook", webhookBody("https://192.168.0.1/")), "url", "192.168.0.1");
  // Still https only: the switch alone allows http.
  expectFieldRefused(server.call("PUT", "/v1/providers/idp", providerBody(idp.baseUrl())), "authorizationUrl",
                     idp.baseUrl());
}

// --- refused when sent --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(crlf_url_never_reaches_the_idp_with_an_injected_header) {
  IdpDouble idp;
  const clients::IdpClient client(policy(true));
  const auto tokens = client.exchangeCode(injected(idp.baseUrl(), "/token"), credentials(), "code",
                                          "https://bcauth.test/oauth/callback", std::nullopt);
  BOOST_TEST(tokens.failure == clients::IdpFailure::kRefused);
  BOOST_TEST(tokens.detail.find("token URL: the URL is refused") == 0u, tokens.detail);
  const auto profile = client.userinfo(injected(idp.baseUrl(), "/userinfo"), "customer-access-token");
  BOOST_TEST(profile.failure == clients::IdpFailure::kRefused);
  // A token (the IdP's or the device's) with a line break does not become a header either.
  const auto smuggled = client.userinfo(idp.baseUrl() + "/userinfo", "token\r\nX-Injected: yes");
  BOOST_TEST(smuggled.failure == clients::IdpFailure::kRefused);
  BOOST_TEST(smuggled.detail.find("line break") != std::string::npos, smuggled.detail);
  BOOST_TEST(idp.injectedHeaders() == 0);
  BOOST_TEST(idp.requests() == 0);
  // The same client reaches the double through a clean URL.
  BOOST_TEST(client.userinfo(idp.baseUrl() + "/userinfo", "unknown-token").failure == clients::IdpFailure::kHttpError);
  BOOST_TEST(idp.requests() == 1);
}

BOOST_AUTO_TEST_CASE(a_url_stored_before_the_check_is_refused_when_sent) {
  IdpDouble idp;  // records any request: it stands in for the CSP's endpoint
  const std::string dir = TestServer::freshDir();
  auto db = store::openSqliteStore(dir);
  service::ServiceConfig config;
  config.allowHttpLoopbackProviders = true;
  config.webhookMaxAttempts = 1;
  config.gateway.baseUrl.clear();
  auto sealer = crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value();
  store::Subscription sub;
  sub.id = "old";
  sub.url = injected(idp.baseUrl(), "/hooks");
  sub.sealedSecret = sealer.seal(kWebhookSecret, service::sealContext(service::SealKind::kWebhookSecret, sub.id));
  db->transaction([&](store::Transaction& tx) { tx.putSubscription(sub); });
  service::AuthService service(*db, std::move(sealer), config, [] { return std::int64_t{1'700'000'000'000}; });
  BOOST_REQUIRE(service.intake.handleInbound(textMessage("urn:mbid:old"), "AUTH").isOk());
  BOOST_TEST(service.webhookOutbox.deliverDue() == 1);
  const auto dead = http::views::deadLetters(service.admin.deadLetters(test::kOperator, 10))->getArray("deadLetters");
  BOOST_REQUIRE_EQUAL(dead->size(), 1u);
  BOOST_TEST(dead->getObject(0)->getValue<std::string>("lastError").find("the URL is refused") == 0u);
  BOOST_TEST(idp.requests() == 0);
}

BOOST_AUTO_TEST_CASE(allow_list_opens_a_range_at_connect_time) {
  IdpDouble idp;
  const std::string url = idp.baseUrl() + "/token";  // http://127.0.0.1:P
  const auto refused = clients::IdpClient(policy(false)).exchangeCode(url, credentials(), "code", "https://x/cb", std::nullopt);
  BOOST_TEST(refused.failure == clients::IdpFailure::kRefused);
  BOOST_TEST(refused.detail == "token URL: destination address refused: 127.0.0.1 is a loopback address");
  BOOST_TEST(idp.requests() == 0);
  const auto opened =
      clients::IdpClient(policy(false, "127.0.0.0/8")).exchangeCode(url, credentials(), "code", "https://x/cb", std::nullopt);
  BOOST_TEST(opened.failure == clients::IdpFailure::kHttpError, opened.detail);  // reached: the code is unknown
  BOOST_TEST(idp.tokenRequests() == 1);
}

BOOST_AUTO_TEST_CASE(loopback_name_is_refused_at_connect_time_when_the_switch_is_off) {
  IdpDouble idp;
  TestServer server(settingsWithoutLoopback());
  // A name, not a literal: accepted when stored, refused when it resolves to loopback.
  const std::string base = "https://localhost:" + idp.baseUrl().substr(idp.baseUrl().rfind(':') + 1);
  auto put = server.call("PUT", "/v1/providers/idp", providerBody(base));
  BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
  put = server.call("PUT", "/v1/webhooks/hook", webhookBody(base + "/hooks"));
  BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);

  const std::string conversation = "urn:mbid:outbound";
  BOOST_REQUIRE(server.deliver(textMessage(conversation), "QUICK,AUTH,AUTH2").status == 200);
  auto created = server.call("POST", "/v1/auth-requests",
                             R"({"conversationId":")" + conversation + R"(","businessId":"biz","providerId":"idp","flow":"v2"})");
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  const std::string state = created.json()->getObject("message")->getObject("interactiveData")->getObject("data")
                                ->getObject("authenticate")->getObject("oauth2")->getValue<std::string>("state");
  std::string encoded;
  Poco::URI::encode(state, "&=+/", encoded);
  const auto callback = server.call("GET", "/oauth/callback?code=abc&state=" + encoded, "", {}, false);
  BOOST_TEST(callback.headers.at("Location").find("messages-auth://?status=failure") == 0u);

  std::string conv;
  Poco::URI::encode(conversation, ":", conv);
  const auto events = server.call("GET", "/v1/conversations/" + conv + "/events").json()->getArray("events");
  Poco::JSON::Object::Ptr failed;
  for (std::size_t i = 0; i < events->size(); ++i) {
    const auto e = events->getObject(static_cast<unsigned>(i));
    if (e->getValue<std::string>("type") == "auth.failed") failed = e;
  }
  BOOST_REQUIRE(failed);
  const std::string detail = failed->getObject("data")->getValue<std::string>("detail");
  BOOST_TEST(detail.find("token URL: destination address refused: ") == 0u, detail);
  BOOST_TEST(detail.find("is a loopback address") != std::string::npos, detail);

  // The webhook's attempt fails the same way and, out of attempts, becomes a dead letter.
  const auto letter = firstDeadLetter(server);
  BOOST_REQUIRE(letter);
  BOOST_TEST(letter->getValue<std::string>("lastError").find("destination address refused: ") == 0u);
  BOOST_TEST(idp.requests() == 0);
}

BOOST_AUTO_TEST_CASE(the_checked_address_is_connected_to_under_the_url_host) {
  // Plain HTTP: the connection goes to the address resolved once; the Host header keeps the name.
  IdpDouble idp;
  const auto dev = policy(true);
  const std::string idpPort = idp.baseUrl().substr(idp.baseUrl().rfind(':') + 1);
  BOOST_TEST(clients::httpCall("GET", "http://localhost:" + idpPort + "/userinfo", {}, "", 10, &dev).status == 401);
  BOOST_TEST(idp.lastHost() == "localhost:" + idpPort);
  // TLS through the same pinned connection: SNI and verification name localhost, and succeed.
  auto settings = test::testSettings(certificate().dir + "/data");
  settings.tlsCertificate = certificate().cert;
  settings.tlsPrivateKey = certificate().key;
  TestServer server(settings);
  const auto answer = clients::httpCall("GET", "https://localhost:" + std::to_string(server.port()) + "/healthz", {}, "",
                                        10, &dev);
  BOOST_TEST(answer.reached, answer.error);
  BOOST_TEST(answer.status == 200);
  BOOST_TEST(answer.body == R"({"status":"ok"})");
}
