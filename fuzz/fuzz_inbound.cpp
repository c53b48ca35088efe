// libFuzzer entry for the "inbound" target (see targets.h and docs/fuzzing.md).
#include <cstddef>
#include <cstdint>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bcauth::fuzz::fuzzInbound(data, size);
}
