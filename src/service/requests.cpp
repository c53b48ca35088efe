// Reading, cancelling, tokens, refresh and expiry of authenticate requests (create is in
// create_request.cpp).
#include "service/requests.h"

#include "protocol/ids.h"
#include "protocol/text.h"
#include "service/provider_access.h"

namespace bcauth::service {
namespace {

Status notFound(const std::string& id) { return Status::notFound("auth request " + id + " does not exist"); }

}  // namespace

RequestState Requests::stateOf(store::AuthRequest request, std::optional<store::Delivery> delivery) {
  const bool tokenAvailable = request.status == store::status::kSucceeded &&
                              k_.store.secret(request.id, store::secret::kAccessToken).has_value();
  return {std::move(request), std::move(delivery), tokenAvailable};
}

std::optional<store::AuthRequest> Requests::visible(const Principal& who, const std::string& id) {
  auto r = k_.store.request(id);
  if (!r || !who.owns(r->businessId)) return std::nullopt;
  return r;
}

Result<RequestState> Requests::request(const Principal& who, const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  auto r = visible(who, id);
  if (!r) return notFound(id);
  auto delivery = k_.store.delivery(id);
  return stateOf(std::move(*r), std::move(delivery));
}

Result<RequestState> Requests::cancel(const Principal& who, const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  Status outcome = Status::ok();
  k_.store.transaction([&](store::Transaction& tx) {
    auto r = tx.request(id);
    if (!r || !who.owns(r->businessId)) {
      outcome = notFound(id);
      return;
    }
    if (r->status != store::status::kPending) {
      outcome = Status::conflict("auth request " + id + " is " + r->status + ", not pending");
      return;
    }
    auto ending = Ending::of(store::status::kCancelled, "cancelled by agent", "agent", EventType::kAuthCancelled);
    ending.data.by = "agent";
    k_.finish(tx, *r, std::move(ending), k_.now());
  });
  if (!outcome) return outcome;
  return request(who, id);
}

Result<AccessToken> Requests::token(const Principal& who, const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  const auto r = visible(who, id);
  if (!r) return notFound(id);
  if (r->status != store::status::kSucceeded) {
    return Status::conflict("auth request " + id + " is " + r->status + "; a token exists only once it succeeded");
  }
  const auto sealed = k_.store.secret(id, store::secret::kAccessToken);
  if (!sealed) return Status::conflict("auth request " + id + " succeeded without a token (v2 before the callback)");
  auto accessToken = k_.vault.unseal(SealKind::kAccessToken, id, *sealed);
  if (!accessToken) return Status::internal("the stored token does not unseal (wrong master key?)");
  const bool refreshable = k_.store.secret(id, store::secret::kRefreshToken).has_value();
  if (r->tokenExpiresAt != 0 && r->tokenExpiresAt <= k_.now()) {
    return Status::conflict("the access token of auth request " + id + " expired at " + isoTime(r->tokenExpiresAt) +
                            (refreshable ? "; POST .../refresh for a new one" : ""));
  }
  return AccessToken{id, std::move(*accessToken), r->tokenType.empty() ? std::string("Bearer") : r->tokenType,
                     r->tokenExpiresAt, refreshable};
}

Result<AccessToken> Requests::refresh(const Principal& who, const std::string& id) {
  if (auto valid = protocol::ids::checkAuthRequestId(id); !valid) return valid;
  const auto request = visible(who, id);
  if (!request) return notFound(id);
  const auto sealed = k_.store.secret(id, store::secret::kRefreshToken);
  if (request->status != store::status::kSucceeded || !sealed) {
    return Status::conflict("auth request " + id + " holds no refresh token");
  }
  const auto provider = k_.store.provider(request->providerId);
  if (!provider) return Status::conflict("the provider of auth request " + id + " was deleted");
  auto refreshToken = k_.vault.unseal(SealKind::kRefreshToken, id, *sealed);
  if (!refreshToken) return Status::internal("the stored refresh token does not unseal (wrong master key?)");
  auto tokens = k_.ports.idp->refresh(provider->tokenUrl, clientCredentials(k_.vault, *provider),
                                      std::string(refreshToken->view()));
  if (tokens.failure != clients::IdpFailure::kNone) {
    return Status::conflict("the refresh failed: " + protocol::boundedText(tokens.detail));
  }
  if (!tokens.refreshToken) tokens.refreshToken = std::move(*refreshToken);  // the IdP kept the old one valid
  k_.store.transaction([&](store::Transaction& tx) {
    const auto now = k_.now();
    storeTokens(tx, k_.vault, id, tokens);
    tx.setCompletion(id, request->completedBy, tokens.tokenType, tokenExpiry(tokens, now));
  });
  return token(who, id);
}

int Requests::expireDue() {
  int expired = 0;
  const auto now = k_.now();
  for (const auto& candidate : k_.store.expiredPending(now, 200)) {
    bool changed = false;
    k_.store.transaction([&](store::Transaction& tx) {
      const auto current = tx.request(candidate.id);
      if (!current || current->status != store::status::kPending) return;  // completed meanwhile
      k_.finish(tx, *current, Ending::of(store::status::kExpired, "ttl passed", "sweeper", EventType::kAuthExpired), now);
      changed = true;
    });
    if (changed) ++expired;
  }
  return expired;
}

}  // namespace bcauth::service
