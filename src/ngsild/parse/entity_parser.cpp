// Payload validation and expansion. The attribute rules follow ETSI GS CIM 009 §4.5.2-§4.5.24
// (normalized) and §4.5.2.3-style concise input, where the attribute type is inferred from the
// member that carries the payload (value, object, languageMap, vocab, json, valueList,
// objectList) or from a GeoJSON geometry.
#include "ngsild/parse/entity_parser.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <unordered_set>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "common/uri.hpp"
#include "ngsild/geo/geometry.hpp"

namespace tsunagu::ngsild {
namespace {

std::string_view sv(const JsonValue& v) {
  return {v.GetString(), v.GetStringLength()};
}

bool is(const JsonValue& v, std::string_view s) {
  return v.IsString() && sv(v) == s;
}

Status fault(std::string_view where, const std::string& what) {
  return Status::BadRequestData(std::string(where) + ": " + what);
}

// Where an attribute is, for fault messages ("attribute 'speed'[1].accuracy"): the pieces
// joined on the stack while they fit, as every attribute of every write needs one and only a
// fault reads it.
class Label {
 public:
  Label(std::string_view a, std::string_view b, std::string_view c) {
    if (a.size() + b.size() + c.size() <= sizeof buf_) {
      size_t n = 0;
      for (std::string_view piece : {a, b, c}) {
        if (piece.empty()) continue;  // its data may be null
        std::memcpy(buf_ + n, piece.data(), piece.size());
        n += piece.size();
      }
      view_ = {buf_, n};
    } else {
      heap_.append(a).append(b).append(c);
      view_ = heap_;
    }
  }
  Label(const Label&) = delete;
  Label& operator=(const Label&) = delete;
  operator std::string_view() const { return view_; }

