// Start-up: rebuilds every tenant's in-memory state from the store.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "engine/tenant.hpp"
#include "store/store.hpp"

namespace tsunagu::engine {

struct LoadStats {
  size_t tenants = 0;
  size_t entities = 0;
  uint64_t max_row = 0;  // the highest entity row in the store
  size_t records = 0;
};

// Takes the stored records of one kind (store::LoadVisitor::record): the subscriptions, later
// registrations and catalog records, each to its owner.
using RecordLoader =
    std::function<Status(std::string_view tenant, std::string_view key, std::string_view doc)>;

// Reads every stored tenant and entity into `tenants`, and each record to the loader of its
// kind (a kind without one is an error: a newer Tsunagu's data). InternalError names the first
// document that cannot be read (a damaged store is reported, never silently skipped).
Result<LoadStats> load_state(store::Store& store, TenantRegistry& tenants,
                             std::vector<std::pair<std::string, RecordLoader>> records = {});

}  // namespace tsunagu::engine
