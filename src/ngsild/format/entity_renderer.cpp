// Rendering runs on every read, so it writes straight into the response buffer: no DOM, names
// compacted through the Context's reverse map, compound values copied as stored text.
#include "ngsild/format/entity_renderer.hpp"

#include <algorithm>

#include "common/time.hpp"
#include "ngsild/format/linked_entities.hpp"
#include "ngsild/geo/geometry.hpp"

namespace tsunagu::ngsild {
namespace {

Atom none_atom() {
  static const Atom a = Atom::intern("@none");
  return a;
}

bool looks_like_geometry(const Value& v) {
  if (!v.is_json()) return false;
  std::string_view t = v.text();
  if (t.empty() || t.front() != '{' || t.find("\"type\"") == std::string_view::npos) return false;
  JsonDoc d;
  if (!parse_json(t, d).ok() || !d.IsObject()) return false;
  auto type = d.FindMember("type");
  if (type == d.MemberEnd() || !type->value.IsString()) return false;
  return geo::geometry_type_from_name({type->value.GetString(), type->value.GetStringLength()})
             .has_value() &&
         (d.HasMember("coordinates") || d.HasMember("geometries"));
}

class Renderer {
 public:
  Renderer(const RenderOptions& o, JsonWriter& w) : o_(o), w_(w) {}

  void name(Atom iri) {
    if (o_.ctx == nullptr) {
      w_.key(iri.str());
    } else {
      w_.quoted_key(o_.names.quoted(*o_.ctx, iri));
    }
  }

  void iri_value(Atom iri) {
    if (o_.ctx == nullptr) {
      w_.string(iri.str());
    } else {
      w_.raw(o_.names.quoted(*o_.ctx, iri));
    }
  }

  void types(const Entity& e) {
    if (e.types.size() == 1) {
      iri_value(e.types[0]);
      return;
    }
    w_.begin_array();
    for (Atom t : e.types)
      iri_value(t);
    w_.end_array();
  }

  void scopes(const Entity& e) {
    if (e.scopes.size() == 1) {
      w_.string(e.scopes[0]);
      return;
    }
    w_.begin_array();
    for (const auto& s : e.scopes)
      w_.string(s);
    w_.end_array();
  }

  // An entity's system attributes mostly share one instant, so the last text is kept.
  void timestamp(std::string_view key, int64_t t) {
    if (t == kNoTime) return;
    if (t != last_time_ || last_len_ == 0) {
      char buf[kDatetimeChars];
      size_t n = write_datetime(t, buf);
      last_text_[0] = '"';
      std::copy_n(buf, n, last_text_ + 1);
      last_text_[n + 1] = '"';
      last_len_ = n + 2;
      last_time_ = t;
    }
    w_.plain_key(key);
    w_.raw({last_text_, last_len_});
  }

  bool selected(const Attribute& a) const {
    if (!o_.dataset_filter) return true;
    Atom d = a.dataset_id.empty() ? none_atom() : a.dataset_id;
    return std::find(o_.dataset_ids.begin(), o_.dataset_ids.end(), d) != o_.dataset_ids.end();
  }

  // All attributes of a list (entity attributes or sub-attributes), grouped by name.
  void attributes(const std::vector<Attribute>& list, bool top) {
    size_t i = 0;
    while (i < list.size()) {
      size_t j = i + 1;
      while (j < list.size() && list[j].name == list[i].name)
        ++j;
      if (!top || o_.projection.keeps(list[i].name)) group(list, i, j, top);
      i = j;
    }
  }

  // `top`: entity attributes, to which the datasetId selection applies (sub-attributes of a
  // selected instance are all kept).
  void group(const std::vector<Attribute>& list, size_t first, size_t last, bool top) {
    auto selected = [&](const Attribute& a) { return !top || this->selected(a); };
    size_t n = 0;
    for (size_t k = first; k < last; ++k)
      n += selected(list[k]) ? 1 : 0;
    if (n == 0) return;
    // join=inline: an entity's own Relationships (not those of its attributes) lead on.
    const bool link = top && o_.join == Join::kInline && depth_ < o_.join_level &&
                      (list[first].kind == AttrKind::kRelationship ||
                       list[first].kind == AttrKind::kListRelationship);
    name(list[first].name);
    if (o_.format == Format::kKeyValues && n > 1) {
      // §4.5.4: several instances simplify to {"dataset": {datasetId or "@none": value}}.
      w_.begin_object();
      w_.plain_key("dataset");
      w_.begin_object();
      for (size_t k = first; k < last; ++k) {
        if (!selected(list[k])) continue;
        w_.key(list[k].dataset_id.empty() ? std::string_view("@none") : list[k].dataset_id.str());
        simplified(list[k], link);
      }
      w_.end_object();
      w_.end_object();
      return;
    }
    if (n > 1) w_.begin_array();
    for (size_t k = first; k < last; ++k) {
      if (!selected(list[k])) continue;
      if (o_.format == Format::kKeyValues)
        simplified(list[k], link);
      else
        instance(list[k], n > 1, link, top ? previous_of(list[k]) : nullptr);
    }
    if (n > 1) w_.end_array();
  }