 private:
  char buf_[160];
  std::string heap_;
  std::string_view view_;
};

// Members with a fixed meaning inside an attribute; everything else is a sub-attribute.
enum class Member {
  kType,
  kValue,
  kObject,
  kLanguageMap,
  kVocab,
  kJson,
  kValueList,
  kObjectList,
  kObservedAt,
  kUnitCode,
  kDatasetId,
  kValueType,
  kObjectType,
  kIgnored,
  kSub
};

// `k` is the literal `name`: memcmp with a constant length compiles to a load or two, where
// string_view's == called compare() (and the switch below has already matched the length).
template <size_t N>
bool same(std::string_view k, const char (&name)[N]) {
  return k.size() == N - 1 && std::memcmp(k.data(), name, N - 1) == 0;
}

// By length, then the name: every member of every attribute passes here.
Member classify(std::string_view k) {
  switch (k.size()) {
    case 4:
      if (same(k, "type")) return Member::kType;
      if (same(k, "json")) return Member::kJson;
      if (same(k, "lang")) return Member::kIgnored;  // read-only or notification-only members are
      break;                                         // accepted and ignored on input
    case 5:
      if (same(k, "value")) return Member::kValue;
      if (same(k, "vocab")) return Member::kVocab;
      break;
    case 6:
      if (same(k, "object")) return Member::kObject;
      break;
    case 8:
      if (same(k, "unitCode")) return Member::kUnitCode;
      break;
    case 9:
      if (same(k, "datasetId")) return Member::kDatasetId;
      if (same(k, "valueList")) return Member::kValueList;
      if (same(k, "createdAt")) return Member::kIgnored;
      if (same(k, "valueType")) return Member::kValueType;
      if (same(k, "deletedAt")) return Member::kIgnored;
      break;
    case 10:
      if (same(k, "observedAt")) return Member::kObservedAt;
      if (same(k, "objectList")) return Member::kObjectList;
      if (same(k, "modifiedAt")) return Member::kIgnored;
      if (same(k, "objectType")) return Member::kObjectType;
      if (same(k, "instanceId")) return Member::kIgnored;
      break;
    case 11:
      if (same(k, "languageMap")) return Member::kLanguageMap;
      break;
    case 13:
      if (same(k, "previousValue")) return Member::kIgnored;
      break;
    case 14:
      if (same(k, "previousObject")) return Member::kIgnored;
      break;
    case 19:
      if (same(k, "previousLanguageMap")) return Member::kIgnored;
      break;
    default:
      break;
  }
  return Member::kSub;
}

bool parse_kind(std::string_view t, AttrKind& k) {
  static const std::array<std::pair<std::string_view, AttrKind>, 8> kKinds = {{
      {"Property", AttrKind::kProperty},
      {"Relationship", AttrKind::kRelationship},
      {"GeoProperty", AttrKind::kGeoProperty},
      {"LanguageProperty", AttrKind::kLanguageProperty},
      {"VocabProperty", AttrKind::kVocabProperty},
      {"JsonProperty", AttrKind::kJsonProperty},
      {"ListProperty", AttrKind::kListProperty},
      {"ListRelationship", AttrKind::kListRelationship},
  }};
  for (const auto& [name, kind] : kKinds) {
    if (name == t) {
      k = kind;
      return true;
    }
  }
  return false;
}

// `t` is v's "type" member (v.MemberEnd() when it has none), found once by the caller.
bool is_geojson_geometry(const JsonValue& v, JsonValue::ConstMemberIterator t) {
  if (t == v.MemberEnd() || !t->value.IsString()) return false;
  std::string_view n = sv(t->value);
  bool known = n == "Point" || n == "MultiPoint" || n == "LineString" || n == "MultiLineString" ||
               n == "Polygon" || n == "MultiPolygon" || n == "GeometryCollection";
  return known && (v.HasMember("coordinates") || v.HasMember("geometries"));
}

bool is_geojson_geometry(const JsonValue& v) {
  return v.IsObject() && is_geojson_geometry(v, v.FindMember("type"));
}

// Does this object look like one attribute instance (so an array of them is multi-instance)?
bool looks_like_instance(const JsonValue& v) {
  if (!v.IsObject()) return false;
  AttrKind k;
  auto t = v.FindMember("type");
  if (t != v.MemberEnd() && t->value.IsString() && parse_kind(sv(t->value), k)) return true;
  for (const char* m :
       {"value", "object", "languageMap", "vocab", "json", "valueList", "objectList"}) {
    if (v.HasMember(m)) return true;
  }
  return false;
}

}  // namespace

bool is_ngsild_null(AttrKind kind, const JsonValue& v) {
  if (is(v, kNullMarker)) return true;
  if (kind == AttrKind::kLanguageProperty) {
    return v.IsObject() && v.MemberCount() == 1 && v.MemberBegin()->name == "@none" &&
           is(v.MemberBegin()->value, kNullMarker);
  }
  if (kind == AttrKind::kListProperty || kind == AttrKind::kListRelationship) {
    if (!v.IsArray() || v.Size() != 1) return false;
    const JsonValue& item = v[0];
    if (is(item, kNullMarker)) return true;
    // Only an object has members to look for (RapidJSON asserts, and reads a number's bits as
    // a member pointer, when asked for a non-object's MemberEnd()).
    if (!item.IsObject() || item.MemberCount() != 1) return false;
    auto o = item.FindMember("object");
    return o != item.MemberEnd() && is(o->value, kNullMarker);
  }
  return false;
}

namespace {

class Parser {
 public:
  // `expanded`: terms in payloads are IRIs already, taken as they are (check_payload, which
  // checks a value of the model again).
  Parser(const jsonld::Context& ctx, ParseMode mode, bool expanded = false)
      : ctx_(ctx), mode_(mode), expanded_(expanded) {}

  bool partial() const { return mode_ == ParseMode::kMerge; }
  // NGSI-LD Null deletes in the operations that update (§5.6.2, §5.6.4, §5.6.17).
  bool null_deletes() const { return mode_ == ParseMode::kMerge || mode_ == ParseMode::kUpdate; }
  Atom name_of(std::string_view term) const {
    return expanded_ ? Atom::intern(term) : ctx_.expand(term);
  }

