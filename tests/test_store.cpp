// The Stores: round trips, uniqueness, transactions, concurrency and persistence. Every case
// built with STORE_TEST_CASE runs twice: against SQLite (<name>_sqlite) and against PostgreSQL
// (<name>_postgres, each on a freshly emptied database) — the latter only when
// BCAUTH_TEST_POSTGRES_URL names a database (scripts/with-postgres sets it); otherwise it is
// reported as skipped (tests/postgres_database.h; CTest runs them as test_store_postgres).
#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Statement.h>
#include <Poco/Data/Session.h>

#include "demo/temp_dir.h"
#include "postgres_database.h"
#include "store/json_codec.h"
#include "service/kernel.h"
#include "store/sqlite_wal_writes.h"
#include "store/store.h"

namespace fs = std::filesystem;
using namespace bcauth::store;

namespace {

// What a worker thread saw go wrong, on stderr (Boost.Test's log is not thread-safe); the
// failure itself is counted and asserted on the main thread.
void noteFromThread(const std::string& what) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::cerr << what << std::endl;
}

// A fresh directory per test, removed afterwards.
using bcauth::demo::TempDir;

using bcauth::test::emptyPostgresDatabase;

// Events are appended as the service appends them: with their webhook deliveries (the fan-out
// rule is the service's, service/kernel.h; the store gives it enabledSubscriptions and
// enqueueWebhookDelivery in the same transaction).
std::int64_t appendEvent(Transaction& tx, const Event& event) { return bcauth::service::appendEventWithWebhooks(tx, event); }
using bcauth::test::postgresSession;

enum class Backend { kSqlite, kPostgres };

// One backend's store for one case: SQLite in a fresh directory, or PostgreSQL on an emptied
// database. open() opens another Store on the same data (as a second process would).
class Harness {
 public:
  explicit Harness(Backend backend) : backend_(backend) {
    if (backend_ == Backend::kSqlite) {
      dir_ = std::make_unique<TempDir>();
      location_ = (fs::path(dir_->path()) / "nested" / "data").string();
    } else {
      location_ = bcauth::test::freshPostgresDatabase();
      BOOST_TEST_MESSAGE("PostgreSQL: database emptied");
    }
    store = open();
  }

  std::unique_ptr<Store> open() const {
    return backend_ == Backend::kSqlite ? openSqliteStore(location_) : openPostgresStore(location_);
  }

  bool isPostgres() const { return backend_ == Backend::kPostgres; }
  // SQLite's TEXT keeps any bytes; PostgreSQL's needs valid UTF-8 (in a UTF8 database), no NUL.
  bool textKeepsAnyBytes() const { return backend_ == Backend::kSqlite; }
  const std::string& location() const { return location_; }  // SQLite: the data directory

  // Rows in schema_version, and the highest version.
  std::int64_t schemaRows(std::int64_t& maxVersion) const;
  // Runs one SQL statement on the database directly (as an older bcauth or an operator would).
  void exec(const std::string& sql) const;
  // The one integer a SELECT (e.g. COUNT(*)) answers, read directly.
  std::int64_t count(const std::string& sql) const;
  // Takes migration 9 (tenancy) away again: the database is as version 8 left it.
  void undoMigration9() const;
  void undoMigration11() const;
  void undoMigration12() const;

  std::unique_ptr<Store> store;

 private:
  Backend backend_;
  std::unique_ptr<TempDir> dir_;
  std::string location_;
};

// Defines <name>_sqlite and <name>_postgres, both running the body that follows, with `h` (the
// Harness) and `store` (its Store) in scope.
#define STORE_TEST_CASE(name)                                                                      \
  void name##_body(Harness& h, std::unique_ptr<Store>& store);                                     \
  BOOST_AUTO_TEST_CASE(name##_sqlite) {                                                            \
    Harness harness(Backend::kSqlite);                                                             \
    name##_body(harness, harness.store);                                                           \
  }                                                                                                \
  BOOST_AUTO_TEST_CASE(name##_postgres, BCAUTH_NEEDS_POSTGRES) {                                   \
    Harness harness(Backend::kPostgres);                                                           \
    name##_body(harness, harness.store);                                                           \
  }                                                                                                \
  void name##_body([[maybe_unused]] Harness& h, [[maybe_unused]] std::unique_ptr<Store>& store)

// Same, PostgreSQL only.
#define POSTGRES_TEST_CASE(name)                                                                   \
  void name##_body(Harness& h, std::unique_ptr<Store>& store);                                     \
  BOOST_AUTO_TEST_CASE(name, BCAUTH_NEEDS_POSTGRES) {                                              \
    Harness harness(Backend::kPostgres);                                                           \
    name##_body(harness, harness.store);                                                           \
  }                                                                                                \
  void name##_body([[maybe_unused]] Harness& h, [[maybe_unused]] std::unique_ptr<Store>& store)

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

// As above, with text the backend can hold (PostgreSQL: the profile field becomes valid UTF-8).
Provider makeProvider(const Harness& harness, const std::string& id) {
  Provider p = makeProvider(id);
  if (!harness.textKeepsAnyBytes()) p.profileFields["ünïcødé"] = "\x01\x7f\u00fe";
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
  r.idempotencyBodySha256 = "sha256-of-body-" + n;
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
  BOOST_TEST(got.idempotencyBodySha256.has_value() == want.idempotencyBodySha256.has_value());
  if (got.idempotencyBodySha256 && want.idempotencyBodySha256) {
    BOOST_TEST(*got.idempotencyBodySha256 == *want.idempotencyBodySha256);
  }
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

std::int64_t Harness::schemaRows(std::int64_t& maxVersion) const {
  Poco::Int64 count = 0;
  Poco::Int64 max = 0;
  const std::string sql = "SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_version";
  if (backend_ == Backend::kSqlite) {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, location_ + "/bcauth.db");
    session << sql, Poco::Data::Keywords::into(count), Poco::Data::Keywords::into(max), Poco::Data::Keywords::now;
  } else {
    auto session = postgresSession(location_);
    session << sql, Poco::Data::Keywords::into(count), Poco::Data::Keywords::into(max), Poco::Data::Keywords::now;
  }
  maxVersion = max;
  return count;
}

void Harness::exec(const std::string& sql) const {
  if (backend_ == Backend::kSqlite) {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, location_ + "/bcauth.db");
    session << sql, Poco::Data::Keywords::now;
  } else {
    auto session = postgresSession(location_);
    session << sql, Poco::Data::Keywords::now;
  }
}

std::int64_t Harness::count(const std::string& sql) const {
  Poco::Int64 value = 0;
  if (backend_ == Backend::kSqlite) {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, location_ + "/bcauth.db");
    session << sql, Poco::Data::Keywords::into(value), Poco::Data::Keywords::now;
  } else {
    auto session = postgresSession(location_);
    session << sql, Poco::Data::Keywords::into(value), Poco::Data::Keywords::now;
  }
  return value;
}

// Back to version 11: auth_requests with its UNIQUE columns, events with AUTOINCREMENT (and
// its sqlite_sequence row), their rows kept. Foreign keys are off in these sessions.
void Harness::undoMigration12() const {
  if (isPostgres()) return;  // 12 is SQLite's alone
  const std::string requestColumns =
      "id, request_identifier, conversation_id, business_id, provider_id, flow, scopes, status, status_reason,"
      " created_at, updated_at, expires_at, message_json, idempotency_key, state, token_type, token_expires_at,"
      " completed_by, state_used, profile_pending, idempotency_body_sha256";
  const std::string eventColumns = "seq, type, at, conversation_id, auth_request_id, data_json, business_id";
  for (const std::string& sql : {
           "CREATE TABLE auth_requests_11 AS SELECT " + requestColumns + " FROM auth_requests",
           std::string("DROP TABLE auth_requests"),
           std::string("CREATE TABLE auth_requests ( id TEXT PRIMARY KEY NOT NULL, request_identifier TEXT NOT NULL"
                       " UNIQUE, conversation_id TEXT NOT NULL, business_id TEXT NOT NULL, provider_id TEXT NOT NULL,"
                       " flow TEXT NOT NULL, scopes TEXT NOT NULL, status TEXT NOT NULL, status_reason TEXT NOT NULL,"
                       " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
                       " message_json TEXT NOT NULL, idempotency_key TEXT UNIQUE, state TEXT UNIQUE, token_type TEXT"
                       " NOT NULL DEFAULT '', token_expires_at INTEGER NOT NULL DEFAULT 0, completed_by TEXT NOT NULL"
                       " DEFAULT '', state_used INTEGER NOT NULL DEFAULT 0, profile_pending INTEGER NOT NULL DEFAULT 0,"
                       " idempotency_body_sha256 TEXT)"),
           "INSERT INTO auth_requests (" + requestColumns + ") SELECT " + requestColumns + " FROM auth_requests_11",
           std::string("DROP TABLE auth_requests_11"),
           std::string("CREATE INDEX auth_requests_profile_pending ON auth_requests (updated_at, id) WHERE profile_pending = 1"),
           std::string("CREATE INDEX auth_requests_business ON auth_requests (business_id, created_at)"),
           std::string("CREATE INDEX auth_requests_pending_expiry ON auth_requests (expires_at, created_at, id)"
                       " WHERE status = 'pending'"),
           "CREATE TABLE events_11 AS SELECT " + eventColumns + " FROM events",
           std::string("DROP TABLE events"),
           std::string("CREATE TABLE events ( seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, at INTEGER NOT"
                       " NULL, conversation_id TEXT NOT NULL, auth_request_id TEXT NOT NULL, data_json TEXT NOT NULL,"
                       " business_id TEXT)"),
           "INSERT INTO events (" + eventColumns + ") SELECT " + eventColumns + " FROM events_11",
           std::string("DROP TABLE events_11"),
           std::string("CREATE INDEX events_conversation_seq ON events (conversation_id, seq)"),
           std::string("CREATE INDEX events_business_seq ON events (business_id, seq)"),
           std::string("CREATE INDEX events_business_conversation_seq ON events (business_id, conversation_id, seq)"),
           std::string("DELETE FROM schema_version WHERE version >= 12"),
       }) {
    exec(sql);
  }
}

void Harness::undoMigration11() const {
  if (isPostgres()) return;  // 11 is SQLite's alone; its tables keep their columns
  undoMigration12();
  exec("DROP INDEX auth_requests_pending_expiry");
  exec("CREATE INDEX auth_requests_status_expires ON auth_requests (status, expires_at)");
  exec("DELETE FROM schema_version WHERE version >= 11");
}

