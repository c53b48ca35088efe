// Row types and conversions shared by the SQLite and PostgreSQL stores: the two schemas have
// the same columns, so a row reads the same way from either.
#pragma once

#include <optional>
#include <string>

#include <Poco/Data/LOB.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include "store/json_codec.h"
#include "store/store.h"

namespace bcauth::store::rows {

inline Poco::Data::BLOB toBlob(const std::string& bytes) {
  return Poco::Data::BLOB(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

inline std::string fromBlob(const Poco::Data::BLOB& blob) {
  if (blob.size() == 0) return {};
  return std::string(reinterpret_cast<const char*>(blob.rawContent()), blob.size());
}

inline Poco::Nullable<std::string> toNullable(const std::optional<std::string>& value) {
  if (!value) return {};
  return Poco::Nullable<std::string>(*value);
}

// An owner column: empty (shared, the operator's) is NULL.
inline Poco::Nullable<std::string> ownerOrNull(const std::string& businessId) {
  if (businessId.empty()) return {};
  return Poco::Nullable<std::string>(businessId);
}

inline Poco::Nullable<std::string> capabilitiesOrNull(const std::optional<std::vector<std::string>>& capabilities) {
  if (!capabilities) return {};
  return Poco::Nullable<std::string>(json::encodeStringArray(*capabilities));
}

inline std::optional<std::string> fromNullable(const Poco::Nullable<std::string>& value) {
  if (value.isNull()) return std::nullopt;
  return value.value();
}

// A provider's PUT replaces every column; the same clause in both SQL dialects (a macro, so it
// joins the INSERT's string literal at compile time).
#define BCAUTH_PROVIDER_UPSERT_SET                                                              \
  " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"                                       \
  " authorization_url = excluded.authorization_url, token_url = excluded.token_url,"            \
  " userinfo_url = excluded.userinfo_url, client_id = excluded.client_id,"                      \
  " sealed_client_secret = excluded.sealed_client_secret, scopes = excluded.scopes,"            \
  " enabled = excluded.enabled, profile_fields = excluded.profile_fields,"                      \
  " created_at = excluded.created_at, updated_at = excluded.updated_at,"                        \
  " token_auth_method = excluded.token_auth_method, business_id = excluded.business_id"

inline constexpr const char* kProviderColumns =
    "id, name, authorization_url, token_url, userinfo_url, client_id, sealed_client_secret, scopes, enabled,"
    " profile_fields, created_at, updated_at, token_auth_method, COALESCE(business_id, '')";
using ProviderRow = Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                                Poco::Nullable<Poco::Data::BLOB>, std::string, Poco::Int64, std::string, Poco::Int64,
                                Poco::Int64, std::string, std::string>;

inline Provider toProvider(const ProviderRow& row) {
  Provider p;
  p.id = row.get<0>();
  p.name = row.get<1>();
  p.authorizationUrl = row.get<2>();
  p.tokenUrl = row.get<3>();
  p.userinfoUrl = row.get<4>();
  p.clientId = row.get<5>();
  if (!row.get<6>().isNull()) p.sealedClientSecret = fromBlob(row.get<6>().value());
  p.scopes = json::decodeStringArray(row.get<7>());
  p.enabled = row.get<8>() != 0;
  p.profileFields = json::decodeStringMap(row.get<9>());
  p.createdAt = row.get<10>();
  p.updatedAt = row.get<11>();
  p.tokenAuthMethod = row.get<12>();
  p.businessId = row.get<13>();
  return p;
}

// Poco::Data reads tuples of at most 20 columns: a consumed state is read as NULL by the query
// itself (it no longer names the request), so state_used takes no column of its own.
inline constexpr const char* kRequestColumns =
    "id, request_identifier, conversation_id, business_id, provider_id, flow, scopes, status, status_reason,"
    " created_at, updated_at, expires_at, message_json, idempotency_key,"
    " CASE WHEN state_used <> 0 THEN NULL ELSE state END, token_type, token_expires_at,"
    " completed_by, profile_pending, idempotency_body_sha256";
using RequestRow = Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string,
                               std::string, std::string, std::string, Poco::Int64, Poco::Int64, Poco::Int64,
                               std::string, Poco::Nullable<std::string>, Poco::Nullable<std::string>, std::string,
                               Poco::Int64, std::string, Poco::Int64, Poco::Nullable<std::string>>;

inline AuthRequest toRequest(const RequestRow& row) {
  AuthRequest r;
  r.id = row.get<0>();
  r.requestIdentifier = row.get<1>();
  r.conversationId = row.get<2>();
  r.businessId = row.get<3>();
  r.providerId = row.get<4>();
  r.flow = row.get<5>();
  r.scopes = json::decodeStringArray(row.get<6>());
  r.status = row.get<7>();
  r.statusReason = row.get<8>();
  r.createdAt = row.get<9>();
  r.updatedAt = row.get<10>();
  r.expiresAt = row.get<11>();
  r.messageJson = row.get<12>();
  r.idempotencyKey = fromNullable(row.get<13>());
  r.state = fromNullable(row.get<14>());
  r.tokenType = row.get<15>();
  r.tokenExpiresAt = row.get<16>();
  r.completedBy = row.get<17>();
  r.profilePending = row.get<18>() != 0;
  r.idempotencyBodySha256 = fromNullable(row.get<19>());
  return r;
}

inline constexpr const char* kDeliveryColumns =
    "request_id, sealed_body, status, attempts, next_attempt_at, last_http_status, last_error, updated_at";
using DeliveryRow = Poco::Tuple<std::string, Poco::Data::BLOB, std::string, Poco::Int64, Poco::Int64, Poco::Int64,
                                std::string, Poco::Int64>;

inline Delivery toDelivery(const DeliveryRow& row) {
  Delivery d;
  d.requestId = row.get<0>();
  d.sealedBody = fromBlob(row.get<1>());
  d.status = row.get<2>();
  d.attempts = static_cast<int>(row.get<3>());
  d.nextAttemptAt = row.get<4>();
  d.lastHttpStatus = static_cast<int>(row.get<5>());
  d.lastError = row.get<6>();
  d.updatedAt = row.get<7>();
  return d;
}

inline constexpr const char* kSubscriptionColumns =
    "id, url, sealed_secret, event_types, enabled, created_at, updated_at, COALESCE(business_id, '')";
using SubscriptionRow =
    Poco::Tuple<std::string, std::string, Poco::Data::BLOB, std::string, Poco::Int64, Poco::Int64, Poco::Int64, std::string>;

inline Subscription toSubscription(const SubscriptionRow& row) {
  Subscription sub;
  sub.id = row.get<0>();
  sub.url = row.get<1>();
  sub.sealedSecret = fromBlob(row.get<2>());
  sub.eventTypes = json::decodeStringArray(row.get<3>());
  sub.enabled = row.get<4>() != 0;
  sub.createdAt = row.get<5>();
  sub.updatedAt = row.get<6>();
  sub.businessId = row.get<7>();
  return sub;
}

inline constexpr const char* kWebhookColumns =
    "id, subscription_id, event_seq, conversation_id, status, attempts, next_attempt_at, last_http_status, last_error,"
    " updated_at";
using WebhookRow = Poco::Tuple<Poco::Int64, std::string, Poco::Int64, std::string, std::string, Poco::Int64, Poco::Int64,
                               Poco::Int64, std::string, Poco::Int64>;

inline WebhookDelivery toWebhook(const WebhookRow& row) {
  WebhookDelivery d;
  d.id = row.get<0>();
  d.subscriptionId = row.get<1>();
  d.eventSeq = row.get<2>();
  d.conversationId = row.get<3>();
  d.status = row.get<4>();
  d.attempts = static_cast<int>(row.get<5>());
  d.nextAttemptAt = row.get<6>();
  d.lastHttpStatus = static_cast<int>(row.get<7>());
  d.lastError = row.get<8>();
  d.updatedAt = row.get<9>();
  return d;
}

inline constexpr const char* kEventColumns =
    "seq, type, at, conversation_id, auth_request_id, data_json, COALESCE(business_id, '')";
using EventRow = Poco::Tuple<Poco::Int64, std::string, Poco::Int64, std::string, std::string, std::string, std::string>;

inline Event toEvent(const EventRow& row) {
  Event e;
  e.seq = row.get<0>();
  e.type = row.get<1>();
  e.at = row.get<2>();
  e.conversationId = row.get<3>();
  e.authRequestId = row.get<4>();
  e.dataJson = row.get<5>();
  e.businessId = row.get<6>();
  return e;
}

inline constexpr const char* kBusinessColumns = "id, name, created_at";
using BusinessRow = Poco::Tuple<std::string, std::string, Poco::Int64>;

inline Business toBusiness(const BusinessRow& row) { return {row.get<0>(), row.get<1>(), row.get<2>()}; }

// A nullable time column read as COALESCE(column, -1) (Poco's SQLite connector cannot read a
// NULL integer into a Nullable): -1 is "none", as no time is negative.
inline std::optional<std::int64_t> fromTimeOrNone(Poco::Int64 value) {
  if (value < 0) return std::nullopt;
  return std::int64_t{value};
}

inline constexpr const char* kApiKeyColumns =
    "id, business_id, name, secret_hash, created_at, COALESCE(last_used_at, -1), COALESCE(revoked_at, -1)";
using ApiKeyRow = Poco::Tuple<std::string, Poco::Nullable<std::string>, std::string, Poco::Data::BLOB, Poco::Int64,
                              Poco::Int64, Poco::Int64>;

inline ApiKey toApiKey(const ApiKeyRow& row) {
  ApiKey k;
  k.id = row.get<0>();
  k.businessId = fromNullable(row.get<1>());
  k.name = row.get<2>();
  k.secretHash = fromBlob(row.get<3>());
  k.createdAt = row.get<4>();
  k.lastUsedAt = fromTimeOrNone(row.get<5>());
  k.revokedAt = fromTimeOrNone(row.get<6>());
  return k;
}

// A conversation: capabilities NULL until a capability-list came.
inline constexpr const char* kConversationColumns = "business_id, conversation_id, capabilities, updated_at";
using ConversationRow = Poco::Tuple<std::string, std::string, Poco::Nullable<std::string>, Poco::Int64>;

inline Conversation toConversation(const ConversationRow& row) {
  Conversation c;
  c.businessId = row.get<0>();
  c.conversationId = row.get<1>();
  if (!row.get<2>().isNull()) c.capabilities = json::decodeStringArray(row.get<2>().value());
  c.updatedAt = row.get<3>();
  return c;
}

// The writes both stores send alike, '?' placeholders (the PostgreSQL store numbers them).
// recordConversation: (business, conversation, capabilities or NULL, at); NULL keeps the recorded ones.
inline constexpr const char* kRecordConversation =
    "INSERT INTO conversations (business_id, conversation_id, capabilities, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (business_id, conversation_id) DO UPDATE SET"
    " capabilities = COALESCE(excluded.capabilities, conversations.capabilities), updated_at = excluded.updated_at";
// An event's business is kept only when bcauth knows it: (type, at, conversation, request, data, business).
inline constexpr const char* kInsertEvent =
    "INSERT INTO events (type, at, conversation_id, auth_request_id, data_json, business_id)"
    " VALUES (?, ?, ?, ?, ?, (SELECT id FROM businesses WHERE id = ?))";
// setProviderEnabledFor: (business, provider) — only a shared provider may be enabled.
inline constexpr const char* kEnableProvider =
    "INSERT INTO business_providers (business_id, provider_id) SELECT ?, id FROM providers"
    " WHERE id = ? AND business_id IS NULL ON CONFLICT (business_id, provider_id) DO NOTHING";
inline constexpr const char* kDisableProvider =
    "DELETE FROM business_providers WHERE business_id = ? AND provider_id = ?";

// ON CONFLICT DO NOTHING: an existing id is left as it was (the caller is told by the count).
inline constexpr const char* kInsertBusiness =
    "INSERT INTO businesses (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING";
inline constexpr const char* kInsertApiKey =
    "INSERT INTO api_keys (id, business_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO NOTHING";

// The conditional UPDATEs of an API key, '?' placeholders: (at, id) and (at, id, at - interval).
inline constexpr const char* kRevokeApiKey = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
inline constexpr const char* kTouchApiKey =
    "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)";

}  // namespace bcauth::store::rows