  // Parses one attribute value (object, concise scalar, or array of instances) into `out`.
  Status attribute(Atom name, std::string_view label, const JsonValue& v,
                   std::vector<Attribute>& out, bool top_level) {
    if (v.IsArray() && !v.Empty() && looks_like_instance(v[0])) {
      size_t first = out.size();
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        char index[24] = "[";
        char* end = std::to_chars(index + 1, index + sizeof index - 1, i).ptr;
        *end++ = ']';
        const Label where(label, std::string_view(index, static_cast<size_t>(end - index)), "");
        if (!v[i].IsObject()) return fault(where, "each instance must be an object");
        Attribute a;
        TSUNAGU_RETURN_IF_ERROR(instance(name, where, v[i], a, top_level));
        for (size_t j = first; j < out.size(); ++j) {
          if (out[j].dataset_id == a.dataset_id) {
            return fault(where, a.dataset_id.empty()
                                    ? "more than one default instance (no datasetId)"
                                    : "datasetId '" + std::string(a.dataset_id.str()) +
                                          "' appears more than once");
          }
        }
        out.push_back(std::move(a));
      }
      return Status::Ok();
    }
    Attribute a;
    TSUNAGU_RETURN_IF_ERROR(instance(name, label, v, a, top_level));
    out.push_back(std::move(a));
    return Status::Ok();
  }

  Status instance(Atom name, std::string_view where, const JsonValue& v, Attribute& a,
                  bool top_level) {
    a.name = name;
    if (!v.IsObject()) return concise_value(where, v, a);
    auto t = v.FindMember("type");
    if (is_geojson_geometry(v, t)) {  // a concise GeoProperty: the geometry itself
      a.kind = AttrKind::kGeoProperty;
      return payload(where, v, a);
    }
    if (partial() && v.MemberCount() == 0) {
      return fault(where, "an attribute fragment must not be empty");
    }
    // Type: explicit, or inferred from the payload member.
    bool typed = false;
    if (t != v.MemberEnd()) {
      if (!t->value.IsString() || !parse_kind(sv(t->value), a.kind)) {
        return fault(where, "type " + describe(t->value) +
                                " is not an attribute type (Property, Relationship, GeoProperty,"
                                " LanguageProperty, VocabProperty, JsonProperty, ListProperty,"
                                " ListRelationship)");
      }
      typed = true;
      a.flags |= kFlagTypeGiven;
    } else if (v.HasMember("object"))
      a.kind = AttrKind::kRelationship;
    else if (v.HasMember("objectList"))
      a.kind = AttrKind::kListRelationship;
    else if (v.HasMember("languageMap"))
      a.kind = AttrKind::kLanguageProperty;
    else if (v.HasMember("vocab"))
      a.kind = AttrKind::kVocabProperty;
    else if (v.HasMember("json"))
      a.kind = AttrKind::kJsonProperty;
    else if (v.HasMember("valueList"))
      a.kind = AttrKind::kListProperty;
    else if (v.HasMember("value")) {
      a.kind = is_geojson_geometry(v["value"]) ? AttrKind::kGeoProperty : AttrKind::kProperty;
    } else if (!partial()) {
      return fault(where,
                   "no type, and none of value, object, languageMap, vocab, json,"
                   " valueList or objectList to infer it from");
    }
    (void)typed;

    for (const auto& m : v.GetObject()) {
      std::string_view key = sv(m.name);
      const JsonValue& mv = m.value;
      Member kind = classify(key);
      switch (kind) {
        case Member::kType:
        case Member::kIgnored:
          break;
        case Member::kValue:
        case Member::kObject:
        case Member::kLanguageMap:
        case Member::kVocab:
        case Member::kJson:
        case Member::kValueList:
        case Member::kObjectList:
          if (key != payload_member(a.kind)) {
            return fault(where, "member '" + std::string(key) + "' does not belong to a " +
                                    std::string(kind_name(a.kind)));
          }
          TSUNAGU_RETURN_IF_ERROR(payload(where, mv, a));
          break;
        case Member::kObservedAt:
          if (partial() && is(mv, kNullMarker)) {
            a.flags |= kFlagDeleteObservedAt;
            break;
          }
          TSUNAGU_RETURN_IF_ERROR(datetime(where, "observedAt", mv, a.observed_at));
          break;
        case Member::kUnitCode:
          if (partial() && is(mv, kNullMarker)) {
            a.flags |= kFlagDeleteUnitCode;
            break;
          }
          if (!mv.IsString() || mv.GetStringLength() == 0) {
            return fault(where, "unitCode must be a non-empty string");
          }
          a.unit_code = Atom::intern(sv(mv));
          break;
        case Member::kDatasetId:
          if (!mv.IsString() || !is_absolute_uri(sv(mv))) {
            return fault(where, "datasetId " + describe(mv) + " is not a URI");
          }
          a.dataset_id = Atom::intern(sv(mv));
          break;
        case Member::kValueType:
        case Member::kObjectType:
          if (!mv.IsString() || !valid_name(sv(mv))) {
            return fault(where, std::string(key) + " must be a type name (a string)");
          }
          a.value_type = name_of(sv(mv));
          break;
        case Member::kSub: {
          if (!valid_name(key)) {
            return fault(where, "'" + std::string(key) + "' is not a valid sub-attribute name");
          }
          const Label sub_where(where, ".", key);
          Atom sub_name = name_of(key);
          if (partial() && is(mv, kNullMarker)) {
            Attribute del;
            del.name = sub_name;
            del.flags = kFlagDelete;
            a.subs.push_back(std::move(del));
            break;
          }
          if (!instances_of(a.subs, sub_name).empty()) {
            return fault(sub_where, "sub-attribute given twice");
          }
          TSUNAGU_RETURN_IF_ERROR(attribute(sub_name, sub_where, mv, a.subs, false));
          break;
        }
      }
    }
    if (!(a.flags & kFlagPayload) && !partial()) {
      return fault(where, std::string(kind_name(a.kind)) + " has no '" +
                              std::string(payload_member(a.kind)) + "' member");
    }
    (void)top_level;
    return Status::Ok();
  }

