// The Store: everything bcauth persists, behind one interface so SQLite (the embedded default)
// and PostgreSQL (several instances) behave alike. The store knows nothing of crypto: secrets
// arrive already sealed, as opaque bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bcauth::store {

struct Provider {
  std::string id;
  std::string name;
  std::string authorizationUrl;
  std::string tokenUrl;
  std::string userinfoUrl;  // may be empty
  std::string clientId;
  std::optional<std::string> sealedClientSecret;  // opaque bytes; never shown by the API
  std::vector<std::string> scopes;
  bool enabled = true;
  std::map<std::string, std::string> profileFields;  // customer field → IdP claim
  std::string tokenAuthMethod = "client_secret_post";  // or "client_secret_basic" (v2 code exchange)
  std::int64_t createdAt = 0;  // unix milliseconds
  std::int64_t updatedAt = 0;
  // The business that owns it, or empty: a shared provider, the operator's, which a business
  // uses once it enables it (Transaction::setProviderEnabledFor).
  std::string businessId;

  friend bool operator==(const Provider&, const Provider&) = default;
};

// A customer's conversation with one business: Apple's opaque customer id is the business's own
// view of the customer, so a conversation is named by both.
struct Conversation {
  std::string businessId;  // the destination-id Apple addressed (known to bcauth or not)
  std::string conversationId;
  std::optional<std::vector<std::string>> capabilities;  // none: no capability-list came yet
  std::int64_t updatedAt = 0;
};

// Request statuses: pending → succeeded | failed | cancelled | expired (terminal).
namespace status {
inline constexpr const char* kPending = "pending";
inline constexpr const char* kSucceeded = "succeeded";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kExpired = "expired";
}  // namespace status

// Kinds of sealed secret kept per request.
namespace secret {
inline constexpr const char* kPrivateKey = "private_key";
inline constexpr const char* kAccessToken = "access_token";
inline constexpr const char* kRefreshToken = "refresh_token";
inline constexpr const char* kPkceVerifier = "pkce_verifier";
}  // namespace secret

struct AuthRequest {
  std::string id;                 // bcauth's own id (UUID)
  std::string requestIdentifier;  // the protocol's; echoed by the device in its reply
  std::string conversationId;     // the customer's opaque id
  std::string businessId;
  std::string providerId;
  std::string flow;  // "legacy" | "v2"
  std::vector<std::string> scopes;
  std::string status = status::kPending;
  std::string statusReason;  // e.g. the auth.failed reason
  std::int64_t createdAt = 0;
  std::int64_t updatedAt = 0;
  std::int64_t expiresAt = 0;
  std::string messageJson;  // the message as sent to Apple, secrets redacted
  std::optional<std::string> idempotencyKey;
  // Hex SHA-256 of the create body's canonical JSON, kept with the key so a reuse of the key
  // with another body is refused; none without a key (or for requests older than migration 7).
  std::optional<std::string> idempotencyBodySha256;
  std::optional<std::string> state;  // v2 only; unique while unused, cleared once consumed
  std::string tokenType;             // "Bearer", once a token is held
  std::int64_t tokenExpiresAt = 0;   // unix ms; 0 = the IdP gave no expiry
  std::string completedBy;           // "reply" | "callback" | "agent" | "sweeper" once terminal
  bool profilePending = false;       // succeeded; auth.succeeded waits for the profile fetch
};

// How a request ended (Transaction::endRequest).
struct RequestEnd {
  std::string status;
  std::string reason;
  std::int64_t updatedAt = 0;
  std::string completedBy;
  std::string tokenType;
  std::int64_t tokenExpiresAt = 0;
};

struct Event {
  std::int64_t seq = 0;  // assigned by the store: store-wide, strictly increasing
  std::string type;
  std::int64_t at = 0;  // unix milliseconds
  std::string conversationId;
  std::string authRequestId;  // may be empty (message.received)
  std::string dataJson;       // a JSON object; never contains secrets
  // The business it belongs to. Written: the business it concerns, kept only when bcauth knows
  // that business (appendEvent stores none for an unknown one); read: empty when none (such
  // events are seen by operators only).
  std::string businessId;
};

