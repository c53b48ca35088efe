// Re-sealing every secret at rest under a new master key, in one transaction.
#include "service/rekey.h"

#include "service/auth_service.h"

namespace bcauth::service {
namespace {

std::string contextOf(const store::SealedValue& value) {
  if (value.table == "providers") return sealContext("provider", value.id);
  if (value.table == "request_secrets") return sealContext(value.kind, value.id);
  if (value.table == "deliveries") return sealContext("delivery", value.id);
  return sealContext("webhook", value.id);  // subscriptions
}

}  // namespace

Result<int> rekey(store::Store& store, const crypto::Sealer& from, const crypto::Sealer& to) {
  std::vector<store::SealedValue> resealed;
  for (auto value : store.sealedValues()) {
    const std::string context = contextOf(value);
    auto plaintext = from.unseal(value.sealed, context);
    if (!plaintext) {
      return Status::invalidArgument("a value in " + value.table + " (" + value.id +
                                     ") does not open with the old key: nothing was changed");
    }
    value.sealed = to.seal(plaintext->view(), context);
    resealed.push_back(std::move(value));
  }
  store.transaction([&](store::Transaction& tx) {
    for (const auto& value : resealed) tx.replaceSealed(value);
  });
  return static_cast<int>(resealed.size());
}

}  // namespace bcauth::service
