// The data of a Notification (ETSI GS CIM 009 §5.3.1, §5.11): how a subscription's
// NotificationParams (§5.2.14) shape the entities it carries, and which entity a change shows.
// The engine renders what these say with ngsild/format; nothing here sends anything.
#pragma once

#include <optional>
#include <vector>

#include "common/atom.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/subscription/subscription.hpp"

namespace tsunagu::ngsild::subscription {

// The representation `s`'s notifications take, with names compacted by `ctx`: format,
// sysAttrs, lang, attributes or pick/omit (linked entity projections "rel{...}" read with
// `ctx`), join and joinLevel (at most kMaxJoinLevel). A join still needs its lookup and budget
// (the engine readies them); showChanges is per entity (RenderOptions::previous).
RenderOptions notification_render_options(const Subscription& s, const jsonld::Context* ctx);

// Whether `s` asks for previous values (showChanges, §5.2.14).
inline bool shows_changes(const Subscription& s) {
  return s.notification.show_changes.value_or(false);
}

// The entity a notification of an update shows (§5.11): `after`, with each instance of `names`
// that the change deleted present again as deleted_instance() (ngsild/model/entity.hpp), beside
// the other instances of its name. nullopt when the change deleted none of them: `after` shows
// the change as it is.
std::optional<Entity> with_deleted_attributes(const Entity& before, const Entity& after,
                                              const std::vector<Atom>& names);

}  // namespace tsunagu::ngsild::subscription
