// The SQLite Store: round trips, uniqueness, transactions, concurrency and persistence.
#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include "store/json_codec.h"
#include "store/store.h"

namespace fs = std::filesystem;
using namespace bcauth::store;

namespace {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "bcauth-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

struct StoreFixture {
  TempDir dir;
  std::unique_ptr<Store> store = openSqliteStore((dir.path() / "data").string());
};

std::string allBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += std::string("\0\0tail\0", 7);
  return bytes;
}

Provider makeProvider(const std::string& id) {
  Provider p;
  p.id = id;
  p.name = "Provider " + id;
  p.authorizationUrl = "https://idp.example/" + id + "/authorize";
  p.tokenUrl = "https://idp.example/" + id + "/token";
  p.userinfoUrl = "https://idp.example/" + id + "/userinfo";
  p.clientId = "client-" + id;
  p.sealedClientSecret = std::string("sealed\0secret\xff\x00!", 16);
  p.scopes = {"openid", "email", "profile with \"quotes\" and \\ and \n"};
  p.enabled = true;
  p.profileFields = {{"email", "email"}, {"name", "given_name"}, {"ünïcødé", "\x01\x7f\xfe"}};
  p.createdAt = 1700000000123;
  p.updatedAt = 1700000000456;
  return p;
}

void checkSame(const Provider& got, const Provider& want) {
  BOOST_TEST(got.id == want.id);
  BOOST_TEST(got.name == want.name);
  BOOST_TEST(got.authorizationUrl == want.authorizationUrl);
  BOOST_TEST(got.tokenUrl == want.tokenUrl);
  BOOST_TEST(got.userinfoUrl == want.userinfoUrl);
  BOOST_TEST(got.clientId == want.clientId);
  BOOST_TEST(got.sealedClientSecret.has_value() == want.sealedClientSecret.has_value());
  if (got.sealedClientSecret && want.sealedClientSecret) {
    BOOST_TEST((*got.sealedClientSecret == *want.sealedClientSecret));
  }
  BOOST_TEST(got.scopes == want.scopes, boost::test_tools::per_element());
  BOOST_TEST(got.enabled == want.enabled);
  BOOST_TEST((got.profileFields == want.profileFields));
  BOOST_TEST(got.createdAt == want.createdAt);
  BOOST_TEST(got.updatedAt == want.updatedAt);
}

AuthRequest makeRequest(const std::string& n) {
  AuthRequest r;
  r.id = "id-" + n;
  r.requestIdentifier = "rid-" + n;
  r.conversationId = "conv-" + n;
  r.businessId = "biz";
  r.providerId = "google";
  r.flow = "v2";
  r.scopes = {"openid", "email"};
  r.createdAt = 1700000000000;
  r.updatedAt = 1700000000001;
  r.expiresAt = 1700000600000;
  r.messageJson = R"({"type":"authenticate","id":")" + n + R"("})";
  r.idempotencyKey = "idem-" + n;
  r.state = "state-" + n;
  return r;
}

void checkSame(const AuthRequest& got, const AuthRequest& want) {
  BOOST_TEST(got.id == want.id);
  BOOST_TEST(got.requestIdentifier == want.requestIdentifier);
  BOOST_TEST(got.conversationId == want.conversationId);
  BOOST_TEST(got.businessId == want.businessId);
  BOOST_TEST(got.providerId == want.providerId);
  BOOST_TEST(got.flow == want.flow);
  BOOST_TEST(got.scopes == want.scopes, boost::test_tools::per_element());
  BOOST_TEST(got.status == want.status);
  BOOST_TEST(got.statusReason == want.statusReason);
  BOOST_TEST(got.createdAt == want.createdAt);
  BOOST_TEST(got.updatedAt == want.updatedAt);
  BOOST_TEST(got.expiresAt == want.expiresAt);
  BOOST_TEST(got.messageJson == want.messageJson);
  BOOST_TEST(got.idempotencyKey.has_value() == want.idempotencyKey.has_value());
  if (got.idempotencyKey && want.idempotencyKey) BOOST_TEST(*got.idempotencyKey == *want.idempotencyKey);
  BOOST_TEST(got.state.has_value() == want.state.has_value());
  if (got.state && want.state) BOOST_TEST(*got.state == *want.state);
}

