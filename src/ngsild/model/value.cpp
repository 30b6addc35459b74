#include "ngsild/model/value.hpp"

#include "common/json_writer.hpp"

namespace tsunagu::ngsild {

Value Value::heap(Type t, std::string_view s) {
  Value v;
  v.type_ = t;
  uint32_t n = static_cast<uint32_t>(s.size());
  v.u_.p = new char[sizeof n + n];
  std::memcpy(v.u_.p, &n, sizeof n);
  std::memcpy(v.u_.p + sizeof n, s.data(), n);
  return v;
}

void Value::copy_from(const Value& o) {
  if (o.type_ == Type::kString || o.type_ == Type::kJson) {
    *this = heap(o.type_, o.text());
  } else {
    type_ = o.type_;
    u_ = o.u_;
  }
}

Value Value::from_dom(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return Value();
    case rapidjson::kFalseType:
      return boolean(false);
    case rapidjson::kTrueType:
      return boolean(true);
    case rapidjson::kStringType:
      return string({v.GetString(), v.GetStringLength()});
    case rapidjson::kNumberType:
      if (v.IsInt64()) return integer(v.GetInt64());
      return number(v.GetDouble());
    default:
      return json(json_text(v));
  }
}

void Value::append_json(std::string& out) const {
  JsonWriter w(out);
  switch (type_) {
    case Type::kNull:
      w.null();
      break;
    case Type::kBool:
      w.boolean(u_.b);
      break;
    case Type::kInt:
      w.number(u_.i);
      break;
    case Type::kDouble:
      w.number(u_.d);
      break;
    case Type::kString:
      w.string(text());
      break;
    case Type::kJson:
      w.raw(text());
      break;
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::kNull:
      return true;
    case Value::Type::kBool:
      return a.u_.b == b.u_.b;
    default:
      return a.text() == b.text();
  }
}

}  // namespace tsunagu::ngsild
