// What the SQLite and PostgreSQL stores do alike, whatever their SQL dialect: scope guards,
// turning Poco's exceptions into the store's errors, reading rows into values, and the
// migration loop. Internal to src/store (the stores' .cpp files); not part of the Store API.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Types.h>

#include "store/store.h"

namespace bcauth::store::util {

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

// Turns one of Poco's exceptions (whose what() is only the class name) into std::runtime_error
// with the full text, or UnavailableError when the store judges that waiting may cure it.
// Messages carry SQL text and the database's error, never bound values (nor a connection
// string), so no secret can end up in them.
[[noreturn]] inline void rethrow(const char* what, const Poco::Exception& e, bool unavailable) {
  const std::string message = std::string("store: ") + what + ": " + e.displayText();
  if (unavailable) throw UnavailableError(message);
  throw std::runtime_error(message);
}

// Runs f; a Poco::Exception leaves as rethrow's error, judged by the store's IsUnavailable.
template <bool (*IsUnavailable)(const Poco::Exception&), typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Poco::Exception& e) {
    rethrow(what, e, IsUnavailable(e));
  }
}

// Whether a Transaction may still be used: only while its transaction() call runs.
class OpenFlag {
 public:
  void end() { open_ = false; }
  void check() const {
    if (!open_) throw std::logic_error("store: Transaction used after its transaction() call ended");
  }

 private:
  bool open_ = true;
};

// The UPDATE of an outbox row's retry state: Apple deliveries and webhook deliveries keep it in
// the same columns. '?' placeholders; keyColumn names the row.
inline std::string retryStateUpdate(const char* table, const char* keyColumn) {
  return std::string("UPDATE ") + table +
         " SET status = ?, attempts = ?, next_attempt_at = ?, last_http_status = ?, last_error = ?, updated_at = ?"
         " WHERE " + keyColumn + " = ?";
}

// A LIMIT bound: size_t's maximum means "no limit" and must not wrap negative.
inline Poco::Int64 toLimit(std::size_t limit) {
  return static_cast<Poco::Int64>(std::min<std::size_t>(limit, std::numeric_limits<Poco::Int64>::max()));
}

// Poco keeps its connectors in a process-wide registry; each is registered once.
template <typename Connector>
void registerConnectorOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Connector::registerConnector(); });
}

// --- rows → values ------------------------------------------------------------------------------

// Every row, converted (e.g. rows::toProvider), in the query's order.
template <typename Row, typename Convert>
auto convertAll(const std::vector<Row>& rows, Convert convert) {
  std::vector<decltype(convert(std::declval<const Row&>()))> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(convert(row));
  return out;
}

// The first row converted, or nullopt when the query found none (keys are unique: at most one).
template <typename Row, typename Convert>
auto firstOrNone(const std::vector<Row>& rows, Convert convert)
    -> std::optional<decltype(convert(std::declval<const Row&>()))> {
  if (rows.empty()) return std::nullopt;
  return convert(rows.front());
}

// --- migrations ---------------------------------------------------------------------------------

// The schema, as an ordered list of migrations: migration i (0-based) brings the database to
// version i + 1.
using Migrations = std::vector<std::vector<std::string>>;

// What one store's connection does for applyMigrations, in its own dialect.
struct MigrationSteps {
  std::function<void()> begin;
  std::function<Poco::Int64()> currentVersion;  // 0 on an empty database
  std::function<void(const std::string&)> exec;
  std::function<void(Poco::Int64)> recordVersion;
  std::function<void()> commit;
  std::function<void()> rollbackQuietly;  // must not throw
};

// The words a migration's SQL differs in between the two stores.
struct SqlDialect {
  const char* id;       // a text key: SQLite "TEXT", PostgreSQL "TEXT COLLATE \"C\"" (byte order)
  const char* integer;  // "INTEGER" | "BIGINT"
  const char* blob;     // "BLOB" | "BYTEA"
  const char* nowMs;    // an expression: the current time in unix milliseconds
};

