// A Context Source Registration as Retrieve and Query Context Source Registrations return it
// (ETSI GS CIM 009 §5.10.1, §5.10.2) and registration notifications carry it: the members the
// client gave, names compacted with the request's @context, plus what the system holds
// (createdAt/modifiedAt when sysAttrs is asked, the distributed operations' statistics).
#pragma once

#include "common/json_writer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration.hpp"

namespace tsunagu::ngsild::registration {

// What stands for the value of a contextSourceInfo header that carries a credential for the
// source (Authorization, Proxy-Authorization, X-API-Key, Cookie): kept, sent, never shown.
inline constexpr std::string_view kRedacted = "(set; not shown)";

struct RegistrationRenderOptions {
  bool sys_attrs = false;     // options=sysAttrs: createdAt and modifiedAt
  bool with_context = false;  // application/ld+json: an "@context" member from `ctx`
};

// Writes one registration object. No errors: the stored document was checked when written.
void render_registration(const Registration& r, const RegistrationState& st,
                         const jsonld::Context& ctx, JsonWriter& w,
                         const RegistrationRenderOptions& o = {});

}  // namespace tsunagu::ngsild::registration
