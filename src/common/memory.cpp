#include "common/memory.hpp"

#include <malloc.h>

// Declared weak: present only when tcmalloc is linked in (the server binary, not the tests or
// sanitizer builds).
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace tsunagu {

void release_free_memory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    malloc_trim(0);
  }
}

}  // namespace tsunagu
