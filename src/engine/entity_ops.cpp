#include "engine/entity_ops.hpp"

#include <algorithm>

namespace tsunagu::engine {

using ngsild::kFlagDelete;
using ngsild::kFlagDeleteObservedAt;
using ngsild::kFlagDeleteUnitCode;
using ngsild::kFlagPayload;
using ngsild::kFlagTypeGiven;

namespace {

std::string label(const Attribute& a) {
  std::string s = "attribute '" + std::string(a.name.str()) + "'";
  if (!a.dataset_id.empty()) s += " (datasetId " + std::string(a.dataset_id.str()) + ")";
  return s;
}

void stamp_new(Attribute& a, int64_t now) { stamp(a, now, now); }

// Merges `patch` into `target` member by member (§5.6.17.4); sub-attributes recursively.
Status merge_instance(Attribute& target, Attribute& patch, int64_t now,
                      std::optional<int64_t> observed_at) {
  if ((patch.flags & kFlagTypeGiven) && patch.kind != target.kind) {
    if (!(patch.flags & kFlagPayload)) {
      return Status::BadRequestData(label(patch) + ": changing the attribute type to " +
                                    std::string(ngsild::kind_name(patch.kind)) +
                                    " needs its " +
                                    std::string(ngsild::payload_member(patch.kind)));
    }
    int64_t created = target.created_at;
    target = std::move(patch);
    stamp(target, now, created);
    return Status::Ok();
  }
  if (patch.flags & kFlagPayload) target.value = std::move(patch.value);
  if (patch.observed_at != kNoTime) {
    target.observed_at = patch.observed_at;
  } else if (patch.flags & kFlagDeleteObservedAt) {
    target.observed_at = kNoTime;
  } else if (observed_at && target.observed_at != kNoTime) {
    target.observed_at = *observed_at;
  }
  if (!patch.unit_code.empty()) target.unit_code = patch.unit_code;
  else if (patch.flags & kFlagDeleteUnitCode) target.unit_code = Atom();
  if (!patch.value_type.empty()) target.value_type = patch.value_type;
  for (auto& sub : patch.subs) {
    if (sub.flags & kFlagDelete) {
      target.subs.erase(std::remove_if(target.subs.begin(), target.subs.end(),
                                       [&](const Attribute& s) { return s.name == sub.name; }),
                        target.subs.end());
      continue;
    }
    Attribute* existing = nullptr;
    for (auto& s : target.subs) {
      if (s.name == sub.name && s.dataset_id == sub.dataset_id) existing = &s;
    }
    if (existing != nullptr) {
      TSUNAGU_RETURN_IF_ERROR(merge_instance(*existing, sub, now, std::nullopt));
    } else {
      if (!(sub.flags & kFlagPayload)) {
        return Status::BadRequestData(label(sub) + ": a new sub-attribute needs a value");
      }
      stamp_new(sub, now);
      ngsild::put_instance(target.subs, std::move(sub));
    }
  }
  target.modified_at = now;
  target.flags = 0;
  return Status::Ok();
}

}  // namespace

void stamp(Attribute& a, int64_t now, int64_t created) {
  a.created_at = created == kNoTime ? now : created;
  a.modified_at = now;
  a.flags = 0;
  for (auto& s : a.subs) {
    if (s.created_at == kNoTime) stamp(s, now, now);
    else s.flags = 0;
  }
}

Entity create_entity(EntityInput in, int64_t now) {
  Entity e;
  e.id = std::move(*in.id);
  e.types = std::move(in.types);
  if (in.scopes) e.scopes = std::move(*in.scopes);
  e.created_at = now;
  e.modified_at = now;
  e.attrs = std::move(in.attrs);
  for (auto& a : e.attrs) stamp_new(a, now);
  return e;
}

Entity replace_entity(const Entity& current, EntityInput in, int64_t now) {
  Entity e;
  e.id = current.id;
  e.types = in.types.empty() ? current.types : std::move(in.types);
  if (in.scopes) e.scopes = std::move(*in.scopes);
  e.created_at = current.created_at;
  e.modified_at = now;
  e.attrs = std::move(in.attrs);
  for (auto& a : e.attrs) stamp_new(a, now);
  return e;
}

void append_attributes(Entity& e, EntityInput in, bool no_overwrite, int64_t now,
                       UpdateOutcome& out) {
  for (Atom t : in.types) {
    if (!e.has_type(t)) e.types.push_back(t);
  }
  if (in.scopes) e.scopes = std::move(*in.scopes);
  for (auto& a : in.attrs) {
    Attribute* existing = e.find(a.name, a.dataset_id);
    if (existing != nullptr && no_overwrite) {
      out.not_updated.emplace_back(a.name, "attribute already exists and noOverwrite was given");
      continue;
    }
    stamp(a, now, existing ? existing->created_at : kNoTime);
    out.updated.push_back(a.name);
    e.put(std::move(a));
  }
  e.modified_at = now;
}

void update_attributes(Entity& e, EntityInput in, int64_t now, UpdateOutcome& out) {
  if (!in.types.empty()) {
    for (Atom t : in.types) {
      if (!e.has_type(t)) e.types.push_back(t);
    }
  }
  if (in.scopes) e.scopes = std::move(*in.scopes);
  for (auto& a : in.attrs) {
    Attribute* existing = e.find(a.name, a.dataset_id);
    if (existing == nullptr) {
      out.not_updated.emplace_back(a.name, a.dataset_id.empty()
                                               ? "attribute does not exist"
                                               : "attribute instance with this datasetId does "
                                                 "not exist");
      continue;
    }
    stamp(a, now, existing->created_at);
    out.updated.push_back(a.name);
    *existing = std::move(a);
  }
  e.modified_at = now;
}

Status merge_entity(Entity& e, EntityInput in, int64_t now, std::optional<int64_t> observed_at) {
  for (Atom t : in.types) {
    if (!e.has_type(t)) e.types.push_back(t);
  }
  if (in.scope_delete) e.scopes.clear();
  else if (in.scopes) e.scopes = std::move(*in.scopes);
  for (auto& a : in.attrs) {
    if (a.flags & kFlagDelete) {
      if (a.dataset_id.empty()) e.erase_all(a.name);
      else e.erase(a.name, a.dataset_id);
      continue;
    }
    Attribute* existing = e.find(a.name, a.dataset_id);
    if (existing != nullptr) {
      TSUNAGU_RETURN_IF_ERROR(merge_instance(*existing, a, now, observed_at));
      continue;
    }
    if (!(a.flags & kFlagPayload)) {
      return Status::BadRequestData(label(a) + " does not exist, so it needs a " +
                                    std::string(ngsild::payload_member(a.kind)));
    }
    for (const auto& s : a.subs) {
      if (s.flags & kFlagDelete) continue;
      if (!(s.flags & kFlagPayload)) {
        return Status::BadRequestData(label(s) + ": a new sub-attribute needs a value");
      }
    }
    a.subs.erase(std::remove_if(a.subs.begin(), a.subs.end(),
                                [](const Attribute& s) { return (s.flags & kFlagDelete) != 0; }),
                 a.subs.end());
    stamp_new(a, now);
    e.put(std::move(a));
  }
  e.modified_at = now;
  return Status::Ok();
}

Status partial_update_attribute(Entity& e, Atom name, std::vector<Attribute> fragment,
                                int64_t now) {
  for (auto& a : fragment) {
    if (a.flags & kFlagDelete) {
      return Status::BadRequestData(label(a) + ": a partial update cannot delete the attribute "
                                               "itself (use DELETE)");
    }
    Attribute* existing = e.find(name, a.dataset_id);
    if (existing == nullptr) {
      return Status::NotFound("entity '" + e.id + "' has no " + label(a));
    }
    TSUNAGU_RETURN_IF_ERROR(merge_instance(*existing, a, now, std::nullopt));
  }
  e.modified_at = now;
  return Status::Ok();
}

Status replace_attribute(Entity& e, Atom name, std::vector<Attribute> fragment, int64_t now) {
  for (auto& a : fragment) {
    Attribute* existing = e.find(name, a.dataset_id);
    if (existing == nullptr) {
      return Status::NotFound("entity '" + e.id + "' has no " + label(a));
    }
    stamp(a, now, existing->created_at);
    *existing = std::move(a);
  }
  e.modified_at = now;
  return Status::Ok();
}

Status delete_attribute(Entity& e, Atom name, std::optional<Atom> dataset_id, bool delete_all) {
  std::string what = "entity '" + e.id + "' has no attribute '" + std::string(name.str()) + "'";
  if (delete_all) {
    if (e.erase_all(name) == 0) return Status::NotFound(what);
  } else if (!e.erase(name, dataset_id.value_or(Atom()))) {
    if (dataset_id) what += " with datasetId '" + std::string(dataset_id->str()) + "'";
    else if (!e.instances(name).empty()) what += " default instance (without datasetId)";
    return Status::NotFound(what);
  }
  return Status::Ok();
}

}  // namespace tsunagu::engine
