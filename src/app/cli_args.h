// Command-line parsing for `bcauth COMMAND [options] [args]`: --name value, --name=value,
// repeatable options and flags, each command declaring what it accepts.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bcauth::app {

struct OptionSpec {
  std::string name;        // without the leading "--"
  bool takesValue = true;  // false: a flag
  bool repeatable = false;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> flags;
  std::vector<std::string> positional;
  bool help = false;

  std::optional<std::string> value(const std::string& name) const;
  std::vector<std::string> all(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
};

// Throws UsageError on an unknown option, a missing value or a repeated single option.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

ParsedArgs parseArgs(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs);

}  // namespace bcauth::app
