// NotificationParams read into the renderer's options once per notification; the change's
// deleted instances put back as NGSI-LD Null, since an entity after the change no longer holds
// them and a receiver must still learn that they went (§5.2.1).
#include "ngsild/subscription/notification_data.hpp"

#include <algorithm>

#include "ngsild/format/representation.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

// pick/omit members into the projection. A linked entity projection ("locatedAt{name}") is
// read as a pick or omit parameter would be: the parser checked it when the subscription was
// made, so an error here leaves that member out rather than the notification.
void apply_members(const std::vector<Member>& members, bool pick, const jsonld::Context* ctx,
                   RenderOptions& o) {
  if (members.empty()) return;
  Projection& p = o.projection;
  if (pick) p.pick = true;
  for (const Member& m : members) {
    switch (m.kind) {
      case Member::Kind::kId:
        (pick ? p.pick_id : p.omit_id) = true;
        break;
      case Member::Kind::kType:
        (pick ? p.pick_type : p.omit_type) = true;
        break;
      case Member::Kind::kScope:
        (pick ? p.pick_scope : p.omit_scope) = true;
        break;
      case Member::Kind::kAttribute:
        (pick ? p.pick_attrs : p.omit_attrs).push_back(m.attribute);
        break;
      case Member::Kind::kLinked:
        if (ctx != nullptr) {
          (void)apply_representation_member(pick ? "pick" : "omit", m.text, *ctx, o);
        }
        break;
    }
  }
}

}  // namespace

RenderOptions notification_render_options(const Subscription& s, const jsonld::Context* ctx) {
  RenderOptions o;
  o.ctx = ctx;
  const NotificationParams& n = s.notification;
  o.format = n.format.value_or(Format::kNormalized);
  o.sys_attrs = n.sys_attrs.value_or(false);
  if (s.lang) o.lang = *s.lang;
  // datasetId selects the instances a notification shows, as it does a query's (§4.5.5).
  if (!s.dataset_ids.empty()) {
    o.dataset_filter = true;
    for (const std::string& d : s.dataset_ids) {
      Atom a = d == "@none" ? Atom::intern("@none") : Atom::find(d);
      if (!a.empty()) o.dataset_ids.push_back(a);
    }
  }
  Projection& pr = o.projection;
  if (!n.attributes.empty()) {
    pr.pick = pr.pick_id = pr.pick_type = pr.pick_scope = true;
    pr.pick_attrs = n.attributes;
  }
  apply_members(n.pick, true, ctx, o);
  apply_members(n.omit, false, ctx, o);
  if (n.join == "flat") {
    o.join = Join::kFlat;
  } else if (n.join == "inline") {
    o.join = Join::kInline;
  }
  o.join_level = std::clamp(n.join_level.value_or(1), 1, kMaxJoinLevel);
  return o;
}

std::optional<Entity> with_deleted_attributes(const Entity& before, const Entity& after,
                                              const std::vector<Atom>& names) {
  std::optional<Entity> shown;
  std::vector<Atom> gone_whole;  // names of which no instance is left: shown once, as one Null
  for (const Attribute& a : before.attrs) {
    if (std::find(names.begin(), names.end(), a.name) == names.end()) continue;
    if (after.find(a.name, a.dataset_id) != nullptr) continue;  // still there
    if (after.instances(a.name).empty()) {
      if (std::find(gone_whole.begin(), gone_whole.end(), a.name) != gone_whole.end()) continue;
      gone_whole.push_back(a.name);
      if (!shown) shown = after;
      // The attribute went as a whole (deleteAll, or its only instance): one Null, the
      // default instance (the suite's 046_22_08), with the times of the first instance.
      Attribute whole = deleted_instance(a);
      whole.dataset_id = Atom();
      shown->attrs.push_back(std::move(whole));
      continue;
    }
    if (!shown) shown = after;
    // Instances of one name stay adjacent (ngsild/model/entity.hpp): after the last of its name.
    std::vector<Attribute>& attrs = shown->attrs;
    auto last = std::find_if(attrs.rbegin(), attrs.rend(),
                             [&](const Attribute& b) { return b.name == a.name; });
    attrs.insert(last == attrs.rend() ? attrs.end() : last.base(), deleted_instance(a));
  }
  return shown;
}

}  // namespace tsunagu::ngsild::subscription
