// The PostgreSQL Store: several bcauth processes may share one database.
//
// Connections come from a Poco::Data::SessionPool (Poco::Data sessions are not thread-safe: each
// is used by one thread at a time while it is leased). Multi-instance safety is the database's
// job, never a process-local lock's:
//   - every write transaction starts with pg_advisory_xact_lock(kWriteLockKey), so write
//     transactions are serialised across processes: event seqs are drawn and committed in the
//     same order, so readers see them strictly increasing and never see a gap filled later, and
//     "exactly one winner" checks (inbound message ids, consumed states, pending → terminal
//     status changes) hold across instances;
//   - UNIQUE constraints back inbound message ids, request identifiers, idempotency keys, states;
//   - migrations run under a session-level pg_advisory_lock(kMigrationLockKey), so two processes
//     starting at once apply each migration once.
// Within one process, writers also queue on a mutex so that at most one pooled connection per
// Store waits on the advisory lock (the rest stay free for readers).
//
// Every transaction that appends an event also sends NOTIFY on kEventsChannel (delivered at
// COMMIT, never on rollback); watchEvents listens on a connection of its own
// (postgres_listener.cpp), so readers in every process wake when any process commits an event.
//
// Differences from SQLite the callers should know:
//   - TEXT cannot hold NUL bytes (the store refuses them with an error instead of letting libpq
//     truncate the value) and, in a UTF8 database, must be valid UTF-8. Sealed blobs (BYTEA) are
//     byte-exact, like SQLite's BLOBs.
//   - A statement that fails inside a transaction aborts the whole PostgreSQL transaction: after
//     one, transaction() rolls back and throws even if fn caught the error. The exception is
//     insertRequest's DuplicateError, which runs under a savepoint and undoes only itself.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Poco/Data/LOB.h>
#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/SessionPool.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Nullable.h>

#include "store/event_watchers.h"
#include "store/json_codec.h"
#include "store/postgres_listener.h"
#include "store/rows.h"
#include "store/sql_reads.h"
#include "store/store.h"
#include "store/store_util.h"
#include "store/write_health.h"

