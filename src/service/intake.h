// Apple's intake: the messages Apple forwards from customers (replies to authenticate requests
// among them), and the profile fetches a legacy success waits for.
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include "bcauth/status.h"
#include "service/kernel.h"

namespace bcauth::service {

struct Inbound {
  bool duplicate = false;  // a redelivery: acknowledged, nothing recorded again
  std::string eventType;   // what the message produced (a metrics label): an event's name or "reconciled"
};

class AppleIntake {
 public:
  explicit AppleIntake(Kernel& kernel) : k_(kernel) {}

  // Apple's webhook body (already decompressed) and its capability-list header.
  Result<Inbound> handleInbound(std::string_view body, const std::string& capabilityList);

  // Legacy successes with a userinfo URL: fetches each profile (outside the intake, which never
  // waits on an outbound call) and then records their auth.succeeded; returns how many.
  int completeProfiles(std::stop_token stop = {});  // stops between fetches when asked

  // Called with the seconds each token decryption took (for the metrics histogram).
  void setDecryptObserver(std::function<void(double)> observer) { decryptObserver_ = std::move(observer); }

 private:
  Kernel& k_;
  std::function<void(double)> decryptObserver_;
};

}  // namespace bcauth::service