// One message waiting to go to (or gone to) Apple's gateway: the durable delivery outbox.
struct Delivery {
  std::string requestId;
  std::string sealedBody;  // the exact JSON for POST /v1/authenticate, sealed (it may hold a client secret)
  std::string status = "pending";  // pending | delivered | failed
  int attempts = 0;
  std::int64_t nextAttemptAt = 0;  // unix ms
  int lastHttpStatus = 0;          // 0: no answer (connection error)
  std::string lastError;
  std::int64_t updatedAt = 0;
};

// A CSP webhook subscription: events of the listed types (all when empty) are POSTed to url,
// signed with the secret.
struct Subscription {
  std::string id;
  std::string url;
  std::string sealedSecret;             // opaque bytes
  std::vector<std::string> eventTypes;  // empty: every type
  bool enabled = true;
  std::int64_t createdAt = 0;
  std::int64_t updatedAt = 0;
  std::string businessId;  // empty: the operator's, every business's events; else that business's only
};

// One event on its way to one subscription: the durable webhook outbox.
struct WebhookDelivery {
  std::int64_t id = 0;  // assigned by the store
  std::string subscriptionId;
  std::int64_t eventSeq = 0;
  std::string conversationId;
  std::string status = "pending";  // pending | delivered | dead
  int attempts = 0;
  std::int64_t nextAttemptAt = 0;
  int lastHttpStatus = 0;
  std::string lastError;
  std::int64_t updatedAt = 0;
};

// A tenant: one business of the CSP, identified by Apple's business id (the destination-id of
// the messages Apple sends for it).
struct Business {
  std::string id;
  std::string name;
  std::int64_t createdAt = 0;  // unix milliseconds
};

// An API key as stored: its public id and scope, never its secret — only the SHA-256 of it.
struct ApiKey {
  std::string id;                         // the public key id (the <keyid> of bcak_<keyid>_<secret>)
  std::optional<std::string> businessId;  // none: an operator key
  std::string name;
  std::string secretHash;  // SHA-256 of the secret part, 32 raw bytes
  std::int64_t createdAt = 0;
  std::optional<std::int64_t> lastUsedAt;  // at most kApiKeyTouchIntervalMs stale
  std::optional<std::int64_t> revokedAt;
};

// A key's last_used_at is written at most this often, so a busy key does not write on every
// request.
inline constexpr std::int64_t kApiKeyTouchIntervalMs = 60'000;

// A sealed value and the row it lives in, for re-sealing under a new master key.
struct SealedValue {
  std::string table;  // "providers" | "request_secrets" | "deliveries" | "subscriptions"
  std::string id;     // the row's id (the request id for request_secrets and deliveries)
  std::string kind;   // request_secrets only
  std::string sealed;
};

// Thrown by Transaction::insertRequest when the id, requestIdentifier, idempotencyKey or state
// already exists.
struct DuplicateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A registration made by Store::watchEvents: its callback runs until this is destroyed.
class EventWatch {
 public:
  virtual ~EventWatch() = default;
};

// Thrown when the database cannot take a write now — a full disk (or BCAUTH_SQLITE_MAX_BYTES
// reached), an I/O error, a lost PostgreSQL connection — but may later: the transaction kept
// nothing, and retrying after a while is the cure. Reads may throw it too when the database is
// gone. The message carries SQL text and the database's error, never bound values.
struct UnavailableError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The writes of one use case. Everything done through one Transaction commits together or
// not at all.
class Transaction {
 public:
  virtual ~Transaction() = default;

  virtual void putProvider(const Provider& provider) = 0;  // insert or replace by id
  virtual bool deleteProvider(const std::string& id) = 0;  // false when there was none (its enablements go with it)
  // Enables (or disables) a shared provider for a business; false when nothing changed.
  virtual bool setProviderEnabledFor(const std::string& businessId, const std::string& providerId, bool enabled) = 0;

  // Records that the conversation wrote to the business, with the device's capabilities when
  // the message carried a capability-list (none: the ones recorded before stay).
  virtual void recordConversation(const std::string& businessId, const std::string& conversationId,
                                  const std::optional<std::vector<std::string>>& capabilities, std::int64_t at) = 0;

  // Records an inbound message id; false when it was recorded before (a redelivery). Two
  // concurrent transactions inserting the same id: exactly one gets true.
  virtual bool insertInboundMessageId(const std::string& messageId, std::int64_t at) = 0;

  virtual void insertRequest(const AuthRequest& request) = 0;
  // The request as it is now inside this transaction (to check it is still pending).
  virtual std::optional<AuthRequest> request(const std::string& id) = 0;
  virtual std::optional<Provider> provider(const std::string& id) = 0;

