#define BOOST_TEST_MODULE base64
#include <boost/test/unit_test.hpp>

#include "bcauth/base64.h"
#include "bcauth/secure.h"

using namespace bcauth::crypto;

namespace {
std::string decodeToString(std::string_view text) {
  auto r = base64Decode(text);
  BOOST_REQUIRE_MESSAGE(r.isOk(), r.status().toString());
  return std::string(r->begin(), r->end());
}
}  // namespace

BOOST_AUTO_TEST_CASE(rfc4648_vectors_round_trip) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    BOOST_TEST(base64Encode(std::string_view(plain)) == encoded);
    BOOST_TEST(decodeToString(encoded) == plain);
  }
}

BOOST_AUTO_TEST_CASE(all_byte_values_round_trip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    const auto part = std::string_view(all).substr(0, n);
    BOOST_TEST(decodeToString(base64Encode(part)) == std::string(part));
  }
}

BOOST_AUTO_TEST_CASE(refuses_url_safe_alphabet_with_a_reason) {
  auto r = base64Decode("ab-_");
  BOOST_REQUIRE(!r.isOk());
  BOOST_TEST(r.status().message().find("URL-safe") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refuses_missing_padding_whitespace_and_spaces) {
  BOOST_TEST(!base64Decode("Zg").isOk());
  BOOST_TEST(!base64Decode("Zm9v\nYmFy").isOk());
  auto space = base64Decode("Zm9 ");
  BOOST_REQUIRE(!space.isOk());
  BOOST_TEST(space.status().message().find("space") != std::string::npos);
  BOOST_TEST(!base64Decode("Z===").isOk());
  BOOST_TEST(!base64Decode("Zg=a").isOk());
  BOOST_TEST(!base64Decode("=Zg=").isOk());
}

BOOST_AUTO_TEST_CASE(refuses_non_canonical_trailing_bits) {
  BOOST_TEST(base64Decode("Zg==").isOk());
  BOOST_TEST(!base64Decode("Zh==").isOk());
  BOOST_TEST(!base64Decode("Zm9=").isOk());
}

BOOST_AUTO_TEST_CASE(url_token_has_no_padding_or_standard_only_characters) {
  for (int i = 0; i < 50; ++i) {
    const std::string token = randomUrlToken(32);
    BOOST_TEST(token.size() == 43u);
    BOOST_TEST(token.find_first_of("+/=") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(random_uuid_is_version_4) {
  const std::string id = randomUuid();
  BOOST_TEST(id.size() == 36u);
  BOOST_TEST(id[14] == '4');
  BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
  BOOST_TEST(randomUuid() != id);
}

BOOST_AUTO_TEST_CASE(constant_time_equals) {
  BOOST_TEST(constantTimeEquals("abc", "abc"));
  BOOST_TEST(!constantTimeEquals("abc", "abd"));
  BOOST_TEST(!constantTimeEquals("abc", "abcd"));
  BOOST_TEST(constantTimeEquals("", ""));
}

BOOST_AUTO_TEST_CASE(secret_holds_text) {
  Secret s("token");
  BOOST_TEST(s.view() == "token");
  BOOST_TEST(s.size() == 5u);
  BOOST_TEST(Secret().empty());
}

BOOST_AUTO_TEST_CASE(secret_decoding_never_quotes_the_input) {
  auto r = base64DecodeSecret("abc$defg");
  BOOST_REQUIRE(!r.isOk());
  BOOST_TEST(r.status().message().find('$') == std::string::npos);
  BOOST_TEST(r.status().message().find("offset") == std::string::npos);
  BOOST_TEST(base64DecodeSecret("Zm9v").isOk());
}
