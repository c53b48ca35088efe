// `bcauth serve` as a process: refuses to start without its settings, starts on --port 0 and
// prints the port, answers, and stops cleanly on SIGINT/SIGTERM.
#define BOOST_TEST_MODULE serve_process
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

#include <Poco/File.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include "app/line_channel.h"
#include "bcauth/base64.h"
#include "bcauth/secure.h"
#include "temp_dir.h"

namespace {

Poco::Process::Env baseEnv(const std::string& dataDir) {
  return {{"BCAUTH_CSP_ID", "csp-process"},
          {"BCAUTH_APPLE_SECRET", bcauth::crypto::base64Encode(std::string_view("apple-secret"))},
          {"BCAUTH_API_KEYS", "process-api-key-0123456789"},
          {"BCAUTH_MASTER_KEY", bcauth::crypto::base64Encode(bcauth::crypto::randomBytes(32))},
          {"BCAUTH_DATA_DIR", dataDir}};
}

// `bcauth serve --port 0 ARGS...` started and its printed port read; healthz() asks it once.
struct ServeProcess {
  ServeProcess(const std::vector<std::string>& args, const Poco::Process::Env& env) {
    std::vector<std::string> all = {"serve", "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    handle = std::make_unique<Poco::ProcessHandle>(
        Poco::Process::launch(BCAUTH_CLI_PATH, all, ".", nullptr, &outPipe, &errPipe, env));
    std::string line;
    std::getline(out, line);
    BOOST_REQUIRE_MESSAGE(line.find("bcauth listening on http://127.0.0.1:") == 0, line);
    port = static_cast<Poco::UInt16>(std::stoi(line.substr(line.rfind(':') + 1)));
    BOOST_TEST(port > 0);
  }
  int healthz() const {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    Poco::Net::HTTPRequest request("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    return static_cast<int>(response.getStatus());
  }
  // Stops it with `signal`: its exit code; what is left on stdout and all of stderr.
  int stop(int signal, std::string& restOfOut, std::string& err) {
    ::kill(handle->id(), signal);
    const int code = handle->wait();
    Poco::StreamCopier::copyToString(out, restOfOut);
    Poco::PipeInputStream errStream(errPipe);
    Poco::StreamCopier::copyToString(errStream, err);
    return code;
  }

  Poco::Pipe outPipe, errPipe;
  Poco::PipeInputStream out{outPipe};
  std::unique_ptr<Poco::ProcessHandle> handle;
  Poco::UInt16 port = 0;
};

void runAndStop(int signal) {
  const std::string dir = bcauth::test::freshTempDir();
  ServeProcess serve({}, baseEnv(dir));
  BOOST_TEST(serve.healthz() == 200);
  std::string rest, log;
  BOOST_TEST(serve.stop(signal, rest, log) == 0);
  BOOST_TEST(rest.find("bcauth stopping") != std::string::npos);
  // Its log on stderr: the request's line, whole, on a line of its own.
  const std::size_t at = log.find("{\"requestId\":");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, log);
  BOOST_TEST((at == 0 || log[at - 1] == '\n'));
  const std::string requestLine = log.substr(at, log.find('\n', at) - at);
  BOOST_TEST(requestLine.find("\"route\":\"GET /healthz\"") != std::string::npos, requestLine);
  BOOST_TEST(requestLine.back() == '}', requestLine);
}

}  // namespace

