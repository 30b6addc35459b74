#include "common/json.hpp"

#include <rapidjson/error/en.h>

#include "common/json_writer.hpp"

namespace tsunagu {
namespace {

// Nesting depth of the text, skipping string contents. Run before the DOM parser so that a
// megabyte of '[' is refused in linear time with no deep structure ever built.
bool depth_within(std::string_view s, int limit, size_t& where) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > limit) {
        where = i;
        return false;
      }
    } else if (c == ']' || c == '}') --depth;
  }
  return true;
}

void write_value(const JsonValue& v, JsonWriter& w) {
  switch (v.GetType()) {
    case rapidjson::kNullType: w.null(); break;
    case rapidjson::kFalseType: w.boolean(false); break;
    case rapidjson::kTrueType: w.boolean(true); break;
    case rapidjson::kStringType: w.string({v.GetString(), v.GetStringLength()}); break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) w.number(static_cast<int64_t>(v.GetInt64()));
      else if (v.IsUint64()) w.number(static_cast<double>(v.GetUint64()));
      else w.number(v.GetDouble());
      break;
    case rapidjson::kArrayType:
      w.begin_array();
      for (const auto& e : v.GetArray()) write_value(e, w);
      w.end_array();
      break;
    case rapidjson::kObjectType:
      w.begin_object();
      for (const auto& m : v.GetObject()) {
        w.key({m.name.GetString(), m.name.GetStringLength()});
        write_value(m.value, w);
      }
      w.end_object();
      break;
  }
}

}  // namespace

Status parse_json(std::string_view text, JsonDoc& doc) {
  size_t where = 0;
  if (!depth_within(text, kMaxJsonDepth, where)) {
    return Status::InvalidRequest("malformed JSON: nesting deeper than " +
                                  std::to_string(kMaxJsonDepth) + " levels at offset " +
                                  std::to_string(where));
  }
  constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseFullPrecisionFlag |
                              rapidjson::kParseIterativeFlag;
  doc.Parse<kFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Status::InvalidRequest(std::string("malformed JSON at offset ") +
                                  std::to_string(doc.GetErrorOffset()) + ": " +
                                  rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return Status::Ok();
}

void append_json_text(const JsonValue& v, std::string& out) {
  JsonWriter w(out);
  write_value(v, w);
}

std::string json_text(const JsonValue& v) {
  std::string s;
  append_json_text(v, s);
  return s;
}

const char* json_type_name(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kObjectType: return "object";
  }
  return "value";
}

}  // namespace tsunagu
