// The throw-away PostgreSQL database of scripts/with-postgres, for the suites that need one.
#pragma once

#include <cstdlib>
#include <string>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

namespace bcauth::test {

// BCAUTH_TEST_POSTGRES_URL with its database emptied; empty when the variable is not set (the
// caller then says it skipped).
inline std::string freshPostgresDatabase() {
  const char* url = std::getenv("BCAUTH_TEST_POSTGRES_URL");
  if (url == nullptr) return "";
  Poco::Data::PostgreSQL::Connector::registerConnector();
  Poco::Data::Session session("PostgreSQL", url);
  session << "DROP SCHEMA public CASCADE", Poco::Data::Keywords::now;
  session << "CREATE SCHEMA public", Poco::Data::Keywords::now;
  return url;
}

}  // namespace bcauth::test
