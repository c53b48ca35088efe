// The Store's reads, written once for both stores: the same SELECTs on the same columns, read
// into values by rows.h. A store derives from SqlReads<ItsClass> (its Transaction from
// SqlTransactionReads<ItsTransactionClass>) and provides
//   template <typename Row, typename... Args>
//   std::vector<Row> query(const char* what, const std::string& sql, const Args&... args);
// which runs one SELECT on a read connection (a Transaction's: inside its transaction), and
//   template <typename Row, typename... Args>
//   std::vector<Row> keyedQuery(const char* what, const std::string& sql, const Args&... args);
// for the single-row reads by a key (a store may run those where they are cheapest). The SQL
// uses '?' placeholders, SQLite's own; the PostgreSQL store numbers them $1, $2, ... before it
// sends the text. A read's `what` names it in errors ("store: <what>: ..."), as before.
// Internal to src/store.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <Poco/Data/LOB.h>
#include <Poco/Tuple.h>
#include <Poco/Types.h>

#include "store/json_codec.h"
#include "store/rows.h"
#include "store/store.h"
#include "store/store_util.h"

namespace bcauth::store {
namespace sql {

inline std::string selectFrom(const char* columns, const char* table, const char* tail) {
  return std::string("SELECT ") + columns + " FROM " + table + " " + tail;
}

// One row or none (keys are unique), converted.
template <typename Row, typename Impl, typename Convert, typename... Args>
auto one(Impl& impl, const char* what, Convert convert, const char* columns, const char* table, const char* tail,
         const Args&... args) {
  return util::firstOrNone(impl.template query<Row>(what, selectFrom(columns, table, tail), args...), convert);
}

// Every row, converted, in the query's order.
template <typename Row, typename Impl, typename Convert, typename... Args>
auto all(Impl& impl, const char* what, Convert convert, const char* columns, const char* table, const char* tail,
         const Args&... args) {
  return util::convertAll(impl.template query<Row>(what, selectFrom(columns, table, tail), args...), convert);
}

}  // namespace sql

// The reads a Transaction offers, inside its transaction; Impl::query runs them there.
template <typename Impl>
class SqlTransactionReads : public Transaction {
 public:
  std::optional<AuthRequest> request(const std::string& id) override {
    return sql::one<rows::RequestRow>(impl(), "request", rows::toRequest, rows::kRequestColumns, "auth_requests",
                                      "WHERE id = ?", id);
  }

  std::optional<Provider> provider(const std::string& id) override {
    return sql::one<rows::ProviderRow>(impl(), "provider", rows::toProvider, rows::kProviderColumns, "providers",
                                       "WHERE id = ?", id);
  }

  std::optional<Delivery> delivery(const std::string& requestId) override {
    return sql::one<rows::DeliveryRow>(impl(), "delivery", rows::toDelivery, rows::kDeliveryColumns, "deliveries",
                                       "WHERE request_id = ?", requestId);
  }

  std::optional<WebhookDelivery> webhookDelivery(std::int64_t id) override {
    return sql::one<rows::WebhookRow>(impl(), "webhookDelivery", rows::toWebhook, rows::kWebhookColumns,
                                      "webhook_deliveries", "WHERE id = ?", Poco::Int64{id});
  }

  std::optional<Subscription> subscription(const std::string& id) override {
    return sql::one<rows::SubscriptionRow>(impl(), "subscription", rows::toSubscription, rows::kSubscriptionColumns,
                                           "subscriptions", "WHERE id = ?", id);
  }

 private:
  Impl& impl() { return static_cast<Impl&>(*this); }
};

template <typename Impl>
class SqlReads : public Store {
 public:
  std::optional<Provider> provider(const std::string& id) override {
    return one<rows::ProviderRow>("provider", rows::toProvider, rows::kProviderColumns, "providers", "WHERE id = ?",
                                  id);
  }

  std::vector<Provider> providers(bool enabledOnly) override {
    return all<rows::ProviderRow>("providers", rows::toProvider, rows::kProviderColumns, "providers",
                                  enabledOnly ? "WHERE enabled <> 0 ORDER BY id" : "ORDER BY id");
  }

  std::vector<std::string> enabledSharedProviders(const std::string& businessId) override {
    using Row = Poco::Tuple<std::string>;
    return util::convertAll(
        impl().template query<Row>("enabledSharedProviders",
                                   "SELECT provider_id FROM business_providers WHERE business_id = ? ORDER BY provider_id",
                                   businessId),
        [](const Row& row) { return row.get<0>(); });
  }