// Migration 9, tenancy: businesses (tenants, by Apple's business id), API keys (operator keys
// have no business; only a SHA-256 of the secret is kept), and the business each provider,
// subscription, conversation and event belongs to. Existing data moves in without loss:
//  - one business per business id the requests recorded, or one named "default" when none
//    but there is data to give it (a fresh database gets none);
//  - a conversation gets the business of its newest request, else the only business (if there
//    is exactly one), else none (NULL: unknown, seen by operators only);
//  - an event gets its request's business, else its conversation's, else the only business;
//  - providers and subscriptions had no owner: they become shared (operator-level, NULL), and
//    every existing business enables every existing provider, so today's flows keep working.
inline std::vector<std::string> tenancyMigration(const SqlDialect& d) {
  const std::string id = d.id;
  const std::string integer = d.integer;
  const std::string onlyBusiness = "(SELECT CASE WHEN COUNT(*) = 1 THEN MIN(id) END FROM businesses)";
  return {
      "CREATE TABLE businesses (id " + id + " PRIMARY KEY NOT NULL, name TEXT NOT NULL, created_at " + integer +
          " NOT NULL)",
      "INSERT INTO businesses (id, name, created_at)"
      " SELECT business_id, business_id, MIN(created_at) FROM auth_requests GROUP BY business_id",
      "INSERT INTO businesses (id, name, created_at) SELECT 'default', 'default', " + std::string(d.nowMs) +
          " WHERE NOT EXISTS (SELECT 1 FROM businesses) AND (EXISTS (SELECT 1 FROM providers)"
          " OR EXISTS (SELECT 1 FROM conversations) OR EXISTS (SELECT 1 FROM events)"
          " OR EXISTS (SELECT 1 FROM subscriptions))",
      "CREATE TABLE api_keys (id " + id + " PRIMARY KEY NOT NULL,"
          " business_id " + id + " REFERENCES businesses (id),"  // NULL: an operator key
          " name TEXT NOT NULL, secret_hash " + d.blob + " NOT NULL, created_at " + integer + " NOT NULL,"
          " last_used_at " + integer + ", revoked_at " + integer + ")",
      "CREATE INDEX api_keys_business ON api_keys (business_id, id)",
      // No REFERENCES on added columns: SQLite could not drop them again. The service keeps them right.
      "ALTER TABLE providers ADD COLUMN business_id " + id,  // NULL: shared
      "CREATE TABLE business_providers ("
      " business_id " + id + " NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,"
      " provider_id " + id + " NOT NULL REFERENCES providers (id) ON DELETE CASCADE,"
      " PRIMARY KEY (business_id, provider_id))",
      "INSERT INTO business_providers (business_id, provider_id) SELECT b.id, p.id FROM businesses b, providers p",
      "ALTER TABLE subscriptions ADD COLUMN business_id " + id,  // NULL: operator-level
      "ALTER TABLE conversations ADD COLUMN business_id " + id,
      "UPDATE conversations SET business_id = COALESCE((SELECT r.business_id FROM auth_requests r"
      " WHERE r.conversation_id = conversations.conversation_id ORDER BY r.created_at DESC, r.id DESC LIMIT 1), " +
          onlyBusiness + ")",
      "ALTER TABLE events ADD COLUMN business_id " + id,
      "UPDATE events SET business_id = COALESCE("
      "(SELECT r.business_id FROM auth_requests r WHERE r.id = events.auth_request_id),"
      " (SELECT c.business_id FROM conversations c WHERE c.conversation_id = events.conversation_id), " +
          onlyBusiness + ")",
      "CREATE INDEX events_business_seq ON events (business_id, seq)",
      "CREATE INDEX auth_requests_business ON auth_requests (business_id, created_at)",
  };
}

// Migration 10: a conversation is named by the business Apple addressed and the customer's
// opaque id (which Apple issues per business), and its capabilities are NULL until a
// capability-list comes. Rows of migration 9 without a business keep the empty business id,
// which no business key is.
inline std::vector<std::string> conversationsByBusinessMigration(const SqlDialect& d) {
  const std::string id = d.id;
  return {
      "CREATE TABLE conversations_by_business (business_id " + id + " NOT NULL, conversation_id " + id +
          " NOT NULL, capabilities TEXT, updated_at " + d.integer +
          " NOT NULL, PRIMARY KEY (business_id, conversation_id))",
      "INSERT INTO conversations_by_business (business_id, conversation_id, capabilities, updated_at)"
      " SELECT COALESCE(business_id, ''), conversation_id, capabilities, updated_at FROM conversations",
      "DROP TABLE conversations",
      "ALTER TABLE conversations_by_business RENAME TO conversations",
      "CREATE INDEX subscriptions_business ON subscriptions (business_id, id)",
      // A business key's conversation timeline.
      "CREATE INDEX events_business_conversation_seq ON events (business_id, conversation_id, seq)",
  };
}

// Applies the migrations the database lacks, each in its own transaction (the store makes sure
// two processes cannot both apply one). Refuses a database newer than this bcauth knows.
inline void applyMigrations(const Migrations& all, const MigrationSteps& steps) {
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto target = static_cast<Poco::Int64>(i + 1);
    try {
      steps.begin();
      const Poco::Int64 current = steps.currentVersion();
      if (current > static_cast<Poco::Int64>(all.size())) {
        throw std::runtime_error("the database schema is version " + std::to_string(current) +
                                 ", newer than this bcauth knows (" + std::to_string(all.size()) + ")");
      }
      if (current < target) {
        for (const auto& sql : all[i]) steps.exec(sql);
        steps.recordVersion(target);
      }
      steps.commit();
    } catch (const Poco::Exception& e) {
      steps.rollbackQuietly();
      throw std::runtime_error("migration " + std::to_string(target) + ": " + e.displayText());
    } catch (...) {
      steps.rollbackQuietly();
      throw;
    }
  }
}

}  // namespace bcauth::store::util
