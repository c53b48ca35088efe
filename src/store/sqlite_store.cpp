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
#include "store/sql_reads.h"
#include "store/sqlite_connection.h"
#include "store/store.h"
#include "store/store_util.h"
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
constexpr util::SqlDialect kDialect{"TEXT", "INTEGER", "BLOB", "CAST(strftime('%s', 'now') AS INTEGER) * 1000"};

// Every column migration 12 copies into the rebuilt auth_requests and events.
#define BCAUTH_REQUEST_COLUMNS_12                                                                            \
  "id, request_identifier, conversation_id, business_id, provider_id, flow, scopes, status, status_reason," \
  " created_at, updated_at, expires_at, message_json, idempotency_key, state, token_type, token_expires_at," \
  " completed_by, state_used, profile_pending, idempotency_body_sha256"
#define BCAUTH_EVENT_COLUMNS_12 "seq, type, at, conversation_id, auth_request_id, data_json, business_id"

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

          // AUTOINCREMENT until migration 12 (which says why a rowid does as well).
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
      // 9: tenancy — businesses, API keys, and who owns what (store_util.h says how data moves).
      util::tenancyMigration(kDialect),
      // 10: conversations named by business and customer (store_util.h).
      util::conversationsByBusinessMigration(kDialect),
      // 11: fewer B-tree pages per commit — every page a commit changes is a 4 KiB WAL frame.
      // The tables only ever read by their key keep each row in that key (WITHOUT ROWID)
      // rather than in a rowid table plus an index of the key, and the sweeper's index holds
      // pending requests only, so a request that ends leaves it instead of moving within it.
      // (Nothing references these three tables, so they are rebuilt with foreign keys on.)
      {
          "CREATE TABLE request_secrets_11 ("
          " request_id TEXT NOT NULL"
          "  REFERENCES auth_requests (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
          " kind TEXT NOT NULL,"
          " sealed BLOB NOT NULL,"
          " PRIMARY KEY (request_id, kind)) WITHOUT ROWID",
          "INSERT INTO request_secrets_11 (request_id, kind, sealed) SELECT request_id, kind, sealed FROM request_secrets",
          "DROP TABLE request_secrets",
          "ALTER TABLE request_secrets_11 RENAME TO request_secrets",

          "CREATE TABLE inbound_messages_11 ("
          " message_id TEXT PRIMARY KEY NOT NULL,"
          " received_at INTEGER NOT NULL) WITHOUT ROWID",
          "INSERT INTO inbound_messages_11 (message_id, received_at) SELECT message_id, received_at FROM inbound_messages",
          "DROP TABLE inbound_messages",
          "ALTER TABLE inbound_messages_11 RENAME TO inbound_messages",

          "CREATE TABLE conversations_11 ("
          " business_id TEXT NOT NULL,"
          " conversation_id TEXT NOT NULL,"
          " capabilities TEXT,"
          " updated_at INTEGER NOT NULL,"
          " PRIMARY KEY (business_id, conversation_id)) WITHOUT ROWID",
          "INSERT INTO conversations_11 (business_id, conversation_id, capabilities, updated_at)"
          " SELECT business_id, conversation_id, capabilities, updated_at FROM conversations",
          "DROP TABLE conversations",
          "ALTER TABLE conversations_11 RENAME TO conversations",

          "DROP INDEX IF EXISTS auth_requests_status_expires",
          "CREATE INDEX auth_requests_pending_expiry ON auth_requests (expires_at, created_at, id) WHERE status = 'pending'",
      },
      // 12: two B-tree pages fewer per create and one fewer per event.
      //  - idempotency_key and state were UNIQUE columns, so every request had an entry in both
      //    indexes (a NULL one when it has neither, which is most requests): the indexes become
      //    partial, holding the requests that have the value. A column's UNIQUE cannot be
      //    dropped, so auth_requests is rebuilt (migrate() turns foreign keys off around the
      //    migrations, so dropping the old table cascades to nothing, and checks them before
      //    each commit).
      //  - events.seq loses AUTOINCREMENT, whose counter row in sqlite_sequence every event
      //    rewrote. Events are never deleted, so the largest seq plus one (what a rowid gets)
      //    never reuses a seq either; a feature that deletes events must keep the newest one.
      {
          "CREATE TABLE auth_requests_12 ("
          " id TEXT PRIMARY KEY NOT NULL,"
          " request_identifier TEXT NOT NULL UNIQUE,"
          " conversation_id TEXT NOT NULL,"
          " business_id TEXT NOT NULL,"
          " provider_id TEXT NOT NULL,"
          " flow TEXT NOT NULL,"
          " scopes TEXT NOT NULL,"
          " status TEXT NOT NULL,"
          " status_reason TEXT NOT NULL,"
          " created_at INTEGER NOT NULL,"
          " updated_at INTEGER NOT NULL,"
          " expires_at INTEGER NOT NULL,"
          " message_json TEXT NOT NULL,"
          " idempotency_key TEXT,"
          " state TEXT,"
          " token_type TEXT NOT NULL DEFAULT '',"
          " token_expires_at INTEGER NOT NULL DEFAULT 0,"
          " completed_by TEXT NOT NULL DEFAULT '',"
          " state_used INTEGER NOT NULL DEFAULT 0,"
          " profile_pending INTEGER NOT NULL DEFAULT 0,"
          " idempotency_body_sha256 TEXT)",
          "INSERT INTO auth_requests_12 (" BCAUTH_REQUEST_COLUMNS_12 ") SELECT " BCAUTH_REQUEST_COLUMNS_12
          " FROM auth_requests",
          "DROP TABLE auth_requests",
          "ALTER TABLE auth_requests_12 RENAME TO auth_requests",
          "CREATE UNIQUE INDEX auth_requests_idempotency_key ON auth_requests (idempotency_key)"
          " WHERE idempotency_key IS NOT NULL",
          "CREATE UNIQUE INDEX auth_requests_state ON auth_requests (state) WHERE state IS NOT NULL",
          "CREATE INDEX auth_requests_profile_pending ON auth_requests (updated_at, id) WHERE profile_pending = 1",
          "CREATE INDEX auth_requests_business ON auth_requests (business_id, created_at)",
          "CREATE INDEX auth_requests_pending_expiry ON auth_requests (expires_at, created_at, id) WHERE status = 'pending'",

          "CREATE TABLE events_12 ("
          " seq INTEGER PRIMARY KEY,"
          " type TEXT NOT NULL,"
          " at INTEGER NOT NULL,"
          " conversation_id TEXT NOT NULL,"
          " auth_request_id TEXT NOT NULL,"
          " data_json TEXT NOT NULL,"
          " business_id TEXT)",
          "INSERT INTO events_12 (" BCAUTH_EVENT_COLUMNS_12 ") SELECT " BCAUTH_EVENT_COLUMNS_12 " FROM events",
          "DROP TABLE events",
          "ALTER TABLE events_12 RENAME TO events",
          "CREATE INDEX events_conversation_seq ON events (conversation_id, seq)",
          "CREATE INDEX events_business_seq ON events (business_id, seq)",
          "CREATE INDEX events_business_conversation_seq ON events (business_id, conversation_id, seq)",
      },
      // 13: one B-tree page fewer per event: the index of events by conversation alone goes.
      // Only the operator's page of one conversation across businesses read it, and that read
      // now walks events_business_conversation_seq business by business (sql_reads.h).
      {
          "DROP INDEX IF EXISTS events_conversation_seq",
      },
  };
  return kMigrations;
}

