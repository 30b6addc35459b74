// Each kind keeps its payload as the loader has always kept it (the API parser's forms): scalars
// inline, strings as strings, compound values as their canonical text, objectLists rewritten as
// [{"object": URI}, ...]. The content rules the API applied when the entity was written (URI
// syntax, language tags, GeoJSON geometry) are not applied again.
#include "store/codec/payload_reader.hpp"

#include "common/json_writer.hpp"
#include "store/codec/entity_codec.hpp"

namespace tsunagu::store {
namespace {

using ngsild::AttrKind;
using ngsild::Value;

class PayloadReader {
 public:
  PayloadReader(JsonReader& r, Atom name, int depth, std::string& scratch)
      : r_(r), name_(name), depth_(depth), scratch_(scratch) {}

  bool read(AttrKind kind, Value& v) {
    const char c = r_.peek();
    switch (kind) {
      case AttrKind::kProperty:
      case AttrKind::kJsonProperty:
        return any_value(v);
      case AttrKind::kGeoProperty:
        return c == '{' ? json(v) : fault("has a value that is not a GeoJSON object");
      case AttrKind::kListProperty:
        return c == '[' ? json(v) : fault("has a valueList that is not an array");
      case AttrKind::kRelationship:
        if (c == '[') return strings(v, false);
        return c == '"' ? string(v, false, "has an empty object")
                        : fault("has an object that is not a string or an array");
      case AttrKind::kVocabProperty:
        // Vocabulary IRIs are interned, as names are: reads find them by atom.
        if (c == '[') return strings(v, true);
        return c == '"' ? string(v, true, "has an empty vocab")
                        : fault("has a vocab that is not a string or an array");
      case AttrKind::kLanguageProperty:
        return c == '{' ? language_map(v) : fault("has a languageMap that is not an object");
      case AttrKind::kListRelationship:
        return c == '[' ? object_list(v) : fault("has an objectList that is not an array");
    }
    return fault("has an unknown kind");
  }

 private:
  bool fault(std::string_view what) {
    return r_.fail("attribute '" + std::string(name_.str()) + "' " + std::string(what));
  }

  // A compound value as the model keeps it: its canonical text.
  bool json(Value& v) {
    scratch_.clear();
    if (!r_.canonical(scratch_, depth_)) return false;
    v = Value::json(scratch_);
    return true;
  }

  // Any JSON value but null, held as Value::from_dom holds one.
  bool any_value(Value& v) {
    switch (r_.peek()) {
      case '{':
      case '[':
        return json(v);
      case '"':
        return string(v, false, nullptr);
      case 't':
      case 'f':
      case 'n': {
        std::string_view word;
        if (!r_.literal(word)) return false;
        if (word == "null") return fault("has a null payload");
        v = Value::boolean(word == "true");
        return true;
      }
      default: {
        JsonNumber n;
        if (!r_.number(n)) return false;
        v = n.is_int ? Value::integer(n.i) : Value::number(n.d);
        return true;
      }
    }
  }

  // `if_empty`: the fault of an empty string, or null when one is a value like any other.
  bool string(Value& v, bool intern, const char* if_empty) {
    std::string_view s;
    if (!r_.string(s)) return false;
    if (s.empty() && if_empty != nullptr) return fault(if_empty);
    v = Value::string(intern ? Atom::intern(s).str() : s);
    return true;
  }

  // A non-empty array of non-empty strings (a Relationship's objects, or a VocabProperty's IRIs
  // when `intern`), kept as the JSON text of the array.
  bool strings(Value& v, bool intern) {
    scratch_.assign(1, '[');
    if (!r_.open('[', depth_)) return false;
    if (r_.take(']')) return fault("has an empty array");
    do {
      std::string_view s;
      if (r_.peek() != '"') return fault("has an array item that is not a string");
      if (!r_.string(s)) return false;
      if (s.empty()) return fault("has an empty string in its array");
      if (scratch_.size() > 1) scratch_.push_back(',');
      JsonWriter::escape_into(intern ? Atom::intern(s).str() : s, scratch_);
    } while (r_.take(','));
    if (!r_.expect(']')) return false;
    scratch_.push_back(']');
    v = Value::json(scratch_);
    return true;
  }

  // A non-empty object of language tags, each holding a string or an array of strings. Read
  // whole first (the JSON rules, each tag once, the canonical text); then only the shape of that
  // text is left to check, and a reader of it cannot fail otherwise.
  bool language_map(Value& v) {
    if (!json(v)) return false;
    JsonReader m(v.text(), kMaxStoredDepth);
    std::string_view s;
    m.open('{', 0);
    if (m.take('}')) return fault("has an empty languageMap");
    do {
      m.string(s);
      m.expect(':');
      if (m.peek() == '[') {
        m.open('[', 1);
        if (!m.take(']')) {
          do {
            if (m.peek() != '"') return fault("has a languageMap item that is not a string");
            m.string(s);
          } while (m.take(','));
          m.expect(']');
        }
      } else if (m.peek() != '"' || !m.string(s)) {
        return fault("has a languageMap item that is not a string or an array");
      }
    } while (m.take(','));
    return !m.failed() || fault("has a languageMap that cannot be read: " + m.error());
  }

  // Kept as [{"object": URI}, ...]; an item may also be the URI alone, and the members of an
  // item other than "object" are left out. Read whole first, as a languageMap is.
  bool object_list(Value& v) {
    scratch_.clear();
    if (!r_.canonical(scratch_, depth_)) return false;
    JsonReader l(scratch_, kMaxStoredDepth);
    std::string text = "[", uri;
    l.open('[', 0);
    if (!l.take(']')) {
      do {
        if (!object_list_item(l, uri)) {
          return fault("has an objectList item that is neither a URI nor an object with one");
        }
        if (text.size() > 1) text.push_back(',');
        text += "{\"object\":";
        JsonWriter::escape_into(uri, text);
        text.push_back('}');
      } while (l.take(','));
    }
    text.push_back(']');
    v = Value::json(text);
    return true;
  }

  static bool object_list_item(JsonReader& l, std::string& uri) {
    std::string_view s;
    bool found = false;
    if (l.peek() == '"') {
      found = l.string(s);
      uri = s;
    } else if (l.peek() == '{') {
      l.open('{', 1);
      if (!l.take('}')) {
        do {
          l.string(s);
          const bool object = s == "object";
          l.expect(':');
          if (!object) {
            std::string ignored;
            l.canonical(ignored, 2);
          } else if (l.peek() != '"') {
            return false;
          } else {
            found = l.string(s);
            uri = s;
          }
        } while (l.take(','));
        l.expect('}');
      }
    }
    return found && !uri.empty() && !l.failed();
  }

  JsonReader& r_;
  const Atom name_;
  const int depth_;
  std::string& scratch_;
};

}  // namespace

bool read_payload(JsonReader& r, Atom name, AttrKind kind, int depth, Value& out,
                  std::string& scratch) {
  return PayloadReader(r, name, depth, scratch).read(kind, out);
}

}  // namespace tsunagu::store