  // The payload as it appears after the payload member.
  void payload(const Attribute& a) {
    switch (a.kind) {
      case AttrKind::kVocabProperty:
        vocab(a.value);
        break;
      default:
        a.value.append_json(w_.buffer_for_raw());
        break;
    }
  }

  // A VocabProperty's IRI, which need not have an atom (values are stored as text).
  void vocab_iri(std::string_view iri) {
    Atom a = Atom::find(iri);
    if (!a.empty() || o_.ctx == nullptr) {
      if (a.empty())
        w_.string(iri);
      else
        iri_value(a);
      return;
    }
    std::string scratch;
    w_.string(o_.ctx->compact_iri(iri, scratch));
  }

  void vocab(const Value& v) {
    if (v.is_string()) {
      vocab_iri(v.text());
      return;
    }
    JsonDoc d;
    if (!parse_json(v.text(), d).ok() || !d.IsArray()) {
      w_.raw(v.text());
      return;
    }
    w_.begin_array();
    for (const auto& e : d.GetArray()) {
      if (e.IsString()) vocab_iri({e.GetString(), e.GetStringLength()});
    }
    w_.end_array();
  }

  bool language_reduced(const Attribute& a) const {
    return a.kind == AttrKind::kLanguageProperty && !o_.lang.empty();
  }

  // showChanges: the instance `a` replaced, when its content changed.
  const Attribute* previous_of(const Attribute& a) const {
    if (o_.previous == nullptr) return nullptr;
    const Attribute* p = o_.previous->find(a.name, a.dataset_id);
    return p != nullptr && !same_content(*p, a) ? p : nullptr;
  }

  // The member holding a previous payload, named after the kind the instance had then.
  static std::string_view previous_member(AttrKind k) {
    switch (k) {
      case AttrKind::kRelationship:
        return "previousObject";
      case AttrKind::kLanguageProperty:
        return "previousLanguageMap";
      case AttrKind::kVocabProperty:
        return "previousVocab";
      case AttrKind::kJsonProperty:
        return "previousJson";
      case AttrKind::kListProperty:
        return "previousValueList";
      case AttrKind::kListRelationship:
        return "previousObjectList";
      case AttrKind::kProperty:
      case AttrKind::kGeoProperty:
        break;
    }
    return "previousValue";
  }

  // The previous payload in the form the current one takes: with `lang`, a languageMap is
  // reduced to its best value, as the current one is.
  void previous(const Attribute& p) {
    if (language_reduced(p)) {
      std::string v;
      best_language(p.value.text(), o_.lang, v);
      w_.plain_key("previousValue");
      w_.raw(v);
      return;
    }
    w_.plain_key(previous_member(p.kind));
    payload(p);
  }

