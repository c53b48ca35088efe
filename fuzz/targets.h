// The fuzz targets as plain functions: the libFuzzer executables (fuzz/fuzz_<name>.cpp, clang,
// BCAUTH_FUZZ=ON) call them from LLVMFuzzerTestOneInput, and the ordinary gcc build's
// test_fuzz_regressions runs every saved input through them. See docs/fuzzing.md.
//
// Each entry takes arbitrary bytes and returns 0. It never throws on bad input: whatever escapes
// (an exception from bcauth, Poco or the standard library, or an InvariantViolation from the
// target's own checks) is a finding — libFuzzer reports it as a crash, the regression suite as a
// failed check. State the targets need (keys, a SQLite store in a temporary directory, the
// service) is made once per process and reset before each input, so an input's result does not
// depend on the inputs before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bcauth::fuzz {

// The inbound parser (protocol::parseInbound), the outcome mapping of what it parsed, and JSON
// Schema detection + validation of the same bytes (what `bcauth inspect` and `validate` do).
int fuzzInbound(const std::uint8_t* data, std::size_t size);

// Token decryption with one fixed P-384 key (fixtures/keys.json "spec-c"): the input as the
// Base64 token text, and the input's bytes Base64-encoded (so E || C || tag is mutated directly).
int fuzzDecrypt(const std::uint8_t* data, std::size_t size);

// POST /message end to end below the socket. Input:
//   line 1: the Authorization header value ("Bearer <JWT>")
//   line 2: the capability-list header value
//   rest:   the body, plain or gzip (detected by its magic bytes, as the server does)
// The JWT is verified for real (HS256, aud, iat window) against a fixed secret and clock; when
// it does not pass, a correctly signed one is verified instead so the body still goes on. The
// body is then gunzipped as the server does and handed to AppleIntake::handleInbound on a real
// SQLite store, in which a pending request answering the reply's requestIdentifier (same
// conversation and flow, private key = the spec-c key) has been provisioned. The first character
// of the message's "id" picks another request state instead: '!' none, '#' another
// conversation's, '$' of the other flow, '%' expired, '&' already failed, '*' (v2) completed by
// the callback.
int fuzzIntake(const std::uint8_t* data, std::size_t size);

// The CSP API's JSON bodies, through protocol::json::parseObject (as the HTTP handlers read
// them) and the service call each route makes. The first byte selects:
//   (byte & 0x0F) % 3 == 0: PUT /v1/providers/{id}     1: POST /v1/auth-requests
//                        2: PUT /v1/webhooks/{id}
//   byte & 0x40: PUTs target the id that already exists (an update) instead of a new one;
//                POST /v1/auth-requests sends an Idempotency-Key and replays the request.
// The rest of the input is the body. Printable seeds use '0' '1' '2' and 'p' 'q' 'r'.
int fuzzApiBodies(const std::uint8_t* data, std::size_t size);

// A target's own check failed: an answer that contradicts what bcauth documents (a secret shown
// by the API, a duplicate on a fresh store, a valid JWT that does not verify, ...).
struct InvariantViolation : std::logic_error {
  using std::logic_error::logic_error;
};

struct Target {
  std::string_view name;  // "inbound", "decrypt", "intake", "api": fuzz_<name>, fuzz/*/<name>/
  int (*run)(const std::uint8_t* data, std::size_t size);
};
std::span<const Target> targets();
const Target* findTarget(std::string_view name);

// One seed input: a file name (no directories) and its bytes.
struct Seed {
  std::string name;
  std::string bytes;
};

// The seeds a target's corpus starts from that are built from the repository's fixtures/
// (repoRoot is the repository's top directory): inbound payloads for inbound and intake (the
// latter with a valid JWT and gzip variants, and a few with bad JWTs), the tokens of the inbound
// fixtures for decrypt. Seeds kept as files (fuzz/seeds/<target>/) are not included.
std::vector<Seed> fixtureSeeds(std::string_view target, const std::filesystem::path& repoRoot);

// Helpers the seeds and tests share with the targets.
std::string validAuthorization();  // "Bearer <JWT>" that fuzzIntake's verification accepts

}  // namespace bcauth::fuzz