namespace bcauth::store {
namespace {

using namespace rows;  // the row types and conversions both stores share

using Poco::Data::Session;
using Poco::Data::Statement;
using Poco::Data::Keywords::bind;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

// Advisory lock keys ("bcauth" in ASCII, then a number): one for write transactions, one for
// migrations. Any other application sharing the database must not use these.
constexpr const char* kWriteLockKey = "7089064689183817729";      // 0x6263617574680001
constexpr const char* kMigrationLockKey = "7089064689183817730";  // 0x6263617574680002

// Announces committed events; the payload is empty (listeners read the events table).
constexpr const char* kEventsChannel = "bcauth_events";

constexpr std::size_t kMaxSessions = 8;   // per Store
constexpr int kIdleSeconds = 60;          // idle pooled connections are closed after this
constexpr auto kSessionWait = std::chrono::seconds(30);

// The schema, as an ordered list of migrations: the SQLite store's, translated (INTEGER →
// BIGINT, BLOB → BYTEA, AUTOINCREMENT → identity). Migration i (0-based) brings the database to
// version i + 1; each runs in its own transaction. Never edit a released migration: append one.
// Keys and ordered TEXT columns use the "C" collation so ORDER BY compares bytes, as SQLite does.
constexpr util::SqlDialect kDialect{"TEXT COLLATE \"C\"", "BIGINT", "BYTEA",
                                    "CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)"};

const std::vector<std::vector<std::string>>& migrations() {
  static const std::vector<std::vector<std::string>> kMigrations = {
      // 1: the initial schema.
      {
          "CREATE TABLE providers ("
          " id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,"
          " name TEXT NOT NULL,"
          " authorization_url TEXT NOT NULL,"
          " token_url TEXT NOT NULL,"
          " userinfo_url TEXT NOT NULL,"
          " client_id TEXT NOT NULL,"
          " sealed_client_secret BYTEA,"            // NULL: no secret
          " scopes TEXT NOT NULL,"                  // JSON array of strings
          " enabled BIGINT NOT NULL,"
          " profile_fields TEXT NOT NULL,"          // JSON object, string → string
          " created_at BIGINT NOT NULL,"
          " updated_at BIGINT NOT NULL)",

          "CREATE TABLE conversations ("
          " conversation_id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,"
          " capabilities TEXT NOT NULL,"            // JSON array of strings
          " updated_at BIGINT NOT NULL)",

          "CREATE TABLE auth_requests ("
          " id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,"
          " request_identifier TEXT COLLATE \"C\" NOT NULL UNIQUE,"
          " conversation_id TEXT COLLATE \"C\" NOT NULL,"
          " business_id TEXT NOT NULL,"
          " provider_id TEXT NOT NULL,"
          " flow TEXT NOT NULL,"
          " scopes TEXT NOT NULL,"                  // JSON array of strings
          " status TEXT NOT NULL,"
          " status_reason TEXT NOT NULL,"
          " created_at BIGINT NOT NULL,"
          " updated_at BIGINT NOT NULL,"
          " expires_at BIGINT NOT NULL,"
          " message_json TEXT NOT NULL,"
          " idempotency_key TEXT COLLATE \"C\" UNIQUE,"  // NULL: none (NULLs never collide)
          " state TEXT COLLATE \"C\" UNIQUE)",

          "CREATE INDEX auth_requests_status_expires ON auth_requests (status, expires_at)",

          // Deferred: the foreign key is checked at COMMIT, so a use case may write the secret
          // before or after the request inside one transaction.
          "CREATE TABLE request_secrets ("
          " request_id TEXT COLLATE \"C\" NOT NULL"
          "  REFERENCES auth_requests (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
          " kind TEXT COLLATE \"C\" NOT NULL,"
          " sealed BYTEA NOT NULL,"
          " PRIMARY KEY (request_id, kind))",

          "CREATE TABLE inbound_messages ("
          " message_id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,"
          " received_at BIGINT NOT NULL)",

          // An identity column: a seq is never reused, even after the newest events are deleted.
          "CREATE TABLE events ("
          " seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
          " type TEXT NOT NULL,"
          " at BIGINT NOT NULL,"
          " conversation_id TEXT COLLATE \"C\" NOT NULL,"
          " auth_request_id TEXT NOT NULL,"
          " data_json TEXT NOT NULL)",

          "CREATE INDEX events_conversation_seq ON events (conversation_id, seq)",
      },
      // 2: the iOS 16+ flow — how the code exchange authenticates, what token a request holds,
      // who completed it, and a consumed state kept out of the unique index by a flag.
      {
          "ALTER TABLE providers ADD COLUMN token_auth_method TEXT NOT NULL DEFAULT 'client_secret_post'",
          "ALTER TABLE auth_requests ADD COLUMN token_type TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE auth_requests ADD COLUMN token_expires_at BIGINT NOT NULL DEFAULT 0",
          "ALTER TABLE auth_requests ADD COLUMN completed_by TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE auth_requests ADD COLUMN state_used BIGINT NOT NULL DEFAULT 0",
      },
      // 3: the delivery outbox towards Apple's gateway.
      {
          "CREATE TABLE deliveries ("
          " request_id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL"
          "  REFERENCES auth_requests (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,"
          " sealed_body BYTEA NOT NULL,"
          " status TEXT NOT NULL,"
          " attempts BIGINT NOT NULL,"
          " next_attempt_at BIGINT NOT NULL,"
          " last_http_status BIGINT NOT NULL,"
          " last_error TEXT NOT NULL,"
          " updated_at BIGINT NOT NULL)",
          "CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)",
      },
      // 4: legacy successes whose auth.succeeded waits for the profile fetch.
      {
          "ALTER TABLE auth_requests ADD COLUMN profile_pending BIGINT NOT NULL DEFAULT 0",
      },
      // 5: CSP webhook subscriptions and their durable outbox.
      {
          "CREATE TABLE subscriptions ("
          " id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,"
          " url TEXT NOT NULL,"
          " sealed_secret BYTEA NOT NULL,"
          " event_types TEXT NOT NULL,"             // JSON array of strings; [] = every type
          " enabled BIGINT NOT NULL,"
          " created_at BIGINT NOT NULL,"
          " updated_at BIGINT NOT NULL)",
          "CREATE TABLE webhook_deliveries ("
          " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
          " subscription_id TEXT COLLATE \"C\" NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,"
          " event_seq BIGINT NOT NULL,"
          " conversation_id TEXT COLLATE \"C\" NOT NULL,"
          " status TEXT NOT NULL,"
          " attempts BIGINT NOT NULL,"
          " next_attempt_at BIGINT NOT NULL,"
          " last_http_status BIGINT NOT NULL,"
          " last_error TEXT NOT NULL,"
          " updated_at BIGINT NOT NULL)",
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
          "CREATE TABLE store_probe (id BIGSERIAL PRIMARY KEY, pad BYTEA NOT NULL)",
      },
      // 9: tenancy — businesses, API keys, and who owns what (store_util.h says how data moves).
      util::tenancyMigration(kDialect),
      // 10: conversations named by business and customer (store_util.h).
      util::conversationsByBusinessMigration(kDialect),
      // 11: one index entry fewer per event: the index of events by conversation alone goes.
      // Only the operator's page of one conversation across businesses read it, and that read
      // now walks events_business_conversation_seq business by business (sql_reads.h).
      {
          "DROP INDEX events_conversation_seq",  // not IF EXISTS: its NOTICE would go to stderr
      },
  };
  return kMigrations;
}

// --- small helpers ----------------------------------------------------------------------------

using util::ScopeExit;

// A failure that waiting may cure: SQLSTATE class 53 (insufficient resources: 53100 disk_full,
// 53200 out of memory, 53300 too many connections), class 08 (connection exception), 57P01-03
// (the server shutting down or starting), or a connection libpq or Poco could not make or lost.
bool isUnavailable(const Poco::Exception& e) {
  const std::string text = e.displayText();
  for (const char* state : {"State: 53", "State: 08", "State: 57P01", "State: 57P02", "State: 57P03"}) {
    if (text.find(state) != std::string::npos) return true;
  }
  // libpq's own errors for a connection lost or never made carry no SQLSTATE, only these words
  // (a connection the server terminated fails the next BEGIN so).
  for (const char* lost : {"server closed the connection unexpectedly", "no connection to the server",
                           "terminating connection", "could not connect to server", "connection to server"}) {
    if (text.find(lost) != std::string::npos) return true;
  }
  // TransactionException is a ConnectionException Poco throws for a failed BEGIN or COMMIT,
  // which may be a constraint checked at COMMIT: only its SQLSTATE can tell.
  if (dynamic_cast<const Poco::Data::PostgreSQL::TransactionException*>(&e) != nullptr) return false;
  return dynamic_cast<const Poco::Data::PostgreSQL::ConnectionException*>(&e) != nullptr ||
         dynamic_cast<const Poco::Data::ConnectionFailedException*>(&e) != nullptr ||
         dynamic_cast<const Poco::Data::NotConnectedException*>(&e) != nullptr;
}

// (PostgreSQL's "Detail" of a unique violation names the duplicate key, which is an
// identifier, not a secret: it may stand in an error's message.)
template <typename F>
decltype(auto) guarded(const char* what, F&& f) {
  return util::guarded<isUnavailable>(what, std::forward<F>(f));
}

void exec(Session& session, const std::string& sql) { session << sql, now; }

// Text goes to libpq as a C string: a NUL byte would silently cut the value short. Refuse it.
const std::string& text(const std::string& value) {
  if (value.find('\0') != std::string::npos) {
    throw std::runtime_error("store: PostgreSQL cannot store text containing a NUL byte");
  }
  return value;
}

std::optional<std::string> text(const std::optional<std::string>& value) {
  if (value) text(*value);
  return value;
}

// Poco binds BLOBs as binary bytea parameters; an empty BLOB goes as NULL, so every BLOB
// parameter goes through COALESCE($n, ''::bytea) to store an empty value as an empty bytea.

bool isUniqueViolation(const Poco::Exception& e) {
  return e.displayText().find("State: 23505") != std::string::npos;
}

// --- rows ---------------------------------------------------------------------------------------

// Text arguments are refused with a NUL byte, as all text is; other values bind as they are.
template <typename T>
const T& checked(const T& value) {
  return value;
}
const std::string& checked(const std::string& value) { return text(value); }

// Runs a SELECT, binding args (copied) to its $1, $2, ...
template <typename Row, typename... Args>
std::vector<Row> select(Session& session, const std::string& sql, const Args&... args) {
  std::vector<Row> rows;
  Statement statement(session);
  statement << sql, into(rows);
  ((statement, bind(checked(args))), ...);
  statement.execute();
  return rows;
}

// SqlReads writes SQLite's '?' placeholders (its SQL holds no '?' of any other kind);
// PostgreSQL's are $1, $2, ...
std::string numbered(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int n = 0;
  for (const char c : sql) {
    if (c == '?') out += "$" + std::to_string(++n);
    else out += c;
  }
  return out;
}

// --- connections --------------------------------------------------------------------------------

// Poco's SessionPool throws when every session is leased; callers here wait for one instead.
class Sessions {
 public:
  explicit Sessions(const std::string& connectionString)
      : pool_(Poco::Data::PostgreSQL::Connector::KEY, connectionString, 1, static_cast<int>(kMaxSessions),
              kIdleSeconds) {}