Event makeEvent(const std::string& type, const std::string& conversation, const std::string& request = "") {
  Event e;
  e.type = type;
  e.at = 1700000000999;
  e.conversationId = conversation;
  e.authRequestId = request;
  e.dataJson = R"({"k":"v"})";
  return e;
}

std::int64_t schemaRows(const std::string& dbPath, std::int64_t& maxVersion) {
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, dbPath);
  Poco::Int64 count = 0;
  Poco::Int64 max = 0;
  session << "SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_version", Poco::Data::Keywords::into(count),
      Poco::Data::Keywords::into(max), Poco::Data::Keywords::now;
  maxVersion = max;
  return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(json_columns_round_trip_exactly) {
  const std::vector<std::vector<std::string>> arrays = {
      {}, {""}, {"", ""}, {"a"}, {"\"", "\\", "/", "\b\f\n\r\t", std::string("\0\x01\x1f", 3), "\x7f\x80\xff"},
      {"ünïcødé", "😀"}};
  for (const auto& a : arrays) {
    BOOST_TEST(json::decodeStringArray(json::encodeStringArray(a)) == a, boost::test_tools::per_element());
  }
  const std::map<std::string, std::string> map = {{"", ""}, {"k\"", "v\n"}, {std::string("\0", 1), "\xff"}};
  BOOST_TEST((json::decodeStringMap(json::encodeStringMap(map)) == map));
  BOOST_TEST(json::encodeStringArray({"a", "b\n"}) == R"(["a","b\n"])");
  // Standard JSON written by someone else decodes too.
  const std::vector<std::string> want = {"é", "😀", "/"};
  BOOST_TEST(json::decodeStringArray(" [ \"\\u00e9\" , \"\\ud83d\\ude00\", \"\\/\" ] ") == want,
             boost::test_tools::per_element());
  BOOST_CHECK_THROW(json::decodeStringArray("[\"a\""), std::runtime_error);
  BOOST_CHECK_THROW(json::decodeStringArray("[\"a\"] x"), std::runtime_error);
  BOOST_CHECK_THROW(json::decodeStringMap("{\"a\"}"), std::runtime_error);
}

BOOST_FIXTURE_TEST_CASE(ping_answers, StoreFixture) { BOOST_TEST(store->ping()); }

