// UTF-8 checks for text that arrives outside JSON (query strings, paths) and for text echoed back
// in JSON (error details): RFC 3629 well-formedness, no overlong forms, no surrogates.
#pragma once

#include <string>
#include <string_view>

namespace tsunagu {

// True when `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

// `s` with every byte that is not part of a well-formed sequence replaced by U+FFFD, so that it
// can be written into a JSON document.
std::string to_valid_utf8(std::string_view s);

}  // namespace tsunagu
