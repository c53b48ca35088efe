// The iOS 16+ flow's redirect endpoint and the refresh grant.
//
// The callback runs in the customer's web view, so it always ends in a redirect to the
// messages-auth: scheme the device watches for; the error_code values are bcauth's own table
// (docs/redirect-error-codes.md), mapped back to events when the device echoes them.
#include <Poco/Logger.h>
#include <Poco/URI.h>

#include "bcauth/outcome.h"
#include "protocol/ids.h"
#include "protocol/json_util.h"
#include "protocol/text.h"
#include "service/auth_service.h"
#include "service/json_views.h"

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

clients::ClientCredentials AuthService::credentials(const store::Provider& provider) {
  clients::ClientCredentials client;
  client.clientId = provider.clientId;
  client.basicAuth = provider.tokenAuthMethod == "client_secret_basic";
  if (provider.sealedClientSecret) {
    auto secret = sealer_.unseal(*provider.sealedClientSecret, sealContext("provider", provider.id));
    if (!secret) throw std::runtime_error("the provider's client secret does not unseal (wrong master key?)");
    client.clientSecret = std::move(*secret);
  }
  return client;
}

void AuthService::storeTokens(store::Transaction& tx, const std::string& id, const clients::TokenResponse& tokens,
                              const std::string& completedBy, std::int64_t now) {
  tx.putSecret(id, store::secret::kAccessToken,
               sealer_.seal(tokens.accessToken.view(), sealContext(store::secret::kAccessToken, id)));
  if (tokens.refreshToken) {
    tx.putSecret(id, store::secret::kRefreshToken,
                 sealer_.seal(tokens.refreshToken->view(), sealContext(store::secret::kRefreshToken, id)));
  }
  tx.setCompletion(id, completedBy, tokens.tokenType,
                   tokens.expiresInSeconds ? now + *tokens.expiresInSeconds * 1000 : 0);
}

// A state that names no usable request: auth.rejected, and a failure redirect.
std::string AuthService::rejectRedirect(const std::optional<store::AuthRequest>& request, const std::string& reason,
                                        std::int64_t code) {
  auto data = protocol::detail::newObject();
  data->set("reason", reason);
  data->set("via", std::string("oauth_callback"));
  store_.transaction([&](store::Transaction& tx) {
    tx.appendEvent(detail::makeEvent("auth.rejected", now_(), request ? request->conversationId : "",
                                     request ? request->id : "", data));
  });
  return failureUrl(code);
}

// A fault inside bcauth (a secret that does not unseal): the operator's log has what it was, under
// the auth request's id; the event, read through the API, says only that there was one.
std::string AuthService::internalFailure(const store::AuthRequest& request, const std::string& what) {
  Poco::Logger::get("bcauth.service").error("auth request " + request.id + ": " + protocol::boundedText(what, 500));
  return failRedirect(request, protocol::redirect_error::kInternalError, "internal error (see the server log)");
}

// The request fails with one of bcauth's redirect codes: auth.failed, and a failure redirect.
std::string AuthService::failRedirect(const store::AuthRequest& request, std::int64_t code, const std::string& detail) {
  const protocol::Outcome outcome =
      protocol::outcomeForDeviceError({code, std::string(protocol::kRedirectDomain), "OAuth Error"});
  auto data = outcome.toJson();
  data->remove("event");
  data->set("flow", std::string("v2"));
  data->set("providerId", request.providerId);
  data->set("detail", protocol::boundedText(detail));  // the IdP's words: bounded, no control characters
  const auto at = now_();
  store_.transaction([&](store::Transaction& tx) {
    const auto current = tx.request(request.id);
    if (!current || current->status != store::status::kPending) return;
    tx.updateRequestStatus(request.id, store::status::kFailed, outcome.reason, at);
    tx.setCompletion(request.id, "callback", "", 0);
    tx.deleteSecret(request.id, store::secret::kPkceVerifier);
    tx.appendEvent(detail::makeEvent("auth.failed", at, request.conversationId, request.id, data));
  });
  return failureUrl(code);
}