BOOST_FIXTURE_TEST_CASE(providers_round_trip, StoreFixture) {
  Provider a = makeProvider("a-google");
  Provider b = makeProvider("b-disabled");
  b.enabled = false;
  b.sealedClientSecret.reset();
  b.userinfoUrl.clear();
  b.scopes.clear();
  b.profileFields.clear();
  Provider c = makeProvider("c-empty-secret");
  c.sealedClientSecret = std::string();
  c.scopes = {""};
  c.createdAt = std::numeric_limits<std::int64_t>::min();
  c.updatedAt = std::numeric_limits<std::int64_t>::max();

  store->transaction([&](Transaction& tx) {
    tx.putProvider(c);
    tx.putProvider(a);
    tx.putProvider(b);
  });

  BOOST_TEST(!store->provider("missing").has_value());
  checkSame(store->provider(a.id).value(), a);
  checkSame(store->provider(b.id).value(), b);
  checkSame(store->provider(c.id).value(), c);

  const auto all = store->providers(false);
  BOOST_TEST_REQUIRE(all.size() == 3u);
  checkSame(all[0], a);
  checkSame(all[1], b);
  checkSame(all[2], c);
  const auto enabled = store->providers(true);
  BOOST_TEST_REQUIRE(enabled.size() == 2u);
  BOOST_TEST(enabled[0].id == a.id);
  BOOST_TEST(enabled[1].id == c.id);

  // Replace by id: every field follows, the secret can go away.
  Provider a2 = makeProvider("a-google");
  a2.name = "Renamed";
  a2.sealedClientSecret.reset();
  a2.scopes = {"openid"};
  a2.profileFields = {{"x", "y"}};
  a2.enabled = false;
  a2.updatedAt = 1800000000000;
  store->transaction([&](Transaction& tx) { tx.putProvider(a2); });
  checkSame(store->provider(a.id).value(), a2);
  BOOST_TEST(store->providers(false).size() == 3u);
  BOOST_TEST(store->providers(true).size() == 1u);

  // And back: a secret with NUL bytes and every byte value.
  a2.sealedClientSecret = allBytes();
  store->transaction([&](Transaction& tx) { tx.putProvider(a2); });
  checkSame(store->provider(a.id).value(), a2);

  bool deleted = false;
  bool deletedAgain = true;
  store->transaction([&](Transaction& tx) {
    deleted = tx.deleteProvider(a.id);
    deletedAgain = tx.deleteProvider(a.id);
  });
  BOOST_TEST(deleted);
  BOOST_TEST(!deletedAgain);
  BOOST_TEST(!store->provider(a.id).has_value());
  BOOST_TEST(store->providers(false).size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(capabilities_round_trip, StoreFixture) {
  BOOST_TEST(!store->capabilities("conv-1").has_value());
  store->transaction([](Transaction& tx) { tx.recordCapabilities("conv-1", {"AUTH2", "LIST_PICKER"}, 1); });
  const std::vector<std::string> first = {"AUTH2", "LIST_PICKER"};
  BOOST_TEST(store->capabilities("conv-1").value() == first, boost::test_tools::per_element());
  store->transaction([](Transaction& tx) {
    tx.recordCapabilities("conv-1", {"AUTH"}, 2);
    tx.recordCapabilities("conv-2", {}, 2);
  });
  const std::vector<std::string> second = {"AUTH"};
  BOOST_TEST(store->capabilities("conv-1").value() == second, boost::test_tools::per_element());
  const auto empty = store->capabilities("conv-2");
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->empty());
}

BOOST_FIXTURE_TEST_CASE(requests_round_trip, StoreFixture) {
  AuthRequest full = makeRequest("1");
  full.createdAt = std::numeric_limits<std::int64_t>::min();
  full.expiresAt = std::numeric_limits<std::int64_t>::max();
  full.statusReason = "";
  AuthRequest bare = makeRequest("2");
  bare.idempotencyKey.reset();
  bare.state.reset();
  bare.flow = "legacy";
  bare.scopes.clear();
  AuthRequest bare2 = makeRequest("3");  // a second one without key or state: NULLs never collide
  bare2.idempotencyKey.reset();
  bare2.state.reset();
  AuthRequest emptyKey = makeRequest("4");  // present but empty stays present
  emptyKey.idempotencyKey = std::string();
  emptyKey.state = std::string();

  store->transaction([&](Transaction& tx) {
    tx.insertRequest(full);
    tx.insertRequest(bare);
    tx.insertRequest(bare2);
    tx.insertRequest(emptyKey);
  });

  checkSame(store->request(full.id).value(), full);
  checkSame(store->requestByIdentifier(full.requestIdentifier).value(), full);
  checkSame(store->requestByIdempotencyKey(*full.idempotencyKey).value(), full);
  checkSame(store->requestByState(*full.state).value(), full);
  checkSame(store->request(bare.id).value(), bare);
  checkSame(store->requestByIdentifier(bare2.requestIdentifier).value(), bare2);
  checkSame(store->requestByIdempotencyKey("").value(), emptyKey);
  checkSame(store->requestByState("").value(), emptyKey);

  BOOST_TEST(!store->request("nope").has_value());
  BOOST_TEST(!store->requestByIdentifier("nope").has_value());
  BOOST_TEST(!store->requestByIdempotencyKey("nope").has_value());
  BOOST_TEST(!store->requestByState("nope").has_value());
  BOOST_TEST(!store->request(full.requestIdentifier).has_value());  // ids are not identifiers
}

BOOST_FIXTURE_TEST_CASE(duplicates_throw_and_roll_back, StoreFixture) {
  const AuthRequest original = makeRequest("orig");
  store->transaction([&](Transaction& tx) { tx.insertRequest(original); });

  struct Case {
    const char* name;
    AuthRequest request;
  };
  std::vector<Case> cases;
  {
    AuthRequest r = makeRequest("dup-id");
    r.id = original.id;
    cases.push_back({"id", r});
  }
  {
    AuthRequest r = makeRequest("dup-rid");
    r.requestIdentifier = original.requestIdentifier;
    cases.push_back({"requestIdentifier", r});
  }
  {
    AuthRequest r = makeRequest("dup-idem");
    r.idempotencyKey = original.idempotencyKey;
    cases.push_back({"idempotencyKey", r});
  }
  {
    AuthRequest r = makeRequest("dup-state");
    r.state = original.state;
    cases.push_back({"state", r});
  }

  int n = 0;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("duplicate " << c.name) {
      const std::string messageId = "msg-" + std::to_string(n++);
      BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
        tx.appendEvent(makeEvent("request.created", "conv-dup"));
        BOOST_TEST(tx.insertInboundMessageId(messageId, 5));
        tx.putSecret(original.id, secret::kPrivateKey, "would-be");
        tx.insertRequest(c.request);
      }),
                        DuplicateError);
      // Nothing of the failed transaction is left.
      BOOST_TEST(store->events(0, 100).empty());
      BOOST_TEST(!store->secret(original.id, secret::kPrivateKey).has_value());
      if (c.request.id != original.id) BOOST_TEST(!store->request(c.request.id).has_value());
      if (c.request.requestIdentifier != original.requestIdentifier) {
        BOOST_TEST(!store->requestByIdentifier(c.request.requestIdentifier).has_value());
      }
      bool fresh = false;
      store->transaction([&](Transaction& tx) { fresh = tx.insertInboundMessageId(messageId, 6); });
      BOOST_TEST(fresh);
      checkSame(store->request(original.id).value(), original);
    }
  }

  // Caught inside the transaction, a duplicate undoes only itself: the rest commits.
  const AuthRequest other = makeRequest("other");
  store->transaction([&](Transaction& tx) {
    tx.appendEvent(makeEvent("before", "conv-dup"));
    BOOST_CHECK_THROW(tx.insertRequest(original), DuplicateError);
    auto existing = tx.request(original.id);
    BOOST_TEST(existing.has_value());
    tx.insertRequest(other);
  });
  BOOST_TEST(store->events(0, 100).size() == 1u);
  checkSame(store->request(other.id).value(), other);
}