void Harness::undoMigration9() const {
  undoMigration11();
  // PostgreSQL's 11 dropped the index SQLite's 13 drops (undoMigration12 rebuilt SQLite's events with it).
  if (isPostgres()) exec("CREATE INDEX events_conversation_seq ON events (conversation_id, seq)");
  // Migration 10 first: conversations as they were before 9 (one row per conversation id).
  const std::string key = isPostgres() ? "TEXT COLLATE \"C\"" : "TEXT";
  const std::string integer = isPostgres() ? "BIGINT" : "INTEGER";
  exec("DROP INDEX subscriptions_business");
  exec("DROP INDEX events_business_conversation_seq");
  exec("DROP TABLE conversations");
  exec("CREATE TABLE conversations (conversation_id " + key + " PRIMARY KEY NOT NULL, capabilities TEXT NOT NULL,"
       " updated_at " + integer + " NOT NULL)");
  for (const char* sql : {"DROP INDEX events_business_seq", "DROP INDEX auth_requests_business",
                          "DROP TABLE business_providers", "DROP TABLE api_keys", "DROP TABLE businesses",
                          "ALTER TABLE providers DROP COLUMN business_id",
                          "ALTER TABLE subscriptions DROP COLUMN business_id",
                          "ALTER TABLE events DROP COLUMN business_id",
                          "DELETE FROM schema_version WHERE version >= 9"}) {
    exec(sql);
  }
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

STORE_TEST_CASE(ping_answers) { BOOST_TEST(store->ping()); }

STORE_TEST_CASE(providers_round_trip) {
  Provider a = makeProvider(h, "a-google");
  Provider b = makeProvider(h, "b-disabled");
  b.enabled = false;
  b.sealedClientSecret.reset();
  b.userinfoUrl.clear();
  b.scopes.clear();
  b.profileFields.clear();
  Provider c = makeProvider(h, "c-empty-secret");
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
  Provider a2 = makeProvider(h, "a-google");
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

// A conversation is the business's and the customer's: the same customer id under two
// businesses is two conversations; a message without a capability-list keeps the recorded ones.
STORE_TEST_CASE(conversations_round_trip) {
  const std::vector<std::string> v2 = {"AUTH2", "LIST_PICKER"};
  BOOST_TEST(!store->conversation("biz-a", "conv-1").has_value());
  store->transaction([&](Transaction& tx) { tx.recordConversation("biz-a", "conv-1", v2, 1); });
  auto first = store->conversation("biz-a", "conv-1");
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(first->businessId == "biz-a");
  BOOST_TEST(first->conversationId == "conv-1");
  BOOST_TEST(first->capabilities.value() == v2, boost::test_tools::per_element());
  BOOST_TEST(first->updatedAt == 1);
  BOOST_TEST(!store->conversation("biz-b", "conv-1").has_value());
  store->transaction([](Transaction& tx) {
    tx.recordConversation("biz-b", "conv-1", std::vector<std::string>{"AUTH"}, 2);
    tx.recordConversation("biz-a", "conv-1", std::nullopt, 3);  // no capability-list: keeps AUTH2
    tx.recordConversation("biz-a", "conv-2", std::vector<std::string>{}, 2);
    tx.recordConversation("biz-a", "conv-3", std::nullopt, 2);
  });
  BOOST_TEST(store->conversation("biz-a", "conv-1")->capabilities.value() == v2, boost::test_tools::per_element());
  BOOST_TEST(store->conversation("biz-a", "conv-1")->updatedAt == 3);
  const std::vector<std::string> legacy = {"AUTH"};
  BOOST_TEST(store->conversation("biz-b", "conv-1")->capabilities.value() == legacy, boost::test_tools::per_element());
  const auto empty = store->conversation("biz-a", "conv-2");
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->capabilities.value().empty());
  const auto none = store->conversation("biz-a", "conv-3");
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(!none->capabilities.has_value());
}

STORE_TEST_CASE(requests_round_trip) {
  AuthRequest full = makeRequest("1");
  full.createdAt = std::numeric_limits<std::int64_t>::min();
  full.expiresAt = std::numeric_limits<std::int64_t>::max();
  full.statusReason = "";
  AuthRequest bare = makeRequest("2");
  bare.idempotencyKey.reset();
  bare.idempotencyBodySha256.reset();
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

// The SQLite store keeps its statements prepared and reuses them: a reused statement must bind
// afresh each time and a reader must never keep an old snapshot between reads.
STORE_TEST_CASE(reused_statements_see_every_commit) {
  for (int i = 0; i < 200; ++i) {
    const AuthRequest r = makeRequest("reuse-" + std::to_string(i));
    store->transaction([&](Transaction& tx) {
      tx.insertRequest(r);
      appendEvent(tx, makeEvent("request.created", "conv-reuse"));
      if (i % 2 == 0) tx.putSecret(r.id, secret::kPrivateKey, i % 4 == 0 ? std::string() : allBytes());
    });
    checkSame(store->request(r.id).value(), r);
    checkSame(store->requestByIdentifier(r.requestIdentifier).value(), r);
    BOOST_TEST(store->events(0, 1000).size() == static_cast<std::size_t>(i + 1));
    const auto sealed = store->secret(r.id, secret::kPrivateKey);
    BOOST_TEST(sealed.has_value() == (i % 2 == 0));
    if (i % 2 == 0) BOOST_TEST(*sealed == (i % 4 == 0 ? std::string() : allBytes()));
    store->transaction([&](Transaction& tx) { tx.endRequest(r.id, {"succeeded", "", 7, "", "", 0}); });
    BOOST_TEST(store->request(r.id)->status == "succeeded");
  }
  BOOST_TEST(store->pendingCount() == 0);
}

STORE_TEST_CASE(duplicates_throw_and_roll_back) {
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
        appendEvent(tx, makeEvent("request.created", "conv-dup"));
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
    appendEvent(tx, makeEvent("before", "conv-dup"));
    BOOST_CHECK_THROW(tx.insertRequest(original), DuplicateError);
    auto existing = tx.request(original.id);
    BOOST_TEST(existing.has_value());
    tx.insertRequest(other);
  });
  BOOST_TEST(store->events(0, 100).size() == 1u);
  checkSame(store->request(other.id).value(), other);
}

STORE_TEST_CASE(status_updates_and_expiry) {
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
    tx.endRequest(d.id, {status::kFailed, "user_denied", 1700000009999, "", "", 0});
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

  // endRequest: the status and the completion in one statement.
  store->transaction([&](Transaction& tx) {
    tx.endRequest(c.id, {status::kSucceeded, "", 1700000011111, "reply", "Bearer", 1700003600000});
  });
  const auto ended = store->request(c.id).value();
  BOOST_TEST(ended.status == status::kSucceeded);
  BOOST_TEST(ended.statusReason.empty());
  BOOST_TEST(ended.updatedAt == 1700000011111);
  BOOST_TEST(ended.completedBy == "reply");
  BOOST_TEST(ended.tokenType == "Bearer");
  BOOST_TEST(ended.tokenExpiresAt == 1700003600000);
  BOOST_TEST(store->request(a.id).value().status == status::kPending);
  BOOST_CHECK_THROW(
      store->transaction([](Transaction& tx) { tx.endRequest("nope", {status::kFailed, "", 1, "", "", 0}); }),
      std::runtime_error);
}

