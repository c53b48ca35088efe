#define BOOST_TEST_MODULE base64
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <thread>
#include <vector>

#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "crypto/primitives.h"

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

// The URL-safe decoder is the encoder's inverse and as strict as the standard one.
BOOST_AUTO_TEST_CASE(url_safe_base64_round_trips_and_refuses_the_standard_forms) {
  for (std::size_t n = 0; n < 40; ++n) {
    std::vector<std::uint8_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(0xF0 + 7 * i);
    const std::string text = base64UrlEncode(bytes);
    const auto back = base64UrlDecode(text);
    BOOST_REQUIRE_MESSAGE(back.isOk(), text);
    BOOST_TEST((std::vector<std::uint8_t>(back->begin(), back->end()) == bytes));
  }
  const auto urlSafe = base64UrlDecode("-_8");
  BOOST_REQUIRE(urlSafe.isOk());
  BOOST_TEST((std::string(urlSafe->begin(), urlSafe->end()) == "\xfb\xff"));
  for (const char* bad : {"+_8", "-/8", "Zg==", "Zg=", "Z", "Zh", "e30*", "a b"}) {
    BOOST_TEST(!base64UrlDecode(bad).isOk(), bad);
  }
}

BOOST_AUTO_TEST_CASE(random_uuid_is_version_4) {
  const std::string id = randomUuid();
  BOOST_TEST(id.size() == 36u);
  BOOST_TEST(id[14] == '4');
  BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
  BOOST_TEST(randomUuid() != id);
}

BOOST_AUTO_TEST_CASE(time_ordered_uuid_is_version_7_with_its_time_first) {
  const std::int64_t at = 0x0192'3456'789aLL;  // 2024-09 in Unix milliseconds
  const std::string id = timeOrderedUuid(at);
  BOOST_TEST(id.size() == 36u);
  BOOST_TEST(id.substr(0, 13) == "01923456-789a");
  BOOST_TEST(id[14] == '7');
  BOOST_TEST(std::string("89ab").find(id[19]) != std::string::npos);
  BOOST_TEST(timeOrderedUuid(at) != id);  // 74 random bits after the time
  // Later milliseconds sort later as text, which is how the store orders them.
  BOOST_TEST(timeOrderedUuid(at + 1) > timeOrderedUuid(at));
  BOOST_TEST(timeOrderedUuid(at + 4096) > id);
}

// Public values (ids, nonces) come from a per-thread pool one getrandom refills: every value
// is new, across refills, threads and sizes, and a large draw bypasses the pool.
BOOST_AUTO_TEST_CASE(public_random_values_are_never_repeated) {
  std::set<std::string> seen;
  const auto draw = [&](std::size_t size) {
    std::string value(size, '\0');
    detail::fillPublicRandom(reinterpret_cast<std::uint8_t*>(value.data()), size);
    return seen.insert(value).second;
  };
  bool allNew = true;
  for (int i = 0; i < 2000; ++i) allNew = draw(12) && draw(16) && draw(10) && allNew;  // ~20 refills
  allNew = draw(4096) && allNew;
  std::string other;
  std::thread([&] { other = randomUuid(); }).join();
  BOOST_TEST(allNew);
  BOOST_TEST(seen.size() == 6001u);
  BOOST_TEST(other != randomUuid());
}

// A forked child must not hand out the values its parent drew ahead: the pool's page is wiped
// in the child (MADV_WIPEONFORK), so the child refills from the kernel.
BOOST_AUTO_TEST_CASE(a_forked_child_draws_its_own_public_values) {
  (void)randomUuid();  // the pool now holds values drawn ahead
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    const std::string id = randomUuid();
    const ssize_t written = ::write(fds[1], id.data(), id.size());
    ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  const std::string mine = randomUuid();
  std::array<char, 36> theirs{};
  const ssize_t got = ::read(fds[0], theirs.data(), theirs.size());
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  BOOST_REQUIRE(got == 36);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(std::string(theirs.data(), 36) != mine);
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