  // `in_array`: one of several instances, where a bare value would read back as the whole
  // array being one Property's value. `link`: a Relationship whose entities join=inline adds.
  // `prev`: the instance it replaced (showChanges), whose payload it carries too.
  // `extra` writes members of the instance's own after the rest (a temporal instance's).
  void instance(const Attribute& a, bool in_array = false, bool link = false,
                const Attribute* prev = nullptr,
                const std::function<void(JsonWriter&)>* extra = nullptr) {
    bool concise = o_.format == Format::kConcise;
    bool reduce_lang = language_reduced(a);
    std::string lang_value, lang_tag;
    if (reduce_lang) lang_tag = best_language(a.value.text(), o_.lang, lang_value);
    bool bare =
        concise && !in_array && prev == nullptr && a.subs.empty() && a.observed_at == kNoTime &&
        a.unit_code.empty() && a.dataset_id.empty() && a.value_type.empty() && !o_.sys_attrs &&
        !reduce_lang &&
        ((a.kind == AttrKind::kProperty && !a.value.is_json()) || a.kind == AttrKind::kGeoProperty);
    if (bare) {
      a.value.append_json(w_.buffer_for_raw());
      return;
    }
    w_.begin_object();
    // Concise drops "type" unless the payload alone would read back as another kind: a Property
    // whose value is a GeoJSON geometry would come back as a GeoProperty (§4.5.2.3).
    if (!concise || (a.kind == AttrKind::kProperty && looks_like_geometry(a.value))) {
      w_.plain_key("type");
      w_.plain_string(reduce_lang ? "Property" : kind_name(a.kind));
    }
    if (reduce_lang) {
      w_.plain_key("value");
      w_.raw(lang_value);
      w_.plain_key("lang");
      w_.string(lang_tag);
    } else {
      w_.plain_key(payload_member(a.kind));
      payload(a);
    }
    if (prev != nullptr) previous(*prev);
    if (!a.value_type.empty()) {
      w_.plain_key(a.kind == AttrKind::kRelationship || a.kind == AttrKind::kListRelationship
                       ? "objectType"
                       : "valueType");
      iri_value(a.value_type);
    }
    timestamp("observedAt", a.observed_at);
    if (!a.unit_code.empty()) {
      w_.plain_key("unitCode");
      w_.string(a.unit_code.str());
    }
    if (!a.dataset_id.empty()) {
      w_.plain_key("datasetId");
      w_.string(a.dataset_id.str());
    }
    if (o_.sys_attrs) {
      timestamp("createdAt", a.created_at);
      timestamp("modifiedAt", a.modified_at);
      if (o_.deleted_at != kNoTime && is_deleted_instance(a)) {
        timestamp("deletedAt", o_.deleted_at);
      }
    }
    if (link) linked(a);
    attributes(a.subs, false);
    if (extra != nullptr && *extra) (*extra)(w_);
    w_.end_object();
  }

  void simplified(const Attribute& a, bool link = false) {
    // join=inline in the simplified form: the linked entities stand where their ids would.
    if (link && linked_simplified(a)) return;
    switch (a.kind) {
      case AttrKind::kProperty:
      case AttrKind::kGeoProperty:
      case AttrKind::kRelationship:
        a.value.append_json(w_.buffer_for_raw());
        return;
      case AttrKind::kLanguageProperty:
        if (!o_.lang.empty()) {
          std::string v;
          best_language(a.value.text(), o_.lang, v);
          w_.raw(v);
          return;
        }
        break;
      case AttrKind::kListRelationship: {
        w_.begin_object();
        w_.plain_key("objectList");
        JsonDoc d;
        w_.begin_array();
        if (parse_json(a.value.text(), d).ok() && d.IsArray()) {
          for (const auto& e : d.GetArray()) {
            auto o = e.IsObject() ? e.FindMember("object") : e.MemberEnd();
            if (e.IsObject() && o != e.MemberEnd() && o->value.IsString()) {
              w_.string({o->value.GetString(), o->value.GetStringLength()});
            }
          }
        }
        w_.end_array();
        w_.end_object();
        return;
      }
      default:
        break;
    }
    // Kinds whose bare value would read back as another kind keep their payload member.
    w_.begin_object();
    w_.plain_key(payload_member(a.kind));
    payload(a);
    w_.end_object();
  }

  // `deleted_at`: a deleted entity's "deletedAt" (§5.11), or kNoTime.
  void entity(const Entity& e, bool with_id_and_type = true, int64_t deleted_at = kNoTime) {
    if (o_.join == Join::kInline) path_.push_back(e.id);
    head(e, with_id_and_type);
    timestamp("deletedAt", deleted_at);
    attributes(e.attrs, true);
    tail();
  }

  // An entity object up to its attributes: left open.
  void head(const Entity& e, bool with_id_and_type = true) {
    w_.begin_object();
    const Projection& p = o_.projection;
    if (with_id_and_type && p.keeps_id()) {
      w_.plain_key("id");
      w_.string(e.id);
    }
    if (with_id_and_type && p.keeps_type()) {
      w_.plain_key("type");
      types(e);
    }
    if (!e.scopes.empty() && p.keeps_scope()) {
      w_.plain_key("scope");
      scopes(e);
    }
    if (o_.sys_attrs) {
      timestamp("createdAt", e.created_at);
      timestamp("modifiedAt", e.modified_at);
    }
  }

