// Request payloads to the model: validates an Entity, an Entity fragment or an Attribute fragment
// given as JSON (normalized or concise, ETSI GS CIM 009 §4.5), expands attribute names and types
// with the request's @context, and reports the first fault with the member it concerns.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "common/status.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild {

// Marks members of a parsed fragment (Attribute::flags); stored entities carry none.
enum AttrFlag : unsigned char {
  kFlagPayload = 1,  // the value/object/... member was given
  kFlagDelete = 2,   // the attribute (or sub-attribute) was NGSI-LD Null (is_ngsild_null)
  kFlagDeleteObservedAt = 4,
  kFlagDeleteUnitCode = 8,
  kFlagTypeGiven = 16,  // "type" was given explicitly
};

inline constexpr std::string_view kNullMarker = "urn:ngsi-ld:null";

// True when `payload`, given as the payload member of an attribute of kind `kind`, is NGSI-LD
// Null (§4.5.0, Table 4.5-1): "urn:ngsi-ld:null" for value, object, vocab and json, a
// languageMap {"@none": "urn:ngsi-ld:null"}, a one-item valueList or objectList of it.
bool is_ngsild_null(AttrKind kind, const JsonValue& payload);

// Longest entity id accepted: ids travel in URLs and Location headers, which proxies and HTTP
// stacks limit to a few kilobytes.
inline constexpr size_t kMaxIdLength = 2048;

// The problem with `id` as an entity id, or Ok: a URI of at most kMaxIdLength bytes.
Status check_entity_id(std::string_view id, std::string_view where = "id");

enum class ParseMode : unsigned char {
  kEntity,    // create / upsert / replace: a complete entity
  kFragment,  // append / replace: complete attributes, id and type optional
  kUpdate,    // update attributes: as kFragment, and an NGSI-LD Null payload deletes
  kMerge,     // merge / partial update: attributes may be partial, "urn:ngsi-ld:null" deletes
};

struct ParseOptions {
  ParseMode mode = ParseMode::kEntity;
  bool require_id = true;
  bool require_type = true;
};

// A parsed payload. Attributes carry flags (AttrFlag) describing what was present.
struct EntityInput {
  std::optional<std::string> id;
  std::vector<Atom> types;                         // empty when "type" was absent
  std::optional<std::vector<std::string>> scopes;  // set when "scope" was given
  bool scope_delete = false;                       // "scope": "urn:ngsi-ld:null" (merge)
  std::vector<Attribute> attrs;
};

// Parses an entity or fragment (`body` must be the top-level object; "@context" is skipped).
// BadRequestData names the member at fault.
Result<EntityInput> parse_entity(const JsonValue& body, const jsonld::Context& ctx,
                                 const ParseOptions& options);

// Parses the body of PUT/PATCH /entities/{id}/attrs/{attrId}: one attribute fragment (a JSON
// object, §6.7) whose expanded name is `name`.
Result<std::vector<Attribute>> parse_attribute_fragment(const JsonValue& body, Atom name,
                                                        const jsonld::Context& ctx, ParseMode mode);

// BadRequestData when the payload of `a` (value, object, languageMap, ...) breaks the rules of its
// attribute kind, e.g. after a merge put a concise value into a Relationship.
Status check_payload(const Attribute& a, std::string_view where);

// valid_name() (an attribute or type name, §4.6.2) is in jsonld/context.hpp: compaction only
// writes such names.

// Scope strings (§4.18): "/" followed by non-empty segments.
bool valid_scope(std::string_view scope);

}  // namespace tsunagu::ngsild
