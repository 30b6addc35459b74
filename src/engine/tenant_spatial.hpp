// The tenant's spatial indexes (Tenant::spatial_), for the files that use them: tenant.cpp and
// the query engine.
#pragma once

#include <unordered_map>

#include "engine/tenant.hpp"
#include "ngsild/geo/spatial_index.hpp"

namespace tsunagu::engine {

// Per GeoProperty name, then per Tenant::type_tag(): the geometries of the entities of one type,
// and of all those with several. A geo-query for one type reads that type's index (and the
// several-types one) rather than every entity of the neighbourhood.
struct Tenant::SpatialIndexes {
  std::unordered_map<Atom, std::unordered_map<uint32_t, ngsild::geo::SpatialIndex>> by_name;
};

}  // namespace tsunagu::engine
