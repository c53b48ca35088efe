// The device-error catalogue and the reply → event mapping (DESIGN.md "Device error mapping").
#define BOOST_TEST_MODULE outcome
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "bcauth/outcome.h"
#include "test_support.h"

using namespace bcauth::protocol;

namespace {

void expect(const DeviceError& error, std::string_view reason, bool retryable, bool alertOps) {
  const Outcome o = outcomeForDeviceError(error);
  BOOST_TEST_CONTEXT(error.domain << " " << error.code) {
    BOOST_TEST(o.eventType == "auth.failed");
    BOOST_TEST(o.reason == reason);
    BOOST_TEST(o.retryable == retryable);
    BOOST_TEST(o.alertOps == alertOps);
    BOOST_REQUIRE(o.deviceError);
    BOOST_TEST(o.deviceError->domain == error.domain);  // raw values always kept
    BOOST_TEST(o.deviceError->code == error.code);
    BOOST_TEST(o.deviceError->message == error.message);
    BOOST_TEST(!o.agentMessage.empty());
    BOOST_TEST(!o.customerMessage.empty());
  }
}

AuthenticateReply legacyReply(std::string status) {
  AuthenticateReply r;
  r.requestIdentifier = "R";
  r.status = std::move(status);
  r.flow = Flow::kLegacy;
  return r;
}

// One row of the table in docs/redirect-error-codes.md.
struct DocumentedCode {
  std::int64_t code;
  std::string name;
  bool retryable;
  bool alertOps;
};

// The rows of docs/redirect-error-codes.md's table, read from the document itself:
// "| N | `name` | meaning | yes/no | yes/no |".
std::vector<DocumentedCode> documentedRedirectCodes() {
  std::istringstream doc(bcauth::test::readFile(bcauth::test::kSourceDir + "/docs/redirect-error-codes.md"));
  const std::regex row(R"(^\| (-?[0-9]+) \| `([a-z_]+)` \| .* \| (yes|no) \| (yes|no) \|$)");
  std::vector<DocumentedCode> rows;
  std::smatch m;
  for (std::string line; std::getline(doc, line);) {
    if (std::regex_match(line, m, row)) rows.push_back({std::stoll(m[1]), m[2], m[3] == "yes", m[4] == "yes"});
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(design_table_rows) {
  const std::string cryptor(kCryptorDomain);
  for (int code : {0, 1, 2, 3}) expect({code, cryptor, "m"}, "configuration_error", false, true);
  expect({4, cryptor, "Unable to encrypt token"}, "device_error", true, false);
  const std::string auth(kAuthenticationDomain);
  expect({0, auth, "Missing access token from response"}, "provider_error", true, true);
  expect({2, auth, "Missing access token from response"}, "provider_error", true, true);
  expect({-1001, "NSURLErrorDomain", "The request timed out."}, "provider_error", true, true);
  expect({-1202, "NSURLErrorDomain", "TLS"}, "provider_error", true, true);
  // Anything else: unknown, not retryable, ops alerted, raw values kept.
  expect({1, auth, "?"}, "unknown", false, true);
  expect({5, cryptor, "?"}, "unknown", false, true);
  expect({3840, "NSCocoaErrorDomain", "JSON"}, "unknown", false, true);
  expect({42, "com.example.unknown", "?"}, "unknown", false, true);
}

BOOST_AUTO_TEST_CASE(redirect_codes_are_ours_and_documented) {
  std::set<std::int64_t> codes;
  for (const auto& row : redirectErrorCodes()) {
    BOOST_TEST(codes.insert(row.code).second);
    BOOST_TEST(!row.name.empty());
    const Outcome o = outcomeForDeviceError({row.code, std::string(kRedirectDomain), "OAuth Error"});
    BOOST_TEST(o.reason == "provider_error");
    BOOST_TEST(o.retryable == row.retryable);
    BOOST_TEST(o.alertOps == row.alertOps);
    BOOST_TEST(findRedirectErrorCode(row.code) == &row);
  }
  BOOST_TEST(codes.size() >= 7u);
  const Outcome unknownCode = outcomeForDeviceError({999, std::string(kRedirectDomain), "OAuth Error"});
  BOOST_TEST(unknownCode.reason == "provider_error");
  BOOST_TEST(unknownCode.alertOps);
  BOOST_TEST(findRedirectErrorCode(999) == nullptr);
}

// The codes bcauth sends and maps back are exactly the documented ones, with the documented
// name, retryable and alertOps (expected values from the document, not from the code's table).
BOOST_AUTO_TEST_CASE(redirect_codes_match_the_document) {
  const auto documented = documentedRedirectCodes();
  BOOST_TEST(documented.size() == 7u);  // the table's rows, 1 to 7
  BOOST_TEST(redirectErrorCodes().size() == documented.size());
  for (const auto& doc : documented) {
    BOOST_TEST_CONTEXT("code " << doc.code) {
      const auto* row = findRedirectErrorCode(doc.code);
      BOOST_REQUIRE(row != nullptr);
      BOOST_TEST(row->name == doc.name);
      const Outcome o = outcomeForDeviceError({doc.code, std::string(kRedirectDomain), "OAuth Error"});
      BOOST_TEST(o.eventType == "auth.failed");
      BOOST_TEST(o.reason == "provider_error");
      BOOST_TEST(o.retryable == doc.retryable);
      BOOST_TEST(o.alertOps == doc.alertOps);
    }
  }
}

BOOST_AUTO_TEST_CASE(legacy_replies) {
  auto r = legacyReply("authenticated");
  r.token = "x";
  BOOST_TEST(outcomeForReply(r, true).eventType == "auth.succeeded");
  const Outcome bad = outcomeForReply(r, false);
  BOOST_TEST(bad.eventType == "auth.failed");
  BOOST_TEST(bad.reason == "server_decrypt_error");
  BOOST_TEST(!bad.retryable);
  BOOST_TEST(bad.alertOps);

  auto failed = legacyReply("failed");
  failed.errors.push_back({4, std::string(kCryptorDomain), "Unable to encrypt token"});
  failed.errors.push_back({0, std::string(kCryptorDomain), "second"});
  const Outcome f = outcomeForReply(failed, false);
  BOOST_TEST(f.reason == "device_error");  // the first error decides
  BOOST_TEST(f.flow.value() == Flow::kLegacy);

  BOOST_TEST(outcomeForReply(legacyReply("failed"), false).reason == "unknown");
  BOOST_TEST(outcomeForReply(legacyReply("unknown"), false).reason == "unknown");
}

BOOST_AUTO_TEST_CASE(v2_replies) {
  AuthenticateReply r;
  r.flow = Flow::kV2;
  r.status = "Success";
  BOOST_TEST(outcomeForReply(r, false).eventType == "auth.succeeded");
  r.status = "cancel";
  const Outcome c = outcomeForReply(r, false);
  BOOST_TEST(c.eventType == "auth.cancelled");
  BOOST_TEST(c.cancelledBy == "customer");
  r.status = "failure";
  r.errorCode = redirect_error::kStateInvalid;
  const Outcome f = outcomeForReply(r, false);
  BOOST_TEST(f.reason == "provider_error");
  BOOST_TEST(f.deviceError->domain == std::string(kRedirectDomain));
  BOOST_TEST(f.retryable);
  BOOST_TEST(!f.alertOps);
  r.errorCode.reset();
  BOOST_TEST(outcomeForReply(r, false).reason == "unknown");
}

BOOST_AUTO_TEST_CASE(event_data_json) {
  const Outcome o = outcomeForDeviceError({2, std::string(kCryptorDomain), "Failed creating key"});
  const auto json = o.toJson();
  BOOST_TEST(json->getValue<std::string>("reason") == "configuration_error");
  BOOST_TEST(json->getObject("deviceError")->getValue<int>("code") == 2);
  BOOST_TEST(json->getValue<bool>("alertOps"));
  BOOST_TEST(json->has("agentMessage"));
  BOOST_TEST(json->has("customerMessage"));
  // In the order an event lays them out.
  const std::vector<std::string> names = {"event", "reason", "deviceError", "retryable", "alertOps", "agentMessage",
                                          "customerMessage"};
  BOOST_TEST(json->getNames() == names, boost::test_tools::per_element());
}
