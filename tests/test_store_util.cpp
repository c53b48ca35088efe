// What both stores share (store/store_util.h, store/sql_reads.h), without a database: the reads'
// SQL text (the same SELECTs each store sent before they were written once), the helpers that
// read rows into values, the migration loop and the mapping of Poco's exceptions.
#define BOOST_TEST_MODULE store_util
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Poco/Exception.h>

#include "store/rows.h"
#include "store/sql_reads.h"
#include "store/store_util.h"

using namespace bcauth::store;

namespace {

// A Store whose reads only record the SQL they would run, and find nothing.
struct RecordingStore final : SqlReads<RecordingStore> {
  std::vector<std::string> whats;
  std::vector<std::string> sqls;

  template <typename Row, typename... Args>
  std::vector<Row> query(const char* what, const std::string& sql, const Args&...) {
    whats.emplace_back(what);
    sqls.push_back(sql);
    // One number for reads of one (the operator's conversation page reads its ceiling first).
    if constexpr (std::is_same_v<Row, Poco::Tuple<Poco::Int64>>) {
      if (std::string_view(what) == "conversationEvents") return {Row(100)};
    }
    return {};
  }
  template <typename Row, typename... Args>
  std::vector<Row> keyedQuery(const char* what, const std::string& sql, const Args&... args) {
    return query<Row>(what, sql, args...);
  }

  void transaction(const std::function<void(Transaction&)>&) override {}
  bool ping() override { return true; }
  bool writable() override { return true; }
  std::unique_ptr<EventWatch> watchEvents(std::function<void()>) override { return nullptr; }
};

std::string select(const char* columns, const std::string& rest) {
  return std::string("SELECT ") + columns + " " + rest;
}

bool isUnavailableForTest(const Poco::Exception& e) { return e.message() == "disk full"; }

}  // namespace

