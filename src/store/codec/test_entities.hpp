// Tests only: random entities of every shape a store holds (every attribute kind, instances with
// datasetIds, sub-attributes, times equal to their holder's or not, names and strings that need
// escapes), each one the API could have accepted; and a field-by-field comparison of two.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/json_writer.hpp"
#include "common/test_random.hpp"
#include "common/time.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::store::test_entities {

using ngsild::Attribute;
using ngsild::AttrKind;
using ngsild::Entity;
using ngsild::Value;

class EntityGenerator {
 public:
  explicit EntityGenerator(uint64_t seed) : rnd_(seed) {}

  Entity entity() {
    Entity e;
    e.id = uri();
    for (uint64_t i = 0, n = 1 + below(3); i < n; ++i) {
      const Atom t = pick(kTypes);
      if (std::find(e.types.begin(), e.types.end(), t) == e.types.end()) e.types.push_back(t);
    }
    for (uint64_t i = 0, n = below(3) == 0 ? below(4) : 0; i < n; ++i)
      e.scopes.push_back(pick_text(kScopes));
    e.created_at = time();
    e.modified_at = below(3) == 0 ? e.created_at : e.created_at + 1 + below(1000000000);
    for (uint64_t i = 0, n = below(12); i < n; ++i) {
      const Atom name = pick(kNames);
      if (!e.instances(name).empty()) continue;
      add_instances(name, e.attrs, e.created_at, e.modified_at, 0);
    }
    return e;
  }

 private:
  uint64_t below(uint64_t n) { return rnd_.below(n); }
  template <size_t N>
  Atom pick(const char* const (&from)[N]) {
    return Atom::intern(from[below(N)]);
  }
  template <size_t N>
  std::string pick_text(const char* const (&from)[N]) {
    return from[below(N)];
  }

  // One to three instances of `name` (several with distinct datasetIds, one maybe without).
  void add_instances(Atom name, std::vector<Attribute>& list, int64_t created, int64_t modified,
                     int depth) {
    const uint64_t n = below(4) == 0 ? 2 + below(2) : 1;
    for (uint64_t i = 0; i < n; ++i) {
      Attribute a = attribute(name, created, modified, depth);
      if (n > 1 || below(4) == 0) {
        a.dataset_id =
            i == 0 && below(2) ? Atom() : Atom::intern("urn:ngsi-ld:Dataset:" + std::to_string(i));
      }
      list.push_back(std::move(a));
    }
  }

  Attribute attribute(Atom name, int64_t created, int64_t modified, int depth) {
    Attribute a;
    a.name = name;
    // The core's geo names hold GeoProperties only.
    const bool geo = name.str() == "https://uri.etsi.org/ngsi-ld/location";
    a.kind = geo ? AttrKind::kGeoProperty : static_cast<AttrKind>(below(8));
    a.value = payload(a.kind);
    if (below(4) == 0) {
      a.value_type = Atom::intern(below(2) ? "https://example.org/Type" : "Text");
    }
    if (below(3) == 0) a.observed_at = time();
    if (below(4) == 0) a.unit_code = pick(kUnits);
    // Mostly the holder's times, as after a create; otherwise later ones.
    a.created_at = below(2) ? created : created + 1 + below(1000000);
    a.modified_at = below(2) ? modified : a.created_at + below(3) * 1000;
    if (depth < 2) {
      for (uint64_t i = 0, n = below(3) == 0 ? 1 + below(2) : 0; i < n; ++i) {
        const Atom sub = pick(kSubNames);
        if (ngsild::instances_of(a.subs, sub).empty()) {
          add_instances(sub, a.subs, a.created_at, a.modified_at, depth + 1);
        }
      }
    }
    return a;
  }

