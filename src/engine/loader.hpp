// Start-up: rebuilds every tenant's in-memory state from the store.
#pragma once

#include <cstddef>

#include "common/status.hpp"
#include "engine/tenant.hpp"
#include "store/store.hpp"

namespace tsunagu::engine {

struct LoadStats {
  size_t tenants = 0;
  size_t entities = 0;
  uint64_t max_row = 0;  // the highest entity row in the store
};

// Reads every stored tenant and entity into `tenants`. InternalError names the first document
// that cannot be read (a damaged store is reported, never silently skipped).
Result<LoadStats> load_state(store::Store& store, TenantRegistry& tenants);

}  // namespace tsunagu::engine
