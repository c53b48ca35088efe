// One SQLite connection of the SQLite store, with its prepared statements kept.
//
// Poco::Data opens and configures the connection, but it compiles every statement again on each
// execution (sqlite3_prepare_v2 was ≈14% of the server's CPU under load). A connection here
// prepares each distinct SQL text once, through SQLite's C API on Poco's handle, and then only
// resets and rebinds it. The set of SQL texts is fixed by the store's code, so the cache is
// bounded. Like a Poco session, a connection is used by one thread at a time.
//
// Errors are thrown as Poco::Data exceptions (ConstraintViolationException for a constraint,
// DBLockedException, DatabaseFullException for SQLITE_FULL, IOErrorException, DataException
// otherwise) carrying the SQL text and SQLite's message, never bound values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <Poco/Data/LOB.h>
#include <Poco/Data/Session.h>
#include <Poco/Nullable.h>
#include <Poco/Types.h>

struct sqlite3;
struct sqlite3_stmt;

namespace bcauth::store {

class SqliteConnection {
 public:
  // Opens dbPath with a busy timeout, foreign keys and synchronous=FULL; read-only connections
  // also set query_only. Throws Poco::Exception.
  SqliteConnection(const std::string& dbPath, bool readOnly);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Poco's session, for what runs once (PRAGMAs, migrations).
  Poco::Data::Session& session() { return session_; }

  // Runs a statement that returns no rows; returns the number of rows it changed.
  template <typename... Args>
  std::size_t run(const std::string& sql, const Args&... args) {
    Cursor cursor(*this, sql);
    (cursor.bind(args), ...);
    cursor.stepToEnd();
    return changes();
  }

  // Runs a query and returns every row, each a Poco::Tuple whose element types say how to
  // read its columns (std::string, Poco::Int64, Poco::Data::BLOB and their Poco::Nullable).
  // NULL reads as an empty string, 0 or an empty BLOB where the type is not Nullable.
  template <typename Row, typename... Args>
  std::vector<Row> select(const std::string& sql, const Args&... args) {
    Cursor cursor(*this, sql);
    (cursor.bind(args), ...);
    std::vector<Row> rows;
    while (cursor.next()) {
      rows.emplace_back();
      readRow(cursor, rows.back(), std::make_index_sequence<Row::length>());
    }
    return rows;
  }

  std::int64_t lastInsertRowid() const;

 private:
  // A statement leased from the cache for one execution; resets it and clears its bindings
  // when done, so no read transaction or bound pointer outlives the call.
  class Cursor {
   public:
    Cursor(SqliteConnection& connection, const std::string& sql);
    ~Cursor();
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    void bind(const std::string& value);
    void bind(Poco::Int64 value);
    void bind(const Poco::Data::BLOB& value);
    void bind(const Poco::Nullable<std::string>& value);

    bool next();  // true while there is a row
    void stepToEnd();

    void read(int column, std::string& value) const;
    void read(int column, Poco::Int64& value) const;
    void read(int column, Poco::Data::BLOB& value) const;
    void read(int column, Poco::Nullable<std::string>& value) const;
    void read(int column, Poco::Nullable<Poco::Data::BLOB>& value) const;

   private:
    [[noreturn]] void fail(int code) const;

    SqliteConnection& connection_;
    const std::string& sql_;
    sqlite3_stmt* statement_;
    int nextParameter_ = 1;
  };

  template <typename Row, std::size_t... I>
  static void readRow(const Cursor& cursor, Row& row, std::index_sequence<I...>) {
    (cursor.read(static_cast<int>(I), row.template get<I>()), ...);
  }

  sqlite3_stmt* prepared(const std::string& sql);
  std::size_t changes() const;

  Poco::Data::Session session_;
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace bcauth::store
