// The throw-away PostgreSQL database of scripts/with-postgres, for the suites that need one.
//
// A case that needs the database is declared `BOOST_AUTO_TEST_CASE(name, BCAUTH_NEEDS_POSTGRES)`:
// - without BCAUTH_TEST_POSTGRES_URL, Boost.Test skips it (a precondition), and says so with a line
//   CTest recognises (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt): the run reports Skipped,
//   never Passed with nothing checked;
// - under scripts/with-postgres (which also sets BCAUTH_REQUIRE_POSTGRES=1) it always runs, so a
//   database that is missing or unreachable fails the case instead of skipping it.
// The label lets CTest run a suite's PostgreSQL cases as their own test (<suite>_postgres).
#pragma once

#include <cstdlib>
#include <mutex>
#include <string>

#include <boost/test/unit_test.hpp>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

namespace bcauth::test {

inline std::string postgresUrl() {
  const char* url = std::getenv("BCAUTH_TEST_POSTGRES_URL");
  return url == nullptr ? std::string() : std::string(url);
}

// Set by scripts/with-postgres: from then on, no database is an error, not a skip.
inline bool postgresRequired() {
  const char* required = std::getenv("BCAUTH_REQUIRE_POSTGRES");
  return required != nullptr && std::string(required) != "" && std::string(required) != "0";
}

// The line CTest's SKIP_REGULAR_EXPRESSION looks for; printed only when a case is skipped.
inline constexpr const char* kPostgresSkipped =
    "needs PostgreSQL, skipped: BCAUTH_TEST_POSTGRES_URL is not set (run under scripts/with-postgres)";

// The precondition of every PostgreSQL case.
inline boost::test_tools::assertion_result postgresConfigured(boost::unit_test::test_unit_id id) {
  boost::test_tools::assertion_result result(!postgresUrl().empty() || postgresRequired());
  if (!result) {
    const auto& name = boost::unit_test::framework::get(id, boost::unit_test::TUT_ANY).p_name.get();
    BOOST_TEST_MESSAGE(name << " " << kPostgresSkipped);
    result.message() << kPostgresSkipped;
  }
  return result;
}

#define BCAUTH_NEEDS_POSTGRES \
  *boost::unit_test::label("postgres") * boost::unit_test::precondition(bcauth::test::postgresConfigured)

inline Poco::Data::Session postgresSession(const std::string& url) {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  return Poco::Data::Session(Poco::Data::PostgreSQL::Connector::KEY, url);
}

// Everything a store created goes: the next store starts from an empty database.
inline void emptyPostgresDatabase(const std::string& url) {
  auto session = postgresSession(url);
  session << "SET client_min_messages = warning", Poco::Data::Keywords::now;  // no "drop cascades" NOTICEs
  session << "DROP SCHEMA public CASCADE", Poco::Data::Keywords::now;
  session << "CREATE SCHEMA public", Poco::Data::Keywords::now;
}

// BCAUTH_TEST_POSTGRES_URL with its database emptied. Only for BCAUTH_NEEDS_POSTGRES cases: the
// precondition let the case run, so a missing URL here means the database was required.
inline std::string freshPostgresDatabase() {
  const std::string url = postgresUrl();
  if (url.empty()) BOOST_FAIL("BCAUTH_REQUIRE_POSTGRES is set but BCAUTH_TEST_POSTGRES_URL is not");
  emptyPostgresDatabase(url);
  return url;
}

}  // namespace bcauth::test
