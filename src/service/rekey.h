// Master-key rotation: every sealed value is opened with the old key and sealed with the new
// one, all in one transaction (all or nothing). Run it with every bcauth instance stopped.
#pragma once

#include "bcauth/seal.h"
#include "bcauth/status.h"
#include "store/store.h"

namespace bcauth::service {

// Returns how many values were re-sealed; refuses (changing nothing) if any value does not
// open with `from`.
Result<int> rekey(store::Store& store, const crypto::Sealer& from, const crypto::Sealer& to);

}  // namespace bcauth::service
