// From a parsed reply to the chat event it produces.
#include <algorithm>
#include <cctype>

#include "bcauth/outcome.h"
#include "protocol/json_util.h"
#include "protocol/outcome_fields.h"

namespace bcauth::protocol {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

Outcome failedWithoutDetail(Flow flow, std::string_view agentMessage) {
  Outcome outcome;
  outcome.eventType = event::kFailed;
  outcome.flow = flow;
  outcome.reason = reason::kUnknown;
  outcome.retryable = false;
  outcome.alertOps = true;
  outcome.agentMessage = agentMessage;
  outcome.customerMessage = "Something went wrong while signing you in. Please try again.";
  return outcome;
}

}  // namespace

Outcome outcomeForSuccess(Flow flow) {
  Outcome outcome;
  outcome.eventType = event::kSucceeded;
  outcome.flow = flow;
  outcome.agentMessage = "The customer signed in.";
  outcome.customerMessage = "You signed in.";
  return outcome;
}

Outcome outcomeForReply(const AuthenticateReply& reply, bool tokenDecrypted) {
  if (reply.flow == Flow::kV2) {
    if (equalsIgnoreCase(reply.status, "success")) return outcomeForSuccess(Flow::kV2);
    if (equalsIgnoreCase(reply.status, "cancel")) {
      Outcome outcome;
      outcome.eventType = event::kCancelled;
      outcome.flow = Flow::kV2;
      outcome.cancelledBy = "customer";
      outcome.agentMessage = "The customer cancelled the sign-in.";
      return outcome;
    }
    if (reply.errorCode) {
      Outcome outcome = outcomeForDeviceError({*reply.errorCode, std::string(kRedirectDomain), "OAuth Error"});
      return outcome;
    }
    return failedWithoutDetail(Flow::kV2, "The sign-in failed and the device gave no error code.");
  }

  if (equalsIgnoreCase(reply.status, "authenticated")) {
    if (tokenDecrypted) return outcomeForSuccess(Flow::kLegacy);
    Outcome outcome;
    outcome.eventType = event::kFailed;
    outcome.flow = Flow::kLegacy;
    outcome.reason = reason::kServerDecryptError;
    outcome.retryable = false;
    outcome.alertOps = true;
    outcome.agentMessage = reply.token ? "The customer signed in but bcauth could not decrypt the returned token."
                                       : "The device reported success but sent no token.";
    outcome.customerMessage = "We couldn't sign you in because of a problem on our side. Please try again later.";
    return outcome;
  }
  if (!reply.errors.empty()) {
    Outcome outcome = outcomeForDeviceError(reply.errors.front());
    outcome.flow = Flow::kLegacy;
    return outcome;
  }
  return failedWithoutDetail(Flow::kLegacy, "The sign-in failed and the device gave no error.");
}

Outcome outcomeForMessage(const InboundMessage& message, bool tokenDecrypted) {
  if (message.authenticate) return outcomeForReply(*message.authenticate, tokenDecrypted);
  Outcome outcome;
  outcome.eventType = event::kMessageReceived;
  outcome.messageType = message.type;
  outcome.interactiveDataRef = message.interactiveDataRef.has_value();
  return outcome;
}

Poco::JSON::Object::Ptr Outcome::toJson() const {
  json::Writer out;
  out.beginObject().field("event", eventType);
  json::writeOutcomeFields(out, *this, {});
  out.endObject();
  return json::parseOrdered(out.text());
}

namespace json {

void writeOutcomeFields(Writer& out, const Outcome& outcome, const OutcomeOverrides& overrides) {
  if (outcome.flow) out.field("flow", overrides.flow ? *overrides.flow : std::string(toString(*outcome.flow)));
  if (outcome.eventType == event::kFailed) {
    out.field("reason", outcome.reason);
    if (outcome.deviceError) {
      out.key("deviceError").beginObject();
      out.field("domain", outcome.deviceError->domain);
      out.field("code", outcome.deviceError->code);
      out.field("message", outcome.deviceError->message);
      out.endObject();
    }
    out.key("retryable").boolean(outcome.retryable);
    out.key("alertOps").boolean(outcome.alertOps);
  }
  if (outcome.eventType == event::kCancelled) out.field("by", overrides.by ? *overrides.by : outcome.cancelledBy);
  if (outcome.eventType == event::kMessageReceived) {
    out.field("type", outcome.messageType);
    if (outcome.interactiveDataRef) out.key("interactiveDataRef").boolean(true);
  }
  if (!outcome.agentMessage.empty()) out.field("agentMessage", outcome.agentMessage);
  if (!outcome.customerMessage.empty()) out.field("customerMessage", outcome.customerMessage);
}

bool writesFlow(const Outcome& outcome) { return outcome.flow.has_value(); }
bool writesBy(const Outcome& outcome) { return outcome.eventType == event::kCancelled; }

}  // namespace json

}  // namespace bcauth::protocol