  template <typename F>
  auto with(F&& f) -> decltype(f(std::declval<Session&>())) {
    if (!slots_.try_acquire_for(kSessionWait)) {
      throw std::runtime_error("store: every PostgreSQL connection stayed busy for 30 s");
    }
    ScopeExit release([&] { slots_.release(); });
    // Destroyed before the slot is released: the connection goes back to the pool first (Poco
    // rolls back a transaction left open and drops a connection that is no longer good).
    Session session = guarded("connect", [&] { return pool_.get(); });
    return f(session);
  }

 private:
  Poco::Data::SessionPool pool_;
  std::counting_semaphore<kMaxSessions> slots_{static_cast<std::ptrdiff_t>(kMaxSessions)};
};

// One PostgreSQL transaction per thread at a time: a nested transaction() would wait forever on
// the advisory lock its own thread holds.
thread_local bool tlsInTransaction = false;

// --- the transaction ----------------------------------------------------------------------------

class PostgresTransaction final : public SqlTransactionReads<PostgresTransaction> {
 public:
  explicit PostgresTransaction(Session& session) : session_(session) {}

  void end() { open_.end(); }
  bool aborted() const { return aborted_; }
  bool appendedEvent() const { return appendedEvent_; }

  void putProvider(const Provider& p) override {
    run("putProvider", [&] {
      session_ << "INSERT INTO providers (id, name, authorization_url, token_url, userinfo_url, client_id,"
                  " sealed_client_secret, scopes, enabled, profile_fields, created_at, updated_at, token_auth_method,"
                  " business_id) VALUES ($1, $2, $3, $4, $5, $6,"
                  " CASE WHEN $7::bigint <> 0 THEN COALESCE($8, ''::bytea) END, $9, $10, $11, $12, $13, $14, $15)"
                  BCAUTH_PROVIDER_UPSERT_SET,
          bind(text(p.id)), bind(text(p.name)), bind(text(p.authorizationUrl)), bind(text(p.tokenUrl)),
          bind(text(p.userinfoUrl)), bind(text(p.clientId)), bind(Poco::Int64{p.sealedClientSecret ? 1 : 0}),
          bind(toBlob(p.sealedClientSecret.value_or(std::string()))), bind(json::encodeStringArray(p.scopes)),
          bind(Poco::Int64{p.enabled ? 1 : 0}), bind(json::encodeStringMap(p.profileFields)),
          bind(Poco::Int64{p.createdAt}), bind(Poco::Int64{p.updatedAt}), bind(text(p.tokenAuthMethod)),
          bind(ownerOrNull(text(p.businessId))), now;
      // A provider that now belongs to a business is no other business's to enable.
      if (!p.businessId.empty()) {
        session_ << "DELETE FROM business_providers WHERE provider_id = $1", bind(text(p.id)), now;
      }
    });
  }