  // What closes an entity object: its @context when it carries one.
  void tail() {
    if (o_.with_context && o_.ctx != nullptr) {
      w_.plain_key("@context");
      w_.raw(o_.ctx->body_json());
    }
    w_.end_object();
  }

  JsonWriter& writer() { return w_; }

 private:
  // The entities `a` leads to that join=inline writes: those that exist and are not already
  // on the way here (containedBy, or an entity that links back to one that links to it).
  std::vector<std::shared_ptr<const Entity>> targets(const Attribute& a) const {
    std::vector<std::shared_ptr<const Entity>> out;
    for (const auto& id : relationship_objects(a)) {
      if (std::find(path_.begin(), path_.end(), id) != path_.end() ||
          std::find(o_.contained_by.begin(), o_.contained_by.end(), id) != o_.contained_by.end()) {
        continue;
      }
      auto e = o_.lookup(id);
      if (e && o_.join_budget->take()) out.push_back(std::move(e));
    }
    return out;
  }

  // Renders `e`, reached through `a`, one level further down.
  void nested(const Attribute& a, const Entity& e) {
    RenderOptions o = o_;
    const Projection* p = o_.projection.linked_for(a.name);
    o.projection = p != nullptr ? *p : Projection{};
    o.with_context = false;
    o.dataset_filter = false;
    o.previous = nullptr;
    Renderer r(o, w_);
    r.depth_ = depth_ + 1;
    r.path_ = path_;
    r.entity(e);
  }

  // One linked entity as an object, several as an array.
  void linked_value(const Attribute& a, const std::vector<std::shared_ptr<const Entity>>& found) {
    if (a.kind == AttrKind::kRelationship && a.value.is_string()) return nested(a, *found.front());
    w_.begin_array();
    for (const auto& e : found)
      nested(a, *e);
    w_.end_array();
  }

  // "entity" (one object) or "entityList" (several) beside a Relationship's object.
  void linked(const Attribute& a) {
    auto found = targets(a);
    if (found.empty()) return;
    w_.plain_key(a.kind == AttrKind::kRelationship && a.value.is_string() ? "entity"
                                                                          : "entityList");
    linked_value(a, found);
  }

  // The simplified form: the linked entities in place of the object; false when none exists.
  bool linked_simplified(const Attribute& a) {
    auto found = targets(a);
    if (found.empty()) return false;
    linked_value(a, found);
    return true;
  }

  int depth_ = 0;                  // Relationships followed to reach the entity being written
  std::vector<std::string> path_;  // ids of the entities on the way to it, itself last

