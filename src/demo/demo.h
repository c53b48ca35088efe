// `bcauth demo`: bcauth on a temporary SQLite store with an Apple gateway double, an IdP double
// and a device simulator, all on loopback; one legacy and one iOS 16+ authentication end to end,
// one failure of each, then the conversations' timelines.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace bcauth::demo {

struct DemoTimeline {
  std::string conversationId;
  std::vector<std::string> events;  // "type" or "type [reason]"
};

// Runs the whole demo; throws with a clear message if any step does not behave.
std::vector<DemoTimeline> runDemo(std::ostream& log);

int runDemoCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace bcauth::demo