  bool deleteProvider(const std::string& id) override {
    return run("deleteProvider", [&] {
      session_ << "DELETE FROM business_providers WHERE provider_id = $1", bind(text(id)), now;
      Statement statement(session_);
      statement << "DELETE FROM providers WHERE id = $1", bind(text(id));
      return statement.execute() > 0;
    });
  }

  bool setProviderEnabledFor(const std::string& businessId, const std::string& providerId, bool enabled) override {
    return run("setProviderEnabledFor", [&] {
      Statement statement(session_);
      statement << numbered(enabled ? kEnableProvider : kDisableProvider), bind(text(businessId)),
          bind(text(providerId));
      return statement.execute() > 0;
    });
  }

  void recordConversation(const std::string& businessId, const std::string& conversationId,
                          const std::optional<std::vector<std::string>>& capabilities, std::int64_t at) override {
    run("recordConversation", [&] {
      session_ << numbered(kRecordConversation), bind(text(businessId)), bind(text(conversationId)),
          bind(capabilitiesOrNull(capabilities)), bind(Poco::Int64{at}), now;
    });
  }

  bool insertInboundMessageId(const std::string& messageId, std::int64_t at) override {
    return run("insertInboundMessageId", [&] {
      Statement statement(session_);
      statement << "INSERT INTO inbound_messages (message_id, received_at) VALUES ($1, $2)"
                   " ON CONFLICT (message_id) DO NOTHING",
          bind(text(messageId)), bind(Poco::Int64{at});
      return statement.execute() > 0;
    });
  }