 private:
  // A bare value: a concise Property (or GeoProperty when it is a GeoJSON geometry).
  Status concise_value(std::string_view where, const JsonValue& v, Attribute& a) {
    if (v.IsNull()) return fault(where, "null is not an attribute value");
    if (null_deletes() && is(v, kNullMarker)) {
      a.flags |= kFlagDelete;
      return Status::Ok();
    }
    a.kind = is_geojson_geometry(v) ? AttrKind::kGeoProperty : AttrKind::kProperty;
    return payload(where, v, a);
  }

  Status payload(std::string_view where, const JsonValue& v, Attribute& a) {
    a.flags |= kFlagPayload;
    if (null_deletes() && is_ngsild_null(a.kind, v)) {
      a.flags |= kFlagDelete;
      return Status::Ok();
    }
    switch (a.kind) {
      case AttrKind::kProperty:
        if (v.IsNull()) return fault(where, "value must not be null");
        a.value = Value::from_dom(v);
        return Status::Ok();
      case AttrKind::kGeoProperty: {
        auto g = geo::parse_geojson(v);
        if (!g.ok()) return fault(where, "invalid GeoJSON: " + g.status().detail());
        a.value = Value::json(json_text(v));
        return Status::Ok();
      }
      case AttrKind::kRelationship:
        if (v.IsString()) {
          if (!is_absolute_uri(sv(v)))
            return fault(where, "object " + describe(v) + " is not a URI");
          a.value = Value::string(sv(v));
          return Status::Ok();
        }
        if (v.IsArray() && !v.Empty()) {
          for (const auto& e : v.GetArray()) {
            if (!e.IsString() || !is_absolute_uri(sv(e))) {
              return fault(where, "object " + describe(e) + " is not a URI");
            }
          }
          a.value = Value::json(json_text(v));
          return Status::Ok();
        }
        return fault(where, "object must be a URI or a non-empty array of URIs");
      case AttrKind::kLanguageProperty:
        return language_map(where, v, a);
      case AttrKind::kVocabProperty:
        return vocab(where, v, a);
      case AttrKind::kJsonProperty:
        if (v.IsNull()) return fault(where, "json must not be null");
        a.value = Value::from_dom(v);
        return Status::Ok();
      case AttrKind::kListProperty:
        if (!v.IsArray()) return fault(where, "valueList must be an array");
        a.value = Value::json(json_text(v));
        return Status::Ok();
      case AttrKind::kListRelationship:
        return object_list(where, v, a);
    }
    return Status::Ok();
  }

