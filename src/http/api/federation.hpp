// Distributed reads (ETSI GS CIM 009 §4.3.6): a retrieve or query that registered context
// sources may also answer is sent to them in parallel, off the event loops, and their entities
// are merged with the local ones before the answer is rendered as usual. A source that fails is
// reported in an NGSILD-Warning header (§6.3.17) while the rest of the answer is still given.
// Loops are cut with Via (RFC 9110 §7.6.3): a request that already passed this broker is
// answered locally. docs/federation.md.
#pragma once

#include <functional>
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

// The registrations that a read of operation `op` (an operation name of §4.20) should ask, in
// registration order: none when the request is local (local=true), carries this broker in its
// Via header, or the server does not forward.
std::vector<engine::RegistrationService::RegistrationPtr> read_sources(
    Env& env, const Prepared& p, std::string_view op,
    const ngsild::registration::RegistrationQuery& q);

// Sends `GET <endpoint><path_query>` to every source at once, with the request's @context, the
// source's tenant and contextSourceInfo headers, and Via; calls `done` once all have answered
// or failed, on a thread of the blocking pool.
void fan_out(Env& env, const Prepared& p,
             const std::vector<engine::RegistrationService::RegistrationPtr>& sources,
             const std::string& path_query, std::function<void(std::vector<SourceAnswer>)> done);

// The request's query string without the parameters that shape the answer here (options,
// format, pick, omit, join, joinLevel, local, limit, offset, count), as it is forwarded.
std::string forwarded_query(const Request& req);

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
