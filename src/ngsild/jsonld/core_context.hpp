// The NGSI-LD core @context (ETSI GS CIM 009 annex B), built into the binary.
#pragma once

#include <string_view>

namespace tsunagu::ngsild::jsonld {

// The URL advertised for the core @context in Link headers and "@context" members.
inline constexpr std::string_view kCoreContextUrl =
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld";

// The text of the core context document (v1.9).
std::string_view core_context_text();

// True for the published core-context URLs, http or https: the unversioned
// "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld" and the "-v1.3" to "-v1.9" ones.
// These are resolved to the built-in document without a fetch; any other URL is loaded.
bool is_core_context_url(std::string_view url);

}  // namespace tsunagu::ngsild::jsonld