BOOST_AUTO_TEST_CASE(the_shared_reads_send_the_stores_sql) {
  RecordingStore store;
  store.provider("p");
  store.providers(true);
  store.providers(false);
  store.enabledSharedProviders("b");
  store.conversation("b", "c");
  store.request("r");
  store.requestByIdentifier("i");
  store.requestByIdempotencyKey("k");
  store.requestByState("s");
  store.secret("r", "kind");
  store.events(1, 2);
  store.conversationEvents("c", 1, 2);
  store.businessEvents("b", 1, 2);
  store.businessConversationEvents("b", "c", 1, 2);
  store.expiredPending(1, 2);
  store.pendingCount();
  store.delivery("r");
  store.profilePending(3);
  store.subscription("s");
  store.subscriptions();
  store.dueDeliveries(1, 2);
  store.dueWebhookDeliveries(1, 2);
  store.deadWebhookDeliveries(2);
  store.businessDeadWebhookDeliveries("b", 2);
  store.event(7);
  store.sealedValues();

  using namespace rows;
  const std::vector<std::string> expected = {
      select(kProviderColumns, "FROM providers WHERE id = ?"),
      select(kProviderColumns, "FROM providers WHERE enabled <> 0 ORDER BY id"),
      select(kProviderColumns, "FROM providers ORDER BY id"),
      "SELECT provider_id FROM business_providers WHERE business_id = ? ORDER BY provider_id",
      select(kConversationColumns, "FROM conversations WHERE business_id = ? AND conversation_id = ?"),
      select(kRequestColumns, "FROM auth_requests WHERE id = ?"),
      select(kRequestColumns, "FROM auth_requests WHERE request_identifier = ?"),
      select(kRequestColumns, "FROM auth_requests WHERE idempotency_key = ?"),
      select(kRequestColumns, "FROM auth_requests WHERE state = ?"),
      "SELECT sealed FROM request_secrets WHERE request_id = ? AND kind = ?",
      select(kEventColumns, "FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
      // The highest seq (every part stops there), the businesses with events of the conversation
      // (no index leads with it), then the events of none; each business's page would follow
      // (none here: the recording store reads none).
      "SELECT COALESCE(MAX(seq), 0) FROM events",
      "WITH RECURSIVE businesses(id) AS (SELECT MIN(business_id) FROM events UNION ALL"
      " SELECT (SELECT MIN(business_id) FROM events WHERE business_id > businesses.id)"
      " FROM businesses WHERE businesses.id IS NOT NULL)"
      " SELECT id FROM businesses WHERE id IS NOT NULL AND EXISTS (SELECT 1 FROM events"
      " WHERE business_id = businesses.id AND conversation_id = ? AND seq > ? AND seq <= ?)",
      select(kEventColumns,
             "FROM events WHERE business_id IS NULL AND conversation_id = ? AND seq > ? AND seq <= ? ORDER BY seq"
             " LIMIT ?"),
      select(kEventColumns, "FROM events WHERE business_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
      select(kEventColumns,
             "FROM events WHERE business_id = ? AND conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
      select(kRequestColumns,
             "FROM auth_requests WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at, created_at, id LIMIT ?"),
      "SELECT COUNT(*) FROM auth_requests WHERE status = 'pending'",
      select(kDeliveryColumns, "FROM deliveries WHERE request_id = ?"),
      select(kRequestColumns, "FROM auth_requests WHERE profile_pending = 1 ORDER BY updated_at, id LIMIT ?"),
      select(kSubscriptionColumns, "FROM subscriptions WHERE id = ?"),
      select(kSubscriptionColumns, "FROM subscriptions ORDER BY id"),
      select(kDeliveryColumns,
             "FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, request_id"
             " LIMIT ?"),
      select(kWebhookColumns,
             "FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND NOT EXISTS"
             " (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'pending' AND e.subscription_id ="
             " d.subscription_id AND e.conversation_id = d.conversation_id AND e.event_seq < d.event_seq)"
             " ORDER BY d.event_seq, d.id LIMIT ?"),
      select(kWebhookColumns,
             "FROM webhook_deliveries WHERE status = 'dead' ORDER BY updated_at DESC, id DESC LIMIT ?"),
      select(kWebhookColumns,
             "FROM webhook_deliveries WHERE status = 'dead' AND subscription_id IN"
             " (SELECT id FROM subscriptions WHERE business_id = ?) ORDER BY updated_at DESC, id DESC LIMIT ?"),
      select(kEventColumns, "FROM events WHERE seq = ?"),
      "SELECT id, sealed_client_secret FROM providers WHERE sealed_client_secret IS NOT NULL",
      "SELECT request_id, sealed_body FROM deliveries",
      "SELECT id, sealed_secret FROM subscriptions",
      "SELECT request_id, kind, sealed FROM request_secrets",
  };
  BOOST_TEST(store.sqls == expected, boost::test_tools::per_element());
  // The operation names errors carry ("store: <what>: ...") are the Store methods'.
  BOOST_TEST(store.whats.front() == "provider");
  BOOST_TEST(store.whats.back() == "sealedValues");
  // Nothing found reads as none / empty / zero.
  BOOST_TEST(!store.provider("p").has_value());
  BOOST_TEST(store.pendingCount() == 0);
}

BOOST_AUTO_TEST_CASE(rows_read_into_values) {
  const std::vector<int> rows = {1, 2, 3};
  const auto twice = [](const int& row) { return row * 2; };
  BOOST_TEST(util::convertAll(rows, twice) == std::vector<int>({2, 4, 6}), boost::test_tools::per_element());
  BOOST_TEST(util::firstOrNone(rows, twice).value() == 2);
  BOOST_TEST(!util::firstOrNone(std::vector<int>{}, twice).has_value());
}

BOOST_AUTO_TEST_CASE(both_outboxes_update_their_retry_state_with_one_statement) {
  BOOST_TEST(util::retryStateUpdate("deliveries", "request_id") ==
             "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_http_status = ?,"
             " last_error = ?, updated_at = ? WHERE request_id = ?");
  BOOST_TEST(util::retryStateUpdate("webhook_deliveries", "id") ==
             "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_http_status = ?,"
             " last_error = ?, updated_at = ? WHERE id = ?");
}

BOOST_AUTO_TEST_CASE(poco_errors_become_the_stores_errors) {
  BOOST_CHECK_THROW(util::guarded<isUnavailableForTest>("write", [] { throw Poco::Exception("disk full"); }),
                    UnavailableError);
  try {
    util::guarded<isUnavailableForTest>("write", [] { throw Poco::Exception("syntax error"); });
    BOOST_FAIL("no error");
  } catch (const UnavailableError&) {
    BOOST_FAIL("not an unavailable store");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "store: write: Exception: syntax error");
  }
  BOOST_TEST(util::guarded<isUnavailableForTest>("read", [] { return 42; }) == 42);
}

BOOST_AUTO_TEST_CASE(a_transaction_is_usable_only_while_it_is_open) {
  util::OpenFlag open;
  BOOST_CHECK_NO_THROW(open.check());
  open.end();
  BOOST_CHECK_THROW(open.check(), std::logic_error);
}

namespace {

// A database for applyMigrations: a version and a log of what ran.
struct FakeDatabase {
  Poco::Int64 version = 0;
  Poco::Int64 pending = 0;  // recorded inside the open transaction
  std::vector<std::string> log;
  std::string failOn;

  util::MigrationSteps steps() {
    return {
        [this] { log.push_back("BEGIN"); },
        [this] { return version; },
        [this](const std::string& sql) {
          if (sql == failOn) throw Poco::Exception("bad statement");
          log.push_back(sql);
        },
        [this](Poco::Int64 v) { pending = v; },
        [this] {
          log.push_back("COMMIT");
          if (pending != 0) version = pending;
          pending = 0;
        },
        [this] {
          log.push_back("ROLLBACK");
          pending = 0;
        },
    };
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(migrations_apply_what_the_database_lacks_each_in_its_own_transaction) {
  const util::Migrations all = {{"A1", "A2"}, {"B"}, {"C"}};
  FakeDatabase db;
  db.version = 1;
  util::applyMigrations(all, db.steps());
  BOOST_TEST(db.version == 3);
  BOOST_TEST(db.log == std::vector<std::string>({"BEGIN", "COMMIT", "BEGIN", "B", "COMMIT", "BEGIN", "C", "COMMIT"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_failed_migration_rolls_back_and_names_its_number) {
  const util::Migrations all = {{"A"}, {"B"}};
  FakeDatabase db;
  db.failOn = "B";
  try {
    util::applyMigrations(all, db.steps());
    BOOST_FAIL("no error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "migration 2: Exception: bad statement");
  }
  BOOST_TEST(db.version == 1);
  BOOST_TEST(db.log.back() == "ROLLBACK");
}

BOOST_AUTO_TEST_CASE(a_database_newer_than_this_bcauth_is_refused) {
  const util::Migrations all = {{"A"}};
  FakeDatabase db;
  db.version = 2;
  try {
    util::applyMigrations(all, db.steps());
    BOOST_FAIL("no error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "the database schema is version 2, newer than this bcauth knows (1)");
  }
  BOOST_TEST(db.log.back() == "ROLLBACK");
}
