// docs/openapi.yaml and the server agree: every registered route is described, and nothing
// described is missing from the server. The file keeps a fixed layout (paths at two spaces,
// methods at four), so reading it as text is exact.
#define BOOST_TEST_MODULE openapi
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "http/server.h"
#include "test_support.h"

namespace {

std::string normalise(const std::string& path) { return std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "{}"); }

std::set<std::string> describedRoutes() {
  std::istringstream in(bcauth::test::readFile(bcauth::test::kSourceDir + "/docs/openapi.yaml"));
  std::set<std::string> routes;
  bool inPaths = false;
  std::string path;
  const std::regex pathLine(R"(^  (/[^:]*):\s*$)");
  const std::regex methodLine(R"(^    (get|put|post|delete|patch|head|options):\s*$)");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') inPaths = line.rfind("paths:", 0) == 0;
    if (!inPaths) continue;
    std::smatch m;
    if (std::regex_match(line, m, pathLine)) path = normalise(m[1]);
    else if (std::regex_match(line, m, methodLine) && !path.empty()) {
      std::string method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      routes.insert(method + " " + path);
    }
  }
  return routes;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_route_is_described_and_nothing_else) {
  std::set<std::string> registered;
  for (const auto& [method, pattern] : bcauth::http::registeredRoutes()) registered.insert(method + " " + pattern);
  const auto described = describedRoutes();
  BOOST_TEST(registered.size() >= 14u);
  for (const auto& route : registered) BOOST_CHECK_MESSAGE(described.count(route) == 1, route << " is not in docs/openapi.yaml");
  for (const auto& route : described) BOOST_CHECK_MESSAGE(registered.count(route) == 1, route << " is described but not served");
}

BOOST_AUTO_TEST_CASE(every_error_body_is_the_shared_error_schema) {
  const std::string text = bcauth::test::readFile(bcauth::test::kSourceDir + "/docs/openapi.yaml");
  BOOST_TEST(text.find("openapi: 3.") != std::string::npos);
  BOOST_TEST(text.find("#/components/schemas/Error") != std::string::npos);
}