BOOST_FIXTURE_TEST_CASE(status_updates_and_expiry, StoreFixture) {
  AuthRequest a = makeRequest("a");
  a.expiresAt = 1000;
  AuthRequest b = makeRequest("b");
  b.expiresAt = 500;
  AuthRequest c = makeRequest("c");
  c.expiresAt = 3000;
  AuthRequest d = makeRequest("d");
  d.expiresAt = 100;
  store->transaction([&](Transaction& tx) {
    for (const auto* r : {&a, &b, &c, &d}) tx.insertRequest(*r);
  });
  BOOST_TEST(store->pendingCount() == 4);

  store->transaction([&](Transaction& tx) {
    auto now = tx.request(d.id);
    BOOST_TEST_REQUIRE(now.has_value());
    BOOST_TEST(now->status == status::kPending);
    tx.updateRequestStatus(d.id, status::kFailed, "user_denied", 1700000009999);
    BOOST_TEST(tx.request(d.id)->status == status::kFailed);  // visible inside the transaction
  });
  const auto updated = store->request(d.id).value();
  BOOST_TEST(updated.status == status::kFailed);
  BOOST_TEST(updated.statusReason == "user_denied");
  BOOST_TEST(updated.updatedAt == 1700000009999);
  BOOST_TEST(updated.createdAt == d.createdAt);
  BOOST_TEST(store->pendingCount() == 3);

  const auto expired = store->expiredPending(1000, 10);
  BOOST_TEST_REQUIRE(expired.size() == 2u);  // d is no longer pending; c is not yet due
  BOOST_TEST(expired[0].id == b.id);
  BOOST_TEST(expired[1].id == a.id);
  checkSame(expired[1], a);
  BOOST_TEST(store->expiredPending(1000, 1).size() == 1u);
  BOOST_TEST(store->expiredPending(1000, 0).empty());
  BOOST_TEST(store->expiredPending(99, 10).empty());
  BOOST_TEST(store->expiredPending(std::numeric_limits<std::int64_t>::max(), 10).size() == 3u);

  BOOST_CHECK_THROW(store->transaction([](Transaction& tx) { tx.updateRequestStatus("nope", "failed", "", 1); }),
                    std::runtime_error);
}

