// docs/openapi.yaml and the server agree: every registered route is described, and nothing
// described is missing from the server; and every error response's body is the shared Error
// schema. The file keeps a fixed layout (paths at two spaces, methods at four), so reading it as
// text is exact.
#define BOOST_TEST_MODULE openapi
#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
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

// The block mappings of a YAML file as a tree: enough to follow keys such as
// paths → /x → get → responses → '404' → content → application/json → schema → $ref.
// Block scalars (>-, |) are skipped; sequence items are not entered (no key here is in one).
struct YamlNode {
  std::string value;  // the scalar after "key:", quotes removed; empty for a mapping
  std::map<std::string, std::unique_ptr<YamlNode>> children;

  const YamlNode* child(const std::string& key) const {
    const auto it = children.find(key);
    return it == children.end() ? nullptr : it->second.get();
  }
};

std::string unquoted(const std::string& text) {
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') && text.back() == text.front()) {
    return text.substr(1, text.size() - 2);
  }
  return text;
}

std::unique_ptr<YamlNode> parseYamlMappings(const std::string& text) {
  auto root = std::make_unique<YamlNode>();
  std::vector<std::pair<std::size_t, YamlNode*>> open{{0, root.get()}};  // (indent of its keys' parent, node)
  const std::regex keyLine(R"(^( *)('[^']*'|"[^"]*"|[^\s#'"\-][^:]*):(?: +(.*?))?\s*$)");
  std::istringstream in(text);
  std::size_t skipDeeperThan = std::string::npos;  // inside a block scalar: lines indented more
  std::size_t indentOfSequence = std::string::npos;  // inside a sequence item's lines
  for (std::string line; std::getline(in, line);) {
    const std::size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos || line[indent] == '#') continue;
    if (skipDeeperThan != std::string::npos) {
      if (indent > skipDeeperThan) continue;
      skipDeeperThan = std::string::npos;
    }
    if (indentOfSequence != std::string::npos) {
      if (indent > indentOfSequence) continue;
      indentOfSequence = std::string::npos;
    }
    if (line[indent] == '-') {
      indentOfSequence = indent;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, keyLine)) continue;
    const std::string raw = m[3];
    // A plain scalar holding ": " is not YAML (other readers refuse the file): quote it.
    BOOST_CHECK_MESSAGE(raw.empty() || raw[0] == '\'' || raw[0] == '"' || raw[0] == '{' || raw.find(": ") == std::string::npos,
                        "not valid YAML, quote the value: " << line);
    while (open.size() > 1 && open.back().first >= indent + 1) open.pop_back();
    auto node = std::make_unique<YamlNode>();
    node->value = unquoted(m[3]);
    YamlNode* added = node.get();
    open.back().second->children[unquoted(m[2])] = std::move(node);
    if (std::regex_match(added->value, std::regex(R"([>|][+-]?)"))) {
      added->value.clear();
      skipDeeperThan = indent;
    } else if (added->value.empty()) {
      open.emplace_back(indent + 1, added);
    }
  }
  return root;
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

  // Each 4xx/5xx response of each operation (directly or through #/components/responses/...)
  // has a JSON body whose schema is exactly a $ref to the shared Error schema.
  const auto doc = parseYamlMappings(text);
  const YamlNode* components = doc->child("components");
  BOOST_REQUIRE(components != nullptr);
  const YamlNode* schemas = components->child("schemas");
  BOOST_REQUIRE(schemas != nullptr);
  const YamlNode* error = schemas->child("Error");
  BOOST_REQUIRE(error != nullptr);
  BOOST_REQUIRE(error->child("properties") != nullptr);
  BOOST_TEST(error->child("properties")->child("error") != nullptr);
  const YamlNode* shared = components->child("responses");
  const YamlNode* paths = doc->child("paths");
  BOOST_REQUIRE(paths != nullptr);
  const std::regex errorStatus("[45][0-9][0-9]");
  int checked = 0;
  for (const auto& [path, operations] : paths->children) {
    for (const auto& [method, operation] : operations->children) {
      const YamlNode* responses = operation->child("responses");
      if (responses == nullptr) continue;  // a path-level key such as parameters
      for (const auto& [status, declared] : responses->children) {
        if (!std::regex_match(status, errorStatus)) continue;
        BOOST_TEST_CONTEXT(method << " " << path << " " << status) {
          const YamlNode* response = declared.get();
          if (const YamlNode* ref = response->child("$ref")) {
            const std::string prefix = "#/components/responses/";
            BOOST_REQUIRE(ref->value.rfind(prefix, 0) == 0);
            BOOST_REQUIRE(shared != nullptr);
            response = shared->child(ref->value.substr(prefix.size()));
            BOOST_REQUIRE_MESSAGE(response != nullptr, ref->value << " is not defined");
          }
          const YamlNode* content = response->child("content");
          BOOST_REQUIRE_MESSAGE(content != nullptr, "no body described");
          BOOST_TEST(content->children.size() == 1u);
          const YamlNode* json = content->child("application/json");
          BOOST_REQUIRE_MESSAGE(json != nullptr, "the body is not application/json");
          const YamlNode* schema = json->child("schema");
          BOOST_REQUIRE(schema != nullptr);
          BOOST_TEST(schema->children.size() == 1u);  // the $ref alone: nothing added or replaced
          const YamlNode* ref = schema->child("$ref");
          BOOST_REQUIRE(ref != nullptr);
          BOOST_TEST(ref->value == "#/components/schemas/Error");
          ++checked;
        }
      }
    }
  }
  BOOST_TEST_MESSAGE(checked << " error responses checked");
  BOOST_TEST(checked >= 100);  // every operation has at least 401/405/500: the walk found them
}
