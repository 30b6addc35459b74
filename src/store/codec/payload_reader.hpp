// The entity decoder's reading of an attribute instance's payload (value, object, languageMap,
// vocab, json, valueList, objectList) into the model's Value, kind by kind, as the model holds
// it (ngsild/model/entity.hpp, Attribute::value).
#pragma once

#include <string>

#include "common/atom.hpp"
#include "ngsild/model/entity.hpp"
#include "store/codec/json_reader.hpp"

namespace tsunagu::store {

// Reads the payload at the reader's position, whose attribute object is at `depth`, into `out`;
// `scratch` is a buffer kept between calls. False, with the reader failed and the fault naming
// attribute `name`, when the payload is not JSON or not of the shape `kind` holds: a Property's
// or JsonProperty's value anything but null, a GeoProperty's an object, a Relationship's object
// a URI or a non-empty array of them, a LanguageProperty's map a non-empty object of strings or
// arrays of strings, a VocabProperty's an IRI or a non-empty array of them, a ListProperty's an
// array, a ListRelationship's an array of URIs or of objects holding one in "object" (kept as
// the latter). Strings that name things may not be empty.
bool read_payload(JsonReader& r, Atom name, ngsild::AttrKind kind, int depth, ngsild::Value& out,
                  std::string& scratch);

}  // namespace tsunagu::store