  std::optional<Conversation> conversation(const std::string& businessId, const std::string& conversationId) override {
    return one<rows::ConversationRow>("conversation", rows::toConversation, rows::kConversationColumns,
                                      "conversations", "WHERE business_id = ? AND conversation_id = ?", businessId,
                                      conversationId);
  }

  std::optional<AuthRequest> request(const std::string& id) override {
    return oneRequest("request", "WHERE id = ?", id);
  }

  std::optional<AuthRequest> requestByIdentifier(const std::string& requestIdentifier) override {
    return oneRequest("requestByIdentifier", "WHERE request_identifier = ?", requestIdentifier);
  }

  std::optional<AuthRequest> requestByIdempotencyKey(const std::string& key) override {
    return oneRequest("requestByIdempotencyKey", "WHERE idempotency_key = ?", key);
  }

  std::optional<AuthRequest> requestByState(const std::string& state) override {
    return oneRequest("requestByState", "WHERE state = ?", state);
  }

  std::optional<std::string> secret(const std::string& requestId, const std::string& kind) override {
    using Row = Poco::Tuple<Poco::Data::BLOB>;
    return util::firstOrNone(
        impl().template keyedQuery<Row>("secret", "SELECT sealed FROM request_secrets WHERE request_id = ? AND kind = ?",
                                        requestId, kind),
        [](const Row& row) { return rows::fromBlob(row.get<0>()); });
  }

  std::vector<Event> events(std::int64_t afterSeq, std::size_t limit) override {
    return all<rows::EventRow>("events", rows::toEvent, rows::kEventColumns, "events",
                               "WHERE seq > ? ORDER BY seq LIMIT ?", Poco::Int64{afterSeq}, util::toLimit(limit));
  }

