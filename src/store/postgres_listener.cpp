#include "store/postgres_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <utility>

#include <libpq-fe.h>

#include <Poco/Logger.h>

namespace bcauth::store {
namespace {

constexpr int kFirstRetryMs = 100;
constexpr int kLastRetryMs = 5000;

// A bounded connect (a stop waits for it) and TCP keepalives, so a connection whose peer
// vanished without a reset is noticed within about a minute instead of hours. The operator's
// connection string comes last and so can override each.
const char* const kKeywords[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                                 "keepalives_count", "dbname", nullptr};

void logWarning(const std::string& text) { Poco::Logger::get("bcauth.store").warning(text); }

// libpq prints the server's asynchronous messages (e.g. "terminating connection due to
// administrator command") to stderr by default; they belong in the log.
void logNotice(void*, const char* message) {
  std::string text(message);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  logWarning("event listener: " + text);
}

}  // namespace

PostgresListener::PostgresListener(std::string connectionString, std::string channel, std::function<void()> onNotify)
    : connectionString_(std::move(connectionString)), channel_(std::move(channel)), onNotify_(std::move(onNotify)) {
  if (::pipe2(stopPipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("store: cannot create a pipe");
  thread_ = std::thread([this] { run(); });
}

PostgresListener::~PostgresListener() {
  stopping_ = true;
  const char byte = 0;
  [[maybe_unused]] const auto written = ::write(stopPipe_[1], &byte, 1);
  thread_.join();
  ::close(stopPipe_[0]);
  ::close(stopPipe_[1]);
}

bool PostgresListener::waitReadable(int fd, int timeoutMs) {
  pollfd fds[2] = {{stopPipe_[0], POLLIN, 0}, {fd, POLLIN, 0}};
  const nfds_t count = fd < 0 ? 1 : 2;
  while (!stopping_) {
    // EINTR: poll again (the timeout restarts; only the backoff uses one). Any other error
    // returns as if readable: reading the connection then fails and it is reopened.
    if (::poll(fds, count, timeoutMs) >= 0 || errno != EINTR) return !stopping_;
  }
  return false;
}

void PostgresListener::run() {
  int retryMs = kFirstRetryMs;
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    listenOnce();
    if (stopping_) break;
    // A connection that lived a while was healthy: start the backoff over.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) retryMs = kFirstRetryMs;
    if (!waitReadable(-1, retryMs)) break;
    retryMs = std::min(retryMs * 2, kLastRetryMs);
  }
}

void PostgresListener::listenOnce() {
  const char* values[] = {"5", "1", "30", "10", "3", connectionString_.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(kKeywords, values, 1);
  struct Closer {
    PGconn* conn;
    ~Closer() { PQfinish(conn); }
  } closer{conn};
  // libpq's messages name the host and the user, never the password.
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    logWarning("event listener: cannot connect to PostgreSQL: " + std::string(conn ? PQerrorMessage(conn) : "out of memory"));
    return;
  }
  PQsetNoticeProcessor(conn, logNotice, nullptr);
  char* quoted = PQescapeIdentifier(conn, channel_.c_str(), channel_.size());
  if (quoted == nullptr) return;
  const std::string listen = std::string("LISTEN ") + quoted;
  PQfreemem(quoted);
  PGresult* result = PQexec(conn, listen.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  if (!ok) {
    logWarning("event listener: LISTEN failed: " + std::string(PQerrorMessage(conn)));
    return;
  }
  onNotify_();  // events committed before LISTEN took effect were not announced to us
  while (waitReadable(PQsocket(conn), -1)) {
    if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
      logWarning("event listener: the PostgreSQL connection failed: " + std::string(PQerrorMessage(conn)));
      break;
    }
    bool any = false;
    while (PGnotify* notification = PQnotifies(conn)) {
      any = true;
      PQfreemem(notification);
    }
    if (any) onNotify_();
  }
}

}  // namespace bcauth::store