BOOST_FIXTURE_TEST_CASE(secrets_round_trip, StoreFixture) {
  const AuthRequest r = makeRequest("s");
  const std::string key = allBytes();
  const std::string token(1000, '\0');
  store->transaction([&](Transaction& tx) {
    tx.putSecret(r.id, secret::kPrivateKey, key);  // before the request: the key is checked at commit
    tx.insertRequest(r);
    tx.putSecret(r.id, secret::kAccessToken, token);
    tx.putSecret(r.id, secret::kPkceVerifier, "");
  });
  BOOST_TEST((store->secret(r.id, secret::kPrivateKey).value() == key));
  BOOST_TEST((store->secret(r.id, secret::kAccessToken).value() == token));
  BOOST_TEST(store->secret(r.id, secret::kPkceVerifier).value().empty());
  BOOST_TEST(!store->secret(r.id, secret::kRefreshToken).has_value());
  BOOST_TEST(!store->secret("other", secret::kPrivateKey).has_value());

  store->transaction([&](Transaction& tx) {
    tx.putSecret(r.id, secret::kAccessToken, std::string("new\0token", 9));
    tx.deleteSecret(r.id, secret::kPrivateKey);
    tx.deleteSecret(r.id, secret::kRefreshToken);  // absent: fine
  });
  BOOST_TEST((store->secret(r.id, secret::kAccessToken).value() == std::string("new\0token", 9)));
  BOOST_TEST(!store->secret(r.id, secret::kPrivateKey).has_value());

  // A secret must belong to a request.
  BOOST_CHECK_THROW(store->transaction([](Transaction& tx) { tx.putSecret("no-such-request", "k", "v"); }),
                    std::runtime_error);
  BOOST_TEST(!store->secret("no-such-request", "k").has_value());
}

BOOST_FIXTURE_TEST_CASE(throwing_transaction_rolls_back_everything, StoreFixture) {
  const AuthRequest r = makeRequest("rb");
  try {
    store->transaction([&](Transaction& tx) {
      tx.insertRequest(r);
      tx.putSecret(r.id, secret::kPrivateKey, "k");
      tx.appendEvent(makeEvent("request.created", r.conversationId, r.id));
      BOOST_TEST(tx.insertInboundMessageId("m-rb", 1));
      tx.putProvider(makeProvider("p-rb"));
      tx.recordCapabilities("conv-rb", {"AUTH2"}, 1);
      // Inside, the transaction sees its writes; the readers do not.
      BOOST_TEST(tx.request(r.id).has_value());
      BOOST_TEST(!store->request(r.id).has_value());
      throw std::runtime_error("boom");
    });
    BOOST_FAIL("transaction() did not rethrow");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "boom");
  }
  BOOST_TEST(!store->request(r.id).has_value());
  BOOST_TEST(!store->secret(r.id, secret::kPrivateKey).has_value());
  BOOST_TEST(store->events(0, 10).empty());
  BOOST_TEST(!store->provider("p-rb").has_value());
  BOOST_TEST(!store->capabilities("conv-rb").has_value());
  BOOST_TEST(store->pendingCount() == 0);
  bool fresh = false;
  store->transaction([&](Transaction& tx) { fresh = tx.insertInboundMessageId("m-rb", 2); });
  BOOST_TEST(fresh);
}

BOOST_FIXTURE_TEST_CASE(transaction_misuse_is_refused, StoreFixture) {
  Transaction* escaped = nullptr;
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
    escaped = &tx;
    store->transaction([](Transaction&) {});
  }),
                    std::logic_error);
  store->transaction([](Transaction& tx) { tx.appendEvent(makeEvent("ok", "c")); });  // still usable
  BOOST_TEST(store->events(0, 10).size() == 1u);
  (void)escaped;  // the Transaction object is gone; using it would be a bug the store cannot catch
}

