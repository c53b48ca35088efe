// bcauth's crypto next to the raw OpenSSL operations it is built on, measured in one run on
// the same machine, with the ratios the targets in DESIGN.md are stated in:
//   decrypt ≤ 1.05 × raw P-384 ECDH;  keygen ≤ 1.10 × raw EVP P-384 key generation.
// "Raw ECDH" is the least any OpenSSL program must do with a received point: import the
// 97-byte point by its cheapest checked path (EVP_PKEY_set1_encoded_public_key on a copy of
// the group) and EVP_PKEY_derive. Two more baselines are printed for context: the textbook
// path (EVP_PKEY_fromdata + EVP_PKEY_derive_set_peer's default full check, much slower) and a
// derive against an already-imported peer (the floor, not reachable by any real decryptor).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>
#include <map>
#include <stdexcept>
#include <string>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "bcauth/crypto.h"
#include "crypto/openssl_util.h"
#include "raw_p384.h"

namespace {

using bcauth::crypto::detail::Owned;

struct Fixture {
  bcauth::bench::RawP384 raw;    // own key, a peer point, a parameters-only P-384 key
  EVP_PKEY* peerKey = nullptr;   // the peer point, imported once (for the preloaded baseline)
  std::string token;
  bcauth::crypto::PrivateKey bcauthKey = bcauth::crypto::PrivateKey::generate().value();

  Fixture() {
    peerKey = importPoint(raw.peerPoint());
    // A typical OAuth access token: 64 characters.
    token = bcauth::crypto::encrypt(bcauthKey.publicKey(), std::string(64, 'a')).value();
  }

  static EVP_PKEY* importPoint(const unsigned char* point) {
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("secp384r1"), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<unsigned char*>(point), 97),
        OSSL_PARAM_construct_end()};
    EVP_PKEY* pkey = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      throw std::runtime_error("import failed");
    }
    return pkey;
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void derive(EVP_PKEY* own, EVP_PKEY* peer, bool validatePeer) {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  unsigned char z[48];
  std::size_t length = sizeof z;
  if (EVP_PKEY_derive_init(ctx.get()) != 1 ||
      (validatePeer ? EVP_PKEY_derive_set_peer(ctx.get(), peer) : EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 0)) != 1 ||
      EVP_PKEY_derive(ctx.get(), z, &length) != 1) {
    throw std::runtime_error("derive failed");
  }
  benchmark::DoNotOptimize(z);
}

void RawKeygen(benchmark::State& state) {
  for (auto _ : state) bcauth::bench::RawP384::keygen();
}

void rawEcdhOnce(Fixture& f) { benchmark::DoNotOptimize(f.raw.ecdh()); }

void RawEcdh(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) rawEcdhOnce(f);
}

void RawEcdhTextbook(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) {
    EVP_PKEY* peer = Fixture::importPoint(f.raw.peerPoint());
    derive(f.raw.ownKey(), peer, true);
    EVP_PKEY_free(peer);
  }
}

void RawEcdhPreloadedPeer(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) derive(f.raw.ownKey(), f.peerKey, false);
}

void BcauthKeygen(benchmark::State& state) {
  for (auto _ : state) {
    auto key = bcauth::crypto::PrivateKey::generate();
    benchmark::DoNotOptimize(key);
  }
}

void BcauthDecrypt(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) {
    auto plaintext = bcauth::crypto::decrypt(f.bcauthKey, f.token);
    if (!plaintext) throw std::runtime_error("decrypt failed");
    benchmark::DoNotOptimize(plaintext);
  }
}

void BcauthEncrypt(benchmark::State& state) {
  auto& f = fixture();
  const std::string plaintext(64, 'a');
  for (auto _ : state) {
    auto token = bcauth::crypto::encrypt(f.bcauthKey.publicKey(), plaintext);
    benchmark::DoNotOptimize(token);
  }
}

