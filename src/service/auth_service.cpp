#include "service/auth_service.h"

namespace bcauth::service {

AuthService::AuthService(store::Store& store, crypto::Sealer sealer, ServiceConfig config,
                         std::function<std::int64_t()> nowMillis, std::optional<Ports> ports)
    : kernel(store, std::move(sealer), std::move(config), Clock(std::move(nowMillis)), std::move(ports)),
      keyPool_(kernel.config.keyPool),
      admin(kernel),
      appleOutbox(kernel),
      webhookOutbox(kernel),
      requests(kernel, keyPool_, appleOutbox, admin),
      intake(kernel),
      redirect(kernel),
      events(kernel),
      tenancy(kernel.store, kernel.clock) {}

}  // namespace bcauth::service