BOOST_FIXTURE_TEST_CASE(events_in_order, StoreFixture) {
  std::vector<std::int64_t> seqs;
  store->transaction([&](Transaction& tx) {
    seqs.push_back(tx.appendEvent(makeEvent("message.received", "c1")));
    seqs.push_back(tx.appendEvent(makeEvent("request.created", "c2", "r2")));
  });
  store->transaction([&](Transaction& tx) {
    seqs.push_back(tx.appendEvent(makeEvent("request.succeeded", "c1", "r1")));
    seqs.push_back(tx.appendEvent(makeEvent("request.created", "c2", "r3")));
    Event odd = makeEvent("odd", "c1", "");
    odd.dataJson = "{}";
    odd.at = -5;
    seqs.push_back(tx.appendEvent(odd));
  });
  BOOST_TEST(std::is_sorted(seqs.begin(), seqs.end()));
  BOOST_TEST((std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end()));

  const auto all = store->events(0, 100);
  BOOST_TEST_REQUIRE(all.size() == 5u);
  for (std::size_t i = 0; i < all.size(); ++i) BOOST_TEST(all[i].seq == seqs[i]);
  BOOST_TEST(all[0].type == "message.received");
  BOOST_TEST(all[0].authRequestId.empty());
  BOOST_TEST(all[1].conversationId == "c2");
  BOOST_TEST(all[1].authRequestId == "r2");
  BOOST_TEST(all[1].at == 1700000000999);
  BOOST_TEST(all[1].dataJson == R"({"k":"v"})");
  BOOST_TEST(all[4].at == -5);
  BOOST_TEST(all[4].dataJson == "{}");

  const auto page = store->events(seqs[1], 2);
  BOOST_TEST_REQUIRE(page.size() == 2u);
  BOOST_TEST(page[0].seq == seqs[2]);
  BOOST_TEST(page[1].seq == seqs[3]);
  BOOST_TEST(store->events(seqs[4], 10).empty());
  BOOST_TEST(store->events(0, 0).empty());

  const auto c1 = store->conversationEvents("c1", 0, 10);
  BOOST_TEST_REQUIRE(c1.size() == 3u);
  BOOST_TEST(c1[0].seq == seqs[0]);
  BOOST_TEST(c1[1].seq == seqs[2]);
  BOOST_TEST(c1[2].seq == seqs[4]);
  const auto c1After = store->conversationEvents("c1", seqs[0], 1);
  BOOST_TEST_REQUIRE(c1After.size() == 1u);
  BOOST_TEST(c1After[0].seq == seqs[2]);
  BOOST_TEST(store->conversationEvents("c3", 0, 10).empty());
}

BOOST_FIXTURE_TEST_CASE(inbound_messages_dedupe, StoreFixture) {
  bool first = false;
  bool second = true;
  bool third = true;
  store->transaction([&](Transaction& tx) {
    first = tx.insertInboundMessageId("m1", 1);
    second = tx.insertInboundMessageId("m1", 2);
  });
  store->transaction([&](Transaction& tx) { third = tx.insertInboundMessageId("m1", 3); });
  BOOST_TEST(first);
  BOOST_TEST(!second);
  BOOST_TEST(!third);
  bool other = false;
  store->transaction([&](Transaction& tx) { other = tx.insertInboundMessageId("m2", 3); });
  BOOST_TEST(other);
}

