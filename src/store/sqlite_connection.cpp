#include "store/sqlite_connection.h"

#include <sqlite3.h>

#include <limits>

#include <Poco/Data/DataException.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>

#include "store/sqlite_wal_writes.h"

namespace bcauth::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Poco's SQLite session retries a failed sqlite3_open_v2 every 10 ms until its login timeout
// (60 s by default) runs out, so a data directory that cannot be used meant a minute of silence
// at start. Opening a file never waits on another process's lock (locks come later, and the
// busy timeout handles those), so a failed open is final: no retry at all.
constexpr std::size_t kOpenRetrySeconds = 0;

int byteCount(std::size_t size) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Poco::Data::DataException("store: a value is too large for SQLite");
  }
  return static_cast<int>(size);
}

}  // namespace

SqliteConnection::SqliteConnection(const std::string& dbPath, bool readOnly)
    : session_(Poco::Data::SQLite::Connector::KEY, sqliteUri(dbPath, coalescedWalVfs()), kOpenRetrySeconds),
      db_(Poco::Data::SQLite::Utility::dbHandle(session_)) {
  using Poco::Data::Keywords::now;
  session_ << "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs), now;
  session_ << "PRAGMA foreign_keys = ON", now;
  // FULL: a reply Apple was told is accepted (200) survives a power loss, not just a process
  // crash — and the WAL VFS this connection opened through is sound only with it.
  session_ << "PRAGMA main.synchronous = FULL", now;
  if (readOnly) session_ << "PRAGMA query_only = ON", now;
}

SqliteConnection::~SqliteConnection() {
  // Every statement is finalized before Poco closes the connection, or the close would fail.
  for (auto& entry : statements_) sqlite3_finalize(entry.second);
}

sqlite3_stmt* SqliteConnection::prepared(const std::string& sql) {
  if (const auto found = statements_.find(sql); found != statements_.end()) return found->second;
  sqlite3_stmt* statement = nullptr;
  const int code = sqlite3_prepare_v3(db_, sql.c_str(), byteCount(sql.size() + 1), SQLITE_PREPARE_PERSISTENT,
                                      &statement, nullptr);
  if (code != SQLITE_OK) {
    sqlite3_finalize(statement);
    throw Poco::Data::DataException(sql + ": " + sqlite3_errmsg(db_));
  }
  statements_.emplace(sql, statement);
  return statement;
}

std::size_t SqliteConnection::changes() const { return static_cast<std::size_t>(sqlite3_changes64(db_)); }

std::int64_t SqliteConnection::lastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

// --- Cursor ---------------------------------------------------------------------------------

SqliteConnection::Cursor::Cursor(SqliteConnection& connection, const std::string& sql)
    : connection_(connection), sql_(sql), statement_(connection.prepared(sql)) {}

SqliteConnection::Cursor::~Cursor() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

void SqliteConnection::Cursor::fail(int code) const {
  const std::string message = sql_ + ": " + sqlite3_errmsg(connection_.db_);
  if ((code & 0xff) == SQLITE_CONSTRAINT) throw Poco::Data::SQLite::ConstraintViolationException(message);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) throw Poco::Data::SQLite::DBLockedException(message);
  // The classes Poco's own statements throw for these, so the store tells them apart alike.
  if ((code & 0xff) == SQLITE_FULL) throw Poco::Data::SQLite::DatabaseFullException(message);
  if ((code & 0xff) == SQLITE_IOERR) throw Poco::Data::SQLite::IOErrorException(message);
  throw Poco::Data::DataException(message);
}

// Values are bound SQLITE_STATIC: they are the caller's arguments, alive until run() or
// select() returns, and the destructor clears the bindings before that.
void SqliteConnection::Cursor::bind(const std::string& value) {
  const int code = sqlite3_bind_text(statement_, nextParameter_++, value.data(), byteCount(value.size()), SQLITE_STATIC);
  if (code != SQLITE_OK) fail(code);
}

void SqliteConnection::Cursor::bind(Poco::Int64 value) {
  const int code = sqlite3_bind_int64(statement_, nextParameter_++, value);
  if (code != SQLITE_OK) fail(code);
}

void SqliteConnection::Cursor::bind(const Poco::Data::BLOB& value) {
  // An empty BLOB is bound as a zero-length BLOB, not as NULL (a null data pointer would be).
  const int code = value.size() == 0
                       ? sqlite3_bind_zeroblob(statement_, nextParameter_++, 0)
                       : sqlite3_bind_blob(statement_, nextParameter_++, value.rawContent(), byteCount(value.size()),
                                           SQLITE_STATIC);
  if (code != SQLITE_OK) fail(code);
}

void SqliteConnection::Cursor::bind(const Poco::Nullable<std::string>& value) {
  if (value.isNull()) {
    const int code = sqlite3_bind_null(statement_, nextParameter_++);
    if (code != SQLITE_OK) fail(code);
    return;
  }
  bind(value.value());
}

bool SqliteConnection::Cursor::next() {
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  fail(code);
}

void SqliteConnection::Cursor::stepToEnd() {
  while (next()) {
  }
}

void SqliteConnection::Cursor::read(int column, std::string& value) const {
  const auto* text = sqlite3_column_text(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  if (text == nullptr) value.clear();
  else value.assign(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

void SqliteConnection::Cursor::read(int column, Poco::Int64& value) const {
  value = sqlite3_column_int64(statement_, column);
}

void SqliteConnection::Cursor::read(int column, Poco::Data::BLOB& value) const {
  const auto* bytes = static_cast<const unsigned char*>(sqlite3_column_blob(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  if (bytes == nullptr || size == 0) value = Poco::Data::BLOB();
  else value = Poco::Data::BLOB(bytes, static_cast<std::size_t>(size));
}

void SqliteConnection::Cursor::read(int column, Poco::Nullable<std::string>& value) const {
  if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
    value.clear();
    return;
  }
  std::string text;
  read(column, text);
  value = text;
}

void SqliteConnection::Cursor::read(int column, Poco::Nullable<Poco::Data::BLOB>& value) const {
  if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
    value.clear();
    return;
  }
  Poco::Data::BLOB blob;
  read(column, blob);
  value = blob;
}

}  // namespace bcauth::store