  Status language_map(std::string_view where, const JsonValue& v, Attribute& a) {
    if (!v.IsObject() || v.MemberCount() == 0) {
      return fault(where, "languageMap must be a non-empty object of language tags");
    }
    for (const auto& m : v.GetObject()) {
      std::string_view tag = sv(m.name);
      if (!valid_language_tag(tag)) {
        return fault(where, "'" + std::string(tag) + "' is not a language tag");
      }
      bool ok = m.value.IsString();
      if (m.value.IsArray()) {
        ok = true;
        for (const auto& e : m.value.GetArray())
          ok = ok && e.IsString();
      }
      if (!ok) {
        return fault(where, "languageMap['" + std::string(tag) +
                                "'] must be a string or an array of strings");
      }
    }
    a.value = Value::json(json_text(v));
    return Status::Ok();
  }

  Status vocab(std::string_view where, const JsonValue& v, Attribute& a) {
    auto one = [&](const JsonValue& e) -> Result<std::string> {
      if (!e.IsString() || e.GetStringLength() == 0) {
        return fault(where, "vocab must be a term or an array of terms");
      }
      return std::string(name_of(sv(e)).str());
    };
    if (v.IsString()) {
      auto s = one(v);
      if (!s.ok()) return s.status();
      a.value = Value::string(*s);
      return Status::Ok();
    }
    if (!v.IsArray() || v.Empty()) return fault(where, "vocab must be a term or an array of terms");
    std::string text = "[";
    for (const auto& e : v.GetArray()) {
      auto s = one(e);
      if (!s.ok()) return s.status();
      if (text.size() > 1) text.push_back(',');
      JsonWriter::escape_into(*s, text);
    }
    text.push_back(']');
    a.value = Value::json(text);
    return Status::Ok();
  }

  // Stored as [{"object": URI}, ...] whichever of the two accepted forms was given.
  Status object_list(std::string_view where, const JsonValue& v, Attribute& a) {
    if (!v.IsArray()) return fault(where, "objectList must be an array");
    std::string text = "[";
    for (const auto& e : v.GetArray()) {
      const JsonValue* uri = &e;
      if (e.IsObject()) {
        auto o = e.FindMember("object");
        if (o == e.MemberEnd()) return fault(where, "objectList items need an 'object' member");
        uri = &o->value;
      }
      if (!uri->IsString() || !is_absolute_uri(sv(*uri))) {
        return fault(where, "objectList item " + describe(*uri) + " is not a URI");
      }
      if (text.size() > 1) text.push_back(',');
      text += "{\"object\":";
      JsonWriter::escape_into(sv(*uri), text);
      text.push_back('}');
    }
    text.push_back(']');
    a.value = Value::json(text);
    return Status::Ok();
  }

  Status datetime(std::string_view where, std::string_view member, const JsonValue& v,
                  int64_t& out) {
    std::optional<int64_t> t;
    if (v.IsString()) t = parse_datetime(sv(v));
    if (!t) {
      return fault(where,
                   std::string(member) + " " + describe(v) + " is not an ISO 8601 date-time");
    }
    out = *t;
    return Status::Ok();
  }

  static bool valid_language_tag(std::string_view t) {
    if (t == "@none") return true;
    if (t.empty() || t.size() > 35) return false;
    for (char c : t) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    return std::isalpha(static_cast<unsigned char>(t[0]));
  }

 public:
  // The payload rules of `a.kind` applied to `v` (for values built by merging).
  Status check(std::string_view where, const JsonValue& v, Attribute& a) {
    return payload(where, v, a);
  }

  static std::string describe(const JsonValue& v) {
    if (v.IsString()) {
      std::string s(sv(v).substr(0, 120));
      return "'" + s + "'";
    }
    return std::string("(a ") + json_type_name(v) + ")";
  }