  void insertRequest(const AuthRequest& r) override {
    open_.check();
    // Under a savepoint, so a duplicate undoes only itself (as in SQLite) and the caller may
    // carry on with the transaction. The statement outlives the rollback to the savepoint, so
    // Poco can deallocate it in a usable transaction.
    run("insertRequest", [&] { exec(session_, "SAVEPOINT bcauth_insert_request"); });
    Statement statement(session_);
    try {
      statement << "INSERT INTO auth_requests (id, request_identifier, conversation_id, business_id, provider_id,"
                   " flow, scopes, status, status_reason, created_at, updated_at, expires_at, message_json,"
                   " idempotency_key, state, idempotency_body_sha256)"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
          bind(text(r.id)), bind(text(r.requestIdentifier)), bind(text(r.conversationId)), bind(text(r.businessId)),
          bind(text(r.providerId)), bind(text(r.flow)), bind(json::encodeStringArray(r.scopes)), bind(text(r.status)),
          bind(text(r.statusReason)), bind(Poco::Int64{r.createdAt}), bind(Poco::Int64{r.updatedAt}),
          bind(Poco::Int64{r.expiresAt}), bind(text(r.messageJson)), bind(toNullable(text(r.idempotencyKey))),
          bind(toNullable(text(r.state))), bind(toNullable(text(r.idempotencyBodySha256)));
      statement.execute();
    } catch (const Poco::Exception& e) {
      rollbackToSavepoint();
      if (isUniqueViolation(e)) throw DuplicateError("store: auth request already exists (" + e.displayText() + ")");
      util::rethrow("insertRequest", e, isUnavailable(e));
    } catch (...) {
      rollbackToSavepoint();
      throw;
    }
    run("insertRequest", [&] { exec(session_, "RELEASE SAVEPOINT bcauth_insert_request"); });
  }

  bool consumeState(const std::string& requestId) override {
    return run("consumeState", [&] {
      Statement statement(session_);
      statement << "UPDATE auth_requests SET state_used = 1 WHERE id = $1 AND state IS NOT NULL AND state_used = 0",
          bind(text(requestId));
      return statement.execute() > 0;
    });
  }

  void setCompletion(const std::string& id, const std::string& completedBy, const std::string& tokenType,
                     std::int64_t tokenExpiresAt) override {
    run("setCompletion", [&] {
      session_ << "UPDATE auth_requests SET completed_by = $1, token_type = $2, token_expires_at = $3 WHERE id = $4",
          bind(text(completedBy)), bind(text(tokenType)), bind(Poco::Int64{tokenExpiresAt}), bind(text(id)), now;
    });
  }

  void setProfilePending(const std::string& id, bool pending) override {
    run("setProfilePending", [&] {
      session_ << "UPDATE auth_requests SET profile_pending = $1 WHERE id = $2", bind(Poco::Int64{pending ? 1 : 0}),
          bind(text(id)), now;
    });
  }

  void endRequest(const std::string& id, const RequestEnd& end) override {
    const std::size_t changed = run("endRequest", [&] {
      Statement statement(session_);
      statement << "UPDATE auth_requests SET status = $1, status_reason = $2, updated_at = $3, completed_by = $4,"
                   " token_type = $5, token_expires_at = $6 WHERE id = $7",
          bind(text(end.status)), bind(text(end.reason)), bind(Poco::Int64{end.updatedAt}),
          bind(text(end.completedBy)), bind(text(end.tokenType)), bind(Poco::Int64{end.tokenExpiresAt}), bind(text(id));
      return statement.execute();
    });
    if (changed == 0) throw std::runtime_error("store: endRequest: no auth request " + id);
  }

  void insertDelivery(const Delivery& d) override {
    run("insertDelivery", [&] {
      session_ << "INSERT INTO deliveries (request_id, sealed_body, status, attempts, next_attempt_at,"
                  " last_http_status, last_error, updated_at) VALUES ($1, COALESCE($2, ''::bytea), $3, $4, $5, $6, $7, $8)",
          bind(text(d.requestId)), bind(toBlob(d.sealedBody)), bind(text(d.status)), bind(Poco::Int64{d.attempts}),
          bind(Poco::Int64{d.nextAttemptAt}), bind(Poco::Int64{d.lastHttpStatus}), bind(text(d.lastError)),
          bind(Poco::Int64{d.updatedAt}), now;
    });
  }

  void updateDelivery(const Delivery& d) override {
    updateRetryState("updateDelivery", "deliveries", "request_id", d, text(d.requestId));
  }

  void putSecret(const std::string& requestId, const std::string& kind, const std::string& sealed) override {
    run("putSecret", [&] {
      session_ << "INSERT INTO request_secrets (request_id, kind, sealed) VALUES ($1, $2, COALESCE($3, ''::bytea))"
                  " ON CONFLICT (request_id, kind) DO UPDATE SET sealed = excluded.sealed",
          bind(text(requestId)), bind(text(kind)), bind(toBlob(sealed)), now;
    });
  }

  void deleteSecret(const std::string& requestId, const std::string& kind) override {
    run("deleteSecret", [&] {
      session_ << "DELETE FROM request_secrets WHERE request_id = $1 AND kind = $2", bind(text(requestId)),
          bind(text(kind)), now;
    });
  }

