// The reading half of the entity codec: the start-up rebuild runs it for every stored entity, so
// it reads the document's text directly (json_reader.hpp) and builds the model as it goes,
// without a DOM and without the API's parser and @context. What it yields for a document any
// version wrote is what the loader has always made of it; entity_codec_test.cpp holds documents
// as they were written to keep it so.
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "common/time.hpp"
#include "store/codec/entity_codec.hpp"
#include "store/codec/json_reader.hpp"
#include "store/codec/payload_reader.hpp"

namespace tsunagu::store {
namespace {

using ngsild::Attribute;
using ngsild::AttrKind;
using ngsild::Entity;
using ngsild::Value;

// The members of an attribute instance with a meaning of their own; any other is a
// sub-attribute. kIgnored are members of responses and notifications no document holds, which
// the loader has always passed over.
enum class Member : unsigned char {
  kType,
  kPayload,
  kObservedAt,
  kUnitCode,
  kDatasetId,
  kCreatedAt,
  kModifiedAt,
  kValueType,
  kObjectType,
  kIgnored,
  kSub,
};

// `k` is the literal `name`: memcmp with a constant length compiles to a load or two, where
// string_view's == calls compare() (the switch below has already matched the length).
template <size_t N>
bool is(std::string_view k, const char (&name)[N]) {
  return k.size() == N - 1 && std::memcmp(k.data(), name, N - 1) == 0;
}

// By length, then the name: every member of every attribute passes here.
Member classify(std::string_view k) {
  switch (k.size()) {
    case 4:
      if (is(k, "type")) return Member::kType;
      if (is(k, "json")) return Member::kPayload;
      if (is(k, "lang")) return Member::kIgnored;
      break;
    case 5:
      if (is(k, "value") || is(k, "vocab")) return Member::kPayload;
      break;
    case 6:
      if (is(k, "object")) return Member::kPayload;
      break;
    case 8:
      if (is(k, "unitCode")) return Member::kUnitCode;
      break;
    case 9:
      if (is(k, "datasetId")) return Member::kDatasetId;
      if (is(k, "createdAt")) return Member::kCreatedAt;
      if (is(k, "valueList")) return Member::kPayload;
      if (is(k, "valueType")) return Member::kValueType;
      if (is(k, "deletedAt")) return Member::kIgnored;
      break;
    case 10:
      if (is(k, "observedAt")) return Member::kObservedAt;
      if (is(k, "modifiedAt")) return Member::kModifiedAt;
      if (is(k, "objectList")) return Member::kPayload;
      if (is(k, "objectType")) return Member::kObjectType;
      if (is(k, "instanceId")) return Member::kIgnored;
      break;
    case 11:
      if (is(k, "languageMap")) return Member::kPayload;
      break;
    case 13:
      if (is(k, "previousValue")) return Member::kIgnored;
      break;
    case 14:
      if (is(k, "previousObject")) return Member::kIgnored;
      break;
    case 19:
      if (is(k, "previousLanguageMap")) return Member::kIgnored;
      break;
    default:
      break;
  }
  return Member::kSub;
}

bool parse_kind(std::string_view t, AttrKind& out) {
  for (AttrKind k : {AttrKind::kProperty, AttrKind::kRelationship, AttrKind::kGeoProperty,
                     AttrKind::kLanguageProperty, AttrKind::kVocabProperty, AttrKind::kJsonProperty,
                     AttrKind::kListProperty, AttrKind::kListRelationship}) {
    if (ngsild::kind_name(k) == t) {
      out = k;
      return true;
    }
  }
  return false;
}

// An attribute without createdAt or modifiedAt has those of its holder (the entity, or the
// attribute a sub-attribute belongs to): the encoder leaves out the equal ones.
void inherit_times(std::vector<Attribute>& attrs, int64_t created, int64_t modified) {
  for (auto& a : attrs) {
    if (a.created_at == kNoTime) a.created_at = created;
    if (a.modified_at == kNoTime) a.modified_at = modified;
    inherit_times(a.subs, a.created_at, a.modified_at);
  }
}

class Decoder {
 public:
  explicit Decoder(std::string_view doc) : r_(doc, kMaxStoredDepth) {}

  Result<Entity> run() {
    Entity e;
    if (!entity(e)) return Status::Internal(r_.failed() ? r_.error() : "unreadable");
    return e;
  }

