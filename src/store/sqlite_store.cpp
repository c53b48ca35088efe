// The SQLite Store: one database file in WAL mode, written through one dedicated connection
// (write transactions are serialised by a mutex and BEGIN IMMEDIATE), read through a small pool
// of read-only connections that never block the writer.
//
// Connections (sqlite_connection.h: a Poco session plus its prepared statements) are not
// thread-safe: each is used by one thread at a time, the writer under writeMutex_, each reader
// while it is leased from the pool.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <Poco/Data/LOB.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Exception.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include "store/event_watchers.h"
#include "store/json_codec.h"
#include "store/rows.h"
#include "store/sqlite_connection.h"
#include "store/store.h"
#include "store/write_health.h"

namespace bcauth::store {
namespace {

using namespace rows;  // the row types and conversions both stores share

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

constexpr std::size_t kMaxReaders = 8;
// writable()'s probe: more than a use case usually writes, so that when it fits, they do too.
constexpr Poco::Int64 kProbeBytes = 64 * 1024;

// The schema, as an ordered list of migrations. Migration i (0-based) brings the database to
// version i + 1; each runs in its own transaction. Never edit a released migration: append one.
const std::vector<std::vector<std::string>>& migrations() {
  static const std::vector<std::vector<std::string>> kMigrations = {
      // 1: the initial schema.
      {
          "CREATE TABLE providers ("
          " id TEXT PRIMARY KEY NOT NULL,"
          " name TEXT NOT NULL,"
          " authorization_url TEXT NOT NULL,"
          " token_url TEXT NOT NULL,"
          " userinfo_url TEXT NOT NULL,"
          " client_id TEXT NOT NULL,"
          " sealed_client_secret BLOB,"             // NULL: no secret
          " scopes TEXT NOT NULL,"                  // JSON array of strings
          " enabled INTEGER NOT NULL,"
          " profile_fields TEXT NOT NULL,"          // JSON object, string → string
          " created_at INTEGER NOT NULL,"
          " updated_at INTEGER NOT NULL)",

          "CREATE TABLE conversations ("
          " conversation_id TEXT PRIMARY KEY NOT NULL,"
          " capabilities TEXT NOT NULL,"            // JSON array of strings
          " updated_at INTEGER NOT NULL)",

          "CREATE TABLE auth_requests ("
          " id TEXT PRIMARY KEY NOT NULL,"
          " request_identifier TEXT NOT NULL UNIQUE,"
          " conversation_id TEXT NOT NULL,"
          " business_id TEXT NOT NULL,"
          " provider_id TEXT NOT NULL,"
          " flow TEXT NOT NULL,"
          " scopes TEXT NOT NULL,"                  // JSON array of strings
          " status TEXT NOT NULL,"
          " status_reason TEXT NOT NULL,"
          " created_at INTEGER NOT NULL,"
          " updated_at INTEGER NOT NULL,"
          " expires_at INTEGER NOT NULL,"
          " message_json TEXT NOT NULL,"
          " idempotency_key TEXT UNIQUE,"           // NULL: none (NULLs never collide)
          " state TEXT UNIQUE)",

          "CREATE INDEX auth_requests_status_expires ON auth_requests (status, expires_at)",

          // Deferred: the foreign key is checked at COMMIT, so a use case may write the secret
          // before or after the request inside one transaction.
          "CREATE TABLE request_secrets ("
          " request_id TEXT NOT NULL"
          "  REFERENCES auth_requests (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
          " kind TEXT NOT NULL,"
          " sealed BLOB NOT NULL,"
          " PRIMARY KEY (request_id, kind))",

          "CREATE TABLE inbound_messages ("
          " message_id TEXT PRIMARY KEY NOT NULL,"
          " received_at INTEGER NOT NULL)",

          // AUTOINCREMENT: a seq is never reused, even after the newest events are deleted.
          "CREATE TABLE events ("
          " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
          " type TEXT NOT NULL,"
          " at INTEGER NOT NULL,"
          " conversation_id TEXT NOT NULL,"
          " auth_request_id TEXT NOT NULL,"
          " data_json TEXT NOT NULL)",

          "CREATE INDEX events_conversation_seq ON events (conversation_id, seq)",
      },
      // 2: the iOS 16+ flow — how the code exchange authenticates, what token a request holds,
      // who completed it, and a consumed state kept out of the unique index by a flag.
      {
          "ALTER TABLE providers ADD COLUMN token_auth_method TEXT NOT NULL DEFAULT 'client_secret_post'",
          "ALTER TABLE auth_requests ADD COLUMN token_type TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE auth_requests ADD COLUMN token_expires_at INTEGER NOT NULL DEFAULT 0",
          "ALTER TABLE auth_requests ADD COLUMN completed_by TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE auth_requests ADD COLUMN state_used INTEGER NOT NULL DEFAULT 0",
      },
      // 3: the delivery outbox towards Apple's gateway.
      {
          "CREATE TABLE deliveries ("
          " request_id TEXT PRIMARY KEY NOT NULL"
          "  REFERENCES auth_requests (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
          " sealed_body BLOB NOT NULL,"
          " status TEXT NOT NULL,"
          " attempts INTEGER NOT NULL,"
          " next_attempt_at INTEGER NOT NULL,"
          " last_http_status INTEGER NOT NULL,"
          " last_error TEXT NOT NULL,"
          " updated_at INTEGER NOT NULL)",
          "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
      },
      // 4: legacy successes whose auth.succeeded waits for the profile fetch.
      {
          "ALTER TABLE auth_requests ADD COLUMN profile_pending INTEGER NOT NULL DEFAULT 0",
      },
      // 5: CSP webhook subscriptions and their durable outbox.
      {
          "CREATE TABLE subscriptions ("
          " id TEXT PRIMARY KEY NOT NULL,"
          " url TEXT NOT NULL,"
          " sealed_secret BLOB NOT NULL,"
          " event_types TEXT NOT NULL,"            // JSON array of strings; [] = every type
          " enabled INTEGER NOT NULL,"
          " created_at INTEGER NOT NULL,"
          " updated_at INTEGER NOT NULL)",
          "CREATE TABLE webhook_deliveries ("
          " id INTEGER PRIMARY KEY AUTOINCREMENT,"
          " subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,"
          " event_seq INTEGER NOT NULL,"
          " conversation_id TEXT NOT NULL,"
          " status TEXT NOT NULL,"
          " attempts INTEGER NOT NULL,"
          " next_attempt_at INTEGER NOT NULL,"
          " last_http_status INTEGER NOT NULL,"
          " last_error TEXT NOT NULL,"
          " updated_at INTEGER NOT NULL)",
          "CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status, subscription_id, conversation_id, event_seq)",
      },
      // 6: the sweeper asks for profile-pending requests every tick; without an index that
      // was a scan of every request ever made.
      {
          "CREATE INDEX auth_requests_profile_pending ON auth_requests (updated_at, id) WHERE profile_pending = 1",
      },
      // 7: the hash of the body first sent with an Idempotency-Key, so reusing the key with
      // another body is refused instead of answered with the first request.
      {
          "ALTER TABLE auth_requests ADD COLUMN idempotency_body_sha256 TEXT",
      },
      // 8: where writable() tries a small write while writes fail (always empty between probes).
      {
          "CREATE TABLE store_probe (id INTEGER PRIMARY KEY, pad BLOB NOT NULL)",
      },
  };
  return kMigrations;
}

// --- small helpers ----------------------------------------------------------------------------

template <typename F>
class ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ~ScopeExit() { f_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  F f_;
};

// Turns Poco's exceptions (whose what() is only the class name) into std::runtime_error with
// the full text — UnavailableError for a full disk or an I/O error. Messages carry SQL text and
// SQLite's error, never bound values, so no secret can end up in them.
[[noreturn]] void rethrow(const char* what, const Poco::Exception& e) {
  const std::string message = std::string("store: ") + what + ": " + e.displayText();
  if (dynamic_cast<const Poco::Data::SQLite::DatabaseFullException*>(&e) != nullptr ||
      dynamic_cast<const Poco::Data::SQLite::IOErrorException*>(&e) != nullptr) {
    throw UnavailableError(message);
  }
  throw std::runtime_error(message);
}

template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Poco::Exception& e) {
    rethrow(what, e);
  }
}