#undef BCAUTH_REQUEST_COLUMNS_12
#undef BCAUTH_EVENT_COLUMNS_12

// --- small helpers ----------------------------------------------------------------------------

using util::ScopeExit;

// A full disk or an I/O error: waiting (or freeing space) may cure it.
bool isUnavailable(const Poco::Exception& e) {
  return dynamic_cast<const Poco::Data::SQLite::DatabaseFullException*>(&e) != nullptr ||
         dynamic_cast<const Poco::Data::SQLite::IOErrorException*>(&e) != nullptr;
}

template <typename F>
decltype(auto) guarded(const char* what, F&& f) {
  return util::guarded<isUnavailable>(what, std::forward<F>(f));
}

// Statements that run once (DDL, PRAGMAs) go through Poco; everything else through a
// connection's prepared statements.
void exec(SqliteConnection& connection, const std::string& sql) { connection.session() << sql, now; }

// Poco binds an empty BLOB as NULL (sqlite3_bind_blob with a null pointer), so every BLOB
// parameter goes through COALESCE(?, X'') to store an empty value as an empty BLOB.

// --- connections --------------------------------------------------------------------------------

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

class SqliteTransaction final : public SqlTransactionReads<SqliteTransaction> {
 public:
  explicit SqliteTransaction(SqliteConnection& connection) : session_(connection) {}

  void end() { open_.end(); }
  bool appendedEvent() const { return appendedEvent_; }