  std::int64_t appendEvent(const Event& e) override {
    return run("appendEvent", [&] {
      // The seq is drawn under the write lock this transaction holds, so seqs commit in order.
      Poco::Int64 seq = 0;
      session_ << numbered(kInsertEvent) + " RETURNING seq", bind(text(e.type)), bind(Poco::Int64{e.at}),
          bind(text(e.conversationId)), bind(text(e.authRequestId)), bind(text(e.dataJson)), bind(text(e.businessId)),
          into(seq), now;
      // Sent at COMMIT, and once however many events the transaction appends.
      if (!appendedEvent_) exec(session_, std::string("NOTIFY ") + kEventsChannel);
      appendedEvent_ = true;
      return std::int64_t{seq};
    });
  }

  std::vector<Subscription> enabledSubscriptions() override {
    return sql::all<SubscriptionRow>(*this, "enabledSubscriptions", toSubscription, kSubscriptionColumns,
                                     "subscriptions", "WHERE enabled <> 0 ORDER BY id");
  }

  void enqueueWebhookDelivery(const WebhookDelivery& d) override {
    run("enqueueWebhookDelivery", [&] {
      session_ << "INSERT INTO webhook_deliveries (subscription_id, event_seq, conversation_id, status, attempts,"
                  " next_attempt_at, last_http_status, last_error, updated_at)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          bind(text(d.subscriptionId)), bind(Poco::Int64{d.eventSeq}), bind(text(d.conversationId)), bind(text(d.status)),
          bind(Poco::Int64{d.attempts}), bind(Poco::Int64{d.nextAttemptAt}), bind(Poco::Int64{d.lastHttpStatus}),
          bind(text(d.lastError)), bind(Poco::Int64{d.updatedAt}), now;
    });
  }

  void replaceSealed(const SealedValue& value) override {
    
    run("replaceSealed", [&] {
      const auto blob = toBlob(value.sealed);
      if (value.table == "providers") {
        session_ << "UPDATE providers SET sealed_client_secret = COALESCE($1, ''::bytea) WHERE id = $2", bind(blob), bind(text(value.id)), now;
      } else if (value.table == "request_secrets") {
        session_ << "UPDATE request_secrets SET sealed = COALESCE($1, ''::bytea) WHERE request_id = $2 AND kind = $3", bind(blob),
            bind(text(value.id)), bind(text(value.kind)), now;
      } else if (value.table == "deliveries") {
        session_ << "UPDATE deliveries SET sealed_body = COALESCE($1, ''::bytea) WHERE request_id = $2", bind(blob), bind(text(value.id)), now;
      } else if (value.table == "subscriptions") {
        session_ << "UPDATE subscriptions SET sealed_secret = COALESCE($1, ''::bytea) WHERE id = $2", bind(blob), bind(text(value.id)), now;
      } else {
        throw std::invalid_argument("store: replaceSealed: unknown table " + value.table);
      }
    });
  }

  void putSubscription(const Subscription& sub) override {
    run("putSubscription", [&] {
      session_ << "INSERT INTO subscriptions (id, url, sealed_secret, event_types, enabled, created_at, updated_at,"
                  " business_id) VALUES ($1, $2, COALESCE($3, ''::bytea), $4, $5, $6, $7, $8) ON CONFLICT (id) DO"
                  " UPDATE SET url = excluded.url, sealed_secret = excluded.sealed_secret,"
                  " event_types = excluded.event_types, enabled = excluded.enabled, created_at = excluded.created_at,"
                  " updated_at = excluded.updated_at, business_id = excluded.business_id",
          bind(text(sub.id)), bind(text(sub.url)), bind(toBlob(sub.sealedSecret)),
          bind(json::encodeStringArray(sub.eventTypes)), bind(Poco::Int64{sub.enabled ? 1 : 0}),
          bind(Poco::Int64{sub.createdAt}), bind(Poco::Int64{sub.updatedAt}), bind(ownerOrNull(text(sub.businessId))),
          now;
    });
  }

  bool insertBusiness(const Business& b) override {
    return run("insertBusiness", [&] {
      Statement statement(session_);
      statement << numbered(kInsertBusiness), bind(text(b.id)), bind(text(b.name)), bind(Poco::Int64{b.createdAt});
      return statement.execute() > 0;
    });
  }

  bool insertApiKey(const ApiKey& k) override {
    return run("insertApiKey", [&] {
      Statement statement(session_);
      statement << numbered(kInsertApiKey), bind(text(k.id)), bind(toNullable(text(k.businessId))),
          bind(text(k.name)), bind(toBlob(k.secretHash)), bind(Poco::Int64{k.createdAt});
      return statement.execute() > 0;
    });
  }

