// What the fuzz targets share: the invariants they assert. A broken invariant aborts, which
// libFuzzer reports as a crash with the input that caused it (docs/fuzzing.md).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/status.hpp"

namespace tsunagu::fuzz {

// Aborts naming the invariant when `ok` is false.
inline void require(bool ok, const char* invariant, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n  %.*s\n", invariant,
               static_cast<int>(detail.size() > 2000 ? 2000 : detail.size()), detail.data());
  std::abort();
}

// A failed Status names its error: a kind and a detail for the ProblemDetails.
inline void require_explained(const Status& st, const char* where) {
  if (st.ok()) return;
  require(!st.detail().empty(), "an error carries a detail", where);
}

template <class T>
void require_explained(const Result<T>& r, const char* where) {
  if (!r.ok()) {
    require(!r.status().ok(), "a failed Result carries an error", where);
    require_explained(r.status(), where);
  }
}

inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tsunagu::fuzz