  Value payload(AttrKind k) {
    std::string out;
    JsonWriter w(out);
    switch (k) {
      case AttrKind::kProperty:
      case AttrKind::kJsonProperty:
        if (below(3) == 0) {
          json(w, 0);
          return Value::json(out);
        }
        return scalar();
      case AttrKind::kGeoProperty:
        geometry(w);
        return Value::json(out);
      case AttrKind::kRelationship:
        if (below(3)) return Value::string(uri());
        w.begin_array();
        for (uint64_t i = 0, n = 1 + below(3); i < n; ++i)
          w.string(uri());
        w.end_array();
        return Value::json(out);
      case AttrKind::kLanguageProperty: {
        static const char* const kTags[] = {"en", "ja", "fr-CA", "@none", "zh-Hant-TW"};
        std::vector<std::string> tags;
        w.begin_object();
        for (uint64_t i = 0, n = 1 + below(3); i < n; ++i) {
          std::string tag = pick_text(kTags);
          if (std::find(tags.begin(), tags.end(), tag) != tags.end()) continue;
          tags.push_back(tag);
          w.key(tag);
          if (below(3)) {
            w.string(text());
          } else {
            w.begin_array();
            for (uint64_t j = 0, m = below(3); j < m; ++j)
              w.string(text());
            w.end_array();
          }
        }
        w.end_object();
        return Value::json(out);
      }
      case AttrKind::kVocabProperty:
        if (below(2)) return Value::string(pick(kTypes).str());
        w.begin_array();
        for (uint64_t i = 0, n = 1 + below(3); i < n; ++i)
          w.string(pick(kTypes).str());
        w.end_array();
        return Value::json(out);
      case AttrKind::kListProperty:
        w.begin_array();
        for (uint64_t i = 0, n = below(4); i < n; ++i)
          json(w, 1);
        w.end_array();
        return Value::json(out);
      case AttrKind::kListRelationship:
        w.begin_array();
        for (uint64_t i = 0, n = below(4); i < n; ++i) {
          w.begin_object();
          w.key("object");
          w.string(uri());
          w.end_object();
        }
        w.end_array();
        return Value::json(out);
    }
    return Value::integer(0);
  }

  Value scalar() {
    switch (below(6)) {
      case 0:
        return Value::boolean(below(2));
      case 1:
        return Value::string(text());
      case 2: {
        static const int64_t kInts[] = {0, 1, -1, 412, INT64_MAX, INT64_MIN, 1234567890123};
        return Value::integer(below(2) ? kInts[below(7)] : static_cast<int64_t>(rnd_()));
      }
      default: {
        static const double kDoubles[] = {8.42,   -0.0, 1e-7, -1.25e-7, 1.7976931348623157e308,
                                          5e-324, 1e21, 0.1,  139.8839, 2.5};
        return Value::number(below(2) ? kDoubles[below(10)] : (rnd_.unit() - 0.5) * 1e6);
      }
    }
  }

  // An object or array at the top (a compound value), any JSON value below it.
  void json(JsonWriter& w, int depth) {
    switch (depth == 0 ? below(2) : depth > 2 ? 2 + below(4) : below(6)) {
      case 0:
        w.begin_object();
        for (uint64_t i = 0, n = below(4); i < n; ++i) {
          w.key("k" + std::to_string(i) + (below(4) == 0 ? text() : ""));
          json(w, depth + 1);
        }
        w.end_object();
        return;
      case 1:
        w.begin_array();
        for (uint64_t i = 0, n = below(4); i < n; ++i)
          json(w, depth + 1);
        w.end_array();
        return;
      case 2:
        w.null();
        return;
      default:
        scalar().append_json(w.buffer_for_raw());
    }
  }

  void geometry(JsonWriter& w) {
    auto position = [&](double lon, double lat) {
      w.begin_array();
      w.number(lon);
      w.number(lat);
      w.end_array();
    };
    const double lon = (rnd_.unit() - 0.5) * 300, lat = (rnd_.unit() - 0.5) * 150;
    w.begin_object();
    w.key("type");
    switch (below(3)) {
      case 0:
        w.string("Point");
        w.key("coordinates");
        position(lon, lat);
        break;
      case 1:
        w.string("LineString");
        w.key("coordinates");
        w.begin_array();
        position(lon, lat);
        position(lon + 0.5, lat + 0.25);
        w.end_array();
        break;
      default:
        w.string("Polygon");
        w.key("coordinates");
        w.begin_array();
        w.begin_array();
        position(lon, lat);
        position(lon + 1, lat);
        position(lon + 1, lat + 1);
        position(lon, lat);
        w.end_array();
        w.end_array();
        break;
    }
    w.end_object();
  }

  // Text with what JSON must escape or may carry raw: quotes, backslashes, control characters,
  // NUL, and characters of one to four UTF-8 bytes.
  std::string text() {
    static const char* const kPieces[] = {"Kawabe river",
                                          "\"",
                                          "\\",
                                          "\n",
                                          "\t",
                                          "\x01",
                                          "\x1f",
                                          "\x7f",
                                          "/",
                                          "\xc3\xa9",
                                          "\xe6\x97\xa5\xe6\x9c\xac",
                                          "\xf0\x9f\x98\x80",
                                          "\xe2\x80\xa8",
                                          "a",
                                          "0"};
    std::string s;
    for (uint64_t i = 0, n = below(5); i < n; ++i) {
      if (below(40) == 0)
        s.push_back('\0');
      else
        s += kPieces[below(std::size(kPieces))];
    }
    return s;
  }

