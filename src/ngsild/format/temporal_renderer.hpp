// A temporal entity to its response payload (ETSI GS CIM 009 §4.5.7-§4.5.9, §4.5.19): the
// normalized temporal representation (every instance as an attribute object with its
// instanceId), the simplified one (options=temporalValues: [value, time] pairs), or the
// aggregated one (options=aggregatedValues: [value, startAt, endAt] per method and period).
// Instances render as the entity renderer renders current attributes, with the same @context
// compaction.
#pragma once

#include <cstdint>

#include "common/json_writer.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/temporal/temporal_entity.hpp"
#include "ngsild/temporal/temporal_request.hpp"

namespace tsunagu::ngsild {

enum class TemporalFormat : unsigned char { kNormalized, kTemporalValues, kAggregated };

struct TemporalRenderOptions {
  TemporalFormat format = TemporalFormat::kNormalized;
  // The time each value is paired with (temporalValues) or counted at (aggregatedValues).
  temporal::TimeProperty time_property = temporal::TimeProperty::kObservedAt;
  // aggregatedValues: the methods and the period; periods start at `origin` (timeAt, or the
  // first instance when kNoTime) and a period of zero length ends at `end` (endTimeAt).
  uint32_t aggr_methods = 0;
  temporal::Duration aggr_period;
  int64_t origin = kNoTime;
  int64_t end = kNoTime;
};

// The time `i` is shown at under `p`: observedAt (the recording time for an instance without
// one), createdAt, modifiedAt or deletedAt.
int64_t shown_time(const temporal::TemporalInstance& i, temporal::TimeProperty p);

// Writes one temporal entity object. `o` gives the @context, sysAttrs, lang and whether the
// object carries its @context; its projection and dataset selection were applied by the read.
void render_temporal_entity(const temporal::TemporalEntityView& e, const RenderOptions& o,
                            const TemporalRenderOptions& t, JsonWriter& w);

}  // namespace tsunagu::ngsild