  // Marks a request's v2 state as used: true only for the first caller (single use).
  virtual bool consumeState(const std::string& requestId) = 0;
  // Records who completed a request and what kind of token it holds.
  virtual void setCompletion(const std::string& id, const std::string& completedBy, const std::string& tokenType,
                             std::int64_t tokenExpiresAt) = 0;

  virtual void setProfilePending(const std::string& id, bool pending) = 0;

  // Ends a request in one statement: its status, reason and updated_at with its completion (a
  // reply, a callback or the sweeper writes them all). Throws if there is no such request.
  virtual void endRequest(const std::string& id, const RequestEnd& end) = 0;

  virtual void putSecret(const std::string& requestId, const std::string& kind, const std::string& sealed) = 0;

  virtual void insertDelivery(const Delivery& delivery) = 0;
  // Updates status, attempts, nextAttemptAt, lastHttpStatus, lastError and updatedAt.
  virtual void updateDelivery(const Delivery& delivery) = 0;
  virtual std::optional<Delivery> delivery(const std::string& requestId) = 0;
  virtual void deleteSecret(const std::string& requestId, const std::string& kind) = 0;

  // Appends an event and returns its seq. (Which webhooks it goes to is the service's rule:
  // it queues them with enqueueWebhookDelivery in the same transaction.)
  virtual std::int64_t appendEvent(const Event& event) = 0;
  // The enabled subscriptions, ordered by id, as this transaction sees them.
  virtual std::vector<Subscription> enabledSubscriptions() = 0;
  // Inserts one webhook delivery (its id is assigned by the store).
  virtual void enqueueWebhookDelivery(const WebhookDelivery& delivery) = 0;

  // Writes value.sealed back to the row value names (see Store::sealedValues).
  virtual void replaceSealed(const SealedValue& value) = 0;

  virtual void putSubscription(const Subscription& subscription) = 0;  // insert or replace by id
  virtual bool deleteSubscription(const std::string& id) = 0;         // its deliveries go with it
  virtual std::optional<WebhookDelivery> webhookDelivery(std::int64_t id) = 0;
  virtual std::optional<Subscription> subscription(const std::string& id) = 0;

  // Inserts a business; false (and nothing changed) when its id exists.
  virtual bool insertBusiness(const Business& business) = 0;
  // Inserts a new key (its lastUsedAt and revokedAt are not written: a new key has neither);
  // false (and nothing changed) when its id exists.
  virtual bool insertApiKey(const ApiKey& key) = 0;
  // Sets revokedAt; false when there is no such key or it was revoked already (its time stays).
  virtual bool revokeApiKey(const std::string& id, std::int64_t at) = 0;
  // Sets lastUsedAt = at unless it is already within kApiKeyTouchIntervalMs of at (or there
  // is no such key); true when it wrote.
  virtual bool touchApiKey(const std::string& id, std::int64_t at) = 0;

  // Updates status, attempts, nextAttemptAt, lastHttpStatus, lastError, updatedAt.
  virtual void updateWebhookDelivery(const WebhookDelivery& delivery) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs fn in one transaction: commits when fn returns, rolls back and rethrows when it throws.
  // Transactions are serialised as far as the database requires; fn must not block on I/O.
  virtual void transaction(const std::function<void(Transaction&)>& fn) = 0;

  virtual bool ping() = 0;  // the database answers
  // False while writes fail with UnavailableError. Once one has, each call (at most one a
  // second) tries a small write of its own, so readiness comes back when space does, without
  // waiting for a real write to succeed; any committed transaction also clears it.
  virtual bool writable() = 0;

  // Calls onEvents whenever events may have been committed: after each transaction of this
  // Store that appended one and, for a database several processes share, after theirs too
  // (PostgreSQL: LISTEN/NOTIFY on a connection of its own, reconnected when it fails). It may
  // be called when nothing is new (after a reconnect, events may have been missed), never
  // carries the events themselves (read them with events()), and runs on whichever thread
  // noticed, so it must be quick and must neither call the Store nor drop a watch. Another
  // Store object or process on the same SQLite file is not noticed: readers re-read anyway.
  virtual std::unique_ptr<EventWatch> watchEvents(std::function<void()> onEvents) = 0;

