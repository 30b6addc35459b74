// The NGSI-LD core @context (ETSI GS CIM 009 annex B), built into the binary.
#pragma once

#include <string_view>

namespace tsunagu::ngsild::jsonld {

// The URL advertised for the core @context in Link headers and "@context" members.
inline constexpr std::string_view kCoreContextUrl =
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld";

// The text of the core context document (v1.9).
std::string_view core_context_text();

// True for every published core-context URL, any version
// ("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context*.jsonld", http or https); these are
// resolved to the built-in document without a fetch.
bool is_core_context_url(std::string_view url);

}  // namespace tsunagu::ngsild::jsonld
