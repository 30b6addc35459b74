#include "engine/entity_ops.hpp"

#include <algorithm>

#include "common/json.hpp"
#include "common/uri.hpp"
#include "engine/instance_index.hpp"

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

void stamp_new(Attribute& a, int64_t now) {
  stamp(a, now, now);
}

bool is_null_marker(const JsonValue& v) {
  return v.IsNull() || (v.IsString() && std::string_view(v.GetString(), v.GetStringLength()) ==
                                            ngsild::kNullMarker);
}

void merge_dom(JsonValue& target, const JsonValue& patch, JsonDoc::AllocatorType& alloc) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, alloc);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    auto it = target.FindMember(m.name);
    if (is_null_marker(m.value)) {
      if (it != target.MemberEnd()) target.RemoveMember(it);
      continue;
    }
    if (it == target.MemberEnd()) {
      JsonValue name(m.name, alloc), value;
      merge_dom(value, m.value, alloc);
      target.AddMember(name, value, alloc);
    } else {
      merge_dom(it->value, m.value, alloc);
    }
  }
}

// How a merge treats values: a Merge Entity merges into JSON objects (§5.5.12); a partial
// attribute update replaces each member it names (§5.5.8).
enum class Depth { kMergePatch, kReplaceMembers };

// Merges the payload of `patch` into `target` (same attribute), keeping target's type when the
// patch is concise (§5.6.17.4).
Status merge_payload(Attribute& target, Attribute& patch, Depth depth, const std::string& lang) {
  using ngsild::AttrKind;
  const bool typed = (patch.flags & kFlagTypeGiven) != 0;
  if (!typed && patch.kind != target.kind) {
    // A concise value for an attribute of another type: read it as that type's payload.
    if (target.kind == AttrKind::kRelationship && patch.value.is_string()) {
      if (!is_absolute_uri(patch.value.text())) {
        return Status::BadRequestData(label(patch) + ": the object '" +
                                      std::string(patch.value.text()) + "' is not a URI");
      }
      target.value = std::move(patch.value);
      return Status::Ok();
    }
    if (target.kind == AttrKind::kLanguageProperty && patch.value.is_string()) {
      JsonDoc d;
      d.SetObject();
      std::string key = lang.empty() ? "@none" : lang;
      JsonValue k(key.c_str(), static_cast<rapidjson::SizeType>(key.size()), d.GetAllocator());
      JsonValue v(patch.value.text().data(),
                  static_cast<rapidjson::SizeType>(patch.value.text().size()), d.GetAllocator());
      d.AddMember(k, v, d.GetAllocator());
      target.value = ngsild::Value::json(json_merge_patch(target.value.text(), json_text(d)));
      return Status::Ok();
    }
  }
  ngsild::Value merged;
  if (depth == Depth::kMergePatch && target.value.is_json() && patch.value.is_json() &&
      patch.value.text().front() == '{' && target.value.text().front() == '{') {
    merged = ngsild::Value::json(json_merge_patch(target.value.text(), patch.value.text()));
  } else {
    merged = std::move(patch.value);
  }
  // The result must still be a valid payload of the attribute's kind.
  Attribute probe;
  probe.kind = target.kind;
  probe.value = merged;
  Status st = ngsild::check_payload(
      probe, label(target) + " (a " + std::string(ngsild::kind_name(target.kind)) + ")");
  if (!st.ok()) return st;
  target.value = std::move(merged);
  return Status::Ok();
}

// Merges `patch` into `target` member by member; sub-attributes recursively.
Status merge_instance(Attribute& target, Attribute& patch, int64_t now, Depth depth,
                      const MergeOptions& options) {
  if ((patch.flags & kFlagTypeGiven) && patch.kind != target.kind) {
    if (!(patch.flags & kFlagPayload)) {
      return Status::BadRequestData(label(patch) + ": changing the attribute type to " +
                                    std::string(ngsild::kind_name(patch.kind)) + " needs its " +
                                    std::string(ngsild::payload_member(patch.kind)));
    }
    int64_t created = target.created_at;
    target = std::move(patch);
    stamp(target, now, created);
    return Status::Ok();
  }
  if (patch.flags & kFlagPayload) {
    TSUNAGU_RETURN_IF_ERROR(merge_payload(target, patch, depth, options.lang));
  }
  if (patch.observed_at != kNoTime) {
    target.observed_at = patch.observed_at;
  } else if (patch.flags & kFlagDeleteObservedAt) {
    target.observed_at = kNoTime;
  } else if (options.observed_at && target.observed_at != kNoTime) {
    target.observed_at = *options.observed_at;
  }
  if (!patch.unit_code.empty())
    target.unit_code = patch.unit_code;
  else if (patch.flags & kFlagDeleteUnitCode)
    target.unit_code = Atom();
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
      TSUNAGU_RETURN_IF_ERROR(merge_instance(*existing, sub, now, depth, {}));
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
    if (s.created_at == kNoTime)
      stamp(s, now, now);
    else
      s.flags = 0;
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
  for (auto& a : e.attrs)
    stamp_new(a, now);
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
  for (auto& a : e.attrs)
    stamp_new(a, now);
  return e;
}

