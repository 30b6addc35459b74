// Reading JSON text into a DOM (RapidJSON), with the limits a server facing hostile input needs:
// valid UTF-8, bounded nesting, no NaN/Infinity, numbers that fit a double. Errors name the byte
// offset of the fault.
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace tsunagu {

using JsonDoc = rapidjson::Document;
using JsonValue = rapidjson::Value;

// Deepest nesting of arrays/objects accepted in any request body.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` into `doc`. InvalidRequest ("malformed JSON ...", §5.5.4) on any syntax fault,
// invalid UTF-8, nesting deeper than kMaxJsonDepth, or a number too large for a double.
Status parse_json(std::string_view text, JsonDoc& doc);
// The same, reading the string's terminating NUL instead of copying the text first.
Status parse_json(const std::string& text, JsonDoc& doc);
Status parse_json(const char* text, JsonDoc& doc);
// The same, decoding strings inside `text` (RapidJSON's in-situ mode) instead of copying them
// into the document: `text` becomes the document's storage, and the returned document keeps it
// alive. Strings of the document reference it, so a copy of one of its values into another
// document must copy the strings too (copyConstStrings) if it is to outlive this one.
Status parse_json_in_place(std::string&& text, std::shared_ptr<JsonDoc>& doc);

// Minified JSON text of a DOM value; object member order is kept.
std::string json_text(const JsonValue& v);
void append_json_text(const JsonValue& v, std::string& out);

// "string", "number", "object", ... for error messages.
const char* json_type_name(const JsonValue& v);

}  // namespace tsunagu