  virtual std::optional<Provider> provider(const std::string& id) = 0;
  virtual std::vector<Provider> providers(bool enabledOnly) = 0;  // ordered by id
  // The shared providers the business enabled, ordered by id.
  virtual std::vector<std::string> enabledSharedProviders(const std::string& businessId) = 0;

  virtual std::optional<Conversation> conversation(const std::string& businessId,
                                                   const std::string& conversationId) = 0;

  virtual std::optional<AuthRequest> request(const std::string& id) = 0;
  virtual std::optional<AuthRequest> requestByIdentifier(const std::string& requestIdentifier) = 0;
  virtual std::optional<AuthRequest> requestByIdempotencyKey(const std::string& key) = 0;
  virtual std::optional<AuthRequest> requestByState(const std::string& state) = 0;
  virtual std::optional<std::string> secret(const std::string& requestId, const std::string& kind) = 0;

  // Events with seq > afterSeq, ascending, at most limit.
  virtual std::vector<Event> events(std::int64_t afterSeq, std::size_t limit) = 0;
  virtual std::vector<Event> conversationEvents(const std::string& conversationId, std::int64_t afterSeq,
                                                std::size_t limit) = 0;
  // The same, of one business's events only.
  virtual std::vector<Event> businessEvents(const std::string& businessId, std::int64_t afterSeq,
                                            std::size_t limit) = 0;
  virtual std::vector<Event> businessConversationEvents(const std::string& businessId,
                                                        const std::string& conversationId, std::int64_t afterSeq,
                                                        std::size_t limit) = 0;

  // Pending requests whose expiresAt <= now, oldest first, at most limit.
  virtual std::vector<AuthRequest> expiredPending(std::int64_t now, std::size_t limit) = 0;
  virtual std::int64_t pendingCount() = 0;

  virtual std::optional<Delivery> delivery(const std::string& requestId) = 0;
  // Succeeded requests whose profile fetch (and so their auth.succeeded) is still to come.
  virtual std::vector<AuthRequest> profilePending(std::size_t limit) = 0;

  virtual std::optional<Subscription> subscription(const std::string& id) = 0;
  virtual std::vector<Subscription> subscriptions() = 0;  // ordered by id
  // Pending webhook deliveries due at now, oldest event first, at most limit — but only the
  // oldest pending one of each (subscription, conversation), so a conversation's events reach
  // a subscriber in order.
  virtual std::vector<WebhookDelivery> dueWebhookDeliveries(std::int64_t now, std::size_t limit) = 0;
  // Dead deliveries (attempts exhausted), newest first.
  virtual std::vector<WebhookDelivery> deadWebhookDeliveries(std::size_t limit) = 0;
  // The same, of the business's own subscriptions only.
  virtual std::vector<WebhookDelivery> businessDeadWebhookDeliveries(const std::string& businessId,
                                                                     std::size_t limit) = 0;
  virtual std::optional<Event> event(std::int64_t seq) = 0;

  virtual std::optional<Business> business(const std::string& id) = 0;
  virtual std::vector<Business> businesses() = 0;  // ordered by id
  virtual std::optional<ApiKey> apiKey(const std::string& id) = 0;
  virtual std::vector<ApiKey> apiKeys() = 0;  // ordered by id, revoked ones included

  // Every sealed value in the store (provider and webhook secrets, request secrets, queued
  // messages to Apple), for `bcauth rekey`.
  virtual std::vector<SealedValue> sealedValues() = 0;

  // Pending deliveries whose nextAttemptAt <= now, oldest first, at most limit.
  virtual std::vector<Delivery> dueDeliveries(std::int64_t now, std::size_t limit) = 0;
};

struct SqliteOptions {
  // The database file may grow to this many bytes (PRAGMA max_page_count), then writes throw
  // UnavailableError as on a full disk. 0: no limit but the disk's. The WAL comes on top.
  std::int64_t maxBytes = 0;
};

// Opens (creating when needed) the SQLite store in dataDir/bcauth.db: WAL, migrations applied.
std::unique_ptr<Store> openSqliteStore(const std::string& dataDir, const SqliteOptions& options = {});

// Opens the PostgreSQL store (libpq connection string, e.g. "host=127.0.0.1 port=5432
// dbname=bcauth user=bcauth"), applying migrations. Several bcauth processes may share it.
std::unique_ptr<Store> openPostgresStore(const std::string& connectionString);

}  // namespace bcauth::store