 private:
  bool entity(Entity& e) {
    if (r_.peek() != '{') return r_.fail("a document is a JSON object");
    if (!r_.open('{', 0)) return false;
    bool has_id = false, has_type = false, has_scope = false, has_created = false,
         has_modified = false;
    // Attribute names seen: a scan while the entity is small, a set once it is large.
    constexpr size_t kScanLimit = 32;
    std::unordered_set<Atom> seen;
    auto once = [&](bool& given, std::string_view key) {
      if (given) return r_.fail("'" + std::string(key) + "' is given twice");
      return given = true;
    };
    if (!r_.take('}')) {
      for (;;) {
        std::string_view key;
        if (!r_.string(key) || !r_.expect(':')) return false;
        if (key == "id") {
          if (!once(has_id, key) || !r_.string(key)) return false;
          if (key.empty()) return r_.fail("the entity id is empty");
          e.id = key;
        } else if (key == "type") {
          if (!once(has_type, key) || !types(e)) return false;
        } else if (key == "scope") {
          if (!once(has_scope, key) || !scopes(e)) return false;
        } else if (key == "createdAt") {
          if (!once(has_created, key) || !datetime("createdAt", e.created_at)) return false;
        } else if (key == "modifiedAt") {
          if (!once(has_modified, key) || !datetime("modifiedAt", e.modified_at)) return false;
        } else if (key == "@context" || key == "deletedAt") {
          if (!skip(1)) return false;
        } else {
          const Atom name = Atom::intern(key);
          bool twice;
          if (e.attrs.size() < kScanLimit) {
            twice = !ngsild::instances_of(e.attrs, name).empty();
          } else {
            if (seen.empty()) {
              for (const auto& a : e.attrs)
                seen.insert(a.name);
            }
            twice = !seen.insert(name).second;
          }
          if (twice) return fault(name, "is given twice");
          if (!attribute(name, e.attrs, 1)) return false;
        }
        if (!r_.take(',')) break;
      }
      if (!r_.expect('}')) return false;
    }
    if (!r_.at_end()) return r_.fail("text follows the document");
    if (!has_id) return r_.fail("the entity has no id");
    if (!has_type) return r_.fail("the entity has no type");
    inherit_times(e.attrs, e.created_at, e.modified_at);
    return true;
  }

  // A string, or a non-empty array of them.
  template <class F>
  bool one_or_many(std::string_view what, bool allow_empty, F&& each) {
    std::string_view s;
    if (r_.peek() == '"') return r_.string(s) && each(s);
    if (r_.peek() != '[') return r_.fail(std::string(what) + " is not a string or an array");
    if (!r_.open('[', 1)) return false;
    if (r_.take(']')) return allow_empty || r_.fail(std::string(what) + " is an empty array");
    do {
      if (r_.peek() != '"') return r_.fail(std::string(what) + " holds a non-string");
      if (!r_.string(s) || !each(s)) return false;
    } while (r_.take(','));
    return r_.expect(']');
  }

  bool types(Entity& e) {
    return one_or_many("type", false, [&](std::string_view s) {
      const Atom t = Atom::intern(s);
      if (std::find(e.types.begin(), e.types.end(), t) == e.types.end()) e.types.push_back(t);
      return true;
    });
  }

  bool scopes(Entity& e) {
    return one_or_many("scope", true, [&](std::string_view s) {
      e.scopes.emplace_back(s);
      return true;
    });
  }

  // An entity's times are mostly a few instants: the last one read is kept with its text.
  bool datetime(std::string_view member, int64_t& out) {
    std::string_view s;
    if (r_.peek() != '"') return r_.fail(std::string(member) + " is not a string");
    if (!r_.string(s)) return false;
    if (s != last_time_text_) {
      auto t = parse_datetime(s);
      if (!t) return r_.fail(std::string(member) + " is not an ISO 8601 date-time");
      last_time_ = *t;
      last_time_text_ = s;
    }
    out = last_time_;
    return true;
  }

  // Any value in a container at `depth`, passed over.
  bool skip(int depth) {
    scratch_.clear();
    return r_.canonical(scratch_, depth);
  }

  bool fault(Atom name, std::string_view what) {
    return r_.fail("attribute '" + std::string(name.str()) + "' " + std::string(what));
  }

  // The value of member `name` of an object at `depth`: one instance, or an array of several.
  bool attribute(Atom name, std::vector<Attribute>& out, int depth) {
    if (r_.peek() == '{') {
      out.emplace_back();
      return instance(name, out.back(), depth);
    }
    if (r_.peek() != '[') return fault(name, "is not an object or an array of objects");
    if (!r_.open('[', depth)) return false;
    if (r_.take(']')) return fault(name, "is an empty array");
    const size_t first = out.size();
    do {
      if (r_.peek() != '{') return fault(name, "has an instance that is not an object");
      out.emplace_back();
      if (!instance(name, out.back(), depth + 1)) return false;
      const Atom dataset = out.back().dataset_id;
      for (size_t i = first; i + 1 < out.size(); ++i) {
        if (out[i].dataset_id == dataset) {
          return fault(name, dataset.empty() ? "has two default instances"
                                             : "has two instances with datasetId '" +
                                                   std::string(dataset.str()) + "'");
        }
      }
    } while (r_.take(','));
    return r_.expect(']');
  }

