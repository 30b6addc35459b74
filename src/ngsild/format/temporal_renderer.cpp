#include "ngsild/format/temporal_renderer.hpp"

#include <algorithm>

#include "common/time.hpp"
#include "ngsild/temporal/aggregation.hpp"

namespace tsunagu::ngsild {

using temporal::TemporalEntityView;
using temporal::TemporalInstance;
using temporal::TemporalSeries;
using temporal::TimeProperty;

namespace {

void write_time(int64_t t, JsonWriter& w) {
  char buf[kDatetimeChars];
  size_t n = write_datetime(t, buf);
  w.string({buf, n});
}

// The member of the simplified representation holding a kind's [value, time] pairs (§4.5.9).
std::string_view values_member(AttrKind k) {
  switch (k) {
    case AttrKind::kProperty:
    case AttrKind::kGeoProperty:
      return "values";
    case AttrKind::kRelationship:
      return "objects";
    case AttrKind::kLanguageProperty:
      return "languageMaps";
    case AttrKind::kVocabProperty:
      return "vocabs";
    case AttrKind::kJsonProperty:
      return "jsons";
    case AttrKind::kListProperty:
      return "valueLists";
    case AttrKind::kListRelationship:
      return "objectLists";
  }
  return "values";
}

// One series in the simplified or aggregated form: its type and datasetId, then `body`.
template <class F>
void series_object(const TemporalSeries& s, JsonWriter& w, F&& body) {
  w.begin_object();
  w.plain_key("type");
  w.plain_string(kind_name(s.kind));
  if (!s.dataset_id.empty()) {
    w.plain_key("datasetId");
    w.string(s.dataset_id.str());
  }
  body();
  w.end_object();
}

void temporal_values(const TemporalSeries& s, const RenderOptions& o,
                     const TemporalRenderOptions& t, JsonWriter& w) {
  series_object(s, w, [&] {
    w.plain_key(values_member(s.kind));
    w.begin_array();
    for (const TemporalInstance& i : s.instances) {
      w.begin_array();
      render_simplified(i.attr, o, w);
      write_time(shown_time(i, t.time_property), w);
      w.end_array();
    }
    w.end_array();
  });
}

void aggregated_values(const TemporalSeries& s, const TemporalRenderOptions& t, JsonWriter& w) {
  int64_t origin = t.origin;
  if (origin == kNoTime) {
    for (const TemporalInstance& i : s.instances) {
      int64_t at = shown_time(i, t.time_property);
      if (at != kNoTime && i.deleted_at == kNoTime) {
        origin = at;
        break;
      }
    }
  }
  std::vector<temporal::AggrPeriod> periods;
  if (origin != kNoTime) {
    temporal::Aggregator agg(t.aggr_methods, origin, t.aggr_period, t.end);
    for (const TemporalInstance& i : s.instances) {
      if (i.deleted_at != kNoTime) continue;
      int64_t at = shown_time(i, t.time_property);
      if (at == kNoTime) continue;
      const Value& v = i.attr.value;
      switch (v.type()) {
        case Value::Type::kInt:
        case Value::Type::kDouble:
          agg.add_number(at, v.as_double());
          break;
        case Value::Type::kBool:
          agg.add_bool(at, v.as_bool());
          break;
        case Value::Type::kString:
          agg.add_text(at, v.text());
          break;
        default:
          agg.add_other(at, v.to_json());
          break;
      }
    }
    periods = agg.finish();
  }
  series_object(s, w, [&] {
    for (int m = 0; m < temporal::kAggrMethods; ++m) {
      if ((t.aggr_methods & (1u << m)) == 0) continue;
      w.plain_key(temporal::aggr_method_name(static_cast<temporal::AggrMethod>(m)));
      w.begin_array();
      for (const auto& p : periods) {
        w.begin_array();
        const temporal::AggrValue& v = p.values[m];
        switch (v.kind) {
          case temporal::AggrValue::Kind::kNull:
            w.null();
            break;
          case temporal::AggrValue::Kind::kNumber:
            w.number(v.number);
            break;
          case temporal::AggrValue::Kind::kText:
            w.string(v.text);
            break;
        }
        write_time(p.start, w);
        write_time(p.end, w);
        w.end_array();
      }
      w.end_array();
    }
  });
}

}  // namespace

int64_t shown_time(const TemporalInstance& i, TimeProperty p) {
  switch (p) {
    case TimeProperty::kObservedAt:
      if (i.deleted_at != kNoTime) return i.deleted_at;
      return i.attr.observed_at != kNoTime ? i.attr.observed_at : i.attr.created_at;
    case TimeProperty::kCreatedAt:
      return i.attr.created_at;
    case TimeProperty::kModifiedAt:
      return i.attr.modified_at;
    case TimeProperty::kDeletedAt:
      return i.deleted_at;
  }
  return kNoTime;
}

void render_temporal_entity(const TemporalEntityView& e, const RenderOptions& o,
                            const TemporalRenderOptions& t, JsonWriter& w) {
  Entity head;
  head.id = e.id;
  head.types = e.types;
  head.scopes = e.scopes;
  head.created_at = e.created_at;
  head.modified_at = e.modified_at;
  render_entity_head(head, o, w);
  // Series of one name are adjacent: one member per name.
  for (size_t first = 0; first < e.series.size();) {
    size_t last = first + 1;
    while (last < e.series.size() && e.series[last].name == e.series[first].name)
      ++last;
    render_name(e.series[first].name, o, w);
    if (t.format == TemporalFormat::kNormalized) {
      w.begin_array();
      for (size_t k = first; k < last; ++k) {
        for (const TemporalInstance& i : e.series[k].instances) {
          render_instance(i.attr, o, w, [&](JsonWriter& out) {
            out.plain_key("instanceId");
            out.string(i.instance_id);
            if (i.deleted_at != kNoTime) {
              out.plain_key("deletedAt");
              write_time(i.deleted_at, out);
            }
          });
        }
      }
      w.end_array();
    } else {
      if (last - first > 1) w.begin_array();
      for (size_t k = first; k < last; ++k) {
        if (t.format == TemporalFormat::kTemporalValues) {
          temporal_values(e.series[k], o, t, w);
        } else {
          aggregated_values(e.series[k], t, w);
        }
      }
      if (last - first > 1) w.end_array();
    }
    first = last;
  }
  render_entity_tail(o, w);
}

}  // namespace tsunagu::ngsild