  void putProvider(const Provider& p) override {
    run("putProvider", [&] {
      session_.run(
          "INSERT INTO providers (id, name, authorization_url, token_url, userinfo_url, client_id,"
          " sealed_client_secret, scopes, enabled, profile_fields, created_at, updated_at, token_auth_method,"
          " business_id) VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? THEN COALESCE(?, X'') END, ?, ?, ?, ?, ?, ?, ?)"
          BCAUTH_PROVIDER_UPSERT_SET,
          p.id, p.name, p.authorizationUrl, p.tokenUrl, p.userinfoUrl, p.clientId,
          Poco::Int64{p.sealedClientSecret ? 1 : 0}, toBlob(p.sealedClientSecret.value_or(std::string())),
          json::encodeStringArray(p.scopes), Poco::Int64{p.enabled ? 1 : 0}, json::encodeStringMap(p.profileFields),
          Poco::Int64{p.createdAt}, Poco::Int64{p.updatedAt}, p.tokenAuthMethod, ownerOrNull(p.businessId));
      // A provider that now belongs to a business is no other business's to enable.
      if (!p.businessId.empty()) session_.run("DELETE FROM business_providers WHERE provider_id = ?", p.id);
    });
  }

  bool deleteProvider(const std::string& id) override {
    return run("deleteProvider", [&] {
      session_.run("DELETE FROM business_providers WHERE provider_id = ?", id);
      return session_.run("DELETE FROM providers WHERE id = ?", id) > 0;
    });
  }

  bool setProviderEnabledFor(const std::string& businessId, const std::string& providerId, bool enabled) override {
    return run("setProviderEnabledFor", [&] {
      return session_.run(enabled ? kEnableProvider : kDisableProvider, businessId, providerId) > 0;
    });
  }

  void recordConversation(const std::string& businessId, const std::string& conversationId,
                          const std::optional<std::vector<std::string>>& capabilities, std::int64_t at) override {
    run("recordConversation", [&] {
      session_.run(kRecordConversation, businessId, conversationId, capabilitiesOrNull(capabilities), Poco::Int64{at});
    });
  }

  bool insertInboundMessageId(const std::string& messageId, std::int64_t at) override {
    return run("insertInboundMessageId", [&] {
      return session_.run("INSERT OR IGNORE INTO inbound_messages (message_id, received_at) VALUES (?, ?)", messageId,
                          Poco::Int64{at}) > 0;
    });
  }