STORE_TEST_CASE(secrets_round_trip) {
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

STORE_TEST_CASE(throwing_transaction_rolls_back_everything) {
  const AuthRequest r = makeRequest("rb");
  try {
    store->transaction([&](Transaction& tx) {
      tx.insertRequest(r);
      tx.putSecret(r.id, secret::kPrivateKey, "k");
      appendEvent(tx, makeEvent("request.created", r.conversationId, r.id));
      BOOST_TEST(tx.insertInboundMessageId("m-rb", 1));
      tx.putProvider(makeProvider(h, "p-rb"));
      tx.recordConversation("biz", "conv-rb", std::vector<std::string>{"AUTH2"}, 1);
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
  BOOST_TEST(!store->conversation("biz", "conv-rb").has_value());
  BOOST_TEST(store->pendingCount() == 0);
  bool fresh = false;
  store->transaction([&](Transaction& tx) { fresh = tx.insertInboundMessageId("m-rb", 2); });
  BOOST_TEST(fresh);
}

STORE_TEST_CASE(transaction_misuse_is_refused) {
  Transaction* escaped = nullptr;
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
    escaped = &tx;
    store->transaction([](Transaction&) {});
  }),
                    std::logic_error);
  store->transaction([](Transaction& tx) { appendEvent(tx, makeEvent("ok", "c")); });  // still usable
  BOOST_TEST(store->events(0, 10).size() == 1u);
  (void)escaped;  // the Transaction object is gone; using it would be a bug the store cannot catch
}

STORE_TEST_CASE(events_in_order) {
  std::vector<std::int64_t> seqs;
  store->transaction([&](Transaction& tx) {
    seqs.push_back(appendEvent(tx, makeEvent("message.received", "c1")));
    seqs.push_back(appendEvent(tx, makeEvent("request.created", "c2", "r2")));
  });
  store->transaction([&](Transaction& tx) {
    seqs.push_back(appendEvent(tx, makeEvent("request.succeeded", "c1", "r1")));
    seqs.push_back(appendEvent(tx, makeEvent("request.created", "c2", "r3")));
    Event odd = makeEvent("odd", "c1", "");
    odd.dataJson = "{}";
    odd.at = -5;
    seqs.push_back(appendEvent(tx, odd));
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

// The operator's page of one conversation holds its events of every business and of none (an
// unknown business is kept as none), in seq order, with after and limit applied to them all.
STORE_TEST_CASE(the_operators_conversation_page_spans_every_business_in_seq_order) {
  std::vector<std::int64_t> want;
  store->transaction([&](Transaction& tx) {
    BOOST_TEST(tx.insertBusiness({"biz-a", "A", 1}));
    BOOST_TEST(tx.insertBusiness({"biz-b", "B", 1}));
    BOOST_TEST(tx.insertBusiness({"biz-c", "C", 1}));  // events, but none of the conversation
  });
  const std::vector<std::pair<std::string, std::string>> written = {
      {"biz-b", "conv"}, {"biz-a", "other"}, {"", "conv"}, {"biz-a", "conv"}, {"biz-c", "other"},
      {"biz-unknown", "conv"}, {"biz-b", "conv"}, {"", "other"}, {"biz-a", "conv"}};
  for (const auto& [business, conversation] : written) {
    store->transaction([&](Transaction& tx) {
      Event e = makeEvent("message.received", conversation);
      e.businessId = business;
      const auto seq = appendEvent(tx, e);
      if (conversation == "conv") want.push_back(seq);
    });
  }
  auto seqsOf = [](const std::vector<Event>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) out.push_back(e.seq);
    return out;
  };
  BOOST_TEST(seqsOf(store->conversationEvents("conv", 0, 100)) == want, boost::test_tools::per_element());
  const auto page = store->conversationEvents("conv", want[1], 3);
  BOOST_TEST(seqsOf(page) == std::vector<std::int64_t>(want.begin() + 2, want.begin() + 5),
             boost::test_tools::per_element());
  BOOST_TEST(page[0].businessId == "biz-a");
  BOOST_TEST(page[1].businessId.empty());  // biz-unknown is no business bcauth knows
  BOOST_TEST(store->conversationEvents("conv", want.back(), 10).empty());
  BOOST_TEST(store->conversationEvents("nobody", 0, 10).empty());
  BOOST_TEST(seqsOf(store->conversationEvents("other", 0, 1)).size() == 1u);
  for (const std::size_t limit : {1u, 2u, 4u}) {  // paged through: every event once, in order
    std::vector<std::int64_t> walked;
    for (std::int64_t after = 0;;) {
      const auto next = seqsOf(store->conversationEvents("conv", after, limit));
      BOOST_TEST(next.size() <= limit);
      if (next.empty()) break;
      walked.insert(walked.end(), next.begin(), next.end());
      after = next.back();
    }
    BOOST_TEST(walked == want, boost::test_tools::per_element());
  }
}

STORE_TEST_CASE(inbound_messages_dedupe) {
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

STORE_TEST_CASE(concurrent_redeliveries_record_one_event) {
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      try {
        store->transaction([&](Transaction& tx) {
          if (tx.insertInboundMessageId("same-id", 1)) {
            appendEvent(tx, makeEvent("message.received", "conv"));
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

STORE_TEST_CASE(concurrent_appends_get_distinct_increasing_seqs) {
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
            perThread[t].push_back(appendEvent(tx, makeEvent("tick", "conv-" + std::to_string(t))));
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

// Two stores on one database (as two processes would be): SQLite's BEGIN IMMEDIATE and busy
// timeout, PostgreSQL's advisory lock, serialise their writers without errors.
STORE_TEST_CASE(two_stores_share_one_database) {
  store.reset();
  auto first = h.open();
  auto second = h.open();
  std::atomic<int> failures{0};
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Store& one = (t % 2 == 0) ? *first : *second;
      try {
        for (int i = 0; i < 50; ++i) {
          one.transaction([&](Transaction& tx) {
            if (tx.insertInboundMessageId("shared-" + std::to_string(i), 1)) ++winners;
            appendEvent(tx, makeEvent("tick", "c"));
          });
        }
      } catch (const std::exception& e) {
        noteFromThread(std::string("writer failed: ") + e.what());
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

// Two Store objects on one database racing: 50 threads split over them insert the same inbound
// message id (exactly one wins), then writers on both append events while a consumer on each
// follows events(cursor): seqs are strictly increasing without duplicates, and no consumer ever
// misses one (an event never becomes visible behind a seq a reader has already passed).
STORE_TEST_CASE(two_stores_race_on_one_database) {
  auto other = h.open();
  Store* stores[2] = {store.get(), other.get()};
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 50; ++i) {
      threads.emplace_back([&, i] {
        try {
          stores[i % 2]->transaction([&](Transaction& tx) {
            if (tx.insertInboundMessageId("same-id", 1)) {
              appendEvent(tx, makeEvent("message.received", "conv"));
              ++winners;
            }
          });
        } catch (const std::exception& e) {
          noteFromThread(std::string("redelivery failed: ") + e.what());
          ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(winners.load() == 1);
  BOOST_TEST(store->events(0, 100).size() == 1u);
  BOOST_TEST(other->events(0, 100).size() == 1u);

  constexpr int kWriters = 6;
  constexpr int kPerWriter = 60;
  std::vector<std::vector<std::int64_t>> perWriter(kWriters);
  std::vector<std::vector<std::int64_t>> consumed(2);
  std::atomic<bool> writing{true};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&, c] {
      try {
        std::int64_t cursor = 0;
        bool last = false;
        while (true) {
          last = !writing.load();  // one more full drain after the writers are done
          while (true) {
            const auto page = stores[c]->events(cursor, 50);
            for (const auto& e : page) {
              if (e.seq <= cursor) ++failures;
              cursor = e.seq;
              consumed[c].push_back(e.seq);
            }
            if (page.size() < 50) break;
          }
          if (last) break;
        }
      } catch (const std::exception& e) {
        noteFromThread(std::string("consumer failed: ") + e.what());
        ++failures;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      try {
        for (int i = 0; i < kPerWriter; ++i) {
          stores[w % 2]->transaction([&](Transaction& tx) {
            perWriter[w].push_back(appendEvent(tx, makeEvent("tick", "conv-" + std::to_string(w))));
          });
        }
      } catch (const std::exception& e) {
        noteFromThread(std::string("writer failed: ") + e.what());
        ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  writing = false;
  for (auto& c : consumers) c.join();

  BOOST_TEST(failures.load() == 0);
  std::set<std::int64_t> all;
  for (const auto& seqs : perWriter) {
    BOOST_TEST(seqs.size() == static_cast<std::size_t>(kPerWriter));
    for (std::size_t k = 1; k < seqs.size(); ++k) BOOST_TEST(seqs[k] > seqs[k - 1]);
    all.insert(seqs.begin(), seqs.end());
  }
  BOOST_TEST(all.size() == static_cast<std::size_t>(kWriters * kPerWriter));  // no seq handed out twice
  const auto events = other->events(0, 100000);
  BOOST_TEST_REQUIRE(events.size() == all.size() + 1);
  std::vector<std::int64_t> final;
  for (const auto& e : events) final.push_back(e.seq);
  for (int c = 0; c < 2; ++c) {
    BOOST_TEST_CONTEXT("consumer " << c) { BOOST_TEST(consumed[c] == final, boost::test_tools::per_element()); }
  }
}

// Stores opened at the same moment on an empty database (processes starting together) apply
// every migration exactly once.
STORE_TEST_CASE(concurrent_opens_migrate_once) {
  store.reset();
  if (h.isPostgres()) emptyPostgresDatabase(h.location());
  std::atomic<int> failures{0};
  std::vector<std::unique_ptr<Store>> opened(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < opened.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        opened[i] = h.open();
      } catch (const std::exception& e) {
        noteFromThread(std::string("open failed: ") + e.what());
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  std::int64_t maxVersion = 0;
  const std::int64_t rows = h.schemaRows(maxVersion);
  BOOST_TEST(rows >= 5);
  BOOST_TEST(rows == maxVersion);
  for (auto& s : opened) {
    if (s) BOOST_TEST(s->ping());
  }
}

STORE_TEST_CASE(data_persists_across_reopen) {
  store.reset();
  const AuthRequest r = makeRequest("persist");
  const Provider p = makeProvider(h, "persist");
  std::int64_t seq = 0;
  {
    auto first = h.open();
    first->transaction([&](Transaction& tx) {
      tx.putProvider(p);
      tx.insertRequest(r);
      tx.putSecret(r.id, secret::kPrivateKey, allBytes());
      seq = appendEvent(tx, makeEvent("request.created", r.conversationId, r.id));
      tx.insertInboundMessageId("m-persist", 1);
    });
  }
  std::int64_t maxBefore = 0;
  const std::int64_t rowsBefore = h.schemaRows(maxBefore);
  BOOST_TEST(rowsBefore >= 1);
  BOOST_TEST(rowsBefore == maxBefore);
  if (!h.isPostgres()) {
    const std::string dbPath = h.location() + "/bcauth.db";
    BOOST_TEST(fs::exists(dbPath));
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, dbPath);
    std::string mode;
    session << "PRAGMA journal_mode", Poco::Data::Keywords::into(mode), Poco::Data::Keywords::now;
    BOOST_TEST(mode == "wal");
  }

  {
    auto second = h.open();
    checkSame(second->provider(p.id).value(), p);
    checkSame(second->request(r.id).value(), r);
    BOOST_TEST((second->secret(r.id, secret::kPrivateKey).value() == allBytes()));
    const auto events = second->events(0, 10);
    BOOST_TEST_REQUIRE(events.size() == 1u);
    BOOST_TEST(events[0].seq == seq);
    bool fresh = true;
    std::int64_t next = 0;
    second->transaction([&](Transaction& tx) {
      fresh = tx.insertInboundMessageId("m-persist", 2);
      next = appendEvent(tx, makeEvent("again", "c"));
    });
    BOOST_TEST(!fresh);
    BOOST_TEST(next > seq);
  }
  std::int64_t maxAfter = 0;
  BOOST_TEST(h.schemaRows(maxAfter) == rowsBefore);
  BOOST_TEST(maxAfter == maxBefore);
}

// Migration 7 adds the Idempotency-Key body hash: a database written before it (the column and
// its version row taken away again) upgrades in place, and its requests read back without one.
STORE_TEST_CASE(migration_7_adds_the_idempotency_body_hash) {
  store.reset();
  // Everything from 7 on is taken away: migrations apply in order past the highest version.
  h.undoMigration9();
  h.exec("DROP TABLE store_probe");
  h.exec("ALTER TABLE auth_requests DROP COLUMN idempotency_body_sha256");
  h.exec("DELETE FROM schema_version WHERE version >= 7");
  AuthRequest old = makeRequest("before-7");
  h.exec("INSERT INTO auth_requests (id, request_identifier, conversation_id, business_id, provider_id, flow, scopes,"
         " status, status_reason, created_at, updated_at, expires_at, message_json, idempotency_key)"
         " VALUES ('" + old.id + "', '" + old.requestIdentifier + "', '" + old.conversationId + "', 'biz', 'google', 'v2',"
         " '[\"openid\",\"email\"]', 'pending', '', 1700000000000, 1700000000001, 1700000600000, '{}', '" +
         *old.idempotencyKey + "')");
  store = h.open();
  std::int64_t maxVersion = 0;
  BOOST_TEST(h.schemaRows(maxVersion) == maxVersion);
  BOOST_TEST(maxVersion >= 7);
  const auto read = store->requestByIdempotencyKey(*old.idempotencyKey);
  BOOST_REQUIRE(read.has_value());
  BOOST_TEST(read->id == old.id);
  BOOST_TEST(!read->idempotencyBodySha256.has_value());
  const AuthRequest fresh = makeRequest("after-7");
  store->transaction([&](Transaction& tx) { tx.insertRequest(fresh); });
  checkSame(store->request(fresh.id).value(), fresh);
}

// Migration 9 (tenancy) on a database version 8 left with data: every row is kept, a business
// is made for each business id the requests recorded, and conversations, events, providers
// and subscriptions are assigned (or left shared / operator-level) as store_util.h says.
STORE_TEST_CASE(migration_9_moves_existing_data_into_businesses) {
  store.reset();
  h.undoMigration9();
  const auto insertRequest = [&](const std::string& id, const std::string& conversation, const std::string& business,
                                 const std::string& createdAt) {
    h.exec("INSERT INTO auth_requests (id, request_identifier, conversation_id, business_id, provider_id, flow,"
           " scopes, status, status_reason, created_at, updated_at, expires_at, message_json) VALUES ('" + id +
           "', 'rid-" + id + "', '" + conversation + "', '" + business + "', 'google', 'v2', '[]', 'pending', '', " +
           createdAt + ", 1, 2, '{}')");
  };
  insertRequest("ra", "conv-a", "biz-a", "100");
  insertRequest("rb-old", "conv-b", "biz-a", "50");  // conv-b moved to biz-b later: its newest request wins
  insertRequest("rb", "conv-b", "biz-b", "200");
  for (const char* conversation : {"conv-a", "conv-b", "conv-x"}) {
    h.exec(std::string("INSERT INTO conversations (conversation_id, capabilities, updated_at) VALUES ('") +
           conversation + "', '[]', 1)");
  }
  const auto insertEvent = [&](const std::string& conversation, const std::string& request) {
    h.exec("INSERT INTO events (type, at, conversation_id, auth_request_id, data_json) VALUES ('t', 1, '" +
           conversation + "', '" + request + "', '{}')");
  };
  insertEvent("conv-a", "ra");
  insertEvent("conv-b", "rb-old");  // its request's business, not the conversation's
  insertEvent("conv-b", "");        // message.received: the conversation's business
  insertEvent("conv-x", "");        // two businesses, no request: nobody's
  h.exec("INSERT INTO providers (id, name, authorization_url, token_url, userinfo_url, client_id, scopes, enabled,"
         " profile_fields, created_at, updated_at) VALUES ('google', 'G', 'a', 't', '', 'c', '[]', 1, '{}', 1, 1)");
  h.exec("INSERT INTO subscriptions (id, url, sealed_secret, event_types, enabled, created_at, updated_at)"
         " VALUES ('s1', 'https://hook.example', " + std::string(h.isPostgres() ? "'\\x00'::bytea" : "X'00'") +
         ", '[]', 1, 1, 1)");

  store = h.open();
  std::int64_t maxVersion = 0;
  BOOST_TEST(h.schemaRows(maxVersion) == maxVersion);
  BOOST_TEST(maxVersion >= 9);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM businesses") == 2);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM businesses WHERE id = 'biz-a' AND name = 'biz-a' AND created_at = 50") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM businesses WHERE id = 'biz-b' AND created_at = 200") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM auth_requests") == 3);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM conversations") == 3);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM conversations WHERE conversation_id = 'conv-a'"
                     " AND business_id = 'biz-a'") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM conversations WHERE conversation_id = 'conv-b'"
                     " AND business_id = 'biz-b'") == 1);
  // Nobody's (migration 9: NULL) is the empty business after migration 10, which no key is.
  BOOST_TEST(h.count("SELECT COUNT(*) FROM conversations WHERE conversation_id = 'conv-x'"
                     " AND business_id = ''") == 1);
  const auto kept = store->conversation("biz-a", "conv-a");
  BOOST_REQUIRE(kept.has_value());
  BOOST_REQUIRE(kept->capabilities.has_value());  // migration 10 keeps what was recorded
  BOOST_TEST(kept->capabilities->empty());
  BOOST_TEST(h.count("SELECT COUNT(*) FROM events") == 4);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM events WHERE auth_request_id = 'ra' AND business_id = 'biz-a'") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM events WHERE auth_request_id = 'rb-old' AND business_id = 'biz-a'") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM events WHERE conversation_id = 'conv-b' AND auth_request_id = ''"
                     " AND business_id = 'biz-b'") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM events WHERE conversation_id = 'conv-x' AND business_id IS NULL") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM providers WHERE id = 'google' AND business_id IS NULL") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM business_providers WHERE provider_id = 'google'") == 2);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM subscriptions WHERE id = 's1' AND business_id IS NULL") == 1);
  BOOST_TEST(store->provider("google").has_value());
  BOOST_TEST(store->subscription("s1").has_value());
  BOOST_TEST(store->events(0, 10).size() == 4u);
}

// With no request recorded, migration 9 makes one business named "default" and gives it
// everything: each conversation and event, and the use of each provider.
STORE_TEST_CASE(migration_9_makes_a_default_business_when_none_is_recorded) {
  store.reset();
  h.undoMigration9();
  h.exec("INSERT INTO conversations (conversation_id, capabilities, updated_at) VALUES ('conv-x', '[]', 1)");
  h.exec("INSERT INTO events (type, at, conversation_id, auth_request_id, data_json)"
         " VALUES ('message.received', 1, 'conv-x', '', '{}')");
  h.exec("INSERT INTO providers (id, name, authorization_url, token_url, userinfo_url, client_id, scopes, enabled,"
         " profile_fields, created_at, updated_at) VALUES ('google', 'G', 'a', 't', '', 'c', '[]', 1, '{}', 1, 1)");
  store = h.open();
  BOOST_TEST(h.count("SELECT COUNT(*) FROM businesses") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM businesses WHERE id = 'default' AND name = 'default' AND created_at > 0") ==
             1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM conversations WHERE business_id = 'default'") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM events WHERE business_id = 'default'") == 1);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM business_providers WHERE business_id = 'default'"
                     " AND provider_id = 'google'") == 1);
}

// --- businesses and API keys (tenancy) --------------------------------------------------------

STORE_TEST_CASE(businesses_round_trip) {
  BOOST_TEST(store->businesses().empty());  // a fresh database: migration 9 made none ("default" only with data)
  bool first = false;
  bool again = true;
  store->transaction([&](Transaction& tx) {
    first = tx.insertBusiness({"biz-b", "Business B", 20});
    BOOST_TEST(tx.insertBusiness({"biz-a", "Business \"A\" ünïcødé", 10}));
    again = tx.insertBusiness({"biz-b", "another name", 30});
  });
  BOOST_TEST(first);
  BOOST_TEST(!again);  // the first one stays as it was
  const auto b = store->business("biz-b");
  BOOST_REQUIRE(b.has_value());
  BOOST_TEST(b->name == "Business B");
  BOOST_TEST(b->createdAt == 20);
  BOOST_TEST(!store->business("biz-c").has_value());
  const auto all = store->businesses();
  BOOST_REQUIRE(all.size() == 2u);
  BOOST_TEST(all[0].id == "biz-a");
  BOOST_TEST(all[0].name == "Business \"A\" ünïcødé");
  BOOST_TEST(all[1].id == "biz-b");
}

STORE_TEST_CASE(api_keys_round_trip_revoke_and_touch) {
  store->transaction([&](Transaction& tx) { tx.insertBusiness({"biz", "Biz", 1}); });
  ApiKey op;
  op.id = "k2";
  op.name = "operator";
  op.secretHash = std::string("\0hash\xff", 6) + std::string(26, 'h');  // any 32 bytes
  op.createdAt = 100;
  ApiKey desk;
  desk.id = "k1";
  desk.businessId = "biz";
  desk.name = "desk";
  desk.secretHash = std::string(32, '\x01');
  desk.createdAt = 200;
  bool inserted = false;
  bool duplicate = true;
  store->transaction([&](Transaction& tx) {
    inserted = tx.insertApiKey(op);
    BOOST_TEST(tx.insertApiKey(desk));
    duplicate = tx.insertApiKey(op);
  });
  BOOST_TEST(inserted);
  BOOST_TEST(!duplicate);
  const auto read = store->apiKey("k2");
  BOOST_REQUIRE(read.has_value());
  BOOST_TEST(!read->businessId.has_value());
  BOOST_TEST(read->name == "operator");
  BOOST_TEST((read->secretHash == op.secretHash));
  BOOST_TEST(read->createdAt == 100);
  BOOST_TEST(!read->lastUsedAt.has_value());
  BOOST_TEST(!read->revokedAt.has_value());
  BOOST_TEST(!store->apiKey("k3").has_value());
  const auto keys = store->apiKeys();
  BOOST_REQUIRE(keys.size() == 2u);
  BOOST_TEST(keys[0].id == "k1");
  BOOST_TEST(keys[0].businessId.value_or("") == "biz");
  BOOST_TEST(keys[1].id == "k2");

  // last_used_at: written at most once a minute per key.
  std::vector<bool> touched;
  const std::int64_t t0 = 1000;
  for (std::int64_t at : {t0, t0 + 30'000, t0 + kApiKeyTouchIntervalMs - 1, t0 + kApiKeyTouchIntervalMs}) {
    store->transaction([&](Transaction& tx) { touched.push_back(tx.touchApiKey("k1", at)); });
  }
  BOOST_TEST((touched == std::vector<bool>{true, false, false, true}));
  BOOST_TEST(store->apiKey("k1")->lastUsedAt.value_or(0) == 1000 + kApiKeyTouchIntervalMs);
  BOOST_TEST(!store->apiKey("k2")->lastUsedAt.has_value());

  std::vector<bool> revoked;
  store->transaction([&](Transaction& tx) {
    revoked.push_back(tx.revokeApiKey("k1", 5000));
    revoked.push_back(tx.revokeApiKey("k1", 6000));  // already revoked: the first time stays
    revoked.push_back(tx.revokeApiKey("nope", 6000));
  });
  BOOST_TEST((revoked == std::vector<bool>{true, false, false}));
  BOOST_TEST(store->apiKey("k1")->revokedAt.value_or(0) == 5000);
  BOOST_TEST(!store->apiKey("k2")->revokedAt.has_value());
}

// --- the Apple delivery outbox and the v2 request fields --------------------------------------

STORE_TEST_CASE(deliveries_round_trip) {
  const AuthRequest a = makeRequest("da");
  const AuthRequest b = makeRequest("db");
  Delivery da;
  da.requestId = a.id;
  da.sealedBody = allBytes();
  da.nextAttemptAt = 200;
  da.updatedAt = 1;
  Delivery db;
  db.requestId = b.id;
  db.sealedBody = "";  // empty stays empty, not NULL
  db.nextAttemptAt = 100;
  db.updatedAt = 2;
  store->transaction([&](Transaction& tx) {
    tx.insertDelivery(da);  // before its request: checked at commit
    tx.insertRequest(a);
    tx.insertRequest(b);
    tx.insertDelivery(db);
    BOOST_TEST(tx.delivery(a.id).has_value());
    BOOST_TEST(!tx.delivery("nope").has_value());
  });
  const auto gotA = store->delivery(a.id).value();
  BOOST_TEST((gotA.sealedBody == allBytes()));
  BOOST_TEST(gotA.status == "pending");
  BOOST_TEST(gotA.attempts == 0);
  BOOST_TEST(gotA.nextAttemptAt == 200);
  BOOST_TEST(store->delivery(b.id).value().sealedBody.empty());
  BOOST_TEST(!store->delivery("nope").has_value());

  auto due = store->dueDeliveries(1000, 10);
  BOOST_TEST_REQUIRE(due.size() == 2u);
  BOOST_TEST(due[0].requestId == b.id);  // oldest nextAttemptAt first
  BOOST_TEST(due[1].requestId == a.id);
  BOOST_TEST(store->dueDeliveries(150, 10).size() == 1u);
  BOOST_TEST(store->dueDeliveries(1000, 1).size() == 1u);

  Delivery changed = gotA;
  changed.status = "failed";
  changed.attempts = 7;
  changed.nextAttemptAt = std::numeric_limits<std::int64_t>::max();
  changed.lastHttpStatus = 503;
  changed.lastError = "gateway said \"no\"";
  changed.updatedAt = 9;
  store->transaction([&](Transaction& tx) { tx.updateDelivery(changed); });
  const auto gotChanged = store->delivery(a.id).value();
  BOOST_TEST(gotChanged.status == "failed");
  BOOST_TEST(gotChanged.attempts == 7);
  BOOST_TEST(gotChanged.nextAttemptAt == std::numeric_limits<std::int64_t>::max());
  BOOST_TEST(gotChanged.lastHttpStatus == 503);
  BOOST_TEST(gotChanged.lastError == changed.lastError);
  BOOST_TEST(gotChanged.updatedAt == 9);
  BOOST_TEST((gotChanged.sealedBody == allBytes()));  // not touched by an update
  BOOST_TEST(store->dueDeliveries(1000, 10).size() == 1u);

  // A delivery must belong to a request.
  Delivery orphan;
  orphan.requestId = "no-such-request";
  orphan.sealedBody = "x";
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) { tx.insertDelivery(orphan); }), std::runtime_error);
  BOOST_TEST(!store->delivery(orphan.requestId).has_value());
}

STORE_TEST_CASE(state_completion_and_profile_pending) {
  AuthRequest withState = makeRequest("st");
  AuthRequest noState = makeRequest("ns");
  noState.state.reset();
  AuthRequest later = makeRequest("later");
  later.updatedAt = withState.updatedAt + 10;
  store->transaction([&](Transaction& tx) {
    tx.insertRequest(withState);
    tx.insertRequest(noState);
    tx.insertRequest(later);
  });
  bool first = false;
  bool second = true;
  bool none = true;
  store->transaction([&](Transaction& tx) {
    first = tx.consumeState(withState.id);
    second = tx.consumeState(withState.id);
    none = tx.consumeState(noState.id);
  });
  BOOST_TEST(first);
  BOOST_TEST(!second);
  BOOST_TEST(!none);
  BOOST_TEST(!store->request(withState.id).value().state.has_value());  // a used state names nothing
  bool again = true;
  store->transaction([&](Transaction& tx) { again = tx.consumeState(withState.id); });
  BOOST_TEST(!again);

  store->transaction([&](Transaction& tx) {
    tx.setCompletion(withState.id, "callback", "Bearer", std::numeric_limits<std::int64_t>::min());
    tx.setProfilePending(later.id, true);
    tx.setProfilePending(withState.id, true);
  });
  const auto done = store->request(withState.id).value();
  BOOST_TEST(done.completedBy == "callback");
  BOOST_TEST(done.tokenType == "Bearer");
  BOOST_TEST(done.tokenExpiresAt == std::numeric_limits<std::int64_t>::min());
  BOOST_TEST(done.profilePending);
  BOOST_TEST(!store->request(noState.id).value().profilePending);
  auto pending = store->profilePending(10);
  BOOST_TEST_REQUIRE(pending.size() == 2u);
  BOOST_TEST(pending[0].id == withState.id);  // oldest updatedAt first
  BOOST_TEST(pending[1].id == later.id);
  BOOST_TEST(store->profilePending(1).size() == 1u);
  store->transaction([&](Transaction& tx) { tx.setProfilePending(withState.id, false); });
  BOOST_TEST(store->profilePending(10).size() == 1u);
}

// --- webhooks -----------------------------------------------------------------------------------

namespace {

Subscription makeSubscription(const std::string& id, std::vector<std::string> types, bool enabled = true) {
  Subscription s;
  s.id = id;
  s.url = "https://csp.example/hooks/" + id;
  s.sealedSecret = allBytes();
  s.eventTypes = std::move(types);
  s.enabled = enabled;
  s.createdAt = 1700000000100;
  s.updatedAt = 1700000000200;
  return s;
}

void checkSame(const Subscription& got, const Subscription& want) {
  BOOST_TEST(got.id == want.id);
  BOOST_TEST(got.url == want.url);
  BOOST_TEST((got.sealedSecret == want.sealedSecret));
  BOOST_TEST(got.eventTypes == want.eventTypes, boost::test_tools::per_element());
  BOOST_TEST(got.enabled == want.enabled);
  BOOST_TEST(got.createdAt == want.createdAt);
  BOOST_TEST(got.updatedAt == want.updatedAt);
}

Event eventAt(const std::string& type, const std::string& conversation, std::int64_t at) {
  Event e = makeEvent(type, conversation);
  e.at = at;
  return e;
}

// Every pending delivery, whatever its conversation's order: one subscription per conversation
// keeps dueWebhookDeliveries from hiding any.
std::multiset<std::pair<std::string, std::int64_t>> queued(Store& store) {
  std::multiset<std::pair<std::string, std::int64_t>> out;
  for (const auto& d : store.dueWebhookDeliveries(std::numeric_limits<std::int64_t>::max(), 1000)) {
    out.insert({d.subscriptionId, d.eventSeq});
  }
  return out;
}

}  // namespace

STORE_TEST_CASE(subscriptions_round_trip) {
  BOOST_TEST(store->subscriptions().empty());
  BOOST_TEST(!store->subscription("nope").has_value());
  const Subscription b = makeSubscription("b-all", {});
  Subscription a = makeSubscription("a-some", {"auth.succeeded", "weird \"type\"\n", ""});
  a.enabled = false;
  Subscription c = makeSubscription("c-empty-secret", {"auth.failed"});
  c.sealedSecret.clear();
  c.createdAt = std::numeric_limits<std::int64_t>::min();
  c.updatedAt = std::numeric_limits<std::int64_t>::max();
  store->transaction([&](Transaction& tx) {
    tx.putSubscription(b);
    tx.putSubscription(c);
    tx.putSubscription(a);
  });
  checkSame(store->subscription(a.id).value(), a);
  checkSame(store->subscription(b.id).value(), b);
  checkSame(store->subscription(c.id).value(), c);
  auto all = store->subscriptions();
  BOOST_TEST_REQUIRE(all.size() == 3u);  // ordered by id
  checkSame(all[0], a);
  checkSame(all[1], b);
  checkSame(all[2], c);

  // Replace by id: every field follows.
  Subscription a2 = makeSubscription("a-some", {"x"});
  a2.url = "https://elsewhere.example/";
  a2.sealedSecret = std::string("\0\0", 2);
  a2.updatedAt = 1800000000000;
  store->transaction([&](Transaction& tx) { tx.putSubscription(a2); });
  checkSame(store->subscription(a.id).value(), a2);
  BOOST_TEST(store->subscriptions().size() == 3u);

  // Deleting one takes its deliveries with it.
  std::int64_t seq = 0;
  store->transaction([&](Transaction& tx) { seq = appendEvent(tx, makeEvent("auth.failed", "conv-del")); });
  auto due = store->dueWebhookDeliveries(std::numeric_limits<std::int64_t>::max(), 10);
  BOOST_TEST_REQUIRE(due.size() == 2u);  // b (every type) and c (auth.failed)
  std::int64_t cDelivery = 0;
  for (const auto& d : due) {
    BOOST_TEST(d.eventSeq == seq);
    if (d.subscriptionId == c.id) cDelivery = d.id;
  }
  BOOST_TEST_REQUIRE(cDelivery != 0);
  bool deleted = false;
  bool deletedAgain = true;
  store->transaction([&](Transaction& tx) {
    BOOST_TEST(tx.webhookDelivery(cDelivery).has_value());
    deleted = tx.deleteSubscription(c.id);
    deletedAgain = tx.deleteSubscription(c.id);
    BOOST_TEST(!tx.webhookDelivery(cDelivery).has_value());
  });
  BOOST_TEST(deleted);
  BOOST_TEST(!deletedAgain);
  BOOST_TEST(!store->subscription(c.id).has_value());
  BOOST_TEST(store->subscriptions().size() == 2u);
  due = store->dueWebhookDeliveries(std::numeric_limits<std::int64_t>::max(), 10);
  BOOST_TEST_REQUIRE(due.size() == 1u);
  BOOST_TEST(due[0].subscriptionId == b.id);
}

STORE_TEST_CASE(append_event_fans_out_by_type) {
  store->transaction([&](Transaction& tx) {
    tx.putSubscription(makeSubscription("all", {}));
    tx.putSubscription(makeSubscription("succeeded", {"auth.succeeded"}));
    tx.putSubscription(makeSubscription("disabled", {"auth.succeeded"}, false));
    tx.putSubscription(makeSubscription("disabled-all", {}, false));
    tx.putSubscription(makeSubscription("two", {"message.received", "auth.failed"}));
    tx.putSubscription(makeSubscription("prefix", {"auth", "auth.succeeded.", "AUTH.SUCCEEDED", " auth.failed"}));
  });
  std::int64_t succeeded = 0;
  std::int64_t received = 0;
  std::int64_t other = 0;
  std::int64_t failed = 0;
  store->transaction([&](Transaction& tx) {
    succeeded = appendEvent(tx, eventAt("auth.succeeded", "c1", 100));
    received = appendEvent(tx, eventAt("message.received", "c2", 200));
    other = appendEvent(tx, eventAt("request.created", "c3", 300));
    failed = appendEvent(tx, eventAt("auth.failed", "c4", 400));
  });
  const std::multiset<std::pair<std::string, std::int64_t>> want = {
      {"all", succeeded},       {"all", received}, {"all", other}, {"all", failed},
      {"succeeded", succeeded}, {"two", received}, {"two", failed}};
  BOOST_TEST((queued(*store) == want));

  // The fields of a fresh delivery: pending, due at the event's time.
  for (const auto& d : store->dueWebhookDeliveries(std::numeric_limits<std::int64_t>::max(), 100)) {
    const auto e = store->event(d.eventSeq).value();
    BOOST_TEST(d.id > 0);
    BOOST_TEST(d.status == "pending");
    BOOST_TEST(d.attempts == 0);
    BOOST_TEST(d.nextAttemptAt == e.at);
    BOOST_TEST(d.updatedAt == e.at);
    BOOST_TEST(d.lastHttpStatus == 0);
    BOOST_TEST(d.lastError.empty());
    BOOST_TEST(d.conversationId == e.conversationId);
  }
  BOOST_TEST(store->dueWebhookDeliveries(250, 100).size() == 4u);  // the events at 100 and 200

  // An event rolled back queues nothing; a subscription added later gets only later events.
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
    appendEvent(tx, eventAt("auth.succeeded", "c5", 500));
    throw std::runtime_error("boom");
  }),
                    std::runtime_error);
  BOOST_TEST((queued(*store) == want));
  std::int64_t late = 0;
  store->transaction([&](Transaction& tx) {
    tx.putSubscription(makeSubscription("late", {"late.type"}));
    late = appendEvent(tx, eventAt("late.type", "c6", 600));
  });
  auto withLate = want;
  withLate.insert({"all", late});
  withLate.insert({"late", late});
  BOOST_TEST((queued(*store) == withLate));
}