 private:
  const jsonld::Context& ctx_;
  ParseMode mode_;
  bool expanded_;
};

bool is_entity_geo_name(std::string_view iri) {
  return iri == "https://uri.etsi.org/ngsi-ld/location" ||
         iri == "https://uri.etsi.org/ngsi-ld/observationSpace" ||
         iri == "https://uri.etsi.org/ngsi-ld/operationSpace";
}

Status parse_types(const JsonValue& v, const Parser& p, std::vector<Atom>& out) {
  auto one = [&](const JsonValue& e) -> Status {
    if (!e.IsString() || !valid_name(sv(e))) {
      return Status::BadRequestData("type: " + Parser::describe(e) + " is not a valid type name");
    }
    // "id" and "type" are the core context's aliases of @id and @type (§5.5.7), not terms.
    if (sv(e) == "type" || sv(e) == "id") {
      return Status::BadRequestData("type: \"" + std::string(sv(e)) +
                                    "\" is a JSON-LD keyword alias, not a type name");
    }
    Atom t = p.name_of(sv(e));
    for (Atom x : out) {
      if (x == t) return Status::Ok();
    }
    out.push_back(t);
    return Status::Ok();
  };
  if (v.IsArray()) {
    if (v.Empty()) return Status::BadRequestData("type: must not be an empty array");
    for (const auto& e : v.GetArray())
      TSUNAGU_RETURN_IF_ERROR(one(e));
    return Status::Ok();
  }
  return one(v);
}

Status parse_scopes(const JsonValue& v, std::vector<std::string>& out) {
  auto one = [&](const JsonValue& e) -> Status {
    if (!e.IsString() || !valid_scope(sv(e))) {
      return Status::BadRequestData("scope: " + Parser::describe(e) +
                                    " is not a scope (\"/\" followed by names, e.g. /Tokyo/Parks)");
    }
    out.emplace_back(sv(e));
    return Status::Ok();
  };
  if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      TSUNAGU_RETURN_IF_ERROR(one(e));
    return Status::Ok();
  }
  return one(v);
}

}  // namespace

Status check_entity_id(std::string_view id, std::string_view where) {
  if (id.size() > kMaxIdLength) {
    return Status::BadRequestData(std::string(where) + ": longer than " +
                                  std::to_string(kMaxIdLength) + " characters");
  }
  if (!is_absolute_uri(id)) {
    return Status::BadRequestData(std::string(where) + ": '" + std::string(id.substr(0, 200)) +
                                  "' is not a URI");
  }
  return Status::Ok();
}

Status check_payload(const Attribute& a, std::string_view where) {
  JsonDoc d;
  if (a.value.is_json()) {
    if (!parse_json(a.value.text(), d).ok()) return fault(where, "the value is not valid JSON");
  } else {
    switch (a.value.type()) {
      case Value::Type::kNull:
        d.SetNull();
        break;
      case Value::Type::kBool:
        d.SetBool(a.value.as_bool());
        break;
      case Value::Type::kInt:
        d.SetInt64(a.value.as_int());
        break;
      case Value::Type::kDouble:
        d.SetDouble(a.value.as_double());
        break;
      default:
        d.SetString(a.value.text().data(), static_cast<rapidjson::SizeType>(a.value.text().size()),
                    d.GetAllocator());
    }
  }
  // Re-run the payload rules of the attribute's kind on the value.
  static const jsonld::ContextCache* cache = new jsonld::ContextCache(nullptr, {});
  Parser p(*cache->core(), ParseMode::kEntity, true);
  Attribute probe;
  probe.kind = a.kind;
  return p.check(where, d, probe);
}

bool valid_scope(std::string_view s) {
  if (s.size() < 2 || s[0] != '/' || s.back() == '/') return false;
  bool prev_slash = true;
  for (size_t i = 1; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '/') {
      if (prev_slash) return false;
      prev_slash = true;
      continue;
    }
    prev_slash = false;
    if (c <= 0x20 || c == 0x7f || c == '#' || c == '+' || c == '?' || c == '"' || c == '\'' ||
        c == '<' || c == '>' || c == '\\') {
      return false;
    }
  }
  return true;
}

