// Who is calling: the one thing a use case needs to know to scope what it reads and writes. An
// operator sees and does everything; a business key sees its own business's objects only, and
// another business's object is answered as if it did not exist (not_found), so ids cannot be
// probed.
#pragma once

#include <optional>
#include <string>

namespace bcauth::service {

struct Principal {
  std::optional<std::string> businessId;  // none: an operator
  std::string keyId;                      // the store's key id, or "env#<n>" for BCAUTH_API_KEYS' n-th

  bool isOperator() const { return !businessId.has_value(); }
  // Whether an object owned by ownerBusinessId (empty: shared, the operator's) is this
  // principal's to read and change.
  bool owns(const std::string& ownerBusinessId) const { return isOperator() || ownerBusinessId == *businessId; }
  // The namespace of its Idempotency-Keys: its business, or the operators' (empty).
  std::string scope() const { return isOperator() ? std::string() : *businessId; }

  // Code that acts for bcauth itself (the CLI, tests of use cases): an operator.
  static Principal operatorNamed(std::string keyId) { return Principal{std::nullopt, std::move(keyId)}; }
};

}  // namespace bcauth::service
