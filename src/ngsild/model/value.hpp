// A JSON value held by an attribute: scalars inline, strings and compound values (arrays,
// objects) on the heap as text. Compound values stay as minified JSON text because they are
// rendered far more often than they are inspected; 16 bytes per value.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/json.hpp"

namespace tsunagu::ngsild {

class Value {
 public:
  enum class Type : unsigned char { kNull, kBool, kInt, kDouble, kString, kJson };

  Value() = default;
  static Value boolean(bool b) {
    Value v;
    v.type_ = Type::kBool;
    v.u_.b = b;
    return v;
  }
  static Value integer(int64_t i) {
    Value v;
    v.type_ = Type::kInt;
    v.u_.i = i;
    return v;
  }
  static Value number(double d) {
    Value v;
    v.type_ = Type::kDouble;
    v.u_.d = d;
    return v;
  }
  static Value string(std::string_view s) { return heap(Type::kString, s); }
  // `json` must be valid minified JSON text of an array or object.
  static Value json(std::string_view json) { return heap(Type::kJson, json); }
  // Converts a DOM value; arrays and objects become JSON text.
  static Value from_dom(const JsonValue& v);

  Value(const Value& o) { copy_from(o); }
  Value(Value&& o) noexcept : type_(o.type_), u_(o.u_) { o.type_ = Type::kNull; }
  Value& operator=(const Value& o) {
    if (this != &o) {
      release();
      copy_from(o);
    }
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      release();
      type_ = o.type_;
      u_ = o.u_;
      o.type_ = Type::kNull;
    }
    return *this;
  }
  ~Value() { release(); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_json() const { return type_ == Type::kJson; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool as_bool() const { return u_.b; }
  int64_t as_int() const { return u_.i; }
  double as_double() const { return type_ == Type::kInt ? static_cast<double>(u_.i) : u_.d; }
  // Text of a string, or JSON text of a compound value.
  std::string_view text() const {
    if (type_ != Type::kString && type_ != Type::kJson) return {};
    uint32_t n;
    std::memcpy(&n, u_.p, sizeof n);
    return {u_.p + sizeof n, n};
  }

  // Starts loading a string's or compound value's text, which lives apart on the heap.
  void prefetch() const {
    if (type_ == Type::kString || type_ == Type::kJson) __builtin_prefetch(u_.p);
  }

  // Appends the value as JSON text.
  void append_json(std::string& out) const;
  std::string to_json() const {
    std::string s;
    append_json(s);
    return s;
  }

  friend bool operator==(const Value& a, const Value& b);

 private:
  static Value heap(Type t, std::string_view s);
  void copy_from(const Value& o);
  void release() {
    if (type_ == Type::kString || type_ == Type::kJson) delete[] u_.p;
    type_ = Type::kNull;
  }

  Type type_ = Type::kNull;
  union U {
    bool b;
    int64_t i;
    double d;
    char* p;  // 4-byte length, then the bytes
  } u_{};
};

}  // namespace tsunagu::ngsild
