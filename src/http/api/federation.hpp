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

// One request to a source: below its endpoint.
struct Forward {
  std::string method = "GET";
  std::string path_query;  // "/ngsi-ld/v1/entities?type=Vehicle"
  std::string body;        // JSON, for a POST
};

// Sends to every source at once the request `make` gives for it, with the request's @context,
// the source's tenant and contextSourceInfo headers, and Via; calls `done` once all have
// answered or failed, on a thread of the blocking pool.
void fan_out(Env& env, const Prepared& p,
             const std::vector<engine::RegistrationService::RegistrationPtr>& sources,
             const std::function<Forward(const ngsild::registration::Registration&)>& make,
             std::function<void(std::vector<SourceAnswer>)> done);

// The request's parameters as they are forwarded ("?type=Vehicle&q=..." or ""), without those
// that shape the answer here (options, format, pick, omit, join, joinLevel, local, limit,
// offset, count), attrs (applied here once the entities are merged: another source may hold
// the attribute an entity lacks at one) and `drop`.
std::string forwarded_query(const QueryParams& params,
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

// The NGSILD-Warning header (§6.3.17) naming the sources that failed (one value each), none
// when none did.
std::vector<Header> source_warnings(const std::vector<SourceAnswer>& answers);

// An entity of a source's answer (normalized, compacted with `ctx`), or its error.
Result<std::shared_ptr<ngsild::Entity>> source_entity(const JsonValue& v,
                                                      const ngsild::jsonld::Context& ctx);

// Adds to `into` the attribute instances of `from` it lacks; of an instance both hold (same
// name and datasetId), keeps the one observed (else modified) last (§4.3.6.4's merge).
void merge_entity(ngsild::Entity& into, const ngsild::Entity& from);

}  // namespace tsunagu::http::api
