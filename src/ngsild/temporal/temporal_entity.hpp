// A temporal entity as a read gives it to the renderer (ETSI GS CIM 009 §4.5.6-4.5.9): the
// entity's id, types and scope, and for each attribute instance (name, datasetId) the instances
// its history holds in the window a request asked for, in time order. Each instance is an
// Attribute of the model, so that it renders (and compacts) as a current attribute does, with
// what only history has beside it: its instanceId and, for a deletion, deletedAt.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/atom.hpp"
#include "common/time.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild::temporal {

struct TemporalInstance {
  Attribute attr;                // name and datasetId as the series'; createdAt/modifiedAt its own
  std::string instance_id;       // a URI
  int64_t deleted_at = kNoTime;  // the attribute was deleted then (attr holds NGSI-LD Null)
};

// One series: an attribute instance (name, datasetId) through time.
struct TemporalSeries {
  Atom name;
  Atom dataset_id;                      // empty for the default instance
  AttrKind kind = AttrKind::kProperty;  // of its latest instance
  std::vector<TemporalInstance> instances;
};

struct TemporalEntityView {
  std::string id;
  std::vector<Atom> types;
  std::vector<std::string> scopes;
  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;
  std::vector<TemporalSeries> series;  // those of one name adjacent
  // Whether the instances were cut to the most one response shows (§6.3.10); `first` and `last`
  // are the times of the earliest and latest instance shown.
  bool truncated = false;
  int64_t first = kNoTime;
  int64_t last = kNoTime;
};

}  // namespace tsunagu::ngsild::temporal
