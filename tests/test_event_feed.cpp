// The event feed's wait (issue 12 §9): Store::watchEvents announces commits, a waiting reader
// re-reads the store every eventsRecheckMillis and once more before answering empty, so an
// event committed where no notification reaches this process (another Store object on the
// same SQLite file here; another instance on PostgreSQL) is still answered.
#define BOOST_TEST_MODULE event_feed
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "test_support.h"
#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "postgres_database.h"
#include "http/views.h"
#include "service/auth_service.h"
#include "temp_dir.h"

using namespace bcauth;
using Clock = std::chrono::steady_clock;

namespace {

store::Event textEvent() { return {0, "message.received", 1'700'000'000'000, "urn:mbid:feed", "", "{}", ""}; }

void append(store::Store& db) {
  db.transaction([](store::Transaction& tx) { tx.appendEvent(textEvent()); });
}

// Counts calls (of a watch callback, of reads) and lets a test wait for the n-th.
class Counter {
 public:
  void add() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  bool waitFor(int n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return count_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

// A real store that counts events() reads, so a test can commit between two of them.
class CountingStore final : public store::Store {
 public:
  CountingStore(store::Store& inner, Counter& reads) : inner_(inner), reads_(reads) {}
  std::vector<store::Event> events(std::int64_t afterSeq, std::size_t limit) override {
    auto found = inner_.events(afterSeq, limit);
    reads_.add();
    return found;
  }
  void transaction(const std::function<void(store::Transaction&)>& fn) override { inner_.transaction(fn); }
  bool ping() override { return inner_.ping(); }
  bool writable() override { return inner_.writable(); }
  std::unique_ptr<store::EventWatch> watchEvents(std::function<void()> onEvents) override {
    return inner_.watchEvents(std::move(onEvents));
  }
  std::optional<store::Provider> provider(const std::string& id) override { return inner_.provider(id); }
  std::vector<store::Provider> providers(bool enabledOnly) override { return inner_.providers(enabledOnly); }
  std::vector<std::string> enabledSharedProviders(const std::string& b) override {
    return inner_.enabledSharedProviders(b);
  }
  std::optional<store::Conversation> conversation(const std::string& b, const std::string& c) override {
    return inner_.conversation(b, c);
  }
  std::optional<store::AuthRequest> request(const std::string& id) override { return inner_.request(id); }
  std::optional<store::AuthRequest> requestByIdentifier(const std::string& r) override {
    return inner_.requestByIdentifier(r);
  }
  std::optional<store::AuthRequest> requestByIdempotencyKey(const std::string& k) override {
    return inner_.requestByIdempotencyKey(k);
  }
  std::optional<store::AuthRequest> requestByState(const std::string& s) override { return inner_.requestByState(s); }
  std::optional<std::string> secret(const std::string& id, const std::string& kind) override {
    return inner_.secret(id, kind);
  }
  std::vector<store::Event> conversationEvents(const std::string& c, std::int64_t after, std::size_t limit) override {
    return inner_.conversationEvents(c, after, limit);
  }
  std::vector<store::Event> businessEvents(const std::string& b, std::int64_t after, std::size_t limit) override {
    auto found = inner_.businessEvents(b, after, limit);
    reads_.add();
    return found;
  }
  std::vector<store::Event> businessConversationEvents(const std::string& b, const std::string& c, std::int64_t after,
                                                       std::size_t limit) override {
    return inner_.businessConversationEvents(b, c, after, limit);
  }
  std::vector<store::AuthRequest> expiredPending(std::int64_t now, std::size_t limit) override {
    return inner_.expiredPending(now, limit);
  }
  std::int64_t pendingCount() override { return inner_.pendingCount(); }
  std::optional<store::Delivery> delivery(const std::string& id) override { return inner_.delivery(id); }
  std::vector<store::AuthRequest> profilePending(std::size_t limit) override { return inner_.profilePending(limit); }
  std::optional<store::Subscription> subscription(const std::string& id) override { return inner_.subscription(id); }
  std::vector<store::Subscription> subscriptions() override { return inner_.subscriptions(); }
  std::vector<store::WebhookDelivery> dueWebhookDeliveries(std::int64_t now, std::size_t limit) override {
    return inner_.dueWebhookDeliveries(now, limit);
  }
  std::vector<store::WebhookDelivery> deadWebhookDeliveries(std::size_t limit) override {
    return inner_.deadWebhookDeliveries(limit);
  }
  std::vector<store::WebhookDelivery> businessDeadWebhookDeliveries(const std::string& b, std::size_t limit) override {
    return inner_.businessDeadWebhookDeliveries(b, limit);
  }
  std::optional<store::Event> event(std::int64_t seq) override { return inner_.event(seq); }
  std::optional<store::Business> business(const std::string& id) override { return inner_.business(id); }
  std::vector<store::Business> businesses() override { return inner_.businesses(); }
  std::optional<store::ApiKey> apiKey(const std::string& id) override { return inner_.apiKey(id); }
  std::vector<store::ApiKey> apiKeys() override { return inner_.apiKeys(); }
  std::vector<store::SealedValue> sealedValues() override { return inner_.sealedValues(); }
  std::vector<store::Delivery> dueDeliveries(std::int64_t now, std::size_t limit) override {
    return inner_.dueDeliveries(now, limit);
  }

 private:
  store::Store& inner_;
  Counter& reads_;
};

// The service reads through one Store object; `other` is a second one on the same file, whose
// commits this service's watch never hears of — as with another instance and no notification.
struct Feed {
  std::string dir = test::freshTempDir();
  std::unique_ptr<store::Store> db = store::openSqliteStore(dir);
  std::unique_ptr<store::Store> other = store::openSqliteStore(dir);
  Counter reads;
  CountingStore counted{*db, reads};
  std::unique_ptr<service::AuthService> service;

  explicit Feed(std::int64_t recheckMillis) {
    service::ServiceConfig config;
    config.eventsRecheckMillis = recheckMillis;
    service = std::make_unique<service::AuthService>(
        counted, crypto::Sealer::fromBase64Key(crypto::base64Encode(crypto::randomBytes(32))).value(), config,
        [] { return std::int64_t{1'700'000'000'000}; });
  }

  // Starts a wait, commits through `other` once the wait's first read found nothing, and
  // returns the events answered and how long the answer took.
  std::pair<std::size_t, Clock::duration> waitAcrossACommit(std::int64_t waitMillis) {
    const auto started = Clock::now();
    auto answer = std::async(std::launch::async, [&] { return http::views::of(service->events.read(test::kOperator, 0, 10, waitMillis)); });
    BOOST_REQUIRE(reads.waitFor(1));
    append(*other);
    const auto body = answer.get();
    BOOST_REQUIRE(body.isOk());
    return {(*body)->getArray("events")->size(), Clock::now() - started};
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_empty_answer_is_read_again_at_the_deadline) {
  Feed feed(60'000);  // no recheck within the wait: only the last read can find the event
  const auto [found, took] = feed.waitAcrossACommit(700);
  BOOST_TEST(found == 1u);
  BOOST_TEST((took >= std::chrono::milliseconds(650)));  // nothing woke the wait earlier
}

BOOST_AUTO_TEST_CASE(a_waiting_reader_rechecks_the_store_without_a_notification) {
  Feed feed(100);
  const auto [found, took] = feed.waitAcrossACommit(20'000);
  BOOST_TEST(found == 1u);
  BOOST_TEST((took < std::chrono::seconds(5)));  // about one recheck period, not the 20 s deadline
  BOOST_TEST_MESSAGE("recheck every 100 ms: answered after "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
}

BOOST_AUTO_TEST_CASE(a_commit_through_the_same_store_wakes_the_wait_at_once) {
  Feed feed(60'000);
  const auto started = Clock::now();
  auto answer = std::async(std::launch::async, [&] { return http::views::of(feed.service->events.read(test::kOperator, 0, 10, 20'000)); });
  BOOST_REQUIRE(feed.reads.waitFor(1));
  append(*feed.db);
  BOOST_TEST((*answer.get())->getArray("events")->size() == 1u);
  BOOST_TEST((Clock::now() - started < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_CASE(sqlite_watch_hears_commits_that_append_events) {
  const auto db = store::openSqliteStore(test::freshTempDir());
  Counter calls;
  auto watch = db->watchEvents([&] { calls.add(); });
  db->transaction([](store::Transaction& tx) { tx.recordConversation("biz", "urn:mbid:w", std::vector<std::string>{"AUTH"}, 1); });
  BOOST_TEST(calls.count() == 0);  // no event, no call
  append(*db);
  BOOST_TEST(calls.count() == 1);
  BOOST_CHECK_THROW(db->transaction([](store::Transaction& tx) {
                      tx.appendEvent(textEvent());
                      throw std::runtime_error("rolled back");
                    }),
                    std::runtime_error);
  BOOST_TEST(calls.count() == 1);  // rolled back: nothing to announce
  watch.reset();
  append(*db);
  BOOST_TEST(calls.count() == 1);  // the watch is gone
}

// Two Store objects on one PostgreSQL database stand for two processes: a commit through one
// reaches the other's watch through LISTEN/NOTIFY.
BOOST_AUTO_TEST_CASE(postgres_watch_hears_commits_of_another_store, BCAUTH_NEEDS_POSTGRES) {
  const std::string url = test::freshPostgresDatabase();
  const auto listening = store::openPostgresStore(url);
  const auto writing = store::openPostgresStore(url);
  Counter calls;
  auto watch = listening->watchEvents([&] { calls.add(); });
  BOOST_REQUIRE(calls.waitFor(1));  // the call once LISTEN is in effect
  for (int round = 2; round <= 6; ++round) {
    const auto started = Clock::now();
    append(*writing);
    BOOST_REQUIRE(calls.waitFor(round, std::chrono::seconds(3)));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    BOOST_TEST_MESSAGE("commit → other store's watch: " << ms << " ms");
  }
  BOOST_TEST(listening->events(0, 100).size() == 5u);

  // The listener's connection dies (a failover, a restart, an administrator): it reconnects,
  // announces once (what was committed meanwhile is new), and hears commits again.
  {
    Poco::Data::Session admin("PostgreSQL", url);
    int terminated = 0;
    admin << "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE query LIKE 'LISTEN %'",
        Poco::Data::Keywords::into(terminated), Poco::Data::Keywords::now;
    BOOST_REQUIRE_EQUAL(terminated, 1);
  }
  BOOST_REQUIRE(calls.waitFor(7, std::chrono::seconds(10)));  // reconnected
  append(*writing);
  BOOST_REQUIRE(calls.waitFor(8, std::chrono::seconds(3)));
}
