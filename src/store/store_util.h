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