// Statements that run once (DDL, PRAGMAs) go through Poco; everything else through a
// connection's prepared statements.
void exec(SqliteConnection& connection, const std::string& sql) { connection.session() << sql, now; }

Poco::Int64 toLimit(std::size_t limit) {
  return static_cast<Poco::Int64>(std::min<std::size_t>(limit, std::numeric_limits<Poco::Int64>::max()));
}

// Poco binds an empty BLOB as NULL (sqlite3_bind_blob with a null pointer), so every BLOB
// parameter goes through COALESCE(?, X'') to store an empty value as an empty BLOB.

// --- rows ---------------------------------------------------------------------------------------

// SELECT <columns> FROM <table> <tail>, binding args (copied) to the tail's placeholders.
template <typename Row, typename... Args>
std::vector<Row> selectRows(SqliteConnection& connection, const char* columns, const char* table, const std::string& tail,
                            const Args&... args) {
  return connection.select<Row>(std::string("SELECT ") + columns + " FROM " + table + " " + tail, args...);
}

template <typename Arg>
std::optional<AuthRequest> selectOneRequest(SqliteConnection& connection, const char* where, const Arg& arg) {
  auto rows = selectRows<RequestRow>(connection, kRequestColumns, "auth_requests", where, arg);
  if (rows.empty()) return std::nullopt;
  return toRequest(rows.front());
}

