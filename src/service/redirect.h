// GET /oauth/callback of the iOS 16+ flow. It runs in the customer's web view, so it always ends
// in a redirect to the messages-auth: scheme the device watches for; the error_code values are
// bcauth's own table (docs/redirect-error-codes.md), mapped back to events when the device
// echoes them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "service/kernel.h"

namespace bcauth::service {

class RedirectCallback {
 public:
  explicit RedirectCallback(Kernel& kernel) : k_(kernel) {}

  // Validates the single-use state, exchanges the code at the provider's token URL (PKCE),
  // fetches the profile, records the outcome and returns where the customer's web view goes
  // next: messages-auth://?status=success|failure|cancel[&error_code=N]. Every problem ends in
  // a failure (or cancel) redirect, never an error page.
  std::string complete(const std::map<std::string, std::string>& query);

 private:
  std::string fail(const store::AuthRequest& request, std::int64_t code, const std::string& detail);
  std::string internalFailure(const store::AuthRequest& request, const std::string& what);
  std::string reject(const std::optional<store::AuthRequest>& request, const std::string& reason, std::int64_t code);
  // Ends the request if it is still pending; false when it was not (cancelled meanwhile).
  bool finishIfPending(const store::AuthRequest& request, Ending ending,
                       const std::function<void(store::Transaction&)>& before = {});

  Kernel& k_;
};

}  // namespace bcauth::service
