// The web console's files as `bcauth serve` answers them at /console/: compiled in, each with its
// Content-Type and the headers that keep the page to its own code (docs/security.md, The
// console's Content-Security-Policy); nothing else reachable through the console's paths. What
// the pages do in a browser is tests/browser/.
#define BOOST_TEST_MODULE console
#include <boost/test/unit_test.hpp>

#include <regex>

#include "http/web_assets.h"
#include "server_harness.h"

using bcauth::test::Response;
using bcauth::test::TestServer;

namespace {

const std::string kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

Response get(const TestServer& server, const std::string& path) { return server.call("GET", path, "", {}, false); }

void checkServed(const Response& r, const std::string& type) {
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.headers.at("Content-Type") == type);
  BOOST_TEST(r.headers.at("Content-Security-Policy") == kCsp);
  BOOST_TEST(r.headers.at("X-Content-Type-Options") == "nosniff");
  BOOST_TEST(r.headers.at("X-Frame-Options") == "DENY");
  BOOST_TEST(r.headers.at("Cache-Control") == "no-cache");
  BOOST_TEST(r.headers.at("Content-Length") == std::to_string(r.body.size()));
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_console_page_and_its_files_are_served_with_their_type_and_the_csp) {
  TestServer server;
  const Response page = get(server, "/console/");
  checkServed(page, "text/html; charset=utf-8");
  BOOST_TEST(page.body.find("<!doctype html>") == 0u);
  checkServed(get(server, "/console/console.js"), "text/javascript; charset=utf-8");
  checkServed(get(server, "/console/console.css"), "text/css; charset=utf-8");
  // What the console and the phone page share (web/shared/) is served beside each page's own files.
  checkServed(get(server, "/console/dom.js"), "text/javascript; charset=utf-8");
  BOOST_TEST(get(server, "/console/dom.js").body == bcauth::test::readFile(bcauth::test::kSourceDir + "/web/shared/dom.js"));
  // Byte for byte the file under web/: compiled in, not read from a disk at run time.
  BOOST_TEST(get(server, "/console/console.js").body ==
             bcauth::test::readFile(bcauth::test::kSourceDir + "/web/console/console.js"));
  // No API key needed for the files (the page asks for it); HEAD answers the headers alone.
  const Response head = server.call("HEAD", "/console/console.css", "", {}, false);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());
  BOOST_TEST(head.headers.at("Content-Security-Policy") == kCsp);
}

BOOST_AUTO_TEST_CASE(console_without_a_slash_redirects_to_the_page) {
  TestServer server;
  const Response r = get(server, "/console");
  BOOST_TEST(r.status == 301);
  BOOST_TEST(r.headers.at("Location") == "/console/");
}

BOOST_AUTO_TEST_CASE(an_unknown_file_or_a_path_out_of_the_console_is_404) {
  TestServer server;
  for (const std::string path :
       {"/console/nothing.js", "/console/index.htm", "/console/..%2FCMakeLists.txt", "/console/%2e%2e%2fREADME.md",
        "/console/../CMakeLists.txt", "/console/..", "/console/%2e%2e", "/console/phone.js",
        "/console/sub/console.js", "/console//console.js", "/console/..%2Fshared%2Fdom.js", "/console/console.js%00.png", "/console/%2Fetc%2Fpasswd"}) {
    BOOST_TEST_CONTEXT(path) {
      const Response r = get(server, path);
      BOOST_TEST(r.status == 404);
      BOOST_TEST(r.headers.at("Content-Type") == "application/json");
      BOOST_TEST(r.body.find("\"not_found\"") != std::string::npos);
    }
  }
  // The demo's phone page is compiled in too, but the console's paths never reach it.
  BOOST_TEST(bcauth::http::findWebAsset("phone/index.html") != nullptr);
  BOOST_TEST(get(server, "/console/..%2Fphone%2Findex.html").status == 404);
  // Other methods are refused with the methods the path has.
  const Response post = server.call("POST", "/console/console.js", "{}", {}, false);
  BOOST_TEST(post.status == 405);
  BOOST_TEST(post.headers.at("Allow") == "GET, HEAD, OPTIONS");
}

BOOST_AUTO_TEST_CASE(the_pages_hold_no_inline_script_no_inline_style_and_write_no_html) {
  // What the CSP forbids is not in the files either (it would be a console error), and the
  // scripts build the DOM with textContent only: customer, Apple and IdP text stays text.
  for (const std::string page : {"console/index.html", "phone/index.html"}) {
    BOOST_TEST_CONTEXT(page) {
      const auto* asset = bcauth::http::findWebAsset(page);
      BOOST_REQUIRE(asset != nullptr);
      const std::string html(asset->body);
      BOOST_TEST(!std::regex_search(html, std::regex("<script(?![^>]*\\ssrc=\"[a-z]+\\.js\")", std::regex::icase)));
      BOOST_TEST(!std::regex_search(html, std::regex("\\son[a-z]+=", std::regex::icase)));
      BOOST_TEST(!std::regex_search(html, std::regex("\\sstyle=|<style", std::regex::icase)));
      BOOST_TEST(!std::regex_search(html, std::regex("https?://", std::regex::icase)));  // no CDN, no remote font
    }
  }
  for (const std::string script : {"console/console.js", "phone/phone.js", "shared/dom.js"}) {
    BOOST_TEST_CONTEXT(script) {
      const auto* asset = bcauth::http::findWebAsset(script);
      BOOST_REQUIRE(asset != nullptr);
      const std::string js(asset->body);
      for (const std::string banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage",
                                       "eval(", "new Function", "EventSource"}) {
        BOOST_CHECK_MESSAGE(js.find(banned) == std::string::npos, script << " uses " << banned);
      }
    }
  }
}
