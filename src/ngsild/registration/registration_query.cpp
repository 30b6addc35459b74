#include "ngsild/registration/registration_query.hpp"

#include <algorithm>

namespace tsunagu::ngsild::registration {
namespace {

// Whether an EntityInfo may cover the entities `q` selects. A pattern on either side is only
// known to exclude nothing: an idPattern cannot be compared with another.
bool entity_matches(const EntityInfo& e, const query::EntityQuery& q) {
  if (q.types && !q.types->any) {
    Entity typed;
    typed.types = e.types;
    if (!q.types->matches(typed)) return false;
  }
  if (!q.ids.empty() && e.id) {
    if (std::find(q.ids.begin(), q.ids.end(), *e.id) == q.ids.end()) return false;
  } else if (!q.ids.empty() && e.id_pattern) {
    if (std::none_of(q.ids.begin(), q.ids.end(),
                     [&e](const std::string& id) { return RE2::PartialMatch(id, *e.id_pattern); }))
      return false;
  }
  if (q.id_pattern && e.id && !RE2::PartialMatch(*e.id, *q.id_pattern)) return false;
  return true;
}

bool attrs_match(const RegistrationInfo& info, const std::vector<Atom>& attrs) {
  return attrs.empty() || !info.names_attributes() ||
         std::any_of(attrs.begin(), attrs.end(), [&info](Atom a) { return info.provides(a); });
}

}  // namespace

bool RegistrationQuery::information_matches(const Registration& r) const {
  const auto& q = entities;
  const bool selects_entities = !q.ids.empty() || q.id_pattern || (q.types && !q.types->any);
  for (const auto& info : r.information) {
    if (!attrs_match(info, q.attrs)) continue;
    if (!selects_entities || !info.entities) return true;
    for (const auto& e : *info.entities) {
      if (entity_matches(e, q)) return true;
    }
  }
  return false;
}

bool RegistrationQuery::matches(const Registration& r) const {
  if (all) return true;
  if (!information_matches(r)) return false;
  if (time) {
    const auto& interval = time->property == temporal::TimeProperty::kObservedAt
                               ? r.observation_interval
                               : r.management_interval;
    if (!interval) return false;
    int64_t from = kNoTime, to = kNoTime;
    switch (time->rel) {
      case temporal::TimeRel::kBefore:
        to = time->at;
        break;
      case temporal::TimeRel::kAfter:
        from = time->at;
        break;
      case temporal::TimeRel::kBetween:
        from = time->at;
        to = time->end_at;
        break;
      case temporal::TimeRel::kAny:
        break;
    }
    if (!interval->overlaps(from, to)) return false;
  } else if (r.observation_interval || r.management_interval) {
    return false;  // a source of history only: not for the latest information
  }
  const Entity& props = *r.properties;
  if (entities.q && !query::matches(*entities.q, props)) return false;
  if (csf && !query::matches(*csf, props)) return false;
  if (entities.scope && !entities.scope->matches(props)) return false;
  // A registration that does not say where its entities are may hold them anywhere.
  if (entities.geo && !props.instances(entities.geo_property).empty() &&
      !entities.geo_matches(props)) {
    return false;
  }
  return true;
}

Result<RegistrationQuery> registration_query_from_params(const QueryParams& params,
                                                         const jsonld::Context& ctx,
                                                         const query::PageLimits& limits) {
  RegistrationQuery out;
  auto entities = query::query_from_params(params, ctx, limits, true);
  if (!entities.ok()) return entities.status();
  out.entities = std::move(*entities);
  if (const std::string* v = params.find("csf")) {
    auto e = query::parse_q(*v, ctx, {});
    if (!e.ok()) return Status::BadRequestData("csf: " + e.status().detail());
    out.csf = std::move(*e);
  }
  auto time = temporal::time_filter(params.find("timerel"), params.find("timeAt"),
                                    params.find("endTimeAt"), params.find("timeproperty"), false);
  if (!time.ok()) return time.status();
  if (time->rel != temporal::TimeRel::kAny) out.time = *time;
  // §5.10.2: a discovery names what it looks for (the suite's 037_02 refuses a bare query,
  // and its 037_10 takes id or q alone). local=true lists every registration.
  const auto& e = out.entities;
  const bool narrowed = !e.ids.empty() || e.id_pattern || e.types || !e.attrs.empty() || e.q ||
                        e.geo || e.scope || out.csf || out.time;
  const std::string* local = params.find("local");
  out.all = !narrowed && local != nullptr && *local == "true";
  if (!narrowed && !out.all) {
    return Status::BadRequestData(
        "too wide query: give at least one of id, idPattern, type, attrs, q, csf, a geo-query, "
        "scopeQ or timerel, or local=true (§5.10.2)");
  }
  return out;
}

}  // namespace tsunagu::ngsild::registration
