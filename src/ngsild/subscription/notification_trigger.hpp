// Whether one change to one entity fires a subscription (ETSI GS CIM 009 §5.11, §5.2.12
// notificationTrigger): a pure predicate the engine calls for each candidate subscription of a
// change, after its own indexes have narrowed the candidates.
#pragma once

#include <vector>

#include "common/atom.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::ngsild::subscription {

// What fired: the trigger that applied (the most specific one the subscription lists) and, for
// attribute triggers, the names of the attributes it applied to (in the entity's order).
struct Firing {
  Trigger trigger = Trigger::kAttributeUpdated;
  std::vector<Atom> attributes;
};

// `before` is null for an entity created, `after` null for one deleted; both set for an update.
// Nothing fires for a periodic (timeInterval) subscription, a paused or expired one, an entity
// no EntitySelector matches, or an entity failing q, geoQ or scopeQ (evaluated on the entity
// after the change; before it for a deletion). With watchedAttributes, only changes of those
// attributes count (a created or deleted entity counts when it holds one). With datasetId, only
// changes of those instances ("@none": the default instance). An attribute instance is updated
// when anything but its modifiedAt differs.
std::optional<Firing> fires(const Subscription& s, const Entity* before, const Entity* after,
                            int64_t now);

}  // namespace tsunagu::ngsild::subscription