  bool revokeApiKey(const std::string& id, std::int64_t at) override {
    return run("revokeApiKey", [&] {
      Statement statement(session_);
      statement << numbered(kRevokeApiKey), bind(Poco::Int64{at}), bind(text(id));
      return statement.execute() > 0;
    });
  }

  bool touchApiKey(const std::string& id, std::int64_t at) override {
    return run("touchApiKey", [&] {
      Statement statement(session_);
      statement << numbered(kTouchApiKey), bind(Poco::Int64{at}), bind(text(id)),
          bind(Poco::Int64{at - kApiKeyTouchIntervalMs});
      return statement.execute() > 0;
    });
  }

  bool deleteSubscription(const std::string& id) override {
    return run("deleteSubscription", [&] {
      Statement statement(session_);
      statement << "DELETE FROM subscriptions WHERE id = $1", bind(text(id));
      return statement.execute() > 0;
    });
  }

  void updateWebhookDelivery(const WebhookDelivery& d) override {
    updateRetryState("updateWebhookDelivery", "webhook_deliveries", "id", d, Poco::Int64{d.id});
  }

  // A write that leaves nothing behind but must be committed (WAL and all) to succeed.
  void probe() {
    run("probe", [&] {
      exec(session_, "INSERT INTO store_probe (pad) VALUES ('\\x00'::bytea)");
      exec(session_, "DELETE FROM store_probe");
    });
  }

 public:
  // SqlTransactionReads' SELECTs, in this transaction, their '?' placeholders numbered $1, $2, ...
  template <typename Row, typename... Args>
  std::vector<Row> query(const char* what, const std::string& sql, const Args&... args) {
    return run(what, [&] { return select<Row>(session_, numbered(sql), args...); });
  }

 private:
  // Runs one statement (or a few) of this transaction. A database error aborts the PostgreSQL
  // transaction, so it is remembered: the transaction can then only roll back.
  template <typename F>
  auto run(const char* what, F&& f) -> decltype(f()) {
    open_.check();
    if (aborted_) {
      throw std::runtime_error(std::string("store: ") + what +
                               ": an earlier statement of this transaction failed; it can only roll back");
    }
    try {
      return f();
    } catch (const Poco::Exception& e) {
      aborted_ = true;
      util::rethrow(what, e, isUnavailable(e));
    }
  }

  // Both outboxes keep their retry state in the same columns; key names the row.
  template <typename Outbox, typename Key>
  void updateRetryState(const char* what, const char* table, const char* keyColumn, const Outbox& d, const Key& key) {
    run(what, [&] {
      session_ << numbered(util::retryStateUpdate(table, keyColumn)), bind(text(d.status)), bind(Poco::Int64{d.attempts}), bind(Poco::Int64{d.nextAttemptAt}),
          bind(Poco::Int64{d.lastHttpStatus}), bind(text(d.lastError)), bind(Poco::Int64{d.updatedAt}), bind(key), now;
    });
  }

  void rollbackToSavepoint() {
    try {
      exec(session_, "ROLLBACK TO SAVEPOINT bcauth_insert_request");
      exec(session_, "RELEASE SAVEPOINT bcauth_insert_request");
    } catch (...) {
      aborted_ = true;
    }
  }

  Session& session_;
  util::OpenFlag open_;
  bool aborted_ = false;
  bool appendedEvent_ = false;
};

// --- the store ----------------------------------------------------------------------------------

class PostgresStore final : public SqlReads<PostgresStore> {
 public:
  // Throws Poco::Exception or std::runtime_error; openPostgresStore adds context.
  explicit PostgresStore(const std::string& connectionString)
      : connectionString_(connectionString), sessions_(connectionString) {
    migrate();
  }

  void transaction(const std::function<void(Transaction&)>& fn) override {
    // This process's readers wake at once, without the round trip through the listener.
    if (commit(fn)) watchers_.notify();
  }

  std::unique_ptr<EventWatch> watchEvents(std::function<void()> onEvents) override {
    // The listener starts with the first watch: `bcauth` commands that only write never open it.
    std::call_once(listenerStarted_, [this] {
      listener_ = std::make_unique<PostgresListener>(connectionString_, kEventsChannel, [this] { watchers_.notify(); });
    });
    return watchers_.add(std::move(onEvents));
  }

  bool writable() override {
    return health_.writable(
        [&] { transaction([](Transaction& tx) { static_cast<PostgresTransaction&>(tx).probe(); }); });
  }

  bool ping() override {
    try {
      return sessions_.with([](Session& s) {
        int one = 0;
        s << "SELECT 1", into(one), now;
        return one == 1;
      });
    } catch (...) {
      return false;
    }
  }