  // The operator's page of one conversation, across businesses. No index leads with the
  // conversation: every event would pay an entry in it for this one read. So the businesses that
  // have events of it after the cursor are found first, by walking the businesses with events
  // (a loose scan of events_business_seq, one seek each) and one seek each in
  // events_business_conversation_seq; then each such business's page and the page of the events
  // of no business bcauth knows (an unknown business, or written before tenancy: that index's
  // NULL prefix) are read, each in seq order and stopping at `limit`, and merged here. One SQL
  // statement sorting all of the conversation's events would read every event after the cursor
  // on every page: a long conversation's pages would cost its length each.
  // The parts are separate reads, so all of them stop at the highest seq when the first began:
  // events commit in seq order, so every event up to it is visible to each part, and an event
  // committed meanwhile cannot appear in a later part while an earlier one missed a lower seq
  // (the cursor would then pass over that one for good).
  std::vector<Event> conversationEvents(const std::string& conversationId, std::int64_t afterSeq,
                                        std::size_t limit) override {
    static const std::string businessesSql =
        "WITH RECURSIVE businesses(id) AS (SELECT MIN(business_id) FROM events UNION ALL"
        " SELECT (SELECT MIN(business_id) FROM events WHERE business_id > businesses.id)"
        " FROM businesses WHERE businesses.id IS NOT NULL)"
        " SELECT id FROM businesses WHERE id IS NOT NULL AND EXISTS (SELECT 1 FROM events"
        " WHERE business_id = businesses.id AND conversation_id = ? AND seq > ? AND seq <= ?)";
    using SeqRow = Poco::Tuple<Poco::Int64>;
    using IdRow = Poco::Tuple<std::string>;
    const auto top = impl().template query<SeqRow>("conversationEvents", "SELECT COALESCE(MAX(seq), 0) FROM events");
    const Poco::Int64 ceiling = top.empty() ? 0 : top.front().template get<0>();
    if (ceiling <= afterSeq) return {};
    const auto businesses = impl().template query<IdRow>("conversationEvents", businessesSql, conversationId,
                                                         Poco::Int64{afterSeq}, ceiling);
    std::vector<Event> page = all<rows::EventRow>(
        "conversationEvents", rows::toEvent, rows::kEventColumns, "events",
        "WHERE business_id IS NULL AND conversation_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        conversationId, Poco::Int64{afterSeq}, ceiling, util::toLimit(limit));
    for (const auto& business : businesses) {
      std::vector<Event> theirs = all<rows::EventRow>(
          "conversationEvents", rows::toEvent, rows::kEventColumns, "events",
          "WHERE business_id = ? AND conversation_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
          business.template get<0>(), conversationId, Poco::Int64{afterSeq}, ceiling, util::toLimit(limit));
      std::vector<Event> merged;
      merged.reserve(std::min(page.size() + theirs.size(), limit));
      std::merge(std::make_move_iterator(page.begin()), std::make_move_iterator(page.end()),
                 std::make_move_iterator(theirs.begin()), std::make_move_iterator(theirs.end()),
                 std::back_inserter(merged), [](const Event& a, const Event& b) { return a.seq < b.seq; });
      if (merged.size() > limit) merged.resize(limit);
      page = std::move(merged);
    }
    return page;
  }

  std::vector<Event> businessEvents(const std::string& businessId, std::int64_t afterSeq, std::size_t limit) override {
    return all<rows::EventRow>("businessEvents", rows::toEvent, rows::kEventColumns, "events",
                               "WHERE business_id = ? AND seq > ? ORDER BY seq LIMIT ?", businessId,
                               Poco::Int64{afterSeq}, util::toLimit(limit));
  }

  std::vector<Event> businessConversationEvents(const std::string& businessId, const std::string& conversationId,
                                                std::int64_t afterSeq, std::size_t limit) override {
    return all<rows::EventRow>("businessConversationEvents", rows::toEvent, rows::kEventColumns, "events",
                               "WHERE business_id = ? AND conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                               businessId, conversationId, Poco::Int64{afterSeq}, util::toLimit(limit));
  }

  std::vector<AuthRequest> expiredPending(std::int64_t nowMs, std::size_t limit) override {
    return all<rows::RequestRow>("expiredPending", rows::toRequest, rows::kRequestColumns, "auth_requests",
                                 // The status as a literal: SQLite's pending-only index serves it.
                                 "WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at, created_at, id LIMIT ?",
                                 Poco::Int64{nowMs}, util::toLimit(limit));
  }

  std::int64_t pendingCount() override {
    const auto counts = impl().template query<Poco::Tuple<Poco::Int64>>(
        "pendingCount", "SELECT COUNT(*) FROM auth_requests WHERE status = 'pending'");
    return counts.empty() ? std::int64_t{0} : std::int64_t{counts.front().template get<0>()};
  }

  std::optional<Delivery> delivery(const std::string& requestId) override {
    return one<rows::DeliveryRow>("delivery", rows::toDelivery, rows::kDeliveryColumns, "deliveries",
                                  "WHERE request_id = ?", requestId);
  }

  std::vector<AuthRequest> profilePending(std::size_t limit) override {
    return all<rows::RequestRow>("profilePending", rows::toRequest, rows::kRequestColumns, "auth_requests",
                                 "WHERE profile_pending = 1 ORDER BY updated_at, id LIMIT ?", util::toLimit(limit));
  }

  std::optional<Subscription> subscription(const std::string& id) override {
    return one<rows::SubscriptionRow>("subscription", rows::toSubscription, rows::kSubscriptionColumns,
                                      "subscriptions", "WHERE id = ?", id);
  }

  std::vector<Subscription> subscriptions() override {
    return all<rows::SubscriptionRow>("subscriptions", rows::toSubscription, rows::kSubscriptionColumns,
                                      "subscriptions", "ORDER BY id");
  }

  std::vector<Delivery> dueDeliveries(std::int64_t nowMs, std::size_t limit) override {
    return all<rows::DeliveryRow>("dueDeliveries", rows::toDelivery, rows::kDeliveryColumns, "deliveries",
                                  "WHERE status = 'pending' AND next_attempt_at <= ?"
                                  " ORDER BY next_attempt_at, request_id LIMIT ?",
                                  Poco::Int64{nowMs}, util::toLimit(limit));
  }

  // Due and not waiting behind an earlier pending delivery of the same subscription and
  // conversation, so each conversation's events reach a subscriber in order.
  std::vector<WebhookDelivery> dueWebhookDeliveries(std::int64_t nowMs, std::size_t limit) override {
    return all<rows::WebhookRow>(
        "dueWebhookDeliveries", rows::toWebhook, rows::kWebhookColumns, "webhook_deliveries d",
        "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e"
        " WHERE e.status = 'pending' AND e.subscription_id = d.subscription_id"
        " AND e.conversation_id = d.conversation_id AND e.event_seq < d.event_seq)"
        " ORDER BY d.event_seq, d.id LIMIT ?",
        Poco::Int64{nowMs}, util::toLimit(limit));
  }

  std::vector<WebhookDelivery> deadWebhookDeliveries(std::size_t limit) override {
    return all<rows::WebhookRow>("deadWebhookDeliveries", rows::toWebhook, rows::kWebhookColumns, "webhook_deliveries",
                                 "WHERE status = 'dead' ORDER BY updated_at DESC, id DESC LIMIT ?",
                                 util::toLimit(limit));
  }

  std::vector<WebhookDelivery> businessDeadWebhookDeliveries(const std::string& businessId,
                                                             std::size_t limit) override {
    return all<rows::WebhookRow>("businessDeadWebhookDeliveries", rows::toWebhook, rows::kWebhookColumns,
                                 "webhook_deliveries",
                                 "WHERE status = 'dead' AND subscription_id IN"
                                 " (SELECT id FROM subscriptions WHERE business_id = ?)"
                                 " ORDER BY updated_at DESC, id DESC LIMIT ?",
                                 businessId, util::toLimit(limit));
  }

  std::optional<Event> event(std::int64_t seq) override {
    return one<rows::EventRow>("event", rows::toEvent, rows::kEventColumns, "events", "WHERE seq = ?",
                               Poco::Int64{seq});
  }

  std::optional<Business> business(const std::string& id) override {
    return one<rows::BusinessRow>("business", rows::toBusiness, rows::kBusinessColumns, "businesses", "WHERE id = ?",
                                  id);
  }

  std::vector<Business> businesses() override {
    return all<rows::BusinessRow>("businesses", rows::toBusiness, rows::kBusinessColumns, "businesses", "ORDER BY id");
  }

  std::optional<ApiKey> apiKey(const std::string& id) override {
    return one<rows::ApiKeyRow>("apiKey", rows::toApiKey, rows::kApiKeyColumns, "api_keys", "WHERE id = ?", id);
  }

  std::vector<ApiKey> apiKeys() override {
    return all<rows::ApiKeyRow>("apiKeys", rows::toApiKey, rows::kApiKeyColumns, "api_keys", "ORDER BY id");
  }

  std::vector<SealedValue> sealedValues() override {
    std::vector<SealedValue> out;
    using Pair = Poco::Tuple<std::string, Poco::Data::BLOB>;
    const auto addPairs = [&](const char* table, const char* sql) {
      for (const auto& row : impl().template query<Pair>("sealedValues", sql)) {
        out.push_back({table, row.template get<0>(), "", rows::fromBlob(row.template get<1>())});
      }
    };
    addPairs("providers", "SELECT id, sealed_client_secret FROM providers WHERE sealed_client_secret IS NOT NULL");
    addPairs("deliveries", "SELECT request_id, sealed_body FROM deliveries");
    addPairs("subscriptions", "SELECT id, sealed_secret FROM subscriptions");
    using Secret = Poco::Tuple<std::string, std::string, Poco::Data::BLOB>;
    for (const auto& row :
         impl().template query<Secret>("sealedValues", "SELECT request_id, kind, sealed FROM request_secrets")) {
      out.push_back({"request_secrets", row.template get<0>(), row.template get<1>(),
                     rows::fromBlob(row.template get<2>())});
    }
    return out;
  }

 private:
  Impl& impl() { return static_cast<Impl&>(*this); }

  template <typename Row, typename Convert, typename... Args>
  auto one(const char* what, Convert convert, const char* columns, const char* table, const char* tail,
           const Args&... args) {
    return util::firstOrNone(impl().template keyedQuery<Row>(what, sql::selectFrom(columns, table, tail), args...),
                             convert);
  }

  template <typename Row, typename Convert, typename... Args>
  auto all(const char* what, Convert convert, const char* columns, const char* table, const char* tail,
           const Args&... args) {
    return sql::all<Row>(impl(), what, convert, columns, table, tail, args...);
  }

  template <typename Arg>
  std::optional<AuthRequest> oneRequest(const char* what, const char* where, const Arg& arg) {
    return one<rows::RequestRow>(what, rows::toRequest, rows::kRequestColumns, "auth_requests", where, arg);
  }
};

}  // namespace bcauth::store
