#!/usr/bin/env bash
# Installs the Debian 12 packages bcauth needs to build and test — and nothing else.
# Idempotent: it asks dpkg first and calls apt-get only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libssl-dev            # OpenSSL 3: EVP, X963KDF, AES-GCM
  nettle-dev            # nettle/hogweed: P-384 keygen and ECDH (BCAUTH_P384=nettle, the default)
  libgmp-dev            # GMP, under hogweed's public-key code
  libjemalloc-dev       # jemalloc: the executables' malloc (BCAUTH_MALLOC=jemalloc, the default)
  libpoco-dev           # Foundation, Net, NetSSL, JSON, Crypto, Util, Data (SQLite, PostgreSQL), JWT
  libpq-dev             # PostgreSQL client library behind Poco::DataPostgreSQL
  libsqlite3-dev        # SQLite: the store keeps its prepared statements through the C API
  libvalijson-dev       # JSON Schema validation (header-only, Poco adapter)
  libboost-test-dev     # Boost.Test
  libbenchmark-dev      # Google Benchmark (benchmarks only)
  zlib1g-dev
  openssl               # the CLI: tests make a throwaway TLS certificate with it
  chromium              # the browser tests (tests/browser/), driven by playwright-core from npm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The browser tests need Node.js and npm: Debian's, unless the machine has them already.
if ! command -v npm >/dev/null; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bcauth: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The browser tests' npm packages, exactly as tests/browser/package-lock.json pins them (again only
# when the lock file changed). Playwright drives Debian's chromium: it never downloads a browser.
browser_tests="$(dirname "$0")/../tests/browser"
if ! cmp -s "$browser_tests/package-lock.json" "$browser_tests/node_modules/.bcauth-installed-lock"; then
  (cd "$browser_tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2 &&
   cp package-lock.json node_modules/.bcauth-installed-lock)
fi