 private:
  // Runs fn in one transaction; true when it committed an event.
  bool commit(const std::function<void(Transaction&)>& fn) {
    if (tlsInTransaction) {
      throw std::logic_error("store: transaction() called inside a transaction on the same thread");
    }
    bool appendedEvent = false;
    std::lock_guard<std::mutex> lock(writeMutex_);
    tlsInTransaction = true;
    ScopeExit clearFlag([] { tlsInTransaction = false; });
    health_.track([&] { appendedEvent = run(fn); });
    return appendedEvent;
  }

  // One write transaction, under the advisory lock; throws after rolling back. True when it
  // committed an event.
  bool run(const std::function<void(Transaction&)>& fn) {
    bool appendedEvent = false;
    sessions_.with([&](Session& session) {
      guarded("begin", [&] { session.begin(); });
      PostgresTransaction tx(session);
      try {
        // Serialises write transactions across every process sharing the database; released
        // by COMMIT or ROLLBACK.
        guarded("lock", [&] { exec(session, std::string("SELECT pg_advisory_xact_lock(") + kWriteLockKey + ")"); });
        fn(tx);
        tx.end();
        if (tx.aborted()) {
          throw std::runtime_error("store: the transaction was aborted by a failed statement and rolled back");
        }
        guarded("commit", [&] { session.commit(); });
        appendedEvent = tx.appendedEvent();
      } catch (...) {
        tx.end();
        rollbackQuietly(session);
        throw;
      }
    });
    return appendedEvent;
  }

 public:
  // SqlReads' SELECTs, on a pooled connection, their '?' placeholders numbered $1, $2, ...
  template <typename Row, typename... Args>
  std::vector<Row> query(const char* what, const std::string& sql, const Args&... args) {
    return guarded(what,
                   [&] { return sessions_.with([&](Session& s) { return select<Row>(s, numbered(sql), args...); }); });
  }
  // Every read is a pooled connection's here: PostgreSQL keeps one cache for all of them.
  template <typename Row, typename... Args>
  std::vector<Row> keyedQuery(const char* what, const std::string& sql, const Args&... args) {
    return query<Row>(what, sql, args...);
  }

 private:
  static void rollbackQuietly(Session& session) noexcept {
    try {
      session.rollback();
    } catch (...) {
      // After a failed COMMIT PostgreSQL has already rolled back; if the connection broke, the
      // pool drops it (and the server rolls back).
      try {
        session.close();
      } catch (...) {
      }
    }
  }

  // Applies the migrations the database lacks, each in its own transaction, all under a
  // session-level advisory lock so that processes starting together apply each one once.
  void migrate() {
    sessions_.with([&](Session& session) {
      const auto& all = migrations();
      exec(session, std::string("SELECT pg_advisory_lock(") + kMigrationLockKey + ")");
      ScopeExit unlock([&] {
        try {
          exec(session, std::string("SELECT pg_advisory_unlock(") + kMigrationLockKey + ")");
        } catch (...) {
          // The lock must not outlive this call on a pooled connection: closing it releases it.
          try {
            session.close();
          } catch (...) {
          }
        }
      });
      // Not CREATE TABLE IF NOT EXISTS: its NOTICE would go to stderr (libpq's default).
      bool haveVersions = false;
      session << "SELECT to_regclass('schema_version') IS NOT NULL", into(haveVersions), now;
      if (!haveVersions) exec(session, "CREATE TABLE schema_version (version BIGINT PRIMARY KEY NOT NULL)");
      util::applyMigrations(all, {
          [&] { session.begin(); },
          [&] {
            Poco::Int64 current = 0;
            session << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
            return current;
          },
          [&](const std::string& sql) { exec(session, sql); },
          [&](Poco::Int64 version) {
            session << "INSERT INTO schema_version (version) VALUES ($1)", bind(version), now;
          },
          [&] { session.commit(); },
          [&] { rollbackQuietly(session); },
      });
    });
  }

  const std::string connectionString_;  // may hold a password: the listener's, never in a message
  Sessions sessions_;
  WriteHealth health_;
  std::mutex writeMutex_;
  EventWatchers watchers_;
  std::once_flag listenerStarted_;
  std::unique_ptr<PostgresListener> listener_;  // destroyed first: it calls watchers_
};

}  // namespace

std::unique_ptr<Store> openPostgresStore(const std::string& connectionString) {
  if (connectionString.empty()) throw std::invalid_argument("store: the PostgreSQL connection string is empty");
  util::registerConnectorOnce<Poco::Data::PostgreSQL::Connector>();
  // The connection string may hold a password: it never goes into a message.
  try {
    return std::make_unique<PostgresStore>(connectionString);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("store: cannot open the PostgreSQL store: " + e.displayText());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("store: cannot open the PostgreSQL store: ") + e.what());
  }
}

}  // namespace bcauth::store
