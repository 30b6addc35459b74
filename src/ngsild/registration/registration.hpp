// The NGSI-LD Context Source Registration (ETSI GS CIM 009 §5.2.9) with its RegistrationInfo
// (§5.2.10), EntityInfo (§5.2.8) and TimeInterval (§5.2.11), as the parser builds it and the
// engine keeps it. The registration's members are kept as one JSON document in the stored form
// (`doc`: names expanded, everything else as the client gave it), and the members that queries
// and distributed operations read are also parsed into fields beside it. docs/federation.md.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/atom.hpp"
#include "common/time.hpp"
#include "ngsild/geo/geometry.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild::registration {

// EntityInfo (§5.2.8): the entities a source may hold, by id or idPattern, and type.
struct EntityInfo {
  std::optional<std::string> id;
  std::string id_pattern_text;
  std::shared_ptr<re2::RE2> id_pattern;
  std::vector<Atom> types;  // expanded; one or more
};

// RegistrationInfo (§5.2.10). An absent list does not restrict: a source that gives no entities
// may hold any, one that names no attributes may hold any attribute of its entities.
struct RegistrationInfo {
  std::optional<std::vector<EntityInfo>> entities;
  std::optional<std::vector<Atom>> property_names;
  std::optional<std::vector<Atom>> relationship_names;
  // Whether attribute `name` is one the source says it may provide.
  bool provides(Atom name) const;
  bool names_attributes() const { return property_names || relationship_names; }
};

// TimeInterval (§5.2.11); end kNoTime when open.
struct TimeInterval {
  int64_t start = kNoTime;
  int64_t end = kNoTime;
  // Whether [start, end] has a point in [from, to] (to kNoTime: open).
  bool overlaps(int64_t from, int64_t to) const;
};

// The distributed operation modes (§4.3.6.2).
enum class Mode : uint8_t { kInclusive, kExclusive, kRedirect, kAuxiliary };
std::string_view mode_name(Mode m);
std::optional<Mode> mode_from_name(std::string_view name);

// A Context Source Registration. Immutable once published, so any thread may read it.
struct Registration {
  std::string id;
  // Every member but id, type and the system members, in the order given: the names of
  // context source properties expanded, entity types and attribute names inside `information`
  // expanded, all the rest as given. A JSON object's text.
  std::string doc;
  // The @context of the creating request (JSON text of an "@context" member).
  std::string request_context;

  std::vector<RegistrationInfo> information;
  std::string endpoint;
  Mode mode = Mode::kInclusive;
  std::vector<std::string> operations;  // as given (names and groups); empty: federationOps
  std::optional<TimeInterval> observation_interval;
  std::optional<TimeInterval> management_interval;
  std::optional<geo::Geometry> location;
  std::optional<geo::Geometry> observation_space;
  std::optional<geo::Geometry> operation_space;
  std::vector<std::string> scopes;
  std::optional<std::string> tenant;  // the tenant to name towards the source
  // contextSourceInfo: headers to send the source (§5.2.9), as (key, value).
  std::vector<std::pair<std::string, std::string>> context_source_info;
  std::optional<double> timeout_ms;  // management.timeout
  // management.cooldown: after a failed forwarded request, none is sent to the source for this
  // long; the requests meanwhile get a timeout for it at once.
  std::optional<double> cooldown_ms;
  // contextSourceAlias: the source's own name for itself (its /info/sourceIdentity alias).
  std::optional<std::string> alias;
  int64_t expires_at = kNoTime;
  // What q, csf, scopeQ and geo-queries of discovery are evaluated against: an entity of type
  // ContextSourceRegistration whose attributes are the context source properties (Properties),
  // location, observationSpace and operationSpace (GeoProperties) and whose scopes are the
  // registration's.
  std::shared_ptr<const Entity> properties;

  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;
};

// What distributed operations learn about a registration (§5.2.9 status ... lastFailure).
struct RegistrationState {
  uint64_t times_sent = 0;
  uint64_t times_failed = 0;
  int64_t last_success = kNoTime;
  int64_t last_failure = kNoTime;
};

// Whether `name` is an operation or operation group of §4.20.
bool known_operation(std::string_view name);

// Whether the source answers operation `op` (an operation name of §4.20, "retrieveEntity"),
// directly or through one of its groups; a registration without operations answers the
// federationOps group.
bool supports(const Registration& r, std::string_view op);

// A fresh id for a registration created without one: "urn:ngsi-ld:ContextSourceRegistration:"
// and 32 random hex digits.
std::string make_registration_id();

}  // namespace tsunagu::ngsild::registration
