// `bcauth serve`: a Poco ServerApplication around Runtime.
#include <pthread.h>

#include <csignal>
#include <iostream>

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include "app/line_channel.h"
#include "app/runtime.h"

namespace bcauth::app {
namespace {

class ServeApplication : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(Poco::Util::OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("help", "h", "print this help").repeatable(false).callback(
        Poco::Util::OptionCallback<ServeApplication>(this, &ServeApplication::onHelp)));
    options.addOption(Poco::Util::Option("port", "p", "port to listen on; 0 picks a free one and prints it")
                          .argument("N")
                          .binding("bcauth.port"));
    options.addOption(Poco::Util::Option("data-dir", "d", "directory of the SQLite store").argument("DIR").binding("bcauth.dataDir"));
    options.addOption(Poco::Util::Option("config", "c", "configuration file (.properties or .ini)")
                          .argument("FILE")
                          .callback(Poco::Util::OptionCallback<ServeApplication>(this, &ServeApplication::onConfig)));
  }

  void onHelp(const std::string&, const std::string&) {
    helpRequested_ = true;
    Poco::Util::HelpFormatter help(options());
    help.setCommand("bcauth serve");
    help.setUsage("[--port N] [--data-dir DIR] [--config FILE]");
    std::string footer = "Settings (environment variable = configuration key: meaning):\n";
    for (const auto& k : settingKeys()) footer += std::string("  ") + k.env + " = " + k.key + ": " + k.help() + "\n";
    help.setFooter(footer);
    help.setHeader("Runs the bcauth HTTP server until SIGINT or SIGTERM.");
    help.format(std::cout);
    stopOptionsProcessing();
  }

  // Precedence: command-line options (PRIO_APPLICATION) > environment > the file (PRIO_DEFAULT).
  void onConfig(const std::string&, const std::string& file) { loadConfiguration(file, PRIO_DEFAULT); }

  int main(const std::vector<std::string>&) override {
    if (helpRequested_) return EXIT_OK;
    // Block the termination signals before any thread starts, so that every thread inherits
    // the mask and waitForTerminationRequest()'s sigwait receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // The environment overrides the file; command-line options override both.
    Poco::AutoPtr<Poco::Util::MapConfiguration> env = new Poco::Util::MapConfiguration();
    applyEnvironment(*env);
    config().add(env, PRIO_APPLICATION + 1, false);
    // Log lines reach stderr in one write each (a channel the configuration set up is kept).
    LineChannel::replaceDefaultChannels(new LineChannel());
    auto settings = loadSettings(config());
    if (!settings) {
      std::cerr << "bcauth serve: " << settings.status().toString() << "\n";
      return EXIT_CONFIG;
    }
    try {
      Runtime runtime(*settings);
      runtime.start();
      std::cout << "bcauth listening on http://" << settings->host << ":" << runtime.port() << " (data in "
                << settings->dataDir << ")" << std::endl;
      waitForTerminationRequest();
      std::cout << "bcauth stopping" << std::endl;
      runtime.stop();
    } catch (const Poco::Exception& e) {  // its what() is only the class's name, "Net Exception"
      std::cerr << "bcauth serve: " << e.displayText() << "\n";
      return EXIT_SOFTWARE;
    } catch (const std::exception& e) {
      std::cerr << "bcauth serve: " << e.what() << "\n";
      return EXIT_SOFTWARE;
    }
    return EXIT_OK;
  }

 private:
  bool helpRequested_ = false;
};

}  // namespace

int runServe(const std::vector<std::string>& args) {
  std::vector<std::string> storage = {"bcauth-serve"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ServeApplication app;
  try {
    return app.run(static_cast<int>(storage.size()), argv.data());
  } catch (const Poco::Exception& e) {
    std::cerr << "bcauth serve: " << e.displayText() << " (see `bcauth serve --help`)\n";
    return 2;
  }
}

}  // namespace bcauth::app