// --- connections --------------------------------------------------------------------------------

void registerConnectorOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

// A few read connections, opened on demand and reused; callers wait when all are in use.
class ReaderPool {
 public:
  // idle_ never reallocates, so giving a session back (from a destructor) cannot throw.
  explicit ReaderPool(std::string dbPath) : dbPath_(std::move(dbPath)) { idle_.reserve(kMaxReaders); }

  template <typename F>
  auto with(F&& f) -> decltype(f(std::declval<SqliteConnection&>())) {
    std::unique_ptr<SqliteConnection> session = acquire();
    bool healthy = false;
    ScopeExit giveBack([&] {
      if (!healthy) session.reset();
      release(std::move(session));
    });
    try {
      if constexpr (std::is_void_v<decltype(f(*session))>) {
        f(*session);
        healthy = true;
      } else {
        auto result = f(*session);
        healthy = true;
        return result;
      }
    } catch (const std::runtime_error&) {
      healthy = true;  // a malformed row, not a broken connection
      throw;
    }
  }

 private:
  std::unique_ptr<SqliteConnection> acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < kMaxReaders; });
    if (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      return session;
    }
    ++open_;
    lock.unlock();
    try {
      return std::make_unique<SqliteConnection>(dbPath_, true);
    } catch (...) {
      release(nullptr);
      throw;
    }
  }

  // A null session (a failed one) is dropped and its slot freed.
  void release(std::unique_ptr<SqliteConnection> session) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (session) idle_.push_back(std::move(session));
      else --open_;
    }
    available_.notify_one();
  }

  const std::string dbPath_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;
  std::size_t open_ = 0;
};