STORE_TEST_CASE(due_webhook_deliveries_in_conversation_order) {
  store->transaction([&](Transaction& tx) {
    tx.putSubscription(makeSubscription("s1", {}));
    tx.putSubscription(makeSubscription("s2", {"only.second"}));
  });
  std::vector<std::int64_t> seq;
  store->transaction([&](Transaction& tx) {
    seq.push_back(appendEvent(tx, eventAt("first", "conv-a", 500)));       // 0: s1
    seq.push_back(appendEvent(tx, eventAt("second", "conv-a", 100)));      // 1: s1 (due earlier, but behind 0)
    seq.push_back(appendEvent(tx, eventAt("only.second", "conv-a", 50)));  // 2: s1, s2
    seq.push_back(appendEvent(tx, eventAt("other", "conv-b", 700)));       // 3: s1
  });
  auto idsOf = [](const std::vector<WebhookDelivery>& ds) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& d : ds) out.emplace_back(d.subscriptionId, d.eventSeq);
    return out;
  };
  using Row = std::pair<std::string, std::int64_t>;
  // Only the oldest pending of each (subscription, conversation), oldest event first.
  auto due = store->dueWebhookDeliveries(1000, 10);
  BOOST_TEST((idsOf(due) == std::vector<Row>{{"s1", seq[0]}, {"s2", seq[2]}, {"s1", seq[3]}}));
  BOOST_TEST(store->dueWebhookDeliveries(1000, 2).size() == 2u);
  BOOST_TEST((idsOf(store->dueWebhookDeliveries(600, 10)) == std::vector<Row>{{"s1", seq[0]}, {"s2", seq[2]}}));
  // conv-a's head for s1 is not due at 400: nothing behind it goes either.
  BOOST_TEST((idsOf(store->dueWebhookDeliveries(400, 10)) == std::vector<Row>{{"s2", seq[2]}}));

  // Delivered: the next one of the conversation comes up.
  WebhookDelivery head = due[0];
  store->transaction([&](Transaction& tx) {
    auto current = tx.webhookDelivery(head.id);
    BOOST_TEST_REQUIRE(current.has_value());
    BOOST_TEST(current->eventSeq == seq[0]);
    head.status = "delivered";
    head.attempts = 1;
    head.lastHttpStatus = 204;
    head.updatedAt = 1001;
    tx.updateWebhookDelivery(head);
  });
  const auto delivered = [&] {
    std::optional<WebhookDelivery> out;
    store->transaction([&](Transaction& tx) { out = tx.webhookDelivery(head.id); });
    return out.value();
  }();
  BOOST_TEST(delivered.status == "delivered");
  BOOST_TEST(delivered.attempts == 1);
  BOOST_TEST(delivered.lastHttpStatus == 204);
  BOOST_TEST(delivered.updatedAt == 1001);
  due = store->dueWebhookDeliveries(1000, 10);
  BOOST_TEST((idsOf(due) == std::vector<Row>{{"s1", seq[1]}, {"s2", seq[2]}, {"s1", seq[3]}}));

  // Retried later: it stays at the head of its conversation and holds the rest back.
  WebhookDelivery retry = due[0];
  retry.attempts = 1;
  retry.nextAttemptAt = 5000;
  retry.lastHttpStatus = 0;
  retry.lastError = "connection refused";
  retry.updatedAt = 1002;
  store->transaction([&](Transaction& tx) { tx.updateWebhookDelivery(retry); });
  BOOST_TEST((idsOf(store->dueWebhookDeliveries(1000, 10)) == std::vector<Row>{{"s2", seq[2]}, {"s1", seq[3]}}));
  due = store->dueWebhookDeliveries(5000, 10);
  BOOST_TEST_REQUIRE(due.size() == 3u);
  BOOST_TEST(due[0].lastError == "connection refused");
  BOOST_TEST(due[0].attempts == 1);
  store->transaction([&](Transaction& tx) { BOOST_TEST(!tx.webhookDelivery(0).has_value()); });

  // Dead: no longer pending, so it holds nothing back.
  retry.status = "dead";
  store->transaction([&](Transaction& tx) { tx.updateWebhookDelivery(retry); });
  BOOST_TEST((idsOf(store->dueWebhookDeliveries(1000, 10)) == std::vector<Row>{{"s1", seq[2]}, {"s2", seq[2]}, {"s1", seq[3]}}));
}

