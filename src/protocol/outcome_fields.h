// An outcome's fields as JSON, written into an open object: Outcome::toJson writes them, and so
// do the events that conclude a request (service/event_codec.cpp), which add their own.
#pragma once

#include <optional>
#include <string>

#include "bcauth/outcome.h"
#include "protocol/json_writer.h"

namespace bcauth::protocol::json {

// An outcome's fields but "event", into the open object, in Outcome::toJson's order; where the
// caller has its own "flow" or "by", that value takes the outcome's place. writesFlow/writesBy
// say whether the outcome has that field (so the caller does not write it twice).
struct OutcomeOverrides {
  std::optional<std::string> flow, by;
};
void writeOutcomeFields(Writer& out, const Outcome& outcome, const OutcomeOverrides& overrides);
bool writesFlow(const Outcome& outcome);
bool writesBy(const Outcome& outcome);

}  // namespace bcauth::protocol::json
