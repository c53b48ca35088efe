#include <malloc.h>

#include <iostream>

#include "app/cli.h"

namespace {

// glibc gives the free top of a thread's heap back to the kernel once more than the trim
// threshold lies there (madvise, then a page fault for each page touched again, and a TLB
// shootdown across CPUs each time). Its default threshold is 128 KiB and moves as the process
// runs; when a worker's allocations for one request straddle it, every request pays that: in
// one build of issue 16 it was 20–35% of the server's CPU per round trip (5% in madvise alone).
// A fixed threshold keeps up to this much free memory in each heap instead (it also fixes the
// mmap threshold at glibc's 128 KiB default: larger blocks are mapped and unmapped as before).
// This matters where the executable runs on glibc's malloc (BCAUTH_MALLOC=system); on jemalloc,
// the default where it is installed, this configures an allocator nothing calls.
constexpr int kHeapTrimThreshold = 16 << 20;

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_TRIM_THRESHOLD, kHeapTrimThreshold);
  std::vector<std::string> args(argv + 1, argv + argc);
  return bcauth::app::runCli(args, std::cout, std::cerr);
}
