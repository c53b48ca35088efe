// The bcauth command-line tool, as a function so tests can run it in-process too.
// Exit codes: 0 success; 1 bad input or failed decryption (one line on stderr, nothing on
// stdout); 2 wrong usage.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace bcauth::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;
inline constexpr int kExitUsage = 2;

// args excludes the program name.
int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace bcauth::app