BOOST_FIXTURE_TEST_CASE(concurrent_redeliveries_record_one_event, StoreFixture) {
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      try {
        store->transaction([&](Transaction& tx) {
          if (tx.insertInboundMessageId("same-id", 1)) {
            tx.appendEvent(makeEvent("message.received", "conv"));
            ++winners;
          }
        });
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(winners.load() == 1);
  BOOST_TEST(store->events(0, 100).size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(concurrent_appends_get_distinct_increasing_seqs, StoreFixture) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::vector<std::int64_t>> perThread(kThreads);
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};

  // Readers run alongside: they must never fail nor see a gap-then-fill (seqs only grow).
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      try {
        while (writing.load()) {
          const auto events = store->events(0, 100000);
          for (std::size_t k = 1; k < events.size(); ++k) {
            if (events[k].seq <= events[k - 1].seq) ++failures;
          }
          if (!store->ping()) ++failures;
          store->pendingCount();
          ++reads;
        }
      } catch (...) {
        ++failures;
      }
    });
  }

  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      try {
        for (int i = 0; i < kPerThread; ++i) {
          store->transaction([&](Transaction& tx) {
            perThread[t].push_back(tx.appendEvent(makeEvent("tick", "conv-" + std::to_string(t))));
          });
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  writing = false;
  for (auto& r : readers) r.join();

  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(reads.load() > 0);
  std::set<std::int64_t> all;
  for (const auto& seqs : perThread) {
    BOOST_TEST(seqs.size() == static_cast<std::size_t>(kPerThread));
    for (std::size_t k = 1; k < seqs.size(); ++k) BOOST_TEST(seqs[k] > seqs[k - 1]);
    all.insert(seqs.begin(), seqs.end());
  }
  BOOST_TEST(all.size() == static_cast<std::size_t>(kThreads * kPerThread));
  const auto events = store->events(0, 100000);
  BOOST_TEST_REQUIRE(events.size() == all.size());
  std::size_t k = 0;
  for (auto seq : all) BOOST_TEST(events[k++].seq == seq);
  BOOST_TEST(store->conversationEvents("conv-3", 0, 100000).size() == static_cast<std::size_t>(kPerThread));
}

// Two stores on one file (as two processes would be): BEGIN IMMEDIATE and the busy timeout
// serialise their writers without errors.
BOOST_AUTO_TEST_CASE(two_stores_share_one_database) {
  TempDir dir;
  auto first = openSqliteStore(dir.str());
  auto second = openSqliteStore(dir.str());
  std::atomic<int> failures{0};
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Store& store = (t % 2 == 0) ? *first : *second;
      try {
        for (int i = 0; i < 50; ++i) {
          store.transaction([&](Transaction& tx) {
            if (tx.insertInboundMessageId("shared-" + std::to_string(i), 1)) ++winners;
            tx.appendEvent(makeEvent("tick", "c"));
          });
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(winners.load() == 50);
  const auto events = second->events(0, 1000);
  BOOST_TEST(events.size() == 200u);
  for (std::size_t k = 1; k < events.size(); ++k) BOOST_TEST(events[k].seq > events[k - 1].seq);
}

BOOST_AUTO_TEST_CASE(data_persists_across_reopen) {
  TempDir dir;
  const std::string dataDir = (dir.path() / "nested" / "data").string();
  const std::string dbPath = dataDir + "/bcauth.db";
  const AuthRequest r = makeRequest("persist");
  const Provider p = makeProvider("persist");
  std::int64_t seq = 0;
  {
    auto store = openSqliteStore(dataDir);
    store->transaction([&](Transaction& tx) {
      tx.putProvider(p);
      tx.insertRequest(r);
      tx.putSecret(r.id, secret::kPrivateKey, allBytes());
      seq = tx.appendEvent(makeEvent("request.created", r.conversationId, r.id));
      tx.insertInboundMessageId("m-persist", 1);
    });
  }
  BOOST_TEST(fs::exists(dbPath));
  std::int64_t maxBefore = 0;
  const std::int64_t rowsBefore = schemaRows(dbPath, maxBefore);
  BOOST_TEST(rowsBefore >= 1);
  BOOST_TEST(rowsBefore == maxBefore);
  {
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, dbPath);
    std::string mode;
    session << "PRAGMA journal_mode", Poco::Data::Keywords::into(mode), Poco::Data::Keywords::now;
    BOOST_TEST(mode == "wal");
  }

  {
    auto store = openSqliteStore(dataDir);
    checkSame(store->provider(p.id).value(), p);
    checkSame(store->request(r.id).value(), r);
    BOOST_TEST((store->secret(r.id, secret::kPrivateKey).value() == allBytes()));
    const auto events = store->events(0, 10);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST(events[0].seq == seq);
    bool fresh = true;
    std::int64_t next = 0;
    store->transaction([&](Transaction& tx) {
      fresh = tx.insertInboundMessageId("m-persist", 2);
      next = tx.appendEvent(makeEvent("again", "c"));
    });
    BOOST_TEST(!fresh);
    BOOST_TEST(next > seq);
  }
  std::int64_t maxAfter = 0;
  BOOST_TEST(schemaRows(dbPath, maxAfter) == rowsBefore);
  BOOST_TEST(maxAfter == maxBefore);
}

BOOST_AUTO_TEST_CASE(uncreatable_directory_is_a_clear_error) {
  TempDir dir;
  const fs::path file = dir.path() / "a-file";
  std::ofstream(file) << "not a directory";
  for (const auto& bad : {file / "sub", file}) {
    try {
      openSqliteStore(bad.string());
      BOOST_FAIL("openSqliteStore accepted " << bad);
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      BOOST_TEST_MESSAGE("refused: " << message);
      BOOST_TEST(message.find(bad.string()) != std::string::npos);
      BOOST_TEST(message.find("data directory") != std::string::npos);
    }
  }
  BOOST_CHECK_THROW(openSqliteStore(""), std::invalid_argument);
}