void append_attributes(Entity& e, EntityInput in, bool no_overwrite, int64_t now,
                       UpdateOutcome& out) {
  for (Atom t : in.types) {
    if (!e.has_type(t)) e.types.push_back(t);
  }
  if (in.scopes && no_overwrite) {
    // noOverwrite keeps the scopes there are and adds the new ones (§5.6.3).
    for (auto& s : *in.scopes) {
      if (std::find(e.scopes.begin(), e.scopes.end(), s) == e.scopes.end())
        e.scopes.push_back(std::move(s));
    }
  } else if (in.scopes) {
    e.scopes = std::move(*in.scopes);
  }
  InstanceIndex index(e, in.attrs.size());
  for (auto& a : in.attrs) {
    Attribute* existing = index.find(a.name, a.dataset_id);
    if (existing != nullptr && no_overwrite) {
      out.not_updated.emplace_back(a.name, "attribute already exists and noOverwrite was given");
      continue;
    }
    stamp(a, now, existing ? existing->created_at : kNoTime);
    out.updated.push_back(a.name);
    index.put(std::move(a));
  }
  index.finish();
  e.modified_at = now;
}

void update_attributes(Entity& e, EntityInput in, int64_t now, UpdateOutcome& out) {
  if (!in.types.empty()) {
    for (Atom t : in.types) {
      if (!e.has_type(t)) e.types.push_back(t);
    }
  }
  // Update Attributes changes what exists (§5.6.2): a scope the entity lacks is not added.
  static const Atom kScope = Atom::intern("scope");
  if (in.scopes || in.scope_delete) {
    if (e.scopes.empty()) {
      out.not_updated.emplace_back(kScope, "the entity has no scope");
    } else {
      e.scopes = in.scope_delete ? std::vector<std::string>{} : std::move(*in.scopes);
      out.updated.push_back(kScope);
    }
  }
  InstanceIndex index(e, in.attrs.size());
  for (auto& a : in.attrs) {
    Attribute* existing = index.find(a.name, a.dataset_id);
    if (existing != nullptr && (a.flags & kFlagDelete)) {
      // NGSI-LD Null: the instance (default, or the one with this datasetId) is deleted.
      index.erase(a.name, a.dataset_id);
      out.updated.push_back(a.name);
      continue;
    }
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
  index.finish();
  e.modified_at = now;
}

std::string json_merge_patch(std::string_view target, std::string_view patch) {
  JsonDoc t, p;
  if (!parse_json(patch, p).ok()) return std::string(patch);
  if (!parse_json(target, t).ok()) t.SetObject();
  merge_dom(t, p, t.GetAllocator());
  return json_text(t);
}

Status merge_entity(Entity& e, EntityInput in, int64_t now, const MergeOptions& options) {
  for (Atom t : in.types) {
    if (!e.has_type(t)) e.types.push_back(t);
  }
  if (in.scope_delete)
    e.scopes.clear();
  else if (in.scopes)
    e.scopes = std::move(*in.scopes);
  InstanceIndex index(e, in.attrs.size());  // finished however this returns
  for (auto& a : in.attrs) {
    if (a.flags & kFlagDelete) {
      // NGSI-LD Null deletes one instance: the default one unless a datasetId is given.
      index.erase(a.name, a.dataset_id);
      continue;
    }
    Attribute* existing = index.find(a.name, a.dataset_id);
    if (existing != nullptr) {
      TSUNAGU_RETURN_IF_ERROR(merge_instance(*existing, a, now, Depth::kMergePatch, options));
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
    if (a.value.is_json() && a.value.text().front() == '{') {
      a.value = ngsild::Value::json(json_merge_patch("{}", a.value.text()));
    }
    stamp_new(a, now);
    index.put(std::move(a));
  }
  index.finish();
  e.modified_at = now;
  return Status::Ok();
}

Status partial_update_attribute(Entity& e, Atom name, std::vector<Attribute> fragment,
                                int64_t now) {
  for (auto& a : fragment) {
    Attribute* existing = e.find(name, a.dataset_id);
    if (existing == nullptr) {
      return Status::NotFound("entity '" + e.id + "' has no " + label(a));
    }
    if (a.flags & kFlagDelete) {  // NGSI-LD Null: this instance goes (§5.6.4)
      e.erase(name, a.dataset_id);
      continue;
    }
    if ((a.flags & kFlagTypeGiven) && a.kind != existing->kind) {
      // A partial update changes members of the attribute there is, not what it is (§5.6.4).
      return Status::BadRequestData(
          label(a) + " is a " + std::string(ngsild::kind_name(existing->kind)) +
          "; a partial update cannot make it a " + std::string(ngsild::kind_name(a.kind)));
    }
    TSUNAGU_RETURN_IF_ERROR(merge_instance(*existing, a, now, Depth::kReplaceMembers, {}));
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
  // "scope" is a member of the entity, not an attribute, but is deleted the same way (§4.18).
  if (name.str() == "https://uri.etsi.org/ngsi-ld/scope" && e.instances(name).empty()) {
    if (e.scopes.empty()) return Status::NotFound("entity '" + e.id + "' has no scope");
    e.scopes.clear();
    return Status::Ok();
  }
  std::string what = "entity '" + e.id + "' has no attribute '" + std::string(name.str()) + "'";
  if (delete_all) {
    if (e.erase_all(name) == 0) return Status::NotFound(what);
  } else if (!e.erase(name, dataset_id.value_or(Atom()))) {
    if (dataset_id)
      what += " with datasetId '" + std::string(dataset_id->str()) + "'";
    else if (!e.instances(name).empty())
      what += " default instance (without datasetId)";
    return Status::NotFound(what);
  }
  return Status::Ok();
}

}  // namespace tsunagu::engine
