// `bcauth serve` as a child process on 127.0.0.1, port 0, for the tests that need a real
// process — several instances on one database, or a SIGKILL in the middle of work — and for
// the load benchmark (tests/bench/load.cpp), which reads its CPU time and RSS from /proc.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include "bcauth/base64.h"
#include "clients/http_call.h"
#include "demo/apple_sender.h"
#include "temp_dir.h"

namespace bcauth::test {

inline const std::string kProcessApiKey = "multi-process-api-key-0001";
inline const std::string kProcessCspId = "csp-multi";
inline const std::string kProcessSecret = "apple-secret-multi";

class ServeProcess {
 public:
  // Where the server's log (stderr, a line per request) goes.
  enum class Log {
    kDrained,    // a pipe this process reads and drops, so the pipe never fills
    kDevNull,    // /dev/null: no reader thread waking for each line (the load benchmark)
  };

  // env adds to (or overrides) the settings every instance needs; binary is the bcauth CLI.
  ServeProcess(const std::string& dataDir, const std::string& masterKey, const std::map<std::string, std::string>& env = {},
               const std::string& binary = BCAUTH_CLI_PATH, Log log = Log::kDrained) {
    Poco::Process::Env all = {{"BCAUTH_CSP_ID", kProcessCspId},
                              {"BCAUTH_APPLE_SECRET", crypto::base64Encode(std::string_view(kProcessSecret))},
                              {"BCAUTH_API_KEYS", kProcessApiKey},
                              {"BCAUTH_MASTER_KEY", masterKey},
                              {"BCAUTH_DATA_DIR", dataDir},
                              {"BCAUTH_APPLE_GATEWAY_URL", "none"}};
    for (const auto& [name, value] : env) all[name] = value;
    if (log == Log::kDevNull) {
      // Poco cannot redirect to a file: a shell does, then exec keeps the PID bcauth's.
      handle_ = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch(
          "/bin/sh", {"-c", "exec \"$0\" serve --port 0 2>/dev/null", binary}, ".", nullptr, &out_, nullptr, all));
    } else {
      handle_ = std::make_unique<Poco::ProcessHandle>(
          Poco::Process::launch(binary, {"serve", "--port", "0"}, ".", nullptr, &out_, &err_, all));
      drain_ = std::thread([this] {
        Poco::PipeInputStream err(err_);
        char buffer[4096];
        while (err.read(buffer, sizeof buffer) || err.gcount() > 0) {
        }
      });
    }
    stream_ = std::make_unique<Poco::PipeInputStream>(out_);
    std::string line;
    std::getline(*stream_, line);
    if (line.find("bcauth listening on http://127.0.0.1:") != 0) {
      kill(SIGKILL);
      throw std::runtime_error("bcauth serve did not start: " + line);
    }
    const std::size_t colon = line.rfind(':');
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1, line.find(' ', colon) - colon - 1)));
    base_ = "http://127.0.0.1:" + std::to_string(port_);
  }
  ~ServeProcess() {
    if (handle_) stop();
    if (drain_.joinable()) drain_.join();
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int pid() const { return handle_ ? handle_->id() : -1; }
  const std::string& baseUrl() const { return base_; }
  std::uint16_t port() const { return port_; }

  // SIGTERM: the graceful stop; returns the exit code.
  int stop() { return kill(SIGTERM); }
  // Any signal (SIGKILL for a crash); waits for the process and returns what wait() returns.
  int kill(int signal) {
    if (!handle_) return -1;
    ::kill(handle_->id(), signal);
    const int code = handle_->wait();
    handle_.reset();
    return code;
  }

  clients::HttpAnswer api(const std::string& method, const std::string& path, const std::string& body = "") const {
    return clients::httpCall(method, base_ + path,
                             {{"Authorization", "Bearer " + kProcessApiKey}, {"Content-Type", "application/json"}}, body, 30);
  }
  // POSTs json to /message as Apple does (demo/apple_sender.h), with capability-list AUTH.
  clients::HttpAnswer deliver(const std::string& json) const {
    demo::AppleMessageOptions options;
    options.capabilities = "AUTH";
    return demo::deliverAsApple(base_, {kProcessCspId, kProcessSecret}, json, options);
  }

 private:
  Poco::Pipe out_, err_;
  std::unique_ptr<Poco::ProcessHandle> handle_;
  std::unique_ptr<Poco::PipeInputStream> stream_;
  std::thread drain_;
  std::string base_;
  std::uint16_t port_ = 0;
};

}  // namespace bcauth::test