  std::string uri() {
    static const char* const kTails[] = {
        "A1", "x;v=1", "%20y", "(b)", "'q'", "\xc3\xa9t\xc3\xa9", "a/b?c=d#e", "~u"};
    return "urn:ngsi-ld:Thing:" + pick_text(kTails) + std::to_string(below(100));
  }

  int64_t time() {
    static const int64_t kSteps[] = {1000000, 1000, 1};  // whole seconds, ms, µs
    const int64_t t = static_cast<int64_t>(below(4102444800000000)) - 86400000000;
    return t - t % kSteps[below(3)];
  }

  static constexpr const char* kTypes[] = {
      "https://uri.etsi.org/ngsi-ld/default-context/Vehicle", "https://example.org/Car",
      "http://example.org/t;v=1", "https://\xe4\xbe\x8b\xe3\x81\x88.jp/\xe8\xbb\x8a", "urn:x:type"};
  static constexpr const char* kScopes[] = {"/Tokyo/Ueno", "/a", "/\xe6\x97\xa5\xe6\x9c\xac/b",
                                            "/Madrid/Gardens/ParqueNorte"};
  static constexpr const char* kNames[] = {
      "https://uri.etsi.org/ngsi-ld/default-context/speed",
      "https://uri.etsi.org/ngsi-ld/default-context/temperature",
      "https://uri.etsi.org/ngsi-ld/location",
      "http://example.org/vocab?name=q",
      "https://example.org/a\"b\\c",
      "https://example.org/\xe5\x90\x8d\xe5\x89\x8d",
      "https://example.org/owner",
      "https://example.org/tags"};
  static constexpr const char* kSubNames[] = {
      "https://uri.etsi.org/ngsi-ld/default-context/accuracy", "https://example.org/provider",
      "https://example.org/note\tx"};
  static constexpr const char* kUnits[] = {"CEL", "KMH", "M1", "a\"b"};

  testing::Xorshift rnd_;
};

// An entity as the store reads it back: an attribute's missing times are its holder's.
inline void inherit_times(std::vector<Attribute>& attrs, int64_t created, int64_t modified) {
  for (auto& a : attrs) {
    if (a.created_at == kNoTime) a.created_at = created;
    if (a.modified_at == kNoTime) a.modified_at = modified;
    inherit_times(a.subs, a.created_at, a.modified_at);
  }
}

// Values compared as the JSON they are: the format keeps a number, not whether it was a C++
// double, so a double with an integral value (3.0, written 3) reads back as an integer.
inline void expect_same_attributes(const std::vector<Attribute>& got,
                                   const std::vector<Attribute>& want, const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < got.size(); ++i) {
    const std::string at = where + "/" + std::string(want[i].name.str()) + "[" +
                           std::string(want[i].dataset_id.str()) + "]";
    EXPECT_EQ(got[i].name, want[i].name) << at;
    EXPECT_EQ(got[i].kind, want[i].kind) << at;
    EXPECT_EQ(got[i].dataset_id, want[i].dataset_id) << at;
    EXPECT_EQ(got[i].unit_code, want[i].unit_code) << at;
    EXPECT_EQ(got[i].value_type, want[i].value_type) << at;
    EXPECT_EQ(got[i].value.to_json(), want[i].value.to_json()) << at;
    EXPECT_EQ(got[i].value.is_string(), want[i].value.is_string()) << at;
    EXPECT_EQ(got[i].value.is_json(), want[i].value.is_json()) << at;
    EXPECT_EQ(got[i].observed_at, want[i].observed_at) << at;
    EXPECT_EQ(got[i].created_at, want[i].created_at) << at;
    EXPECT_EQ(got[i].modified_at, want[i].modified_at) << at;
    expect_same_attributes(got[i].subs, want[i].subs, at);
  }
}

inline void expect_same_entity(const Entity& got, const Entity& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.types, want.types) << want.id;
  EXPECT_EQ(got.scopes, want.scopes) << want.id;
  EXPECT_EQ(got.created_at, want.created_at) << want.id;
  EXPECT_EQ(got.modified_at, want.modified_at) << want.id;
  expect_same_attributes(got.attrs, want.attrs, want.id);
}

}  // namespace tsunagu::store::test_entities
