// URI checks for entity ids, datasetIds and other identifiers NGSI-LD requires to be URIs
// (ETSI GS CIM 009 §4.5.1: "a URI"; IETF RFC 3986 §3 for the syntax).
#pragma once

#include <string>
#include <string_view>

namespace tsunagu {

// True when `s` is an absolute URI (or IRI): a scheme, ':', and a non-empty rest without
// whitespace, control characters or the characters RFC 3986 never allows unescaped
// (<>"{}|\^`), and with every '%' followed by two hex digits.
bool is_absolute_uri(std::string_view s);

// Percent-decodes `s` (for path segments and query values); '+' is kept as is unless
// `plus_is_space`. Returns false on a malformed escape.
bool percent_decode(std::string_view s, std::string& out, bool plus_is_space = false);

// Percent-encodes `s` for use as one path segment (RFC 3986 §3.3: everything but unreserved
// characters, sub-delims, ':' and '@').
std::string percent_encode_segment(std::string_view s);
// The same for the name or value of a query parameter: also keeps '/', '?', but not '&', '+'.
std::string percent_encode_query_value(std::string_view s);

// `prefix` followed by 32 random hex digits: ids made for resources created without one
// ("urn:ngsi-ld:Subscription:"). Unlikely to collide, not unguessable (a store refuses a
// duplicate anyway).
std::string random_urn(std::string_view prefix);

}  // namespace tsunagu