STORE_TEST_CASE(dead_webhook_deliveries_newest_first) {
  store->transaction([&](Transaction& tx) { tx.putSubscription(makeSubscription("s", {})); });
  store->transaction([&](Transaction& tx) {
    for (int i = 0; i < 5; ++i) appendEvent(tx, eventAt("e", "conv-" + std::to_string(i), 10));
  });
  auto due = store->dueWebhookDeliveries(100, 10);
  BOOST_TEST_REQUIRE(due.size() == 5u);
  BOOST_TEST(store->deadWebhookDeliveries(10).empty());
  // Dead at times 300, 100, 300, (4th stays pending), 200: newest first, then the higher id.
  const std::int64_t deadAt[] = {300, 100, 300, 0, 200};
  store->transaction([&](Transaction& tx) {
    for (std::size_t i = 0; i < due.size(); ++i) {
      if (deadAt[i] == 0) continue;
      WebhookDelivery d = due[i];
      d.status = "dead";
      d.attempts = 12;
      d.lastHttpStatus = 500;
      d.lastError = "HTTP 500";
      d.updatedAt = deadAt[i];
      tx.updateWebhookDelivery(d);
    }
  });
  const auto dead = store->deadWebhookDeliveries(10);
  BOOST_TEST_REQUIRE(dead.size() == 4u);
  BOOST_TEST(dead[0].id == due[2].id);
  BOOST_TEST(dead[1].id == due[0].id);
  BOOST_TEST(dead[2].id == due[4].id);
  BOOST_TEST(dead[3].id == due[1].id);
  BOOST_TEST(dead[0].status == "dead");
  BOOST_TEST(dead[0].attempts == 12);
  BOOST_TEST(dead[0].lastHttpStatus == 500);
  BOOST_TEST(dead[0].lastError == "HTTP 500");
  BOOST_TEST(dead[0].conversationId == "conv-2");
  BOOST_TEST(store->deadWebhookDeliveries(2).size() == 2u);
  BOOST_TEST(store->deadWebhookDeliveries(0).empty());
  const auto still = store->dueWebhookDeliveries(100, 10);
  BOOST_TEST_REQUIRE(still.size() == 1u);
  BOOST_TEST(still[0].id == due[3].id);
}

