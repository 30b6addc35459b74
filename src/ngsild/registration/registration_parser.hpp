// Reading a CSourceRegistration payload (ETSI GS CIM 009 §5.9.2 Register Context Source) and a
// registration fragment (§5.9.3 Update Context Source Registration) into the model, every member
// checked and names expanded with the request's @context; and the stored form, from which a
// registration is read back without the creating request's @context.
#pragma once

#include <string>
#include <string_view>

#include "common/json.hpp"
#include "common/status.hpp"
#include "common/time.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration.hpp"

namespace tsunagu::ngsild::registration {

// A Registration from a create payload, its names expanded with `ctx`, whose "@context" JSON
// text is kept as request_context. `now` judges expiresAt. The id is left empty when the
// payload gives none (the caller makes one, make_registration_id()); createdAt and modifiedAt
// are left for the caller. BadRequestData naming the member and the fault: type not
// "ContextSourceRegistration", no information or endpoint, an information item or EntityInfo
// that is malformed, an endpoint that is not an absolute URI, an expiresAt not in the future,
// an unknown mode or operation, a malformed GeoJSON geometry, TimeInterval, scope,
// contextSourceInfo or management, a context source property whose value is null. Read-only
// members (status, createdAt, timesSent, ...) are ignored.
Result<Registration> parse_registration(const JsonValue& body, const jsonld::Context& ctx,
                                        int64_t now = now_us());

// Applies a registration fragment to `r` (§5.9.3): each member given replaces the one held,
// null removes it (information and endpoint cannot be removed), and the result is checked as
// a whole as a create would be. id may only repeat the registration's own, type only be
// "ContextSourceRegistration". On an error `r` is unchanged. modifiedAt is left for the caller.
Status apply_registration_patch(Registration& r, const JsonValue& fragment,
                                const jsonld::Context& ctx, int64_t now = now_us());

struct StoredRegistration {
  Registration registration;
  RegistrationState state;
};
std::string encode_registration(const Registration& r, const RegistrationState& st);
// InternalError when `text` is not a stored registration (a damaged record). `ctx`: the core
// context (the stored names are expanded already).
Result<StoredRegistration> decode_registration(std::string_view text, const jsonld::Context& ctx);

}  // namespace tsunagu::ngsild::registration
