#include "common/memory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <vector>

namespace tsunagu {
namespace {

// Resident memory of this process, in bytes.
long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Many small blocks (as documents and parsed records are) are served from the heap, not from
// mappings of their own. With one block still live above them the heap cannot shrink from its
// top, so freeing them alone leaves their pages resident; releasing gives them back.
TEST(MemoryTest, ReleaseGivesBackFreedPagesBelowALiveBlock) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer brings its own allocator";
#endif
  constexpr size_t kBlocks = 400000, kSize = 200;  // about 80 MB
  const long before = rss_bytes();
  std::unique_ptr<char[]> pin;
  {
    std::vector<std::unique_ptr<char[]>> blocks;
    blocks.reserve(kBlocks);
    for (size_t i = 0; i < kBlocks; ++i) {
      blocks.emplace_back(new char[kSize]);
      blocks.back()[0] = static_cast<char>(i);  // touch the page
    }
    pin.reset(new char[kSize]);
    pin[0] = 1;
    ASSERT_GT(rss_bytes() - before, 60L << 20);
  }
  ASSERT_GT(rss_bytes() - before, 60L << 20) << "the allocator already gave the pages back";
  release_free_memory();
  EXPECT_LT(rss_bytes() - before, 20L << 20);
}

}  // namespace
}  // namespace tsunagu