// Providers and subscriptions keep their owner; a business enables only shared providers; an
// event keeps its business only when the business is known; the business reads see their own.
STORE_TEST_CASE(business_ownership_round_trip) {
  store->transaction([&](Transaction& tx) {
    BOOST_TEST(tx.insertBusiness({"biz-a", "A", 1}));
    BOOST_TEST(tx.insertBusiness({"biz-b", "B", 1}));
    Provider shared = makeProvider(h, "shared");
    Provider own = makeProvider(h, "own-a");
    own.businessId = "biz-a";
    tx.putProvider(shared);
    tx.putProvider(own);
    BOOST_TEST(tx.setProviderEnabledFor("biz-b", "shared", true));
    BOOST_TEST(!tx.setProviderEnabledFor("biz-b", "shared", true));  // already
    BOOST_TEST(!tx.setProviderEnabledFor("biz-b", "own-a", true));   // not shared: nothing
    BOOST_TEST(!tx.setProviderEnabledFor("biz-b", "nope", true));
    Subscription a = makeSubscription("hook-a", {});
    a.businessId = "biz-a";
    tx.putSubscription(a);
    tx.putSubscription(makeSubscription("hook-operator", {}));
  });
  BOOST_TEST(store->provider("own-a")->businessId == "biz-a");
  BOOST_TEST(store->provider("shared")->businessId.empty());
  BOOST_TEST(store->enabledSharedProviders("biz-b") == std::vector<std::string>{"shared"},
             boost::test_tools::per_element());
  BOOST_TEST(store->enabledSharedProviders("biz-a").empty());
  BOOST_TEST(store->subscription("hook-a")->businessId == "biz-a");
  BOOST_TEST(store->subscription("hook-operator")->businessId.empty());

  store->transaction([&](Transaction& tx) {
    BOOST_TEST(tx.setProviderEnabledFor("biz-b", "shared", false));
    BOOST_TEST(tx.setProviderEnabledFor("biz-a", "shared", true));
    Event e = makeEvent("message.received", "conv-1");
    e.businessId = "biz-a";
    tx.appendEvent(e);
    e.businessId = "biz-b";
    tx.appendEvent(e);
    e.businessId = "biz-unknown";  // not a business bcauth knows: the operators' only
    tx.appendEvent(e);
  });
  BOOST_TEST(store->enabledSharedProviders("biz-b").empty());
  const auto all = store->events(0, 10);
  BOOST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all[0].businessId == "biz-a");
  BOOST_TEST(all[1].businessId == "biz-b");
  BOOST_TEST(all[2].businessId.empty());
  const auto ofA = store->businessEvents("biz-a", 0, 10);
  BOOST_REQUIRE(ofA.size() == 1u);
  BOOST_TEST(ofA[0].seq == all[0].seq);
  BOOST_TEST(store->businessEvents("biz-b", all[1].seq, 10).empty());
  BOOST_TEST(store->businessEvents("biz-unknown", 0, 10).empty());
  BOOST_TEST(store->businessConversationEvents("biz-b", "conv-1", 0, 10).size() == 1u);
  BOOST_TEST(store->businessConversationEvents("biz-b", "conv-2", 0, 10).empty());

  // A provider that comes to belong to a business is no longer enabled for any other.
  store->transaction([&](Transaction& tx) {
    Provider moved = makeProvider(h, "shared");
    moved.businessId = "biz-b";
    tx.putProvider(moved);
  });
  BOOST_TEST(store->enabledSharedProviders("biz-a").empty());
  store->transaction([&](Transaction& tx) {
    tx.putProvider(makeProvider(h, "shared-2"));
    tx.setProviderEnabledFor("biz-a", "shared-2", true);
    tx.deleteProvider("shared-2");
  });
  BOOST_TEST(store->enabledSharedProviders("biz-a").empty());
}

// A business reads the dead letters of its own subscriptions only.
STORE_TEST_CASE(business_dead_webhook_deliveries) {
  store->transaction([&](Transaction& tx) {
    tx.insertBusiness({"biz-a", "A", 1});
    Subscription a = makeSubscription("hook-a", {});
    a.businessId = "biz-a";
    tx.putSubscription(a);
    tx.putSubscription(makeSubscription("hook-operator", {}));
    Event e = eventAt("e", "conv-1", 10);
    e.businessId = "biz-a";
    appendEvent(tx, e);
  });
  auto due = store->dueWebhookDeliveries(100, 10);
  BOOST_TEST_REQUIRE(due.size() == 2u);  // the business's and the operator's subscription
  store->transaction([&](Transaction& tx) {
    for (auto d : due) {
      d.status = "dead";
      tx.updateWebhookDelivery(d);
    }
  });
  BOOST_TEST(store->deadWebhookDeliveries(10).size() == 2u);
  const auto ofA = store->businessDeadWebhookDeliveries("biz-a", 10);
  BOOST_REQUIRE(ofA.size() == 1u);
  BOOST_TEST(ofA[0].subscriptionId == "hook-a");
  BOOST_TEST(store->businessDeadWebhookDeliveries("biz-b", 10).empty());
}

