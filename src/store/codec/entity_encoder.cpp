// The writing half of the entity codec: runs on the committing thread for every changed entity,
// so it writes straight into the document's string. Every byte is fixed by the format
// (entity_codec.hpp): stores written by earlier versions hold the same text for the same entity,
// and entity_codec_test.cpp holds documents as they were written to keep it so.
#include <algorithm>

#include "common/json.hpp"
#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "store/codec/entity_codec.hpp"

namespace tsunagu::store {
namespace {

using ngsild::Attribute;
using ngsild::AttrKind;
using ngsild::Entity;
using ngsild::Value;

class Encoder {
 public:
  explicit Encoder(std::string& out) : w_(out) {}

  void entity(const Entity& e) {
    w_.begin_object();
    w_.plain_key("id");
    w_.string(e.id);
    w_.plain_key("type");
    if (e.types.size() == 1) {
      w_.string(e.types[0].str());
    } else {
      w_.begin_array();
      for (Atom t : e.types)
        w_.string(t.str());
      w_.end_array();
    }
    if (!e.scopes.empty()) {
      w_.plain_key("scope");
      if (e.scopes.size() == 1) {
        w_.string(e.scopes[0]);
      } else {
        w_.begin_array();
        for (const auto& s : e.scopes)
          w_.string(s);
        w_.end_array();
      }
    }
    timestamp("createdAt", e.created_at);
    timestamp("modifiedAt", e.modified_at);
    attributes(e.attrs, e.created_at, e.modified_at);
    w_.end_object();
  }

 private:
  // The attributes of an entity, or the sub-attributes of an attribute, whose times are `created`
  // and `modified`. Instances of one name are adjacent; several are written as an array.
  void attributes(const std::vector<Attribute>& list, int64_t created, int64_t modified) {
    for (size_t i = 0; i < list.size();) {
      size_t j = i + 1;
      while (j < list.size() && list[j].name == list[i].name)
        ++j;
      w_.key(list[i].name.str());
      if (j - i > 1) w_.begin_array();
      for (size_t k = i; k < j; ++k)
        instance(list[k], created, modified);
      if (j - i > 1) w_.end_array();
      i = j;
    }
  }

  void instance(const Attribute& a, int64_t created, int64_t modified) {
    w_.begin_object();
    w_.plain_key("type");
    w_.plain_string(ngsild::kind_name(a.kind));
    w_.plain_key(ngsild::payload_member(a.kind));
    if (a.kind == AttrKind::kVocabProperty) {
      vocab(a.value);
    } else {
      a.value.append_json(w_.buffer_for_raw());
    }
    if (!a.value_type.empty()) {
      w_.plain_key(a.kind == AttrKind::kRelationship || a.kind == AttrKind::kListRelationship
                       ? "objectType"
                       : "valueType");
      w_.string(a.value_type.str());
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
    // Times equal to the holder's are left out, and read back as the holder's (schema 3).
    if (a.created_at != created) timestamp("createdAt", a.created_at);
    if (a.modified_at != modified) timestamp("modifiedAt", a.modified_at);
    attributes(a.subs, a.created_at, a.modified_at);
    w_.end_object();
  }

  // A VocabProperty's IRI, or its array of IRIs with every item that is not a string left out,
  // as documents have always been written. A value that is neither (the payload rules never let
  // one in) is written as the JSON it is.
  void vocab(const Value& v) {
    if (v.is_string()) {
      w_.string(v.text());
      return;
    }
    JsonDoc d;
    if (!v.is_json() || !parse_json(v.text(), d).ok() || !d.IsArray()) {
      v.append_json(w_.buffer_for_raw());
      return;
    }
    w_.begin_array();
    for (const auto& item : d.GetArray()) {
      if (item.IsString()) w_.string({item.GetString(), item.GetStringLength()});
    }
    w_.end_array();
  }

  // An entity's times are mostly one instant, written once and then copied.
  void timestamp(std::string_view key, int64_t t) {
    if (t == kNoTime) return;
    if (t != last_time_ || last_len_ == 0) {
      char buf[kDatetimeChars];
      const size_t n = write_datetime(t, buf);
      last_text_[0] = '"';
      std::copy_n(buf, n, last_text_ + 1);
      last_text_[n + 1] = '"';
      last_len_ = n + 2;
      last_time_ = t;
    }
    w_.plain_key(key);
    w_.raw({last_text_, last_len_});
  }

  JsonWriter w_;
  int64_t last_time_ = 0;
  size_t last_len_ = 0;
  char last_text_[kDatetimeChars + 2];
};

}  // namespace

std::string encode_entity(const Entity& e) {
  std::string out;
  out.reserve(4096);
  Encoder(out).entity(e);
  return out;
}

}  // namespace tsunagu::store
