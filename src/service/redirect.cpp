#include "service/redirect.h"

#include <Poco/Logger.h>

#include "bcauth/outcome.h"
#include "protocol/text.h"
#include "service/profile.h"
#include "service/provider_access.h"

namespace bcauth::service {
namespace {

constexpr const char* kSuccess = "messages-auth://?status=success";
constexpr const char* kCancel = "messages-auth://?status=cancel";

std::string failureUrl(std::int64_t code) { return "messages-auth://?status=failure&error_code=" + std::to_string(code); }

std::string value(const std::map<std::string, std::string>& query, const std::string& key) {
  const auto it = query.find(key);
  return it == query.end() ? std::string() : it->second;
}

}  // namespace

bool RedirectCallback::finishIfPending(const store::AuthRequest& request, Ending ending,
                                       const std::function<void(store::Transaction&)>& before) {
  const auto at = k_.now();
  bool finished = false;
  k_.store.transaction([&](store::Transaction& tx) {
    const auto current = tx.request(request.id);
    if (!current || current->status != store::status::kPending) return;
    if (before) before(tx);
    k_.finish(tx, *current, std::move(ending), at);
    finished = true;
  });
  return finished;
}

// A state that names no usable request: auth.rejected, and a failure redirect.
std::string RedirectCallback::reject(const std::optional<store::AuthRequest>& request, const std::string& reason,
                                     std::int64_t code) {
  k_.store.transaction([&](store::Transaction& tx) {
    k_.publish(tx, {EventType::kAuthRejected, k_.now(), request ? request->businessId : "",
                    request ? request->conversationId : "",
                    request ? request->id : "", RejectedData{reason, std::nullopt, "oauth_callback"}});
  });
  return failureUrl(code);
}

// A fault inside bcauth (a secret that does not unseal): the operator's log has what it was, under
// the auth request's id; the event, read through the API, says only that there was one.
std::string RedirectCallback::internalFailure(const store::AuthRequest& request, const std::string& what) {
  Poco::Logger::get("bcauth.service").error("auth request " + request.id + ": " + protocol::boundedText(what, 500));
  return fail(request, protocol::redirect_error::kInternalError, "internal error (see the server log)");
}

// The request fails with one of bcauth's redirect codes: auth.failed, and a failure redirect.
std::string RedirectCallback::fail(const store::AuthRequest& request, std::int64_t code, const std::string& detail) {
  const protocol::Outcome outcome =
      protocol::outcomeForDeviceError({code, std::string(protocol::kRedirectDomain), "OAuth Error"});
  auto ending = Ending::of(store::status::kFailed, outcome.reason, "callback", EventType::kAuthFailed);
  ending.data.outcome = outcome;
  ending.data.flow = "v2";
  ending.data.providerId = request.providerId;
  ending.data.detail = protocol::boundedText(detail);  // the IdP's words: bounded, no control characters
  finishIfPending(request, std::move(ending));
  return failureUrl(code);
}

std::string RedirectCallback::complete(const std::map<std::string, std::string>& query) {
  const std::string state = value(query, "state");
  const auto request = state.empty() ? std::nullopt : k_.store.requestByState(state);
  if (!request) return reject(std::nullopt, "unknown_state", protocol::redirect_error::kStateInvalid);

  // Single use: the first callback with this state consumes it; a replay is refused.
  bool consumed = false;
  std::string notPending;
  k_.store.transaction([&](store::Transaction& tx) {
    consumed = tx.consumeState(request->id);
    const auto current = tx.request(request->id);
    if (consumed && current && current->status != store::status::kPending) notPending = current->status;
    else if (consumed && current && current->expiresAt <= k_.now()) notPending = "expired";
  });
  if (!consumed) return reject(request, "state_used", protocol::redirect_error::kStateInvalid);
  if (!notPending.empty()) return reject(request, "request_" + notPending, protocol::redirect_error::kRequestNotPending);

  const std::string error = value(query, "error");
  if (error == "access_denied") {
    auto ending = Ending::of(store::status::kCancelled, "cancelled by customer", "callback", EventType::kAuthCancelled);
    ending.data.by = "customer";
    ending.data.flow = "v2";
    finishIfPending(*request, std::move(ending));
    return kCancel;
  }
  if (!error.empty()) return fail(*request, protocol::redirect_error::kProviderDenied, "the IdP answered error=" + error);
  const std::string code = value(query, "code");
  if (code.empty()) return fail(*request, protocol::redirect_error::kMissingCode, "no code in the redirect");

  const auto provider = k_.store.provider(request->providerId);
  if (!provider) return fail(*request, protocol::redirect_error::kInternalError, "the provider was deleted");
  std::optional<std::string> verifier;
  if (auto sealed = k_.store.secret(request->id, store::secret::kPkceVerifier)) {
    auto opened = k_.vault.unseal(SealKind::kPkceVerifier, request->id, *sealed);
    if (!opened) return internalFailure(*request, "the PKCE verifier does not unseal (wrong master key?)");
    verifier = std::string(opened->view());
  }

  clients::TokenResponse tokens;
  try {
    tokens = k_.ports.idp->exchangeCode(provider->tokenUrl, clientCredentials(k_.vault, *provider), code,
                                        k_.config.callbackUrl(), verifier);
  } catch (const std::exception& e) {
    return internalFailure(*request, std::string("the code exchange failed: ") + e.what());  // e.g. the client secret
  }
  if (tokens.failure == clients::IdpFailure::kInvalidResponse) {
    return fail(*request, protocol::redirect_error::kTokenResponseInvalid, tokens.detail);
  }
  if (tokens.failure != clients::IdpFailure::kNone) {
    return fail(*request, protocol::redirect_error::kTokenExchangeFailed, tokens.detail);
  }

  auto ending = Ending::of(store::status::kSucceeded, "", "callback", EventType::kAuthSucceeded);
  ending.data.flow = "v2";
  ending.data.providerId = provider->id;
  ending.data.tokenAvailable = true;
  ending.data.refreshTokenAvailable = tokens.refreshToken.has_value();
  if (!provider->userinfoUrl.empty()) {
    addProfile(ending.data, *provider, k_.ports.idp->userinfo(provider->userinfoUrl, std::string(tokens.accessToken.view())));
  }
  ending.tokenType = tokens.tokenType;
  ending.tokenExpiresAt = tokenExpiry(tokens, k_.now());
  const bool recorded = finishIfPending(*request, std::move(ending),
                                        [&](store::Transaction& tx) { storeTokens(tx, k_.vault, request->id, tokens); });
  return recorded ? kSuccess : failureUrl(protocol::redirect_error::kRequestNotPending);
}

}  // namespace bcauth::service