STORE_TEST_CASE(event_by_seq) {
  BOOST_TEST(!store->event(1).has_value());
  Event odd = makeEvent("odd", "conv", "req");
  odd.at = std::numeric_limits<std::int64_t>::min();
  odd.dataJson = R"({"nested":{"a":[1,2]},"s":"\u00e9 é"})";
  std::int64_t first = 0;
  std::int64_t second = 0;
  store->transaction([&](Transaction& tx) {
    first = appendEvent(tx, makeEvent("message.received", "conv"));
    second = appendEvent(tx, odd);
  });
  const auto got = store->event(second).value();
  BOOST_TEST(got.seq == second);
  BOOST_TEST(got.type == "odd");
  BOOST_TEST(got.at == std::numeric_limits<std::int64_t>::min());
  BOOST_TEST(got.conversationId == "conv");
  BOOST_TEST(got.authRequestId == "req");
  BOOST_TEST(got.dataJson == odd.dataJson);
  BOOST_TEST(store->event(first).value().type == "message.received");
  BOOST_TEST(!store->event(second + 1).has_value());
  BOOST_TEST(!store->event(0).has_value());
  BOOST_TEST(!store->event(-1).has_value());
}

// --- backend-specific ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(uncreatable_directory_is_a_clear_error) {
  TempDir dir;
  const fs::path file = fs::path(dir.path()) / "a-file";
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

namespace {

// Polls store.writable() (it probes at most once a second) until it says want, for up to 20 s.
bool becomesWritable(Store& store) {
  for (const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       std::chrono::steady_clock::now() < deadline;) {
    if (store.writable()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll backoff
  }
  return false;
}

}  // namespace

// A store grown to SqliteOptions::maxBytes throws UnavailableError, keeps nothing of the failed
// transaction, loses nothing committed before, says !writable(), and is writable again as soon
// as room is made elsewhere — without a write of its own succeeding first.
// (512 KiB: the schema itself takes some 40 pages since migration 10; the pad is what frees room.)
// Migration 11 (SQLite) rebuilds request_secrets, inbound_messages and conversations as
// WITHOUT ROWID tables and makes the sweeper's index pending-only: every row is kept, the
// duplicate checks and the sweep still work, and the sweep and the pending count use the index.
BOOST_AUTO_TEST_CASE(migration_11_keeps_every_row_of_the_rebuilt_tables) {
  Harness h(Backend::kSqlite);
  const AuthRequest pending = makeRequest("m11-pending");
  AuthRequest done = makeRequest("m11-done");
  done.status = status::kSucceeded;
  h.store->transaction([&](Transaction& tx) {
    tx.insertRequest(pending);
    tx.insertRequest(done);
    tx.putSecret(pending.id, secret::kPrivateKey, std::string("key\0bytes", 9));
    tx.putSecret(done.id, secret::kAccessToken, "token");
    BOOST_TEST(tx.insertInboundMessageId("m11-message", 5));
    tx.recordConversation("biz", "conv-m11", std::vector<std::string>{"AUTH"}, 6);
    tx.recordConversation("biz", "conv-m11-none", std::nullopt, 7);
  });
  h.store.reset();
  // Back to version 10, the tables in their rowid form, with the rows above in them.
  h.undoMigration11();
  for (const char* table : {"request_secrets", "inbound_messages", "conversations"}) {
    const std::string t = table;
    h.exec("CREATE TABLE " + t + "_10 AS SELECT * FROM " + t);
    h.exec("DROP TABLE " + t);
  }
  h.exec("CREATE TABLE request_secrets (request_id TEXT NOT NULL REFERENCES auth_requests (id) ON DELETE CASCADE"
         " DEFERRABLE INITIALLY DEFERRED, kind TEXT NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (request_id, kind))");
  h.exec("CREATE TABLE inbound_messages (message_id TEXT PRIMARY KEY NOT NULL, received_at INTEGER NOT NULL)");
  h.exec("CREATE TABLE conversations (business_id TEXT NOT NULL, conversation_id TEXT NOT NULL, capabilities TEXT,"
         " updated_at INTEGER NOT NULL, PRIMARY KEY (business_id, conversation_id))");
  for (const char* table : {"request_secrets", "inbound_messages", "conversations"}) {
    const std::string t = table;
    h.exec("INSERT INTO " + t + " SELECT * FROM " + t + "_10");
    h.exec("DROP TABLE " + t + "_10");
  }
  BOOST_TEST(h.count("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%WITHOUT ROWID%'") == 0);

  auto store = h.open();
  std::int64_t maxVersion = 0;
  BOOST_TEST(h.schemaRows(maxVersion) == maxVersion);
  BOOST_TEST(maxVersion >= 11);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%WITHOUT ROWID%'") == 3);
  BOOST_TEST((store->secret(pending.id, secret::kPrivateKey).value() == std::string("key\0bytes", 9)));
  BOOST_TEST(store->secret(done.id, secret::kAccessToken).value() == "token");
  const auto conversation = store->conversation("biz", "conv-m11");
  BOOST_REQUIRE(conversation.has_value());
  BOOST_TEST(conversation->capabilities.value() == std::vector<std::string>{"AUTH"}, boost::test_tools::per_element());
  BOOST_TEST(!store->conversation("biz", "conv-m11-none")->capabilities.has_value());
  store->transaction([&](Transaction& tx) {
    BOOST_TEST(!tx.insertInboundMessageId("m11-message", 8));  // still a duplicate
    BOOST_TEST(tx.insertInboundMessageId("m11-other", 8));
  });
  BOOST_TEST(store->pendingCount() == 1);
  const auto expired = store->expiredPending(pending.expiresAt + 1, 10);
  BOOST_REQUIRE(expired.size() == 1u);
  BOOST_TEST(expired.front().id == pending.id);
  // Deleting a request still takes its secrets with it (the foreign key survived the rebuild).
  {
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, h.location() + "/bcauth.db");
    session << "PRAGMA foreign_keys = ON", Poco::Data::Keywords::now;
    session << "DELETE FROM auth_requests WHERE id = '" + done.id + "'", Poco::Data::Keywords::now;
  }
  BOOST_TEST(!store->secret(done.id, secret::kAccessToken).has_value());
}

// Migration 12 rebuilds auth_requests (partial unique indexes) and events (no AUTOINCREMENT)
// with foreign keys off: every request, secret, delivery and event is kept, the uniqueness of
// Idempotency-Keys and states holds, seq goes on from the largest, and deleting a request still
// takes its secrets and delivery with it.
BOOST_AUTO_TEST_CASE(migration_12_keeps_requests_their_secrets_and_events) {
  Harness h(Backend::kSqlite);
  AuthRequest keyed = makeRequest("m12-keyed");
  AuthRequest plain = makeRequest("m12-plain"), plain2 = makeRequest("m12-plain2");
  for (AuthRequest* r : {&plain, &plain2}) {
    r->idempotencyKey.reset();
    r->idempotencyBodySha256.reset();
    r->state.reset();
  }
  std::int64_t lastSeq = 0;
  h.store->transaction([&](Transaction& tx) {
    for (const auto* r : {&keyed, &plain, &plain2}) tx.insertRequest(*r);
    tx.putSecret(keyed.id, secret::kPrivateKey, std::string("key\0bytes", 9));
    tx.putSecret(plain.id, secret::kAccessToken, "token");
    Delivery d;
    d.requestId = plain.id;
    d.sealedBody = "body";
    tx.insertDelivery(d);
    appendEvent(tx, makeEvent("auth.requested", "conv-m12", keyed.id));
    lastSeq = appendEvent(tx, makeEvent("auth.requested", "conv-m12", plain.id));
  });
  h.store.reset();
  h.undoMigration12();
  BOOST_TEST(h.count("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'events'") == 1);

  auto store = h.open();
  std::int64_t maxVersion = 0;
  BOOST_TEST(h.schemaRows(maxVersion) == maxVersion);
  BOOST_TEST(maxVersion >= 12);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%' AND name = 'events'") == 0);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'events'") == 0);
  // The indexes hold only the requests that have the value.
  BOOST_TEST(h.count("SELECT COUNT(*) FROM auth_requests INDEXED BY auth_requests_idempotency_key"
                     " WHERE idempotency_key IS NOT NULL") == 1);
  for (const auto* r : {&keyed, &plain, &plain2}) checkSame(store->request(r->id).value(), *r);
  checkSame(store->requestByIdempotencyKey(*keyed.idempotencyKey).value(), keyed);
  checkSame(store->requestByState(*keyed.state).value(), keyed);
  BOOST_TEST((store->secret(keyed.id, secret::kPrivateKey).value() == std::string("key\0bytes", 9)));
  BOOST_TEST(store->secret(plain.id, secret::kAccessToken).value() == "token");
  BOOST_TEST(store->delivery(plain.id).has_value());
  BOOST_TEST(store->events(0, 10).size() == 2u);

  AuthRequest sameKey = makeRequest("m12-same-key");
  sameKey.idempotencyKey = keyed.idempotencyKey;
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) { tx.insertRequest(sameKey); }), DuplicateError);
  AuthRequest sameState = makeRequest("m12-same-state");
  sameState.state = keyed.state;
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) { tx.insertRequest(sameState); }), std::runtime_error);
  AuthRequest plain3 = plain;
  plain3.id = "id-m12-plain3";
  plain3.requestIdentifier = "rid-m12-plain3";
  store->transaction([&](Transaction& tx) {
    tx.insertRequest(plain3);  // requests without either value never collide
    BOOST_TEST(appendEvent(tx, makeEvent("auth.requested", "conv-m12", plain3.id)) == lastSeq + 1);
  });

  // The foreign keys survived the rebuild.
  {
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, h.location() + "/bcauth.db");
    session << "PRAGMA foreign_keys = ON", Poco::Data::Keywords::now;
    session << "DELETE FROM auth_requests WHERE id = '" + plain.id + "'", Poco::Data::Keywords::now;
  }
  BOOST_TEST(!store->secret(plain.id, secret::kAccessToken).has_value());
  BOOST_TEST(!store->delivery(plain.id).has_value());
  BOOST_TEST(store->secret(keyed.id, secret::kPrivateKey).has_value());
}

// A migration is checked for rows whose foreign key names no row before it commits: a
// version-11 database with such a row is refused, not migrated around it, and left as it was.
BOOST_AUTO_TEST_CASE(sqlite_migration_refuses_rows_whose_foreign_key_names_nothing) {
  Harness h(Backend::kSqlite);
  h.store.reset();
  h.undoMigration12();
  h.exec("INSERT INTO request_secrets (request_id, kind, sealed) VALUES ('no-such-request', 'k', X'00')");
  try {
    h.open();
    BOOST_FAIL("the migration went through");
  } catch (const std::exception& e) {
    BOOST_TEST(std::string(e.what()).find("request_secrets") != std::string::npos, e.what());
  }
  std::int64_t maxVersion = 0;
  h.schemaRows(maxVersion);
  BOOST_TEST(maxVersion == 11);
  BOOST_TEST(h.count("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events' AND sql LIKE '%AUTOINCREMENT%'") == 1);
}