// Interleaved order: a baseline and the bcauth operation it is compared with run back to back.
BENCHMARK(RawKeygen)->Unit(benchmark::kMicrosecond);
BENCHMARK(BcauthKeygen)->Unit(benchmark::kMicrosecond);
BENCHMARK(RawEcdh)->Unit(benchmark::kMicrosecond);
BENCHMARK(RawEcdhTextbook)->Unit(benchmark::kMicrosecond);
BENCHMARK(RawEcdhPreloadedPeer)->Unit(benchmark::kMicrosecond);
BENCHMARK(BcauthDecrypt)->Unit(benchmark::kMicrosecond);
BENCHMARK(BcauthEncrypt)->Unit(benchmark::kMicrosecond);

// Keeps the per-benchmark CPU time (the median when --benchmark_repetitions is used).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> cpuTime;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      const std::string name = run.run_name.function_name;
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") cpuTime[name] = run.GetAdjustedCPUTime();
      } else if (cpuTime.count(name) == 0 || !hasMedian_[name]) {
        cpuTime[name] = run.GetAdjustedCPUTime();
      }
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") hasMedian_[name] = true;
    }
  }

 private:
  std::map<std::string, bool> hasMedian_;
};

// Paired measurement: rounds alternate a batch of the baseline and a batch of the bcauth
// operation, so frequency changes and neighbours on a shared machine hit both alike; the
// median of the per-round ratios is what the targets are checked against.
template <typename Ours, typename Base>
double pairedRatio(Ours ours, Base base, int rounds, int batch) {
  std::vector<double> ratios;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) base();
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) ours();
    const auto t2 = std::chrono::steady_clock::now();
    ratios.push_back(std::chrono::duration<double>(t2 - t1).count() / std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

void printPaired(const char* what, double ratio, double target) {
  std::printf("%-44s %.3f  (target <= %.2f: %s)\n", what, ratio, target, ratio <= target ? "met" : "NOT met");
}

void printRatio(RatioReporter& r, const char* what, const char* ours, const char* base, double target) {
  if (r.cpuTime.count(ours) == 0 || r.cpuTime.count(base) == 0) return;
  const double ratio = r.cpuTime[ours] / r.cpuTime[base];
  std::printf("%-44s %.3f  (target <= %.2f: %s)\n", what, ratio, target, ratio <= target ? "met" : "NOT met");
}

}  // namespace

int main(int argc, char** argv) {
  // --paired_rounds=N (default 40; 0 skips) and --paired_batch=N (default 20), before
  // Google Benchmark's own flags.
  int pairedRounds = 40, pairedBatch = 20;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--paired_rounds=", 0) == 0) pairedRounds = std::stoi(arg.substr(16));
    else if (arg.rfind("--paired_batch=", 0) == 0) pairedBatch = std::max(1, std::stoi(arg.substr(15)));
    else rest.push_back(argv[i]);
  }
  argc = static_cast<int>(rest.size());
  argv = rest.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nRatios of the table above (CPU time, same run; noisy on a shared machine):\n");
  printRatio(reporter, "decrypt / raw ECDH (import + derive)", "BcauthDecrypt", "RawEcdh", 1.05);
  printRatio(reporter, "keygen / raw EVP keygen", "BcauthKeygen", "RawKeygen", 1.10);
  for (const char* base : {"RawEcdhTextbook", "RawEcdhPreloadedPeer"}) {
    if (reporter.cpuTime.count("BcauthDecrypt") && reporter.cpuTime.count(base)) {
      std::printf("decrypt / %-34s %.3f  (context)\n", base, reporter.cpuTime["BcauthDecrypt"] / reporter.cpuTime[base]);
    }
  }

  if (pairedRounds > 0) {
    auto& f = fixture();
    std::printf("\nPaired (median of %d rounds of alternating batches of %d):\n", pairedRounds, pairedBatch);
    printPaired("decrypt / raw ECDH (import + derive)",
                pairedRatio([&] { benchmark::DoNotOptimize(bcauth::crypto::decrypt(f.bcauthKey, f.token)); },
                            [&] { rawEcdhOnce(f); }, pairedRounds, pairedBatch),
                1.05);
    printPaired("keygen / raw EVP keygen",
                pairedRatio([] { benchmark::DoNotOptimize(bcauth::crypto::PrivateKey::generate()); },
                            [] { EVP_PKEY_free(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp384r1")); }, pairedRounds,
                            pairedBatch),
                1.10);
  }
  benchmark::Shutdown();
  return 0;
}