// --- the transaction ----------------------------------------------------------------------------

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(SqliteConnection& connection) : session_(connection) {}

  void end() { active_ = false; }
  bool appendedEvent() const { return appendedEvent_; }

  void putProvider(const Provider& p) override {
    check();
    guarded("putProvider", [&] {
      session_.run(
          "INSERT INTO providers (id, name, authorization_url, token_url, userinfo_url, client_id,"
          " sealed_client_secret, scopes, enabled, profile_fields, created_at, updated_at, token_auth_method)"
          " VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? THEN COALESCE(?, X'') END, ?, ?, ?, ?, ?, ?)"
          BCAUTH_PROVIDER_UPSERT_SET,
          p.id, p.name, p.authorizationUrl, p.tokenUrl, p.userinfoUrl, p.clientId,
          Poco::Int64{p.sealedClientSecret ? 1 : 0}, toBlob(p.sealedClientSecret.value_or(std::string())),
          json::encodeStringArray(p.scopes), Poco::Int64{p.enabled ? 1 : 0}, json::encodeStringMap(p.profileFields),
          Poco::Int64{p.createdAt}, Poco::Int64{p.updatedAt}, p.tokenAuthMethod);
    });
  }

  bool deleteProvider(const std::string& id) override {
    check();
    return guarded("deleteProvider", [&] { return session_.run("DELETE FROM providers WHERE id = ?", id) > 0; });
  }

  void recordCapabilities(const std::string& conversationId, const std::vector<std::string>& capabilities,
                          std::int64_t at) override {
    check();
    guarded("recordCapabilities", [&] {
      session_.run(
          "INSERT INTO conversations (conversation_id, capabilities, updated_at) VALUES (?, ?, ?)"
          " ON CONFLICT (conversation_id) DO UPDATE SET capabilities = excluded.capabilities,"
          " updated_at = excluded.updated_at",
          conversationId, json::encodeStringArray(capabilities), Poco::Int64{at});
    });
  }

  bool insertInboundMessageId(const std::string& messageId, std::int64_t at) override {
    check();
    return guarded("insertInboundMessageId", [&] {
      return session_.run("INSERT OR IGNORE INTO inbound_messages (message_id, received_at) VALUES (?, ?)", messageId,
                          Poco::Int64{at}) > 0;
    });
  }

  void insertRequest(const AuthRequest& r) override {
    check();
    try {
      session_.run(
          "INSERT INTO auth_requests (id, request_identifier, conversation_id, business_id, provider_id,"
          " flow, scopes, status, status_reason, created_at, updated_at, expires_at, message_json,"
          " idempotency_key, state, idempotency_body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          r.id, r.requestIdentifier, r.conversationId, r.businessId, r.providerId, r.flow,
          json::encodeStringArray(r.scopes), r.status, r.statusReason, Poco::Int64{r.createdAt},
          Poco::Int64{r.updatedAt}, Poco::Int64{r.expiresAt}, r.messageJson, toNullable(r.idempotencyKey),
          toNullable(r.state), toNullable(r.idempotencyBodySha256));
    } catch (const Poco::Data::SQLite::ConstraintViolationException& e) {
      // SQLite undoes only the failed statement: the transaction stays usable.
      const std::string text = e.displayText();
      if (text.find("UNIQUE") != std::string::npos) {
        throw DuplicateError("store: auth request already exists (" + text + ")");
      }
      throw std::runtime_error("store: insertRequest: " + text);
    } catch (const Poco::Exception& e) {
      rethrow("insertRequest", e);
    }
  }

  std::optional<AuthRequest> request(const std::string& id) override {
    check();
    return guarded("request", [&] { return selectOneRequest(session_, "WHERE id = ?", id); });
  }

  void updateRequestStatus(const std::string& id, const std::string& status, const std::string& reason,
                           std::int64_t updatedAt) override {
    check();
    const std::size_t changed = guarded("updateRequestStatus", [&] {
      return session_.run("UPDATE auth_requests SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?", status,
                          reason, Poco::Int64{updatedAt}, id);
    });
    if (changed == 0) throw std::runtime_error("store: updateRequestStatus: no auth request " + id);
  }

  bool consumeState(const std::string& requestId) override {
    check();
    return guarded("consumeState", [&] {
      return session_.run(
                 "UPDATE auth_requests SET state_used = 1 WHERE id = ? AND state IS NOT NULL AND state_used = 0",
                 requestId) > 0;
    });
  }

  void setCompletion(const std::string& id, const std::string& completedBy, const std::string& tokenType,
                     std::int64_t tokenExpiresAt) override {
    check();
    guarded("setCompletion", [&] {
      session_.run("UPDATE auth_requests SET completed_by = ?, token_type = ?, token_expires_at = ? WHERE id = ?",
                   completedBy, tokenType, Poco::Int64{tokenExpiresAt}, id);
    });
  }

  void setProfilePending(const std::string& id, bool pending) override {
    check();
    guarded("setProfilePending", [&] {
      session_.run("UPDATE auth_requests SET profile_pending = ? WHERE id = ?", Poco::Int64{pending ? 1 : 0}, id);
    });
  }

  void insertDelivery(const Delivery& d) override {
    check();
    guarded("insertDelivery", [&] {
      session_.run(
          "INSERT INTO deliveries (request_id, sealed_body, status, attempts, next_attempt_at,"
          " last_http_status, last_error, updated_at) VALUES (?, COALESCE(?, X''), ?, ?, ?, ?, ?, ?)",
          d.requestId, toBlob(d.sealedBody), d.status, Poco::Int64{d.attempts}, Poco::Int64{d.nextAttemptAt},
          Poco::Int64{d.lastHttpStatus}, d.lastError, Poco::Int64{d.updatedAt});
    });
  }

  void updateDelivery(const Delivery& d) override {
    check();
    guarded("updateDelivery", [&] {
      session_.run(
          "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_http_status = ?,"
          " last_error = ?, updated_at = ? WHERE request_id = ?",
          d.status, Poco::Int64{d.attempts}, Poco::Int64{d.nextAttemptAt}, Poco::Int64{d.lastHttpStatus}, d.lastError,
          Poco::Int64{d.updatedAt}, d.requestId);
    });
  }

  std::optional<Delivery> delivery(const std::string& requestId) override {
    check();
    return guarded("delivery", [&]() -> std::optional<Delivery> {
      auto rows = selectRows<DeliveryRow>(session_, kDeliveryColumns, "deliveries", "WHERE request_id = ?", requestId);
      if (rows.empty()) return std::nullopt;
      return toDelivery(rows.front());
    });
  }

  void putSecret(const std::string& requestId, const std::string& kind, const std::string& sealed) override {
    check();
    guarded("putSecret", [&] {
      session_.run(
          "INSERT INTO request_secrets (request_id, kind, sealed) VALUES (?, ?, COALESCE(?, X''))"
          " ON CONFLICT (request_id, kind) DO UPDATE SET sealed = excluded.sealed",
          requestId, kind, toBlob(sealed));
    });
  }

  void deleteSecret(const std::string& requestId, const std::string& kind) override {
    check();
    guarded("deleteSecret",
            [&] { session_.run("DELETE FROM request_secrets WHERE request_id = ? AND kind = ?", requestId, kind); });
  }

  std::int64_t appendEvent(const Event& e) override {
    check();
    return guarded("appendEvent", [&] {
      session_.run("INSERT INTO events (type, at, conversation_id, auth_request_id, data_json) VALUES (?, ?, ?, ?, ?)",
                   e.type, Poco::Int64{e.at}, e.conversationId, e.authRequestId, e.dataJson);
      const Poco::Int64 seq = session_.lastInsertRowid();
      appendedEvent_ = true;
      return std::int64_t{seq};
    });
  }

  std::vector<Subscription> enabledSubscriptions() override {
    check();
    return guarded("enabledSubscriptions", [&] {
      std::vector<Subscription> out;
      for (const auto& row :
           selectRows<SubscriptionRow>(session_, kSubscriptionColumns, "subscriptions", "WHERE enabled = 1 ORDER BY id")) {
        out.push_back(toSubscription(row));
      }
      return out;
    });
  }

  void enqueueWebhookDelivery(const WebhookDelivery& d) override {
    check();
    guarded("enqueueWebhookDelivery", [&] {
      session_.run(
          "INSERT INTO webhook_deliveries (subscription_id, event_seq, conversation_id, status, attempts,"
          " next_attempt_at, last_http_status, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          d.subscriptionId, Poco::Int64{d.eventSeq}, d.conversationId, d.status, Poco::Int64{d.attempts},
          Poco::Int64{d.nextAttemptAt}, Poco::Int64{d.lastHttpStatus}, d.lastError, Poco::Int64{d.updatedAt});
    });
  }

  void replaceSealed(const SealedValue& value) override {
    check();
    guarded("replaceSealed", [&] {
      const auto blob = toBlob(value.sealed);
      if (value.table == "providers") {
        session_.run("UPDATE providers SET sealed_client_secret = COALESCE(?, X'') WHERE id = ?", blob, value.id);
      } else if (value.table == "request_secrets") {
        session_.run("UPDATE request_secrets SET sealed = COALESCE(?, X'') WHERE request_id = ? AND kind = ?", blob,
                     value.id, value.kind);
      } else if (value.table == "deliveries") {
        session_.run("UPDATE deliveries SET sealed_body = COALESCE(?, X'') WHERE request_id = ?", blob, value.id);
      } else if (value.table == "subscriptions") {
        session_.run("UPDATE subscriptions SET sealed_secret = COALESCE(?, X'') WHERE id = ?", blob, value.id);
      } else {
        throw std::invalid_argument("store: replaceSealed: unknown table " + value.table);
      }
    });
  }

  void putSubscription(const Subscription& sub) override {
    check();
    guarded("putSubscription", [&] {
      session_.run(
          "INSERT INTO subscriptions (id, url, sealed_secret, event_types, enabled, created_at, updated_at)"
          " VALUES (?, ?, COALESCE(?, X''), ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url,"
          " sealed_secret = excluded.sealed_secret, event_types = excluded.event_types,"
          " enabled = excluded.enabled, created_at = excluded.created_at, updated_at = excluded.updated_at",
          sub.id, sub.url, toBlob(sub.sealedSecret), json::encodeStringArray(sub.eventTypes),
          Poco::Int64{sub.enabled ? 1 : 0}, Poco::Int64{sub.createdAt}, Poco::Int64{sub.updatedAt});
    });
  }

  bool deleteSubscription(const std::string& id) override {
    check();
    return guarded("deleteSubscription",
                   [&] { return session_.run("DELETE FROM subscriptions WHERE id = ?", id) > 0; });
  }

  std::optional<WebhookDelivery> webhookDelivery(std::int64_t id) override {
    check();
    return guarded("webhookDelivery", [&]() -> std::optional<WebhookDelivery> {
      auto rows =
          selectRows<WebhookRow>(session_, kWebhookColumns, "webhook_deliveries", "WHERE id = ?", Poco::Int64{id});
      if (rows.empty()) return std::nullopt;
      return toWebhook(rows.front());
    });
  }

  void updateWebhookDelivery(const WebhookDelivery& d) override {
    check();
    guarded("updateWebhookDelivery", [&] {
      session_.run(
          "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_http_status = ?,"
          " last_error = ?, updated_at = ? WHERE id = ?",
          d.status, Poco::Int64{d.attempts}, Poco::Int64{d.nextAttemptAt}, Poco::Int64{d.lastHttpStatus}, d.lastError,
          Poco::Int64{d.updatedAt}, Poco::Int64{d.id});
    });
  }

  // A write of kProbeBytes that leaves nothing behind but must find the room for it.
  void probe() {
    check();
    guarded("probe", [&] {
      session_.run("INSERT INTO store_probe (pad) VALUES (zeroblob(?))", Poco::Int64{kProbeBytes});
      session_.run("DELETE FROM store_probe");
    });
  }

 private:
  void check() const {
    if (!active_) throw std::logic_error("store: Transaction used after its transaction() call ended");
  }

  SqliteConnection& session_;
  bool active_ = true;
  bool appendedEvent_ = false;
};

