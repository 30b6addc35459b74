// The store's document of an entity (docs/storage.md, "Schema"): the entity in the normalized
// NGSI-LD form, every name an expanded IRI, the system attributes kept where they differ from
// their holder's, as minified JSON text. The writer encodes each changed entity into the change
// log; the loader decodes every entity at start. This codec is the format's only definition:
// it shares no code with the API's renderer and parser, so a change to what responses look like
// or to what requests may hold cannot change what is on disk or what of it reads back.
#pragma once

#include <string>
#include <string_view>

#include "common/json.hpp"
#include "common/status.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::store {

// How deep a document may nest. Deeper than any one request (kMaxJsonDepth): a concise value is
// written inside an attribute object, a request to /attrs/{attrId} starts one level down, and an
// instance added later puts the instances of its attribute (or sub-attribute) in an array,
// under which all that was there before moves down one level. About twice kMaxJsonDepth is as
// deep as the API can build one; what reads is bounded only to keep the reader's stack small.
inline constexpr int kMaxStoredDepth = 4 * kMaxJsonDepth;

// The document of `e`: "id", "type" (a string, or an array for several types), "scope" when
// there is one, "createdAt" and "modifiedAt", then each attribute (an object, or an array of
// objects for several instances) with "type", its payload member, "valueType" or "objectType",
// "observedAt", "unitCode", "datasetId", its "createdAt" and "modifiedAt" where they differ from
// its holder's (the entity's, or the attribute's for a sub-attribute), and its sub-attributes.
// Never fails; the row is not part of the document.
std::string encode_entity(const ngsild::Entity& e);

// The entity a document holds, as encode_entity wrote it or any earlier version did (schema 2
// documents carry every attribute's times; schema 3 leave out those equal to the holder's, which
// read back as the holder's). Names are taken as the expanded IRIs they are, through
// Atom::intern. Checked are the JSON (RFC 8259, UTF-8, no lone surrogates, no member given
// twice, nesting up to kMaxStoredDepth) and the document's shape: an id and types, timestamps,
// each attribute's type and payload as its kind holds it, datasetIds once per attribute. The
// content rules the API applied before the entity was stored (URI syntax, language tags, scope
// syntax, GeoJSON geometry) are not applied again. InternalError names the byte and the member at
// fault; any text, however damaged, gives an entity or an error.
Result<ngsild::Entity> decode_entity(std::string_view doc);

}  // namespace tsunagu::store
