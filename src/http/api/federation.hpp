// Distributed reads (ETSI GS CIM 009 §4.3.6): a retrieve or query that registered context
// sources may also answer is sent to them in parallel, off the event loops, and their entities
// are merged with the local ones before the answer is rendered as usual. A source that fails is
// reported in an NGSILD-Warning header (§6.3.17) while the rest of the answer is still given.
// Loops are cut with Via (RFC 9110 §7.6.3): a request that already passed this broker is
// answered locally. docs/federation.md.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "http/api/api.hpp"
#include "ngsild/registration/registration_query.hpp"

namespace tsunagu::http::api {

// One source's answer to a forwarded request.
struct SourceAnswer {
  engine::RegistrationService::RegistrationPtr registration;
  HttpClient::Outcome outcome;
};

// Whether a read of this request may go to context sources: the server forwards, the tenant
// has registrations, the request is not local (local=true) and has not passed this broker
// already (its Via names it). Cheap; read_sources() finds which sources.
bool may_forward(Env& env, const Prepared& p);

// The registrations that a read should ask, in registration order: those `q` matches that take
// one of `ops` (operation names of §4.20); none when may_forward() is false.
std::vector<engine::RegistrationService::RegistrationPtr> read_sources(
    Env& env, const Prepared& p, std::initializer_list<std::string_view> ops,
    const ngsild::registration::RegistrationQuery& q);

// The registrations that may hold what entity query `q` selects (its ids, idPattern, types,
// attrs and geo-query), for read_sources().
ngsild::registration::RegistrationQuery sources_query(const ngsild::query::EntityQuery& q);

// One request to a source: below its endpoint.
struct Forward {
  std::string method = "GET";
  std::string path_query;                         // "/ngsi-ld/v1/entities?type=Vehicle"
  std::string body;                               // JSON, for a POST
  std::string content_type = "application/json";  // of the body
};

// Sends to every source at once its request (`requests[i]` to `sources[i]`), with the
// request's @context, the source's tenant and contextSourceInfo headers, and Via; calls `done`
// once all have answered or failed, on a thread of the blocking pool.
void fan_out(Env& env, const Prepared& p,
             const std::vector<engine::RegistrationService::RegistrationPtr>& sources,
             std::vector<Forward> requests, std::function<void(std::vector<SourceAnswer>)> done);

// The request's parameters as they are forwarded ("?type=Vehicle&q=..." or ""), without those
// that shape the answer here (options, format, pick, omit, join, joinLevel, local, limit,
// offset, count), attrs (applied here once the entities are merged: another source may hold
// the attribute an entity lacks at one) and `drop`.
std::string forwarded_query(const QueryParams& params,
                            std::initializer_list<std::string_view> drop = {});

// `params` as "?a=1&b=2" (or ""), percent-encoded, without the parameters named in
// `shaped_here` or `drop`.
std::string query_without(const QueryParams& params,
                          std::initializer_list<std::string_view> shaped_here,
                          std::initializer_list<std::string_view> drop = {});

// A Query object (§5.2.23) asking what the query parameters `params` ask (ids, idPattern, type,
// q, scopeQ, the geo-query), for a source that takes Query Entities by POST only.
std::string query_object_of(const QueryParams& params);

// The entities of a source's answer (an entity or an array of them, normalized, compacted with
// `ctx`), or what is wrong with it.
Result<std::vector<std::shared_ptr<ngsild::Entity>>> source_entities(
    const std::string& body, const ngsild::jsonld::Context& ctx);

// The request that asks `r` for entity `id` (with `type`, the request's type parameter, when
// given): Retrieve Entity when the source takes it, else a Query Entities by id and the types
// its registration gives for the id, by GET (queryEntity) or POST (queryBatch). `query`: the
// request's parameters (forwarded_query).
Forward retrieve_request(const ngsild::registration::Registration& r, const std::string& id,
                         const std::string* type, const QueryParams& query,
                         const ngsild::jsonld::Context& ctx);

// Whether registration `r` names attribute `name` of entity `id` (an information item that
// covers the entity and provides the attribute).
bool owns(const ngsild::registration::Registration& r, const std::string& id, Atom name);

// Whether `key` is a member of an entity payload that is not an attribute (id, type, scope,
// @context).
bool entity_member(std::string_view key);

// The types of entity `id` as held here, to tell which registrations a write that names no
// type concerns (a registration by type alone may hold any id); none when it is not here.
std::optional<ngsild::query::TypeSelection> local_types(Env& env, const Prepared& p,
                                                        const std::string& id);

// The request's path and query as a source is sent them: without `local`.
std::string forwarded_path(const Prepared& p);

// Refuses a write that already passed this broker (its Via names it; not with local=true) with
// 508 LoopDetected, and says whether it did.
bool refused_loop(Env& env, Prepared& p);

// A write of one entity, as distribute_write() needs to know it.
struct WriteTarget {
  std::string op;                // its operation name (§4.20): "createEntity", "updateAttrs", ...
  std::string id;                // the entity's
  bool path_attribute = false;   // the path names an attribute (/attrs/{attrId})
  Atom attribute;                // that attribute (empty when no name is known by that IRI)
  bool body_attributes = false;  // the body holds attributes (create, append, update, ...)
  // Checks the request before any source is sent it, so that no source takes a write that this
  // broker would refuse (null: nothing to check).
  std::function<Status(const Prepared&)> check;
};

// Sends a write to the registered sources it concerns (§4.3.6.3), then runs `local` with what
// is left for this broker. A source of a redirect or inclusive registration gets the whole
// request; one of an exclusive registration gets only the attributes it owns (those its
// registration names for the entity, all when it names none), which are then taken out of
// `p.body`. Nothing is written here when a redirect source takes the write, when the attribute
// of the path is owned by an exclusive source, or when an update leaves no attribute here.
// When every part succeeds the answer is the usual one (201 with Location for a create, else
// this broker's answer, else 204); when any failed, 207 with a DistributedResult. Runs `local`
// at once when no registration concerns the write.
void distribute_write(Env& env, Prepared&& p, WriteTarget t, std::function<void(Prepared&&)> local);

// What the parts of a distributed write did, as the BatchOperationResult (§5.2.16) that a
// partial failure answers with 207: the entities written, and one BatchEntityError (§5.2.17)
// per entity and part that failed, with the registration of a source's.
class DistributedResult {
 public:
  void succeeded(const std::string& id);
  // `problem`: a ProblemDetails object as JSON text.
  void failed(const std::string& id, const std::string* registration, std::string_view problem);
  // A source's answer to a write of the entities `ids`: its BatchOperationResult or array of
  // created ids when it gave one (207, 201), else success or failure of them all.
  void add_source(const SourceAnswer& a, const std::vector<std::string>& ids);
  // Adds what `other` holds.
  void merge(const DistributedResult& other);
  bool any_failed() const { return failures_ != 0; }
  bool any_succeeded() const { return !success_.empty(); }
  const std::vector<std::string>& successes() const { return success_; }
  // {"success": [...], "errors": [...]}
  std::string body() const;

 private:
  std::vector<std::string> success_;
  std::string errors_;  // BatchEntityError objects, comma-separated
  size_t failures_ = 0;
};

// The NGSILD-Warning header (§6.3.17) naming the sources that failed (one value each), none
// when none did.
std::vector<Header> source_warnings(const std::vector<SourceAnswer>& answers);

// An entity of a source's answer (normalized, compacted with `ctx`), or its error.
Result<std::shared_ptr<ngsild::Entity>> source_entity(const JsonValue& v,
                                                      const ngsild::jsonld::Context& ctx);

// Adds to `into` the attribute instances of `from` (a source's, whose registration has `mode`)
// that it lacks. Of an instance both hold (same name and datasetId): an exclusive source's
// replaces the one held (it owns the attribute), an auxiliary source's never does (it only
// completes), and otherwise the one observed (else modified) last is kept (§4.3.6.4).
void merge_entity(ngsild::Entity& into, const ngsild::Entity& from,
                  ngsild::registration::Mode mode = ngsild::registration::Mode::kInclusive);

// `answers` with the auxiliary sources' last, so that they only fill what the others left.
void auxiliary_last(std::vector<SourceAnswer>& answers);

}  // namespace tsunagu::http::api
