// The catalogues, as data. Adding a device error or a redirect code is adding a row here.
#include "bcauth/outcome.h"

namespace bcauth::protocol {
namespace {

constexpr std::string_view kOurProblem = "We couldn't sign you in because of a problem on our side. Please try again later.";
constexpr std::string_view kTryAgain = "Something went wrong while signing you in. Please try again.";

// DESIGN.md "Device error mapping", with the device's messages from spec §5.
constexpr DeviceErrorRule kDeviceErrors[] = {
    {kCryptorDomain, 0, reason::kConfigurationError, false, true,
     "The device received an empty responseEncryptionKey. bcauth's request is misconfigured; operations are alerted.",
     kOurProblem},
    {kCryptorDomain, 1, reason::kConfigurationError, false, true,
     "The device could not decode responseEncryptionKey (not standard Base64). Operations are alerted.", kOurProblem},
    {kCryptorDomain, 2, reason::kConfigurationError, false, true,
     "The device could not create a key from responseEncryptionKey (not a raw P-384 point). Operations are alerted.",
     kOurProblem},
    {kCryptorDomain, 3, reason::kConfigurationError, false, true,
     "The device found responseEncryptionKey unusable for ECIES. Operations are alerted.", kOurProblem},
    {kCryptorDomain, 4, reason::kDeviceError, true, false,
     "The customer's device could not encrypt the token. Asking the customer to sign in again usually works.",
     "Your device couldn't finish signing you in. Please try again."},
    {kAuthenticationDomain, 0, reason::kProviderError, true, true,
     "The identity provider returned no authorization code or token (or an empty token response).", kTryAgain},
    {kAuthenticationDomain, 2, reason::kProviderError, true, true,
     "The identity provider's token response had no access_token.", kTryAgain},
    {kUrlErrorDomain, std::nullopt, reason::kProviderError, true, true,
     "The customer's device could not reach the identity provider (network or TLS error).", kTryAgain},
};

constexpr DeviceErrorRule kUnknownDeviceError = {
    "", std::nullopt, reason::kUnknown, false, true,
    "The customer's device reported an error bcauth does not know. Operations are alerted.", kTryAgain};

// The error_code values bcauth's /oauth/callback puts on messages-auth://?status=failure.
constexpr RedirectErrorCode kRedirectErrorCodes[] = {
    {redirect_error::kStateInvalid, "state_invalid", true, false,
     "The sign-in link was unknown, already used or expired. Send a new authentication request.",
     "This sign-in link has expired. Please ask for a new one."},
    {redirect_error::kProviderDenied, "provider_error", true, true,
     "The identity provider answered the authorization with an error.", kTryAgain},
    {redirect_error::kTokenExchangeFailed, "token_exchange_failed", true, true,
     "bcauth could not exchange the authorization code at the provider's token URL.", kTryAgain},
    {redirect_error::kTokenResponseInvalid, "token_response_invalid", false, true,
     "The provider's token response had no access_token or was not JSON.", kOurProblem},
    {redirect_error::kMissingCode, "missing_code", true, true,
     "The provider redirected back without an authorization code.", kTryAgain},
    {redirect_error::kRequestNotPending, "request_not_pending", true, false,
     "The authentication request had already been cancelled, expired or completed.",
     "This sign-in request is no longer valid. Please ask for a new one."},
    {redirect_error::kInternalError, "internal_error", true, true,
     "bcauth failed while completing the sign-in. Operations are alerted.", kOurProblem},
};

}  // namespace

std::span<const DeviceErrorRule> deviceErrorCatalogue() { return kDeviceErrors; }
std::span<const RedirectErrorCode> redirectErrorCodes() { return kRedirectErrorCodes; }

const RedirectErrorCode* findRedirectErrorCode(std::int64_t code) {
  for (const auto& row : kRedirectErrorCodes) {
    if (row.code == code) return &row;
  }
  return nullptr;
}

Outcome outcomeForDeviceError(const DeviceError& error) {
  Outcome outcome;
  outcome.eventType = event::kFailed;
  outcome.deviceError = error;

  if (error.domain == kRedirectDomain) {
    outcome.flow = Flow::kV2;
    outcome.reason = reason::kProviderError;
    if (const auto* row = findRedirectErrorCode(error.code)) {
      outcome.retryable = row->retryable;
      outcome.alertOps = row->alertOps;
      outcome.agentMessage = row->agentMessage;
      outcome.customerMessage = row->customerMessage;
    } else {
      outcome.retryable = false;
      outcome.alertOps = true;
      outcome.agentMessage = "The sign-in failed with an error code bcauth did not issue. Operations are alerted.";
      outcome.customerMessage = kTryAgain;
    }
    return outcome;
  }

  const DeviceErrorRule* rule = &kUnknownDeviceError;
  for (const auto& row : kDeviceErrors) {
    if (row.domain == error.domain && (!row.code || *row.code == error.code)) {
      rule = &row;
      break;
    }
  }
  outcome.reason = rule->reason;
  outcome.retryable = rule->retryable;
  outcome.alertOps = rule->alertOps;
  outcome.agentMessage = rule->agentMessage;
  outcome.customerMessage = rule->customerMessage;
  return outcome;
}

}  // namespace bcauth::protocol