// --- the store ----------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  // Throws Poco::Exception or std::runtime_error; openSqliteStore adds the path.
  SqliteStore(const std::string& dbPath, const SqliteOptions& options)
      : readers_(dbPath), writer_(std::make_unique<SqliteConnection>(dbPath, false)) {
    std::string mode;
    writer_->session() << "PRAGMA main.journal_mode = WAL", into(mode), now;
    if (mode != "wal") throw std::runtime_error("cannot switch the database to WAL mode (it stays " + mode + ")");
    if (options.maxBytes > 0) {
      // Only the writer grows the file. SQLite keeps the limit at least the current size.
      Poco::Int64 pageSize = 0;
      writer_->session() << "PRAGMA page_size", into(pageSize), now;
      const Poco::Int64 pages = std::max<Poco::Int64>(1, options.maxBytes / pageSize);
      exec(*writer_, "PRAGMA max_page_count = " + std::to_string(pages));
    }
    migrate();
  }

  void transaction(const std::function<void(Transaction&)>& fn) override {
    if (commit(fn)) watchers_.notify();
  }

  // One process per SQLite file: its own commits are the only ones to announce.
  std::unique_ptr<EventWatch> watchEvents(std::function<void()> onEvents) override {
    return watchers_.add(std::move(onEvents));
  }

  bool writable() override {
    return health_.writable(
        [&] { transaction([](Transaction& tx) { static_cast<SqliteTransaction&>(tx).probe(); }); });
  }

  bool ping() override {
    try {
      return readers_.with([](SqliteConnection& s) {
        const auto rows = s.select<Poco::Tuple<Poco::Int64>>("SELECT 1");
        return rows.size() == 1 && rows.front().get<0>() == 1;
      });
    } catch (...) {
      return false;
    }
  }

  std::optional<Provider> provider(const std::string& id) override {
    return read("provider", [&](SqliteConnection& s) -> std::optional<Provider> {
      auto rows = selectRows<ProviderRow>(s, kProviderColumns, "providers", "WHERE id = ?", id);
      if (rows.empty()) return std::nullopt;
      return toProvider(rows.front());
    });
  }

  std::vector<Provider> providers(bool enabledOnly) override {
    return read("providers", [&](SqliteConnection& s) {
      auto rows = selectRows<ProviderRow>(s, kProviderColumns, "providers",
                                          enabledOnly ? "WHERE enabled <> 0 ORDER BY id" : "ORDER BY id");
      std::vector<Provider> out;
      out.reserve(rows.size());
      for (const auto& row : rows) out.push_back(toProvider(row));
      return out;
    });
  }

  std::optional<std::vector<std::string>> capabilities(const std::string& conversationId) override {
    return read("capabilities", [&](SqliteConnection& s) -> std::optional<std::vector<std::string>> {
      const auto rows = s.select<Poco::Tuple<std::string>>(
          "SELECT capabilities FROM conversations WHERE conversation_id = ?", conversationId);
      if (rows.empty()) return std::nullopt;
      return json::decodeStringArray(rows.front().get<0>());
    });
  }

  std::optional<AuthRequest> request(const std::string& id) override {
    return read("request", [&](SqliteConnection& s) { return selectOneRequest(s, "WHERE id = ?", id); });
  }

  std::optional<AuthRequest> requestByIdentifier(const std::string& requestIdentifier) override {
    return read("requestByIdentifier", [&](SqliteConnection& s) {
      return selectOneRequest(s, "WHERE request_identifier = ?", requestIdentifier);
    });
  }

  std::optional<AuthRequest> requestByIdempotencyKey(const std::string& key) override {
    return read("requestByIdempotencyKey",
                [&](SqliteConnection& s) { return selectOneRequest(s, "WHERE idempotency_key = ?", key); });
  }

  std::optional<AuthRequest> requestByState(const std::string& state) override {
    return read("requestByState", [&](SqliteConnection& s) { return selectOneRequest(s, "WHERE state = ?", state); });
  }

  std::optional<std::string> secret(const std::string& requestId, const std::string& kind) override {
    return read("secret", [&](SqliteConnection& s) -> std::optional<std::string> {
      const auto rows = s.select<Poco::Tuple<Poco::Data::BLOB>>(
          "SELECT sealed FROM request_secrets WHERE request_id = ? AND kind = ?", requestId, kind);
      if (rows.empty()) return std::nullopt;
      return fromBlob(rows.front().get<0>());
    });
  }

  std::vector<Event> events(std::int64_t afterSeq, std::size_t limit) override {
    return read("events", [&](SqliteConnection& s) {
      return toEvents(selectRows<EventRow>(s, kEventColumns, "events", "WHERE seq > ? ORDER BY seq LIMIT ?",
                                           Poco::Int64{afterSeq}, toLimit(limit)));
    });
  }

  std::vector<Event> conversationEvents(const std::string& conversationId, std::int64_t afterSeq,
                                        std::size_t limit) override {
    return read("conversationEvents", [&](SqliteConnection& s) {
      return toEvents(selectRows<EventRow>(s, kEventColumns, "events",
                                           "WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?", conversationId,
                                           Poco::Int64{afterSeq}, toLimit(limit)));
    });
  }

  std::vector<AuthRequest> expiredPending(std::int64_t nowMs, std::size_t limit) override {
    return read("expiredPending", [&](SqliteConnection& s) {
      auto rows = selectRows<RequestRow>(s, kRequestColumns, "auth_requests",
                                         "WHERE status = ? AND expires_at <= ? ORDER BY expires_at, created_at, id"
                                         " LIMIT ?",
                                         std::string(status::kPending), Poco::Int64{nowMs}, toLimit(limit));
      std::vector<AuthRequest> out;
      out.reserve(rows.size());
      for (const auto& row : rows) out.push_back(toRequest(row));
      return out;
    });
  }

  std::optional<Delivery> delivery(const std::string& requestId) override {
    return read("delivery", [&](SqliteConnection& s) -> std::optional<Delivery> {
      auto rows = selectRows<DeliveryRow>(s, kDeliveryColumns, "deliveries", "WHERE request_id = ?", requestId);
      if (rows.empty()) return std::nullopt;
      return toDelivery(rows.front());
    });
  }

  std::optional<Subscription> subscription(const std::string& id) override {
    return read("subscription", [&](SqliteConnection& s) -> std::optional<Subscription> {
      auto rows = selectRows<SubscriptionRow>(s, kSubscriptionColumns, "subscriptions", "WHERE id = ?", id);
      if (rows.empty()) return std::nullopt;
      return toSubscription(rows.front());
    });
  }

  std::vector<Subscription> subscriptions() override {
    return read("subscriptions", [&](SqliteConnection& s) {
      auto rows = selectRows<SubscriptionRow>(s, kSubscriptionColumns, "subscriptions", "ORDER BY id");
      std::vector<Subscription> out;
      for (const auto& row : rows) out.push_back(toSubscription(row));
      return out;
    });
  }

  std::vector<WebhookDelivery> dueWebhookDeliveries(std::int64_t nowMs, std::size_t limit) override {
    return read("dueWebhookDeliveries", [&](SqliteConnection& s) {
      auto rows = selectRows<WebhookRow>(
          s, kWebhookColumns, "webhook_deliveries d",
          "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e"
          " WHERE e.status = 'pending' AND e.subscription_id = d.subscription_id AND e.conversation_id = "
          "d.conversation_id"
          " AND e.event_seq < d.event_seq) ORDER BY d.event_seq, d.id LIMIT ?",
          Poco::Int64{nowMs}, toLimit(limit));
      std::vector<WebhookDelivery> out;
      for (const auto& row : rows) out.push_back(toWebhook(row));
      return out;
    });
  }

  std::vector<WebhookDelivery> deadWebhookDeliveries(std::size_t limit) override {
    return read("deadWebhookDeliveries", [&](SqliteConnection& s) {
      auto rows =
          selectRows<WebhookRow>(s, kWebhookColumns, "webhook_deliveries",
                                 "WHERE status = 'dead' ORDER BY updated_at DESC, id DESC LIMIT ?", toLimit(limit));
      std::vector<WebhookDelivery> out;
      for (const auto& row : rows) out.push_back(toWebhook(row));
      return out;
    });
  }

  std::optional<Event> event(std::int64_t seq) override {
    return read("event", [&](SqliteConnection& s) -> std::optional<Event> {
      auto rows = selectRows<EventRow>(s, kEventColumns, "events", "WHERE seq = ?", Poco::Int64{seq});
      if (rows.empty()) return std::nullopt;
      return toEvent(rows.front());
    });
  }

  std::vector<SealedValue> sealedValues() override {
    return read("sealedValues", [&](SqliteConnection& s) {
      std::vector<SealedValue> out;
      using Pair = Poco::Tuple<std::string, Poco::Data::BLOB>;
      for (const auto& row :
           s.select<Pair>("SELECT id, sealed_client_secret FROM providers WHERE sealed_client_secret IS NOT NULL")) {
        out.push_back({"providers", row.get<0>(), "", fromBlob(row.get<1>())});
      }
      for (const auto& row : s.select<Pair>("SELECT request_id, sealed_body FROM deliveries")) {
        out.push_back({"deliveries", row.get<0>(), "", fromBlob(row.get<1>())});
      }
      for (const auto& row : s.select<Pair>("SELECT id, sealed_secret FROM subscriptions")) {
        out.push_back({"subscriptions", row.get<0>(), "", fromBlob(row.get<1>())});
      }
      using Secret = Poco::Tuple<std::string, std::string, Poco::Data::BLOB>;
      for (const auto& row : s.select<Secret>("SELECT request_id, kind, sealed FROM request_secrets"))
        out.push_back({"request_secrets", row.get<0>(), row.get<1>(), fromBlob(row.get<2>())});
      return out;
    });
  }

  std::vector<AuthRequest> profilePending(std::size_t limit) override {
    return read("profilePending", [&](SqliteConnection& s) {
      auto rows = selectRows<RequestRow>(s, kRequestColumns, "auth_requests",
                                         "WHERE profile_pending = 1 ORDER BY updated_at, id LIMIT ?", toLimit(limit));
      std::vector<AuthRequest> out;
      for (const auto& row : rows) out.push_back(toRequest(row));
      return out;
    });
  }

  std::vector<Delivery> dueDeliveries(std::int64_t nowMs, std::size_t limit) override {
    return read("dueDeliveries", [&](SqliteConnection& s) {
      auto rows = selectRows<DeliveryRow>(s, kDeliveryColumns, "deliveries",
                                          "WHERE status = 'pending' AND next_attempt_at <= ?"
                                          " ORDER BY next_attempt_at, request_id LIMIT ?",
                                          Poco::Int64{nowMs}, toLimit(limit));
      std::vector<Delivery> out;
      for (const auto& row : rows) out.push_back(toDelivery(row));
      return out;
    });
  }

  std::int64_t pendingCount() override {
    return read("pendingCount", [&](SqliteConnection& s) {
      const auto rows = s.select<Poco::Tuple<Poco::Int64>>("SELECT COUNT(*) FROM auth_requests WHERE status = ?",
                                                           std::string(status::kPending));
      return rows.empty() ? std::int64_t{0} : std::int64_t{rows.front().get<0>()};
    });
  }

 private:
  // Runs fn in one transaction; true when it committed an event.
  bool commit(const std::function<void(Transaction&)>& fn) {
    if (writerThread_.load() == std::this_thread::get_id()) {
      throw std::logic_error("store: transaction() called inside a transaction on the same thread");
    }
    std::lock_guard<std::mutex> lock(writeMutex_);
    writerThread_.store(std::this_thread::get_id());
    ScopeExit clearOwner([&] { writerThread_.store(std::thread::id()); });

    bool appendedEvent = false;
    health_.track([&] {
      guarded("begin", [&] { writer_->run("BEGIN IMMEDIATE"); });
      SqliteTransaction tx(*writer_);
      try {
        fn(tx);
        tx.end();
        guarded("commit", [&] { writer_->run("COMMIT"); });
      } catch (...) {
        tx.end();
        rollbackQuietly();
        throw;
      }
      appendedEvent = tx.appendedEvent();
    });
    return appendedEvent;
  }

  template <typename F>
  auto read(const char* what, F&& f) -> decltype(f(std::declval<SqliteConnection&>())) {
    return guarded(what, [&] { return readers_.with(f); });
  }

  static std::vector<Event> toEvents(const std::vector<EventRow>& rows) {
    std::vector<Event> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(toEvent(row));
    return out;
  }

  void rollbackQuietly() noexcept {
    try {
      exec(*writer_, "ROLLBACK");
    } catch (...) {
      // SQLite may already have rolled back (e.g. after SQLITE_FULL); nothing is left to undo.
    }
  }

  // Applies the migrations the database lacks, each in its own IMMEDIATE transaction (so two
  // processes opening the same file at once cannot both apply one).
  void migrate() {
    const auto& all = migrations();
    exec(*writer_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY NOT NULL)");
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto target = static_cast<Poco::Int64>(i + 1);
      try {
        exec(*writer_, "BEGIN IMMEDIATE");
        Poco::Int64 current = 0;
        writer_->session() << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
        if (current > static_cast<Poco::Int64>(all.size())) {
          throw std::runtime_error("the database schema is version " + std::to_string(current) +
                                   ", newer than this bcauth knows (" + std::to_string(all.size()) + ")");
        }
        if (current < target) {
          for (const auto& sql : all[i]) exec(*writer_, sql);
          writer_->run("INSERT INTO schema_version (version) VALUES (?)", target);
        }
        exec(*writer_, "COMMIT");
      } catch (const Poco::Exception& e) {
        rollbackQuietly();
        throw std::runtime_error("migration " + std::to_string(target) + ": " + e.displayText());
      } catch (...) {
        rollbackQuietly();
        throw;
      }
    }
  }

  ReaderPool readers_;
  std::unique_ptr<SqliteConnection> writer_;
  WriteHealth health_;
  std::mutex writeMutex_;
  std::atomic<std::thread::id> writerThread_{};
  EventWatchers watchers_;
};

}  // namespace

std::unique_ptr<Store> openSqliteStore(const std::string& dataDir, const SqliteOptions& options) {
  if (dataDir.empty()) throw std::invalid_argument("store: the data directory is empty");
  const std::filesystem::path dir(dataDir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    throw std::runtime_error("store: cannot create the data directory " + dataDir + ": " +
                             (ec ? ec.message() : std::string("not a directory")));
  }
  registerConnectorOnce();
  const std::string dbPath = (dir / "bcauth.db").string();
  try {
    return std::make_unique<SqliteStore>(dbPath, options);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("store: cannot open " + dbPath + ": " + e.displayText());
  } catch (const std::exception& e) {
    throw std::runtime_error("store: cannot open " + dbPath + ": " + e.what());
  }
}

}  // namespace bcauth::store