  // One instance object, inside a container at `depth`.
  bool instance(Atom name, Attribute& a, int depth) {
    a.name = name;
    if (!r_.open('{', depth)) return false;
    ++depth;
    unsigned given = 0;  // bit per Member
    bool typed = false;
    // Where the payload is when it comes before the type (never so in what the encoder writes):
    // passed over, and read once the type tells its kind.
    size_t payload_at = std::string_view::npos;
    std::string payload_key;
    if (!r_.take('}')) {
      for (;;) {
        std::string_view key;
        if (!r_.string(key) || !r_.expect(':')) return false;
        const Member m = classify(key);
        if (m != Member::kSub) {
          const unsigned bit = 1u << static_cast<unsigned>(m);
          if ((given & bit) && m != Member::kIgnored) {
            return fault(name, m == Member::kPayload ? "has two payload members"
                                                     : "gives '" + std::string(key) + "' twice");
          }
          given |= bit;
        }
        switch (m) {
          case Member::kType: {
            std::string_view t;
            if (r_.peek() != '"') return fault(name, "has a type that is not a string");
            if (!r_.string(t)) return false;
            if (!parse_kind(t, a.kind)) {
              return fault(name, "has the unknown type '" + std::string(t.substr(0, 100)) + "'");
            }
            typed = true;
            if (payload_at != std::string_view::npos) {
              const size_t here = r_.offset();
              r_.seek(payload_at);
              if (!payload(name, payload_key, a, depth)) return false;
              r_.seek(here);
            }
            break;
          }
          case Member::kPayload:
            if (typed) {
              if (!payload(name, key, a, depth)) return false;
            } else {
              payload_key = key;
              payload_at = r_.offset();
              if (!skip(depth)) return false;
            }
            break;
          case Member::kObservedAt:
            if (!datetime("observedAt", a.observed_at)) return false;
            break;
          case Member::kCreatedAt:
            if (!datetime("createdAt", a.created_at)) return false;
            break;
          case Member::kModifiedAt:
            if (!datetime("modifiedAt", a.modified_at)) return false;
            break;
          case Member::kUnitCode:
          case Member::kDatasetId:
          case Member::kValueType:
          case Member::kObjectType:
            if (!name_member(name, m, a)) return false;
            break;
          case Member::kIgnored:
            if (!skip(depth)) return false;
            break;
          case Member::kSub: {
            const Atom sub = Atom::intern(key);
            if (!ngsild::instances_of(a.subs, sub).empty()) {
              return fault(name, "has the sub-attribute '" + std::string(key) + "' twice");
            }
            if (!attribute(sub, a.subs, depth)) return false;
            break;
          }
        }
        if (!r_.take(',')) break;
      }
      if (!r_.expect('}')) return false;
    }
    if (!typed) return fault(name, "has no type");
    if (!(given & (1u << static_cast<unsigned>(Member::kPayload)))) {
      return fault(name, "has no '" + std::string(ngsild::payload_member(a.kind)) + "'");
    }
    return true;
  }

  // unitCode, datasetId (neither may be empty), valueType or objectType: interned strings.
  bool name_member(Atom name, Member m, Attribute& a) {
    const char* what = m == Member::kUnitCode    ? "unitCode"
                       : m == Member::kDatasetId ? "datasetId"
                                                 : "valueType or objectType";
    std::string_view s;
    if (r_.peek() != '"')
      return fault(name, "has a " + std::string(what) + " that is not a string");
    if (!r_.string(s)) return false;
    if (s.empty() && (m == Member::kUnitCode || m == Member::kDatasetId)) {
      return fault(name, "has an empty " + std::string(what));
    }
    Atom& field = m == Member::kUnitCode    ? a.unit_code
                  : m == Member::kDatasetId ? a.dataset_id
                                            : a.value_type;
    field = Atom::intern(s);
    return true;
  }

  // The payload member `key` of an instance of kind a.kind, whose object is at `depth`.
  bool payload(Atom name, std::string_view key, Attribute& a, int depth) {
    if (key != ngsild::payload_member(a.kind)) {
      return fault(name, "is a " + std::string(ngsild::kind_name(a.kind)) + " with a '" +
                             std::string(key) + "'");
    }
    return read_payload(r_, name, a.kind, depth, a.value, scratch_);
  }

  JsonReader r_;
  std::string scratch_;  // the text of a value being read
  std::string last_time_text_;
  int64_t last_time_ = kNoTime;
};

}  // namespace

Result<Entity> decode_entity(std::string_view doc) {
  return Decoder(doc).run();
}

}  // namespace tsunagu::store
