// Returning memory the allocator holds but no longer uses to the operating system.
#pragma once

namespace tsunagu {

// Gives the pages of freed memory back to the OS, with tcmalloc (gperftools) when the binary is
// linked with it, else with glibc's malloc. For after a phase that needed large buffers once
// (reading the store back at start, folding the change log): allocators keep freed memory for
// reuse, and the process's RSS would stay at that peak.
void release_free_memory();

}  // namespace tsunagu
