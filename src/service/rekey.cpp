// Re-sealing every secret at rest under a new master key, in one transaction.
#include "service/rekey.h"

#include "service/vault.h"

namespace bcauth::service {

Result<int> rekey(store::Store& store, const crypto::Sealer& from, const crypto::Sealer& to) {
  const Vault oldVault(from), newVault(to);
  std::vector<store::SealedValue> resealed;
  for (auto value : store.sealedValues()) {
    const auto kind = kindOf(value);
    auto plaintext = kind ? oldVault.unseal(*kind, value.id, value.sealed) : Result<crypto::Secret>(Status::decryptionFailed());
    if (!plaintext) {
      return Status::invalidArgument("a value in " + value.table + " (" + value.id +
                                     ") does not open with the old key: nothing was changed");
    }
    value.sealed = newVault.seal(*kind, value.id, plaintext->view());
    resealed.push_back(std::move(value));
  }
  store.transaction([&](store::Transaction& tx) {
    for (const auto& value : resealed) tx.replaceSealed(value);
  });
  return static_cast<int>(resealed.size());
}

}  // namespace bcauth::service
