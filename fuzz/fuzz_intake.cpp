// libFuzzer entry for the "intake" target (see targets.h and docs/fuzzing.md).
#include <cstddef>
#include <cstdint>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bcauth::fuzz::fuzzIntake(data, size);
}
