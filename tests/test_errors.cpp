// The HTTP edge's one error table and its one integer parser: every Status code answers with the
// HTTP status docs/openapi.yaml documents for its wire code; every integer the edge reads (query
// parameters, path ids, Last-Event-ID, Content-Length) is digits only and range-checked; and the
// headers that go with some refusals (WWW-Authenticate, Allow, Retry-After) are still sent.
#define BOOST_TEST_MODULE errors
#include <boost/test/unit_test.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <Poco/Net/StreamSocket.h>

#include "bcauth/status.h"
#include "http/errors.h"
#include "http/integer.h"
#include "server_harness.h"
#include "test_support.h"

using namespace bcauth;
using bcauth::test::TestServer;

namespace {

// Every StatusCode, so a new one cannot be left out of this test unnoticed (the last one is
// checked against the enum's size below).
const std::vector<StatusCode> kAllCodes = {
    StatusCode::kOk,
    StatusCode::kInvalidArgument,
    StatusCode::kDecryptionFailed,
    StatusCode::kNotFound,
    StatusCode::kConflict,
    StatusCode::kIdempotencyConflict,
    StatusCode::kInternal,
    StatusCode::kStorageUnavailable,
    StatusCode::kBadRequest,
    StatusCode::kUnauthorized,
    StatusCode::kForbidden,
    StatusCode::kMethodNotAllowed,
    StatusCode::kRequestTimeout,
    StatusCode::kPayloadTooLarge,
    StatusCode::kUriTooLong,
    StatusCode::kTooManyRequests,
    StatusCode::kTooManyConnections,
    StatusCode::kHeadersTooLarge,
    StatusCode::kNotImplemented,
    StatusCode::kServerBusy,
    StatusCode::kHttpVersionNotSupported,
};

std::string openapi() { return test::readFile(test::kSourceDir + "/docs/openapi.yaml"); }

// The wire code → HTTP status pairs docs/openapi.yaml states: each response's example
// (`'401':` … `code: unauthorized`) and its prose ("414 `uri_too_long`", in the API's description
// and the Error schema's).
std::map<std::string, std::set<int>> documentedStatuses() {
  const std::string text = openapi();
  std::map<std::string, std::set<int>> out;
  const std::regex prose(R"((\d{3}) `([a-z_]+)`)");
  for (std::sregex_iterator it(text.begin(), text.end(), prose), end; it != end; ++it) {
    out[(*it)[2]].insert(std::stoi((*it)[1]));
  }
  const std::regex responseLine(R"(^ +'(\d{3})':\s*$)");
  const std::regex codeLine(R"(^ +code: ([a-z_]+)\s*$)");
  std::istringstream in(text);
  int status = 0;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.rfind("components:", 0) == 0) status = 0;  // the schemas' examples are no response's
    if (std::regex_match(line, m, responseLine)) status = std::stoi(m[1]);
    else if (status != 0 && std::regex_match(line, m, codeLine)) out[m[1]].insert(status);
  }
  return out;
}

// The Error schema's enum of codes.
std::set<std::string> documentedCodes() {
  std::istringstream in(openapi());
  std::set<std::string> codes;
  bool inError = false;
  bool inEnum = false;
  const std::regex item(R"(^ +- ([a-z_]+)\s*$)");
  for (std::string line; std::getline(in, line);) {
    if (line == "    Error:") inError = true;
    else if (inError && line.rfind("    ", 0) == 0 && line[4] != ' ') break;  // the next schema
    if (!inError) continue;
    std::smatch m;
    if (line.find("enum:") != std::string::npos) inEnum = true;
    else if (inEnum && std::regex_match(line, m, item)) codes.insert(m[1]);
    else inEnum = false;
  }
  return codes;
}

Poco::JSON::Object::Ptr errorOf(const test::Response& response) {
  return response.json()->getObject("error");
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_status_code_answers_the_http_status_openapi_documents_for_it) {
  BOOST_TEST(kAllCodes.back() == StatusCode::kLast);
  const auto documented = documentedStatuses();
  for (const StatusCode code : kAllCodes) {
    const std::string name(toString(code));
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(name != "unknown");
      const int status = static_cast<int>(http::httpStatusFor(code));
      const auto it = documented.find(name);
      if (code == StatusCode::kOk) {
        BOOST_TEST(status == 200);
      } else {
        BOOST_REQUIRE_MESSAGE(it != documented.end(), name << " is not documented in docs/openapi.yaml");
        BOOST_TEST((it->second == std::set<int>{status}), name << " documented as another status than " << status);
      }
    }
  }
  // And nothing documented is a code the table does not know.
  std::set<std::string> known;
  for (const StatusCode code : kAllCodes) known.insert(std::string(toString(code)));
  for (const auto& [name, statuses] : documented) BOOST_TEST(known.count(name) == 1u, name);
  // The Error schema names every code there is but ok, and no other.
  known.erase("ok");
  BOOST_TEST((documentedCodes() == known));
}