  void insertRequest(const AuthRequest& r) override {
    open_.check();
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
      util::rethrow("insertRequest", e, isUnavailable(e));
    }
  }

  bool consumeState(const std::string& requestId) override {
    return run("consumeState", [&] {
      return session_.run(
                 "UPDATE auth_requests SET state_used = 1 WHERE id = ? AND state IS NOT NULL AND state_used = 0",
                 requestId) > 0;
    });
  }

  void setCompletion(const std::string& id, const std::string& completedBy, const std::string& tokenType,
                     std::int64_t tokenExpiresAt) override {
    run("setCompletion", [&] {
      session_.run("UPDATE auth_requests SET completed_by = ?, token_type = ?, token_expires_at = ? WHERE id = ?",
                   completedBy, tokenType, Poco::Int64{tokenExpiresAt}, id);
    });
  }

  void setProfilePending(const std::string& id, bool pending) override {
    run("setProfilePending", [&] {
      session_.run("UPDATE auth_requests SET profile_pending = ? WHERE id = ?", Poco::Int64{pending ? 1 : 0}, id);
    });
  }

  void endRequest(const std::string& id, const RequestEnd& end) override {
    const std::size_t changed = run("endRequest", [&] {
      return session_.run(
          "UPDATE auth_requests SET status = ?, status_reason = ?, updated_at = ?, completed_by = ?, token_type = ?,"
          " token_expires_at = ? WHERE id = ?",
          end.status, end.reason, Poco::Int64{end.updatedAt}, end.completedBy, end.tokenType,
          Poco::Int64{end.tokenExpiresAt}, id);
    });
    if (changed == 0) throw std::runtime_error("store: endRequest: no auth request " + id);
  }

  void insertDelivery(const Delivery& d) override {
    run("insertDelivery", [&] {
      session_.run(
          "INSERT INTO deliveries (request_id, sealed_body, status, attempts, next_attempt_at,"
          " last_http_status, last_error, updated_at) VALUES (?, COALESCE(?, X''), ?, ?, ?, ?, ?, ?)",
          d.requestId, toBlob(d.sealedBody), d.status, Poco::Int64{d.attempts}, Poco::Int64{d.nextAttemptAt},
          Poco::Int64{d.lastHttpStatus}, d.lastError, Poco::Int64{d.updatedAt});
    });
  }

  void updateDelivery(const Delivery& d) override {
    updateRetryState("updateDelivery", "deliveries", "request_id", d, d.requestId);
  }

  void putSecret(const std::string& requestId, const std::string& kind, const std::string& sealed) override {
    run("putSecret", [&] {
      session_.run(
          "INSERT INTO request_secrets (request_id, kind, sealed) VALUES (?, ?, COALESCE(?, X''))"
          " ON CONFLICT (request_id, kind) DO UPDATE SET sealed = excluded.sealed",
          requestId, kind, toBlob(sealed));
    });
  }

  void deleteSecret(const std::string& requestId, const std::string& kind) override {
    run("deleteSecret",
            [&] { session_.run("DELETE FROM request_secrets WHERE request_id = ? AND kind = ?", requestId, kind); });
  }

  std::int64_t appendEvent(const Event& e) override {
    return run("appendEvent", [&] {
      session_.run(kInsertEvent, e.type, Poco::Int64{e.at}, e.conversationId, e.authRequestId, e.dataJson,
                   e.businessId);
      const Poco::Int64 seq = session_.lastInsertRowid();
      appendedEvent_ = true;
      return std::int64_t{seq};
    });
  }

  std::vector<Subscription> enabledSubscriptions() override {
    return sql::all<SubscriptionRow>(*this, "enabledSubscriptions", toSubscription, kSubscriptionColumns,
                                     "subscriptions", "WHERE enabled = 1 ORDER BY id");
  }

  void enqueueWebhookDelivery(const WebhookDelivery& d) override {
    run("enqueueWebhookDelivery", [&] {
      session_.run(
          "INSERT INTO webhook_deliveries (subscription_id, event_seq, conversation_id, status, attempts,"
          " next_attempt_at, last_http_status, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          d.subscriptionId, Poco::Int64{d.eventSeq}, d.conversationId, d.status, Poco::Int64{d.attempts},
          Poco::Int64{d.nextAttemptAt}, Poco::Int64{d.lastHttpStatus}, d.lastError, Poco::Int64{d.updatedAt});
    });
  }

  void replaceSealed(const SealedValue& value) override {
    run("replaceSealed", [&] {
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
    run("putSubscription", [&] {
      session_.run(
          "INSERT INTO subscriptions (id, url, sealed_secret, event_types, enabled, created_at, updated_at,"
          " business_id) VALUES (?, ?, COALESCE(?, X''), ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
          " url = excluded.url, sealed_secret = excluded.sealed_secret, event_types = excluded.event_types,"
          " enabled = excluded.enabled, created_at = excluded.created_at, updated_at = excluded.updated_at,"
          " business_id = excluded.business_id",
          sub.id, sub.url, toBlob(sub.sealedSecret), json::encodeStringArray(sub.eventTypes),
          Poco::Int64{sub.enabled ? 1 : 0}, Poco::Int64{sub.createdAt}, Poco::Int64{sub.updatedAt},
          ownerOrNull(sub.businessId));
    });
  }

  bool insertBusiness(const Business& b) override {
    return run("insertBusiness",
               [&] { return session_.run(kInsertBusiness, b.id, b.name, Poco::Int64{b.createdAt}) > 0; });
  }

  bool insertApiKey(const ApiKey& k) override {
    return run("insertApiKey", [&] {
      return session_.run(kInsertApiKey, k.id, toNullable(k.businessId), k.name, toBlob(k.secretHash),
                          Poco::Int64{k.createdAt}) > 0;
    });
  }

  bool revokeApiKey(const std::string& id, std::int64_t at) override {
    return run("revokeApiKey", [&] { return session_.run(kRevokeApiKey, Poco::Int64{at}, id) > 0; });
  }

  bool touchApiKey(const std::string& id, std::int64_t at) override {
    return run("touchApiKey", [&] {
      return session_.run(kTouchApiKey, Poco::Int64{at}, id, Poco::Int64{at - kApiKeyTouchIntervalMs}) > 0;
    });
  }

  bool deleteSubscription(const std::string& id) override {
    return run("deleteSubscription",
                   [&] { return session_.run("DELETE FROM subscriptions WHERE id = ?", id) > 0; });
  }

  void updateWebhookDelivery(const WebhookDelivery& d) override {
    updateRetryState("updateWebhookDelivery", "webhook_deliveries", "id", d, Poco::Int64{d.id});
  }

  // A write of kProbeBytes that leaves nothing behind but must find the room for it.
  void probe() {
    run("probe", [&] {
      session_.run("INSERT INTO store_probe (pad) VALUES (zeroblob(?))", Poco::Int64{kProbeBytes});
      session_.run("DELETE FROM store_probe");
    });
  }

 public:
  // SqlTransactionReads' SELECTs, in this transaction.
  template <typename Row, typename... Args>
  std::vector<Row> query(const char* what, const std::string& sql, const Args&... args) {
    return run(what, [&] { return session_.select<Row>(sql, args...); });
  }

 private:
  // Runs one statement (or a few) of this transaction while it is open.
  template <typename F>
  auto run(const char* what, F&& f) -> decltype(f()) {
    open_.check();
    return guarded(what, std::forward<F>(f));
  }

  // Both outboxes keep their retry state in the same columns; key names the row.
  template <typename Outbox, typename Key>
  void updateRetryState(const char* what, const char* table, const char* keyColumn, const Outbox& d, const Key& key) {
    run(what, [&] {
      session_.run(util::retryStateUpdate(table, keyColumn), d.status, Poco::Int64{d.attempts}, Poco::Int64{d.nextAttemptAt}, Poco::Int64{d.lastHttpStatus},
                   d.lastError, Poco::Int64{d.updatedAt}, key);
    });
  }

  SqliteConnection& session_;
  util::OpenFlag open_;
  bool appendedEvent_ = false;
};

// --- the store ----------------------------------------------------------------------------------

class SqliteStore final : public SqlReads<SqliteStore> {
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

 public:
  // SqlReads' SELECTs, on a read connection ('?' placeholders are SQLite's own).
  template <typename Row, typename... Args>
  std::vector<Row> query(const char* what, const std::string& sql, const Args&... args) {
    return guarded(what,
                   [&] { return readers_.with([&](SqliteConnection& s) { return s.select<Row>(sql, args...); }); });
  }

  // SqlReads' single-row reads by a key, on the writer connection while it is free. In WAL
  // mode a connection empties its page cache whenever another one has committed, so a read
  // connection re-reads every page of a lookup after each write; the writer made those writes
  // and keeps its cache. A lookup is a few pages, so it never makes a writer wait long; when the
  // writer is busy (a transaction holds it, this thread's own included) the read goes to the
  // pool as any other, so a store read never sees writes that are not committed.
  template <typename Row, typename... Args>
  std::vector<Row> keyedQuery(const char* what, const std::string& sql, const Args&... args) {
    std::unique_lock<std::mutex> lock(writeMutex_, std::defer_lock);
    if (writerThread_.load() != std::this_thread::get_id()) lock.try_lock();
    if (!lock) return query<Row>(what, sql, args...);
    return guarded(what, [&] { return writer_->select<Row>(sql, args...); });
  }

 private:
  void rollbackQuietly() noexcept {
    try {
      exec(*writer_, "ROLLBACK");
    } catch (...) {
      // SQLite may already have rolled back (e.g. after SQLITE_FULL); nothing is left to undo.
    }
  }

  // Applies the migrations the database lacks, each in its own IMMEDIATE transaction (so two
  // processes opening the same file at once cannot both apply one).
  //
  // Foreign keys are off while they run (a rebuilt table is dropped and its copy renamed, which
  // with them on would delete every row that references it) and checked before each commit.
  void migrate() {
    const auto& all = migrations();
    exec(*writer_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY NOT NULL)");
    exec(*writer_, "PRAGMA foreign_keys = OFF");  // a failed migration fails the store: no need to restore
    bool applied = false;  // this transaction applies a migration (not only reads the version)
    util::applyMigrations(all, {
        [&] { exec(*writer_, "BEGIN IMMEDIATE"); },
        [&] {
          Poco::Int64 current = 0;
          writer_->session() << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
          return current;
        },
        [&](const std::string& sql) { exec(*writer_, sql); },
        [&](Poco::Int64 version) {
          writer_->run("INSERT INTO schema_version (version) VALUES (?)", version);
          applied = true;
        },
        [&] {
          if (std::exchange(applied, false)) {
            const auto dangling =
                writer_->select<Poco::Tuple<std::string>>("SELECT DISTINCT \"table\" FROM pragma_foreign_key_check");
            if (!dangling.empty()) {
              throw std::runtime_error("rows of " + dangling.front().get<0>() +
                                       " have a foreign key that names no row; the migration is not applied");
            }
          }
          exec(*writer_, "COMMIT");
        },
        [&] { rollbackQuietly(); },
    });
    exec(*writer_, "PRAGMA foreign_keys = ON");
    Poco::Int64 foreignKeys = 0;
    writer_->session() << "PRAGMA foreign_keys", into(foreignKeys), now;
    if (foreignKeys != 1) throw std::runtime_error("cannot turn foreign keys back on after the migrations");
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
  util::registerConnectorOnce<Poco::Data::SQLite::Connector>();
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