BOOST_AUTO_TEST_CASE(refuses_to_start_without_settings) {
  Poco::Pipe outPipe, errPipe;
  Poco::Process::Env env = baseEnv("/tmp/unused");
  env["BCAUTH_CSP_ID"] = "";
  env["BCAUTH_MASTER_KEY"] = "too-short";
  Poco::ProcessHandle handle = Poco::Process::launch(BCAUTH_CLI_PATH, {"serve", "--port", "0"}, ".", nullptr, &outPipe,
                                                     &errPipe, env);
  Poco::PipeInputStream err(errPipe);
  std::string text;
  Poco::StreamCopier::copyToString(err, text);
  BOOST_TEST(handle.wait() != 0);
  BOOST_TEST(text.find("BCAUTH_CSP_ID") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_stops_it_with_the_reason) {
  const Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
  const std::string dir = bcauth::test::freshTempDir();
  Poco::Pipe outPipe, errPipe;
  Poco::ProcessHandle handle = Poco::Process::launch(
      BCAUTH_CLI_PATH, {"serve", "--port", std::to_string(taken.address().port())}, ".", nullptr, &outPipe, &errPipe,
      baseEnv(dir));
  Poco::PipeInputStream err(errPipe);
  std::string text;
  Poco::StreamCopier::copyToString(err, text);
  BOOST_TEST(handle.wait() != 0);
  BOOST_TEST(text.find("Address already in use: 127.0.0.1:" + std::to_string(taken.address().port())) != std::string::npos,
             text);
}

// A data directory bcauth cannot use stops it at once with the path, not after a minute of
// silence (Poco's SQLite connector retried a failed open for its 60 s login timeout). Tests
// run as root, whom chmod does not stop: a directory under a regular file cannot be created,
// and a directory in the database file's place cannot be opened.
BOOST_AUTO_TEST_CASE(an_unusable_data_dir_stops_it_at_once_naming_the_path) {
  const std::string parent = bcauth::test::freshTempDir();
  std::ofstream(parent + "/a-file") << "not a directory\n";
  Poco::File(parent + "/db-is-a-dir/bcauth.db").createDirectories();
  for (const auto& [dataDir, named] : {std::pair{parent + "/a-file/data", parent + "/a-file/data"},
                                       std::pair{parent + "/db-is-a-dir", parent + "/db-is-a-dir/bcauth.db"}}) {
    const auto started = std::chrono::steady_clock::now();
    Poco::Pipe outPipe, errPipe;
    Poco::ProcessHandle handle = Poco::Process::launch(BCAUTH_CLI_PATH, {"serve", "--port", "0"}, ".", nullptr,
                                                       &outPipe, &errPipe, baseEnv(dataDir));
    Poco::PipeInputStream err(errPipe);
    std::string text;
    Poco::StreamCopier::copyToString(err, text);
    BOOST_TEST(handle.wait() != 0);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    BOOST_TEST(seconds < 10.0, dataDir << " took " << seconds << " s");
    BOOST_TEST(text.find(named) != std::string::npos, text);
  }
}

BOOST_AUTO_TEST_CASE(stops_cleanly_on_sigint) { runAndStop(SIGINT); }
BOOST_AUTO_TEST_CASE(stops_cleanly_on_sigterm) { runAndStop(SIGTERM); }

BOOST_AUTO_TEST_CASE(serve_help_lists_the_settings) {
  Poco::Pipe outPipe;
  Poco::ProcessHandle handle = Poco::Process::launch(BCAUTH_CLI_PATH, {"serve", "--help"}, nullptr, &outPipe, nullptr);
  Poco::PipeInputStream out(outPipe);
  std::string text;
  Poco::StreamCopier::copyToString(out, text);
  BOOST_TEST(handle.wait() == 0);
  for (const char* env : {"BCAUTH_CSP_ID", "BCAUTH_APPLE_SECRET", "BCAUTH_API_KEYS", "BCAUTH_MASTER_KEY", "BCAUTH_DATA_DIR",
                          "BCAUTH_PUBLIC_URL", "--port", "--data-dir"}) {
    BOOST_TEST(text.find(env) != std::string::npos, env);
  }
}

BOOST_AUTO_TEST_CASE(the_log_channel_writes_each_line_whole_from_any_thread) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  {
    Poco::AutoPtr<bcauth::app::LineChannel> channel = new bcauth::app::LineChannel(fds[1]);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&channel, t] {
        // Longer than one write may take at once into a pipe (PIPE_BUF), so only the lock keeps it whole.
        const std::string text(5000, static_cast<char>('a' + t));
        for (int i = 0; i < 3; ++i) channel->log(Poco::Message("test", text, Poco::Message::PRIO_INFORMATION));
      });
    }
    std::string all;
    std::thread reader([&all, fd = fds[0]] {
      char chunk[4096];
      ssize_t n;
      while ((n = ::read(fd, chunk, sizeof chunk)) > 0) all.append(chunk, static_cast<std::size_t>(n));
    });
    for (auto& thread : threads) thread.join();
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    std::size_t lines = 0;
    for (std::size_t at = 0; at < all.size(); ++lines) {
      const std::size_t end = all.find('\n', at);
      BOOST_REQUIRE(end != std::string::npos);
      BOOST_TEST(end - at == 5000u);
      BOOST_TEST(all.find_first_not_of(all[at], at) == end);  // one thread's text, not interleaved
      at = end + 1;
    }
    BOOST_TEST(lines == 12u);
  }
}

BOOST_AUTO_TEST_CASE(a_log_channel_set_in_the_configuration_file_is_kept) {
  const std::string dir = bcauth::test::freshTempDir();
  const std::string logPath = dir + "/http.log";
  const std::string configPath = dir + "/bcauth.properties";
  {
    std::ofstream config(configPath);
    config << "logging.loggers.h.name = bcauth.http\n"
           << "logging.loggers.h.channel = f\n"
           << "logging.channels.f.class = FileChannel\n"
           << "logging.channels.f.path = " << logPath << "\n";
  }
  ServeProcess serve({"--config", configPath}, baseEnv(dir + "/data"));
  BOOST_TEST(serve.healthz() == 200);
  std::string rest, stderrText;
  BOOST_TEST(serve.stop(SIGTERM, rest, stderrText) == 0);
  std::ifstream file(logPath);
  const std::string logged((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  BOOST_TEST(logged.find("\"route\":\"GET /healthz\"") != std::string::npos, logged);
  BOOST_TEST(stderrText.find("\"route\":\"GET /healthz\"") == std::string::npos, stderrText);
}