Result<EntityInput> parse_entity(const JsonValue& body, const jsonld::Context& ctx,
                                 const ParseOptions& options) {
  if (!body.IsObject()) {
    return Status::InvalidRequest(std::string("the payload must be a JSON object, not ") +
                                  (body.IsArray() ? "an array" : json_type_name(body)));
  }
  Parser p(ctx, options.mode);
  EntityInput e;
  constexpr size_t kScanLimit = 32;
  std::unordered_set<Atom> seen;  // attribute names, once there are kScanLimit or more
  for (const auto& m : body.GetObject()) {
    std::string_view key = sv(m.name);
    const JsonValue& v = m.value;
    if (key == "@context") continue;
    if (key == "id") {
      if (!v.IsString())
        return Status::BadRequestData("id: " + Parser::describe(v) + " is not a URI");
      TSUNAGU_RETURN_IF_ERROR(check_entity_id(sv(v)));
      e.id = std::string(sv(v));
    } else if (key == "type") {
      TSUNAGU_RETURN_IF_ERROR(parse_types(v, p, e.types));
    } else if (key == "scope") {
      if ((options.mode == ParseMode::kMerge || options.mode == ParseMode::kUpdate) &&
          is(v, kNullMarker)) {
        e.scope_delete = true;
        continue;
      }
      std::vector<std::string> scopes;
      TSUNAGU_RETURN_IF_ERROR(parse_scopes(v, scopes));
      e.scopes = std::move(scopes);
    } else if (key == "createdAt" || key == "modifiedAt" || key == "deletedAt") {
      continue;  // system attributes: the broker's, ignored on input
    } else {
      if (!valid_name(key)) {
        return Status::BadRequestData("'" + std::string(key) + "' is not a valid attribute name");
      }
      Atom name = p.name_of(key);
      const Label label("attribute '", key, "'");
      // Whether an earlier member expanded to the same name: a scan while the entity is small,
      // a set once it is large, so that an entity of 100,000 attributes is not quadratic.
      bool seen_before;
      if (e.attrs.size() < kScanLimit) {
        seen_before = !e.attrs.empty() && !instances_of(e.attrs, name).empty();
      } else {
        if (seen.empty()) {
          for (const auto& a : e.attrs)
            seen.insert(a.name);
        }
        seen_before = !seen.insert(name).second;
      }
      if (seen_before) {
        // Two terms expanding to one IRI ("speed#1", "speed#2"): more instances of one attribute.
        std::vector<Attribute> more;
        TSUNAGU_RETURN_IF_ERROR(p.attribute(name, label, v, more, true));
        for (auto& a : more) {
          for (const auto& x : instances_of(e.attrs, name)) {
            if (x.dataset_id == a.dataset_id) {
              return fault(label, "more than one instance with the same datasetId");
            }
          }
          put_instance(e.attrs, std::move(a));
        }
      } else {
        TSUNAGU_RETURN_IF_ERROR(p.attribute(name, label, v, e.attrs, true));
      }
      if (is_entity_geo_name(name.str())) {
        for (const auto& a : instances_of(e.attrs, name)) {
          if (a.kind != AttrKind::kGeoProperty && !(a.flags & kFlagDelete) &&
              (a.flags & kFlagPayload)) {
            return fault(label, "must be a GeoProperty");
          }
        }
      }
    }
  }
  if (options.require_id && !e.id) return Status::BadRequestData("id: missing");
  if (options.require_type && e.types.empty()) return Status::BadRequestData("type: missing");
  return e;
}

Result<std::vector<Attribute>> parse_attribute_fragment(const JsonValue& body, Atom name,
                                                        const jsonld::Context& ctx,
                                                        ParseMode mode) {
  Parser p(ctx, mode);
  std::vector<Attribute> out;
  const JsonValue* v = &body;
  JsonDoc copy;
  if (body.IsObject() && body.HasMember("@context")) {
    copy.CopyFrom(body, copy.GetAllocator());
    copy.RemoveMember("@context");
    v = &copy;
  }
  if (!v->IsObject()) {
    return Status::BadRequestData("the payload must be an attribute fragment (a JSON object)");
  }
  TSUNAGU_RETURN_IF_ERROR(
      p.attribute(name, "attribute '" + std::string(ctx.compact(name)) + "'", *v, out, true));
  return out;
}

}  // namespace tsunagu::ngsild
