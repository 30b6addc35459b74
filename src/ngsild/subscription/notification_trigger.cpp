// The change predicate of §5.11. An update is read instance by instance (an Attribute's name and
// datasetId): one present only after was created, one present only before was deleted, one
// present in both whose content differs was updated. entityUpdated is the three together
// (§5.2.12).
#include "ngsild/subscription/notification_trigger.hpp"

#include <algorithm>

#include "ngsild/query/entity_query.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

bool selected(const Subscription& s, const Entity& e) {
  if (s.entities.empty()) return true;
  return std::any_of(s.entities.begin(), s.entities.end(), [&](const query::EntitySelector& sel) {
    // id takes precedence over idPattern (§5.2.33).
    if (sel.id) return e.id == *sel.id && (!sel.types || sel.types->matches(e));
    return sel.matches(e);
  });
}

bool filters_pass(const Subscription& s, const Entity& e) {
  if (s.q && !query::matches(*s.q, e)) return false;
  if (s.scope_q && !s.scope_q->matches(e)) return false;
  if (s.geo_q) {
    auto g = query::geometry_of(e, s.geo_property);
    if (!g || !geo::matches(*s.geo_q, *g)) return false;
  }
  return true;
}

bool watched(const Subscription& s, Atom name) {
  return s.watched_attributes.empty() ||
         std::find(s.watched_attributes.begin(), s.watched_attributes.end(), name) !=
             s.watched_attributes.end();
}

bool dataset_selected(const Subscription& s, Atom dataset) {
  if (s.dataset_ids.empty()) return true;
  std::string_view d = dataset.empty() ? std::string_view("@none") : dataset.str();
  return std::find(s.dataset_ids.begin(), s.dataset_ids.end(), d) != s.dataset_ids.end();
}

bool counts(const Subscription& s, const Attribute& a) {
  return watched(s, a.name) && dataset_selected(s, a.dataset_id);
}

void add_name(std::vector<Atom>& names, Atom a) {
  if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
}

// A whole entity created or deleted: under watchedAttributes it counts when it holds one.
std::optional<Firing> whole_entity(const Subscription& s, const Entity& e, Trigger entity_trigger,
                                   Trigger attribute_trigger) {
  std::vector<Atom> names;
  for (const auto& a : e.attrs) {
    if (counts(s, a)) add_name(names, a.name);
  }
  if (s.triggers() & bit(entity_trigger)) {
    if (!s.watched_attributes.empty() && names.empty()) return std::nullopt;
    return Firing{entity_trigger, std::move(names)};
  }
  // Every attribute of a new entity is created (§5.11): attributeCreated subscriptions fire.
  if ((s.triggers() & bit(attribute_trigger)) && !names.empty()) {
    return Firing{attribute_trigger, std::move(names)};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Firing> fires(const Subscription& s, const Entity* before, const Entity* after,
                            int64_t now) {
  if (s.periodic() || status_of(s, now) != SubscriptionStatus::kActive) return std::nullopt;
  if (before == nullptr && after == nullptr) return std::nullopt;
  // Filters judge the entity as it is now; a deleted one as it was (§5.11).
  const Entity& judged = after ? *after : *before;
  if (!selected(s, judged) || !filters_pass(s, judged)) return std::nullopt;

  if (before == nullptr) {
    return whole_entity(s, *after, Trigger::kEntityCreated, Trigger::kAttributeCreated);
  }
  if (after == nullptr) {
    // Every attribute of a deleted entity is deleted, as every one of a new entity is created:
    // attributeDeleted subscriptions fire for those they watch (the suite's 046_22_12).
    return whole_entity(s, *before, Trigger::kEntityDeleted, Trigger::kAttributeDeleted);
  }

  std::vector<Atom> created, updated, deleted;
  for (const auto& a : after->attrs) {
    if (!counts(s, a)) continue;
    const Attribute* old = before->find(a.name, a.dataset_id);
    if (old == nullptr) {
      add_name(created, a.name);
    } else if (!same_content(*old, a)) {
      add_name(updated, a.name);
    }
  }
  for (const auto& a : before->attrs) {
    if (counts(s, a) && after->find(a.name, a.dataset_id) == nullptr) add_name(deleted, a.name);
  }
  TriggerSet t = s.triggers();
  std::vector<Atom> names;
  Trigger applied = Trigger::kEntityUpdated;
  int specific = 0;
  auto take = [&](Trigger tr, const std::vector<Atom>& changed) {
    if (changed.empty()) return;
    bool listed = (t & bit(tr)) != 0;
    if (!listed && !(t & bit(Trigger::kEntityUpdated))) return;
    for (Atom a : changed)
      add_name(names, a);
    if (listed && specific++ == 0) applied = tr;
  };
  take(Trigger::kAttributeCreated, created);
  take(Trigger::kAttributeUpdated, updated);
  take(Trigger::kAttributeDeleted, deleted);
  if (names.empty()) return std::nullopt;
  return Firing{applied, std::move(names)};
}

}  // namespace tsunagu::ngsild::subscription