  const RenderOptions& o_;
  JsonWriter& w_;
  int64_t last_time_ = 0;  // timestamp(): the instant last written and its quoted text
  size_t last_len_ = 0;
  char last_text_[kDatetimeChars + 2];
};

}  // namespace

void prefetch_attributes(const Entity& e) {
  const char* p = reinterpret_cast<const char*>(e.attrs.data());
  const size_t bytes = e.attrs.size() * sizeof(Attribute);
  for (size_t at = 0; at < bytes; at += 64)
    __builtin_prefetch(p + at);
}

void prefetch_values(const Entity& e) {
  for (const auto& a : e.attrs)
    a.value.prefetch();
}

std::string_view CompactedNames::quoted(const jsonld::Context& ctx, Atom iri) {
  if (ctx_ != &ctx) {
    slots_.reset();
    ctx_ = &ctx;
  }
  if (iri.empty()) {
    std::string scratch;
    spare_.clear();
    JsonWriter::escape_into(ctx.compact(iri, scratch), spare_);
    return spare_;
  }
  if (!slots_) slots_ = std::make_unique<std::array<Slot, kSlots>>();
  Slot& s = (*slots_)[iri.id() % kSlots];
  if (s.atom != iri.id()) {
    std::string scratch;
    s.text.clear();
    JsonWriter::escape_into(ctx.compact(iri, scratch), s.text);
    s.atom = iri.id();
  }
  return s.text;
}

const Projection* Projection::linked_for(Atom attr) const {
  for (const auto& [name, p] : linked) {
    if (name == attr) return p.get();
  }
  return nullptr;
}

bool Projection::keeps(Atom attr) const {
  if (pick && std::find(pick_attrs.begin(), pick_attrs.end(), attr) == pick_attrs.end()) {
    return false;
  }
  return std::find(omit_attrs.begin(), omit_attrs.end(), attr) == omit_attrs.end();
}

void render_entity(const Entity& e, const RenderOptions& o, JsonWriter& w) {
  Renderer r(o, w);
  r.entity(e);
}

void render_instance(const Attribute& a, const RenderOptions& o, JsonWriter& w,
                     const std::function<void(JsonWriter&)>& extra) {
  Renderer(o, w).instance(a, true, false, nullptr, &extra);
}

void render_simplified(const Attribute& a, const RenderOptions& o, JsonWriter& w) {
  Renderer(o, w).simplified(a);
}

void render_entity_head(const Entity& e, const RenderOptions& o, JsonWriter& w) {
  Renderer(o, w).head(e);
}

void render_entity_tail(const RenderOptions& o, JsonWriter& w) {
  Renderer(o, w).tail();
}

void render_name(Atom iri, const RenderOptions& o, JsonWriter& w) {
  Renderer(o, w).name(iri);
}

std::string render_entity(const Entity& e, const RenderOptions& o) {
  std::string out;
  JsonWriter w(out);
  render_entity(e, o, w);
  return out;
}

void render_deleted_entity(const Entity& e, int64_t deleted_at, const RenderOptions& o,
                           JsonWriter& w, const std::vector<Atom>& deleted_names) {
  Entity shown;
  shown.id = e.id;
  shown.types = e.types;
  shown.created_at = e.created_at;  // with sysAttrs, the times it had beside deletedAt
  shown.modified_at = e.modified_at;
  for (const Attribute& a : e.attrs) {
    if (o.previous != nullptr ||
        std::find(deleted_names.begin(), deleted_names.end(), a.name) != deleted_names.end()) {
      shown.attrs.push_back(deleted_instance(a));
    }
  }
  RenderOptions with_time = o;
  with_time.deleted_at = deleted_at;
  Renderer(with_time, w).entity(shown, true, deleted_at);
}

void render_feature(const Entity& e, const RenderOptions& o, Atom geometry_property,
                    JsonWriter& w) {
  Renderer r(o, w);
  w.begin_object();
  w.key("id");
  w.string(e.id);
  w.key("type");
  w.string("Feature");
  w.key("geometry");
  const Attribute* g = e.find(geometry_property);
  if (g == nullptr && !e.instances(geometry_property).empty()) {
    g = &e.instances(geometry_property)[0];
  }
  if (g != nullptr && g->kind == AttrKind::kGeoProperty) {
    w.raw(g->value.text());
  } else {
    w.null();
  }
  w.key("properties");
  // §5.2.31: the properties member holds the type and the attributes.
  RenderOptions inner = o;
  inner.with_context = false;
  inner.projection.omit_id = true;
  Renderer(inner, w).entity(e);
  if (o.with_context && o.ctx != nullptr) {
    w.key("@context");
    w.raw(o.ctx->body_json());
  }
  w.end_object();
}

std::string best_language(std::string_view map_json, std::string_view lang,
                          std::string& value_json) {
  JsonDoc d;
  value_json = "null";
  if (!parse_json(map_json, d).ok() || !d.IsObject() || d.MemberCount() == 0) return "";
  auto take = [&](const JsonValue& name, const JsonValue& v) {
    value_json = json_text(v);
    return std::string(name.GetString(), name.GetStringLength());
  };
  auto eq_ci = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i]))) {
        return false;
      }
    }
    return true;
  };
  // lang may be a preference list ("en,fr;q=0.5" is reduced to its tags in order).
  std::vector<std::string_view> wanted;
  size_t pos = 0;
  while (pos <= lang.size()) {
    size_t comma = lang.find(',', pos);
    std::string_view item =
        lang.substr(pos, comma == std::string_view::npos ? lang.npos : comma - pos);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty()) wanted.push_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  for (std::string_view want : wanted) {
    if (want == "*") break;
    for (const auto& m : d.GetObject()) {
      if (eq_ci({m.name.GetString(), m.name.GetStringLength()}, want)) return take(m.name, m.value);
    }
    std::string_view primary = want.substr(0, want.find('-'));
    for (const auto& m : d.GetObject()) {
      std::string_view tag(m.name.GetString(), m.name.GetStringLength());
      if (eq_ci(tag.substr(0, tag.find('-')), primary)) return take(m.name, m.value);
    }
  }
  auto none = d.FindMember("@none");
  if (none != d.MemberEnd()) return take(none->name, none->value);
  return take(d.MemberBegin()->name, d.MemberBegin()->value);
}

}  // namespace tsunagu::ngsild
