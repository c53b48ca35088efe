// The bcauth CLI: every command, its exit codes (0 ok, 1 bad input, 2 usage) and the rule
// that a failure prints one line on stderr and nothing on stdout. Most cases run in-process;
// a few run the real binary to cover main().
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <sstream>

#include <Poco/Base64Encoder.h>
#include <Poco/File.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Path.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include "app/cli.h"
#include "bcauth/crypto.h"
#include "test_support.h"

using namespace bcauth;
namespace bt = bcauth::test;

namespace {

struct Run {
  int code;
  std::string out, err;
};

Run cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = app::runCli(args, out, err);
  return {code, out.str(), err.str()};
}

int lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

void expectBadInput(const Run& r, const std::string& mention) {
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(r.out.empty());
  BOOST_CHECK_EQUAL(lines(r.err), 1);
  BOOST_CHECK_MESSAGE(r.err.find(mention) != std::string::npos, "stderr '" << r.err << "' lacks '" << mention << "'");
}

void expectUsage(const Run& r) {
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.out.empty());
  BOOST_CHECK(!r.err.empty());
}

Poco::JSON::Object::Ptr json(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::string fixture(const std::string& name) { return bt::kSourceDir + "/fixtures/" + name; }
std::string fixtureKey(const std::string& name) {
  return bt::readJsonObject(fixture("keys.json"))->getObject(name)->getValue<std::string>("privateKey");
}

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(help_and_usage) {
  auto r = cli({"--help"});
  BOOST_TEST(r.code == 0);
  for (const char* command : {"keygen", "encrypt", "decrypt", "build", "validate", "inspect"}) {
    BOOST_TEST(r.out.find(command) != std::string::npos);
    auto sub = cli({command, "--help"});
    BOOST_TEST(sub.code == 0);
    BOOST_TEST(sub.out.find(std::string("bcauth ") + command) != std::string::npos);
  }
  expectUsage(cli({}));
  expectUsage(cli({"frobnicate"}));
  expectUsage(cli({"keygen", "--nope"}));
  expectUsage(cli({"decrypt", "--token"}));
  expectUsage(cli({"decrypt", "--token", "x"}));
  expectUsage(cli({"build", "--flow", "legacy", "--flow", "v2"}));
  expectUsage(cli({"validate"}));
}

BOOST_AUTO_TEST_CASE(keygen_encrypt_decrypt_round_trip) {
  auto keys = cli({"keygen"});
  BOOST_REQUIRE_EQUAL(keys.code, 0);
  const auto pair = json(keys.out);
  const std::string privateKey = pair->getValue<std::string>("privateKey");
  const std::string publicKey = pair->getValue<std::string>("publicKey");
  BOOST_TEST(publicKey.size() == 132u);

  auto token = cli({"encrypt", "--public-key", publicKey, "--plaintext", "ya29.token value"});
  BOOST_REQUIRE_EQUAL(token.code, 0);
  auto plain = cli({"decrypt", "--private-key", privateKey, "--token", trimmed(token.out)});
  BOOST_REQUIRE_EQUAL(plain.code, 0);
  BOOST_TEST(plain.out == "ya29.token value\n");
  BOOST_TEST(plain.err.empty());

  // --private-key-file, with a PEM key.
  Poco::TemporaryFile keyFile;
  std::ofstream(keyFile.path()) << privateKey << "\n";
  auto fromFile = cli({"decrypt", "--private-key-file", keyFile.path(), "--token=" + trimmed(token.out)});
  BOOST_TEST(fromFile.out == "ya29.token value\n");
}

BOOST_AUTO_TEST_CASE(decrypt_spec_vector_and_bad_inputs) {
  const std::string token =
      "BCV1Dc8eBSxWnWEjX6IJIR3lntWZUQnsT7/qSgh268F8yLb3yzBjt0Ejs+auoQiWCJ6S+bMKgWdBzbDklQlnvf+5IuegdyNz/CuYXu2lJ1Yfrb7t+73Vv8UerH"
      "yWbIPF5imy5MlUO6XAbKznGZp4Lpb/tGKTMaSC2CO3gPwj2dMKKQpak9m1LX8595FVjjqkMsmMLd8=";
  const std::string key = fixtureKey("spec-c");
  BOOST_TEST(cli({"decrypt", "--private-key", key, "--token", token}).out == "ya29.EXAMPLE-not-a-real-access-token\n");

  std::string tampered = token;
  tampered[tampered.size() - 2] = 'c';  // '8' → 'c': same unused bits, a different tag
  expectBadInput(cli({"decrypt", "--private-key", key, "--token", tampered}), "could not be decrypted");
  expectBadInput(cli({"decrypt", "--private-key", key, "--token", token.substr(0, 120)}), "too short");
  std::string urlSafe = token;
  std::replace(urlSafe.begin(), urlSafe.end(), '/', '_');
  expectBadInput(cli({"decrypt", "--private-key", key, "--token", urlSafe}), "URL-safe");
  expectBadInput(cli({"decrypt", "--private-key", "###", "--token", token}), "private key");
  expectBadInput(cli({"decrypt", "--private-key-file", "/nonexistent/key", "--token", token}), "/nonexistent/key");
  expectBadInput(cli({"encrypt", "--public-key", "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE", "--plaintext", "x"}), "public key");
}

BOOST_AUTO_TEST_CASE(build_legacy_writes_the_key_and_a_valid_message) {
  Poco::TemporaryFile keyFile;
  auto r = cli({"build", "--flow", "legacy", "--business-id", "biz-1", "--customer-id", "urn:mbid:AQAA+/=", "--scope",
                "openid", "--scope", "email", "--private-key-out", keyFile.path(), "--client-secret", "s3cret",
                "--title", "Sign in to Example", "--style", "small"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto message = json(r.out);
  const auto oauth2 = message->getObject("interactiveData")->getObject("data")->getObject("authenticate")->getObject("oauth2");
  // The key written to the file is the one whose public point the message carries.
  auto key = crypto::PrivateKey::fromText(bt::readFile(keyFile.path()));
  BOOST_REQUIRE(key.isOk());
  BOOST_TEST(key->publicKey().toBase64() == oauth2->getValue<std::string>("responseEncryptionKey"));
  BOOST_TEST(oauth2->getValue<std::string>("state").size() == 22u);  // 128 random bits, Base64url
  struct stat info {};
  BOOST_REQUIRE(::stat(keyFile.path().c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == 0600u);
  // And the message validates.
  Poco::TemporaryFile messageFile;
  std::ofstream(messageFile.path()) << r.out;
  auto v = cli({"validate", messageFile.path()});
  BOOST_TEST(v.code == 0);
  BOOST_TEST(v.out.find("valid authenticate-request") != std::string::npos);
}

// PKCE S256 (RFC 7636 §4.2) made with Poco's SHA-256 and base64url, not bcauth's: the CLI's
// challenge is checked against it (and it against the RFC's Appendix B example).
namespace {
std::string s256(const std::string& verifier) {
  Poco::SHA2Engine sha256;
  sha256.update(verifier);
  const auto& digest = sha256.digest();
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder.rdbuf()->setLineLength(0);
  encoder.write(reinterpret_cast<const char*>(digest.data()), static_cast<std::streamsize>(digest.size()));
  encoder.close();
  return out.str();
}
}  // namespace

BOOST_AUTO_TEST_CASE(build_v2_with_pkce) {
  Poco::TemporaryFile verifierFile;
  auto r = cli({"build", "--flow", "v2", "--business-id", "biz", "--customer-id", "c", "--scope", "openid",
                "--redirect-uri", "https://bcauth.example.com/oauth/callback", "--pkce-verifier-out", verifierFile.path()});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto oauth2 = json(r.out)->getObject("interactiveData")->getObject("data")->getObject("authenticate")->getObject("oauth2");
  const std::string verifier = trimmed(bt::readFile(verifierFile.path()));
  BOOST_TEST(verifier.size() == 43u);
  BOOST_TEST(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  BOOST_TEST(oauth2->getValue<std::string>("additionalParameters") ==
             "code_challenge=" + s256(verifier) + "&code_challenge_method=S256");
  BOOST_TEST(oauth2->getValue<std::string>("state").size() == 22u);
}

BOOST_AUTO_TEST_CASE(build_refusals) {
  expectBadInput(cli({"build", "--flow", "v2", "--business-id", "b", "--customer-id", "c", "--scope", "openid email",
                      "--redirect-uri", "https://x/cb"}),
                 "scope[0]");
  expectBadInput(cli({"build", "--flow", "v2", "--business-id", "b", "--customer-id", "c", "--scope", "openid",
                      "--redirect-uri", "ftp://x/cb"}),
                 "redirectURI");
  expectUsage(cli({"build", "--flow", "v2", "--business-id", "b", "--customer-id", "c", "--scope", "openid"}));
  expectUsage(cli({"build", "--flow", "legacy", "--business-id", "b", "--customer-id", "c", "--scope", "openid"}));
  expectUsage(cli({"build", "--flow", "legacy", "--business-id", "b", "--customer-id", "c"}));
}

BOOST_AUTO_TEST_CASE(validate_reports_pointers) {
  auto r = cli({"validate", fixture("outbound/invalid/key-spki-der.json")});
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.find("/interactiveData/data/authenticate/oauth2/responseEncryptionKey: ") != std::string::npos);
  BOOST_TEST(lines(r.err) == 1);
  expectBadInput(cli({"validate", fixture("inbound/malformed/not-json.txt")}), "malformed JSON");
  expectBadInput(cli({"validate", "/nonexistent.json"}), "/nonexistent.json");
  expectUsage(cli({"validate", fixture("outbound/v2.json"), "--schema", "nope"}));
  BOOST_TEST(cli({"validate", fixture("inbound/legacy-success.json")}).code == 0);
  BOOST_TEST(cli({"validate", fixture("outbound/v2.json"), "--schema", "authenticate-request"}).code == 0);
}

BOOST_AUTO_TEST_CASE(inspect_prints_outcomes) {
  auto r = cli({"inspect", fixture("inbound/legacy-success.json"), "--private-key", fixtureKey("spec-c"),
                "--capabilities", "quick,AUTH,auth2"});
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  auto report = json(r.out);
  BOOST_TEST(report->getValue<std::string>("token") == "ya29.EXAMPLE-not-a-real-access-token");
  BOOST_TEST(report->getObject("outcome")->getValue<std::string>("event") == "auth.succeeded");
  BOOST_TEST(report->getArray("capabilities")->size() == 3u);

  // Without the key: the format is checked, no token printed.
  report = json(cli({"inspect", fixture("inbound/legacy-success.json")}).out);
  BOOST_TEST(!report->has("token"));
  BOOST_TEST(report->getObject("outcome")->getValue<std::string>("event") == "auth.succeeded");
  report = json(cli({"inspect", fixture("inbound/malformed/off-curve-point.json")}).out);
  BOOST_TEST(report->getObject("outcome")->getValue<std::string>("reason") == "server_decrypt_error");

  report = json(cli({"inspect", fixture("inbound/legacy-failed-cryptor-2.json")}).out);
  BOOST_TEST(report->getObject("outcome")->getValue<std::string>("reason") == "configuration_error");

  expectBadInput(cli({"inspect", fixture("inbound/malformed/tampered-tag.json"), "--private-key", fixtureKey("spec-c")}),
                 "server_decrypt_error");
  expectBadInput(cli({"inspect", fixture("inbound/malformed/missing-request-identifier.json")}),
                 "interactiveData.data.requestIdentifier");
  expectBadInput(cli({"inspect", fixture("inbound/malformed/not-json.txt")}), "malformed JSON");
}

BOOST_AUTO_TEST_CASE(the_real_binary) {
  const std::string binary = BCAUTH_CLI_PATH;
  auto run = [&](const std::vector<std::string>& args) {
    Poco::Pipe outPipe, errPipe;
    Poco::ProcessHandle handle = Poco::Process::launch(binary, args, nullptr, &outPipe, &errPipe);
    Poco::PipeInputStream outStream(outPipe), errStream(errPipe);
    std::string out, err;
    Poco::StreamCopier::copyToString(outStream, out);
    Poco::StreamCopier::copyToString(errStream, err);
    return Run{handle.wait(), out, err};
  };
  auto help = run({"--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(help.out.find("Usage: bcauth COMMAND") != std::string::npos);
  auto bad = run({"decrypt", "--private-key", fixtureKey("spec-c"), "--token", "short"});
  BOOST_TEST(bad.code == 1);
  BOOST_TEST(bad.out.empty());
  BOOST_TEST(lines(bad.err) == 1);
  BOOST_TEST(run({"nope"}).code == 2);
}