BOOST_AUTO_TEST_CASE(the_integer_parser_takes_digits_only_within_range) {
  BOOST_TEST(*http::parseInteger("0", "after", 0, 10) == 0);
  BOOST_TEST(*http::parseInteger("10", "after", 0, 10) == 10);
  BOOST_TEST(*http::parseInteger("0007", "after", 0, 10) == 7);
  BOOST_TEST(*http::parseInteger("9223372036854775807", "after", 0, INT64_MAX) == INT64_MAX);
  for (const std::string bad : {"", "+5", "-5", " 5", "5 ", "5x", "0x5", "5.0", "1e3", "٣", "9223372036854775808",
                                "99999999999999999999999", "11"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      const auto parsed = http::parseInteger(bad, "limit", 0, 10);
      BOOST_REQUIRE(!parsed);
      BOOST_TEST(parsed.status().code() == StatusCode::kInvalidArgument);
      BOOST_TEST(parsed.status().field() == "limit");
      BOOST_TEST(parsed.status().message() == "must be an integer from 0 to 10");
    }
  }
  BOOST_TEST(!http::parseInteger("0", "limit", 1, 10));
}

BOOST_AUTO_TEST_CASE(every_integer_the_edge_reads_is_strict) {
  TestServer server;
  for (const std::string query : {"after=%2B5", "after=%205", "limit=5%20", "waitSeconds=-0", "limit=1e2"}) {
    BOOST_TEST_CONTEXT(query) {
      const auto r = server.call("GET", "/v1/events?" + query);
      BOOST_REQUIRE(r.status == 400);
      BOOST_TEST(errorOf(r)->getValue<std::string>("code") == "invalid_argument");
    }
  }
  BOOST_TEST(server.call("GET", "/v1/events?after=5&limit=10").status == 200);
  // A path id: the dead letter to replay.
  for (const std::string id : {"%2B5", "-5", "%205", "5x"}) {
    BOOST_TEST_CONTEXT(id) {
      const auto r = server.call("POST", "/v1/webhooks/dead-letters/" + id + "/replay");
      BOOST_REQUIRE(r.status == 400);
      BOOST_TEST(errorOf(r)->getValue<std::string>("field") == "deliveryId");
    }
  }
  BOOST_TEST(server.call("POST", "/v1/webhooks/dead-letters/999999/replay").status == 404);
  // Last-Event-ID of the event stream (a valid one would open the stream, so only refusals here).
  for (const std::string id : {"12abc", "+5", "-1", "99999999999999999999"}) {
    BOOST_TEST_CONTEXT(id) {
      const auto r = server.call("GET", "/v1/events/stream", "", {{"Last-Event-ID", id}});
      BOOST_REQUIRE(r.status == 400);
      BOOST_TEST(errorOf(r)->getValue<std::string>("field") == "Last-Event-ID");
    }
  }
}

BOOST_AUTO_TEST_CASE(refusals_keep_their_headers) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.rateLimitPerKey = 1;
  settings.rateLimitPerKeyBurst = 1;
  TestServer server(settings);
  auto unauthorized = server.call("GET", "/v1/providers", "", {}, false);
  BOOST_TEST(unauthorized.status == 401);
  BOOST_TEST(unauthorized.headers["WWW-Authenticate"] == "Bearer");
  BOOST_TEST(errorOf(unauthorized)->getValue<std::string>("code") == "unauthorized");
  const auto forbidden = server.call("GET", "/v1/providers", "", {{"Authorization", "Bearer not-the-key"}}, false);
  BOOST_TEST(forbidden.status == 403);
  BOOST_TEST(errorOf(forbidden)->getValue<std::string>("code") == "forbidden");
  auto notAllowed = server.call("PATCH", "/healthz", "", {}, false);
  BOOST_TEST(notAllowed.status == 405);
  BOOST_TEST(notAllowed.headers["Allow"] == "GET, HEAD, OPTIONS");
  BOOST_TEST(errorOf(notAllowed)->getValue<std::string>("code") == "method_not_allowed");
  auto options = server.call("OPTIONS", "/v1/providers/x", "", {}, false);
  BOOST_TEST(options.status == 204);
  BOOST_TEST(options.headers["Allow"] == "PUT, GET, HEAD, DELETE, OPTIONS");
  // One request a second: the second of two at once is refused, with when to come back.
  test::Response limited;
  for (int i = 0; i < 10 && limited.status != 429; ++i) limited = server.call("GET", "/v1/providers");
  BOOST_REQUIRE(limited.status == 429);
  BOOST_TEST(limited.headers.count("Retry-After") == 1u);
  BOOST_TEST(errorOf(limited)->getValue<std::string>("code") == "too_many_requests");
}

BOOST_AUTO_TEST_CASE(the_listeners_raw_refusals_take_their_status_line_from_the_table) {
  auto settings = test::testSettings(TestServer::freshDir());
  settings.maxConnectionsPerAddress = 1;
  TestServer server(settings);
  Poco::Net::StreamSocket held(Poco::Net::SocketAddress("127.0.0.1", server.port()));
  Poco::Net::StreamSocket refused(Poco::Net::SocketAddress("127.0.0.1", server.port()));
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  refused.sendBytes(request.data(), static_cast<int>(request.size()));
  refused.setReceiveTimeout(Poco::Timespan(10, 0));
  std::string answer;
  char buffer[4096];
  try {
    for (int n; answer.size() < 65536 && (n = refused.receiveBytes(buffer, sizeof buffer)) > 0;) {
      answer.append(buffer, static_cast<std::size_t>(n));
    }
  } catch (const Poco::Exception&) {
  }
  BOOST_TEST(answer.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0u, answer);
  BOOST_TEST(answer.find("\r\nRetry-After: 1\r\n") != std::string::npos, answer);
  BOOST_TEST(answer.find(R"("code":"too_many_connections")") != std::string::npos, answer);
}
