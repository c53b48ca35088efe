// The default of every server setting, written once. app::Settings (what an operator sets) and
// the configs code and tests build (http::HttpConfig, http::ListenerConfig,
// service::ServiceConfig, clients::GatewayConfig) initialise their members from these; the
// settings table in src/app/settings.cpp shows them in `bcauth serve --help`. Header-only,
// below every layer, so each can use it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bcauth::defaults {

// Where bcauth listens and keeps its data.
inline constexpr const char* kHost = "127.0.0.1";
inline constexpr int kPort = 8080;
inline constexpr const char* kDataDir = "data";
inline constexpr std::int64_t kSqliteMaxBytes = 0;  // no limit

// The HTTP edge.
inline constexpr std::int64_t kJwtWindowSeconds = 3600;  // accepted |now − iat| of Apple's JWTs
inline constexpr std::size_t kMaxBodyBytes = 1 << 20;
inline constexpr int kMaxThreads = 16;
inline constexpr int kAppleThreads = 4;
inline constexpr int kMaxQueued = 256;
inline constexpr int kMaxConnections = 4096;
inline constexpr int kMaxConnectionsPerAddress = 128;
inline constexpr int kHeaderTimeoutSeconds = 10;
inline constexpr int kBodyTimeoutSeconds = 30;
inline constexpr std::size_t kMaxHeaderBytes = 16384;
inline constexpr int kIdleTimeoutSeconds = 5;
inline constexpr int kReadTimeoutSeconds = 15;
inline constexpr int kRateLimitPerKey = 200;  // per second
inline constexpr int kRateLimitPerKeyBurst = 400;
inline constexpr int kRateLimitPerConversation = 12;  // per minute
inline constexpr int kRateLimitPerConversationBurst = 6;

// The service.
inline constexpr std::int64_t kDefaultTtlSeconds = 900;
inline constexpr std::int64_t kSweepSeconds = 5;
inline constexpr const char* kV2MessageVersion = "1.0";  // spec §3.6
inline constexpr const char* kAppleGatewayUrl = "https://mspgw.push.apple.com/v1";
inline constexpr int kDeliveryMaxAttempts = 6;
inline constexpr std::int64_t kDeliveryRetryBaseMs = 1000;
inline constexpr int kWebhookMaxAttempts = 8;
inline constexpr std::int64_t kWebhookRetryBaseMs = 1000;
inline constexpr int kKeyPoolSize = 256;
inline constexpr int kKeyPoolRefillBelow = 0;  // whenever one is taken
inline constexpr int kKeyPoolThreads = 1;
inline constexpr int kEventsRecheckMs = 250;

}  // namespace bcauth::defaults
