// The throw-away PostgreSQL database of scripts/with-postgres, for the suites that need one.
#pragma once

#include <cstdlib>
#include <string>

#include <boost/test/unit_test.hpp>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

namespace bcauth::test {

// BCAUTH_TEST_POSTGRES_URL with its database emptied; empty, after saying the case is skipped,
// when the variable is not set: `if (url.empty()) return;`.
inline std::string freshPostgresDatabase() {
  const char* url = std::getenv("BCAUTH_TEST_POSTGRES_URL");
  if (url == nullptr) {
    BOOST_TEST_MESSAGE("skipped: BCAUTH_TEST_POSTGRES_URL is not set (run under scripts/with-postgres)");
    return "";
  }
  Poco::Data::PostgreSQL::Connector::registerConnector();
  Poco::Data::Session session("PostgreSQL", url);
  session << "SET client_min_messages = warning", Poco::Data::Keywords::now;  // no "drop cascades" NOTICEs
  session << "DROP SCHEMA public CASCADE", Poco::Data::Keywords::now;
  session << "CREATE SCHEMA public", Poco::Data::Keywords::now;
  return url;
}

}  // namespace bcauth::test