// The sweep and the pending count read the pending-only index, not every request.
BOOST_AUTO_TEST_CASE(sqlite_sweep_and_pending_count_use_the_pending_index) {
  Harness h(Backend::kSqlite);
  h.store.reset();
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, h.location() + "/bcauth.db");
  for (const std::string sql : {"SELECT id FROM auth_requests WHERE status = 'pending' AND expires_at <= 5"
                                " ORDER BY expires_at, created_at, id LIMIT 200",
                                "SELECT COUNT(*) FROM auth_requests WHERE status = 'pending'"}) {
    std::vector<std::string> plan;
    Poco::Data::Statement explain(session);
    explain << "EXPLAIN QUERY PLAN " + sql, Poco::Data::Keywords::now;
    Poco::Data::RecordSet rows(explain);
    std::string text;
    for (std::size_t i = 0; i < rows.rowCount(); ++i) text += rows.value(3, i).convert<std::string>() + "\n";
    BOOST_TEST(text.find("auth_requests_pending_expiry") != std::string::npos, sql << ":\n" << text);
    BOOST_TEST(text.find("TEMP B-TREE") == std::string::npos, sql << ":\n" << text);
  }
}

// Each commit's WAL frames reach the file in one write at its sync (sqlite_wal_writes.h):
// commits of every size, from one page to several MiB (more than one write can take), read back
// the same from another store on the file and after a reopen, and a checkpoint keeps them.
BOOST_AUTO_TEST_CASE(sqlite_commits_of_every_size_read_back_through_coalesced_wal_writes) {
  TempDir dir;
  std::vector<Provider> written;
  {
    auto store = openSqliteStore(dir.path());
    auto other = openSqliteStore(dir.path());
    for (const std::size_t size : {std::size_t{1}, std::size_t{4000}, std::size_t{130 * 1024}, std::size_t{3 << 20},
                                   std::size_t{5 << 20}, std::size_t{10}}) {
      Provider p = makeProvider("size-" + std::to_string(size));
      p.name = std::string(size, static_cast<char>('a' + written.size()));
      store->transaction([&](Transaction& tx) { tx.putProvider(p); });
      written.push_back(p);
      const auto seen = other->provider(p.id);
      BOOST_REQUIRE(seen.has_value());
      BOOST_TEST(seen->name == p.name);
    }
    // Many small commits in a row, then a rollback in the middle of a large one.
    for (int i = 0; i < 300; ++i) {
      store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider("small-" + std::to_string(i))); });
    }
    BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
      Provider big = makeProvider("rolled-back");
      big.name = std::string(2 << 20, 'r');
      tx.putProvider(big);
      throw std::runtime_error("abandon");
    }),
                      std::runtime_error);
    BOOST_TEST(!other->provider("rolled-back").has_value());
  }
  auto reopened = openSqliteStore(dir.path());
  for (const auto& p : written) BOOST_TEST(reopened->provider(p.id)->name == p.name);
  BOOST_TEST(reopened->provider("small-299").has_value());
  BOOST_TEST(!reopened->provider("rolled-back").has_value());
}

// The WAL VFS is asked for by name, by the store's connections only (they commit with
// synchronous=FULL); the process's default VFS stays SQLite's own. A data directory whose name
// holds the characters an SQLite URI gives meaning to works like any other.
BOOST_AUTO_TEST_CASE(sqlite_store_opens_through_its_wal_vfs_and_leaves_the_default_alone) {
  TempDir dir;
  const std::string odd = dir.path() + "/data?x=1#frag%41 dir";
  {
    auto store = openSqliteStore(odd);
    store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider("odd")); });
  }
  BOOST_TEST(std::filesystem::exists(odd + "/bcauth.db"));
  BOOST_TEST(openSqliteStore(odd)->provider("odd").has_value());
  const sqlite3_vfs* fallback = sqlite3_vfs_find(nullptr);
  BOOST_REQUIRE(fallback != nullptr);
  BOOST_TEST(std::string(fallback->zName) != coalescedWalVfs());
  BOOST_TEST(sqlite3_vfs_find(coalescedWalVfs()) != nullptr);
  BOOST_TEST(sqliteUri("/a?b#c%d", "v") == "file:///a%3Fb%23c%25d?vfs=v");
  BOOST_TEST(sqliteUri("//a", "v") == "file:////a?vfs=v");
  BOOST_TEST(sqliteUri("rel/x.db", "v") == "file:rel/x.db?vfs=v");
}

// SQLite's memory statistics take a process-wide mutex on every allocation: the store turns
// them off before SQLite initialises (nothing reads them), and they then stay at zero.
BOOST_AUTO_TEST_CASE(sqlite_keeps_no_memory_statistics) {
  TempDir dir;
  auto store = openSqliteStore(dir.path());
  store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider("memstat")); });
  BOOST_TEST(store->provider("memstat").has_value());
  sqlite3_int64 current = -1, highest = -1;
  BOOST_TEST(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highest, 0) == SQLITE_OK);
  BOOST_TEST(current == 0);
  BOOST_TEST(highest == 0);
}

BOOST_AUTO_TEST_CASE(sqlite_full_is_unavailable_and_recovers) {
  TempDir dir;
  auto store = openSqliteStore(dir.path(), {512 * 1024});
  BOOST_TEST(store->writable());
  Provider pad = makeProvider("pad");
  pad.name = std::string(200 * 1024, 'p');
  store->transaction([&](Transaction& tx) { tx.putProvider(pad); });
  std::vector<std::string> accepted;
  std::string refused;
  for (int i = 0; i < 1000 && refused.empty(); ++i) {
    Provider p = makeProvider("fill-" + std::to_string(i));
    p.name = std::string(4096, 'f');
    try {
      store->transaction([&](Transaction& tx) { tx.putProvider(p); });
      accepted.push_back(p.id);
    } catch (const UnavailableError& e) {
      BOOST_TEST_MESSAGE("full after " << accepted.size() << ": " << e.what());
      refused = p.id;
    }
  }
  BOOST_REQUIRE(!refused.empty());
  BOOST_TEST(!store->provider(refused).has_value());
  BOOST_TEST(!store->writable());
  BOOST_TEST(store->ping());  // reads still work

  openSqliteStore(dir.path())->transaction([](Transaction& tx) { tx.deleteProvider("pad"); });
  BOOST_TEST(becomesWritable(*store));
  store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider(refused)); });
  for (const auto& id : accepted) BOOST_TEST(store->provider(id).has_value(), id);
}

// A PostgreSQL connection lost under the store (here: terminated by the server) is
// UnavailableError, not a bare failure, and the store is writable again on new connections.
POSTGRES_TEST_CASE(postgres_lost_connection_is_unavailable_and_recovers) {
  store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider(h, "before")); });
  {
    auto killer = postgresSession(h.location());
    killer << "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
              " WHERE datname = current_database() AND pid <> pg_backend_pid()", Poco::Data::Keywords::now;
  }
  bool unavailable = false;
  try {
    store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider(h, "during")); });
  } catch (const UnavailableError& e) {
    BOOST_TEST_MESSAGE("unavailable: " << e.what());
    unavailable = true;
  } catch (const std::exception& e) {
    BOOST_ERROR("not UnavailableError: " << e.what());
  }
  BOOST_TEST(unavailable);
  BOOST_TEST(becomesWritable(*store));
  store->transaction([&](Transaction& tx) { tx.putProvider(makeProvider(h, "after")); });
  BOOST_TEST(store->provider("before").has_value());
  BOOST_TEST(store->provider("after").has_value());
}

// No password of the connection string ever shows in an error.
BOOST_AUTO_TEST_CASE(postgres_connection_failure_is_a_clear_error) {
  const std::string url = "host=127.0.0.1 port=1 dbname=nowhere user=nobody password=hunter2-secret connect_timeout=5";
  try {
    openPostgresStore(url);
    BOOST_FAIL("openPostgresStore connected to port 1");
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    BOOST_TEST_MESSAGE("refused: " << message);
    BOOST_TEST(message.find("PostgreSQL") != std::string::npos);
    BOOST_TEST(message.find("hunter2-secret") == std::string::npos);
  }
  BOOST_CHECK_THROW(openPostgresStore(""), std::invalid_argument);
}

// PostgreSQL's TEXT holds no NUL byte (libpq would silently cut the value there: the store
// refuses it) and, in a UTF8 database, only valid UTF-8. Sealed values are BYTEA: any bytes.
POSTGRES_TEST_CASE(postgres_refuses_text_it_cannot_store) {
  const AuthRequest r = makeRequest("text");
  Provider withNul = makeProvider(h, "nul");
  withNul.name = std::string("a\0b", 3);
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
    tx.insertRequest(r);
    tx.putProvider(withNul);
  }),
                    std::runtime_error);
  Provider notUtf8 = makeProvider(h, "latin1");
  notUtf8.name = "caf\xe9";
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
    tx.insertRequest(r);
    tx.putProvider(notUtf8);
  }),
                    std::runtime_error);
  BOOST_TEST(!store->request(r.id).has_value());
  BOOST_TEST(store->providers(false).empty());
  BOOST_CHECK_THROW(store->provider(std::string("a\0b", 3)), std::runtime_error);
}

// In PostgreSQL a failed statement aborts its transaction: even when fn catches the error, the
// transaction rolls back and transaction() throws (SQLite would commit the rest). insertRequest's
// DuplicateError is the exception: it undoes only itself (see duplicates_throw_and_roll_back).
POSTGRES_TEST_CASE(postgres_failed_statement_aborts_the_transaction) {
  const AuthRequest r = makeRequest("abort");
  Delivery d;
  d.requestId = r.id;
  d.sealedBody = "body";
  store->transaction([&](Transaction& tx) {
    tx.insertRequest(r);
    tx.insertDelivery(d);
  });
  bool caught = false;
  BOOST_CHECK_THROW(store->transaction([&](Transaction& tx) {
    appendEvent(tx, makeEvent("lost", "c"));
    try {
      tx.insertDelivery(d);  // the primary key is taken
    } catch (const std::runtime_error&) {
      caught = true;
    }
    BOOST_CHECK_THROW(appendEvent(tx, makeEvent("refused", "c")), std::runtime_error);
  }),
                    std::runtime_error);
  BOOST_TEST(caught);
  BOOST_TEST(store->events(0, 10).empty());
  store->transaction([&](Transaction& tx) { appendEvent(tx, makeEvent("fine", "c")); });  // usable again
  BOOST_TEST(store->events(0, 10).size() == 1u);
}