std::string AuthService::completeRedirect(const std::map<std::string, std::string>& query) {
  const std::string state = value(query, "state");
  const auto request = state.empty() ? std::nullopt : store_.requestByState(state);
  if (!request) return rejectRedirect(std::nullopt, "unknown_state", protocol::redirect_error::kStateInvalid);

  // Single use: the first callback with this state consumes it; a replay is refused.
  bool consumed = false;
  std::string notPending;
  store_.transaction([&](store::Transaction& tx) {
    consumed = tx.consumeState(request->id);
    const auto current = tx.request(request->id);
    if (consumed && current && current->status != store::status::kPending) notPending = current->status;
    else if (consumed && current && current->expiresAt <= now_()) notPending = "expired";
  });
  if (!consumed) return rejectRedirect(request, "state_used", protocol::redirect_error::kStateInvalid);
  if (!notPending.empty()) {
    return rejectRedirect(request, "request_" + notPending, protocol::redirect_error::kRequestNotPending);
  }

  const std::string error = value(query, "error");
  if (error == "access_denied") {
    const auto at = now_();
    store_.transaction([&](store::Transaction& tx) {
      const auto current = tx.request(request->id);
      if (!current || current->status != store::status::kPending) return;
      tx.updateRequestStatus(request->id, store::status::kCancelled, "cancelled by customer", at);
      tx.setCompletion(request->id, "callback", "", 0);
      tx.deleteSecret(request->id, store::secret::kPkceVerifier);
      auto data = protocol::detail::newObject();
      data->set("by", std::string("customer"));
      data->set("flow", std::string("v2"));
      tx.appendEvent(detail::makeEvent("auth.cancelled", at, request->conversationId, request->id, data));
    });
    return kCancel;
  }
  if (!error.empty()) return failRedirect(*request, protocol::redirect_error::kProviderDenied, "the IdP answered error=" + error);
  const std::string code = value(query, "code");
  if (code.empty()) return failRedirect(*request, protocol::redirect_error::kMissingCode, "no code in the redirect");

  const auto provider = store_.provider(request->providerId);
  if (!provider) return failRedirect(*request, protocol::redirect_error::kInternalError, "the provider was deleted");
  std::optional<std::string> verifier;
  if (auto sealed = store_.secret(request->id, store::secret::kPkceVerifier)) {
    auto opened = sealer_.unseal(*sealed, sealContext(store::secret::kPkceVerifier, request->id));
    if (!opened) return internalFailure(*request, "the PKCE verifier does not unseal (wrong master key?)");
    verifier = std::string(opened->view());
  }

  clients::TokenResponse tokens;
  try {
    tokens = idp_.exchangeCode(provider->tokenUrl, credentials(*provider), code, config_.publicUrl + "/oauth/callback",
                               verifier);
  } catch (const std::exception& e) {
    return internalFailure(*request, std::string("the code exchange failed: ") + e.what());  // e.g. the client secret
  }
  if (tokens.failure == clients::IdpFailure::kInvalidResponse) {
    return failRedirect(*request, protocol::redirect_error::kTokenResponseInvalid, tokens.detail);
  }
  if (tokens.failure != clients::IdpFailure::kNone) {
    return failRedirect(*request, protocol::redirect_error::kTokenExchangeFailed, tokens.detail);
  }

  auto data = protocol::detail::newObject();
  data->set("flow", std::string("v2"));
  data->set("providerId", provider->id);
  data->set("tokenAvailable", true);
  data->set("refreshTokenAvailable", tokens.refreshToken.has_value());
  if (!provider->userinfoUrl.empty()) {
    // A profile failure does not undo the sign-in: it is recorded beside it.
    const auto profile = idp_.userinfo(provider->userinfoUrl, std::string(tokens.accessToken.view()));
    if (profile.failure == clients::IdpFailure::kNone) data->set("customer", detail::customerFrom(*provider, profile.claims));
    else data->set("profileError", protocol::boundedText(profile.detail));
  }
  const auto at = now_();
  bool recorded = false;
  store_.transaction([&](store::Transaction& tx) {
    const auto current = tx.request(request->id);
    if (!current || current->status != store::status::kPending) return;  // cancelled meanwhile
    storeTokens(tx, request->id, tokens, "callback", at);
    tx.deleteSecret(request->id, store::secret::kPkceVerifier);
    tx.updateRequestStatus(request->id, store::status::kSucceeded, "", at);
    tx.appendEvent(detail::makeEvent("auth.succeeded", at, request->conversationId, request->id, data));
    recorded = true;
  });
  if (!recorded) return failureUrl(protocol::redirect_error::kRequestNotPending);
  return kSuccess;
}

Result<JsonObject> AuthService::refreshToken(const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  const auto request = store_.request(id);
  if (!request) return Status::notFound("auth request " + id + " does not exist");
  const auto sealed = store_.secret(id, store::secret::kRefreshToken);
  if (request->status != store::status::kSucceeded || !sealed) {
    return Status::conflict("auth request " + id + " holds no refresh token");
  }
  const auto provider = store_.provider(request->providerId);
  if (!provider) return Status::conflict("the provider of auth request " + id + " was deleted");
  auto refresh = sealer_.unseal(*sealed, sealContext(store::secret::kRefreshToken, id));
  if (!refresh) return Status::internal("the stored refresh token does not unseal (wrong master key?)");
  auto tokens = idp_.refresh(provider->tokenUrl, credentials(*provider), std::string(refresh->view()));
  if (tokens.failure != clients::IdpFailure::kNone) return Status::conflict("the refresh failed: " + protocol::boundedText(tokens.detail));
  if (!tokens.refreshToken) tokens.refreshToken = std::move(*refresh);  // the IdP kept the old one valid
  store_.transaction([&](store::Transaction& tx) { storeTokens(tx, id, tokens, request->completedBy, now_()); });
  return token(id);
}

}  // namespace bcauth::service
