// Recursive-descent parser for the q grammar of ETSI GS CIM 009 §4.9. AND (;) binds tighter than
// OR (|); parentheses group. Values follow JSON for numbers and quoted strings; unquoted values
// are read as booleans, DateTime/Date/Time, numbers, or else as URIs/bare words (the form
// mainstream brokers accept for `name==Madrid`).
#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "common/time.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "ngsild/query/q.hpp"

namespace tsunagu::ngsild::query {
namespace {

bool is_json_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0')
    ++i;
  else if (std::isdigit(static_cast<unsigned char>(s[i]))) {
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
  } else
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t d = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    if (i == d) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t d = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    if (i == d) return false;
  }
  return i == s.size();
}

class Parser {
 public:
  Parser(std::string_view q, const jsonld::Context& ctx, const std::vector<std::string>& expand,
         NameUse names)
      : q_(q), ctx_(ctx), expand_(expand), intern_(names == NameUse::kIntern) {}

  Result<Expr> parse() {
    if (q_.empty()) return error("is empty", 0);
    auto e = or_expr(0);
    if (!e.ok()) return e;
    if (pos_ != q_.size()) {
      return error(std::string("unexpected '") + q_[pos_] + "'", pos_);
    }
    return e;
  }

 private:
  Status error(const std::string& what, size_t at) const {
    return Status::BadRequestData("q: " + what + " at position " + std::to_string(at) + " of '" +
                                  std::string(q_.substr(0, 300)) + "'");
  }

  Result<Expr> or_expr(int depth) {
    if (depth > 32) return error("nesting of parentheses is deeper than 32 levels", pos_);
    auto first = and_expr(depth);
    if (!first.ok()) return first;
    if (pos_ >= q_.size() || q_[pos_] != '|') return first;
    Expr e;
    e.kind = Expr::Kind::kOr;
    e.children.push_back(std::move(*first));
    while (pos_ < q_.size() && q_[pos_] == '|') {
      ++pos_;
      auto next = and_expr(depth);
      if (!next.ok()) return next;
      e.children.push_back(std::move(*next));
    }
    return e;
  }

  Result<Expr> and_expr(int depth) {
    auto first = primary(depth);
    if (!first.ok()) return first;
    if (pos_ >= q_.size() || q_[pos_] != ';') return first;
    Expr e;
    e.kind = Expr::Kind::kAnd;
    e.children.push_back(std::move(*first));
    while (pos_ < q_.size() && q_[pos_] == ';') {
      ++pos_;
      auto next = primary(depth);
      if (!next.ok()) return next;
      e.children.push_back(std::move(*next));
    }
    return e;
  }

  Result<Expr> primary(int depth) {
    if (pos_ >= q_.size()) return error("expected a query term", pos_);
    if (q_[pos_] == '(') {
      size_t open = pos_++;
      auto e = or_expr(depth + 1);
      if (!e.ok()) return e;
      if (pos_ >= q_.size() || q_[pos_] != ')') return error("'(' is never closed", open);
      ++pos_;
      return e;
    }
    return term();
  }

  Result<Expr> term() {
    auto t = std::make_shared<Term>();
    TSUNAGU_RETURN_IF_ERROR(path(t->path));
    size_t op_at = pos_;
    std::string_view rest = q_.substr(pos_);
    // Longest first where one operator begins another.
    static constexpr std::pair<std::string_view, Op> kOps[] = {
        {"==", Op::kEq}, {"!~=", Op::kNotMatch}, {"!=", Op::kNe}, {">=", Op::kGe},
        {"<=", Op::kLe}, {"~=", Op::kMatch},     {">", Op::kGt},  {"<", Op::kLt}};
    bool found = false;
    for (const auto& [text, op] : kOps) {
      if (rest.substr(0, text.size()) == text) {
        t->op = op;
        pos_ += text.size();
        found = true;
        break;
      }
    }
    if (!found && !rest.empty() && rest[0] != ';' && rest[0] != '|' && rest[0] != ')') {
      return error(
          std::string("'") + rest[0] + "' is not an operator (use ==, !=, >, >=, <, <=, ~= or !~=)",
          op_at);
    }
    if (t->op == Op::kMatch || t->op == Op::kNotMatch) {
      TSUNAGU_RETURN_IF_ERROR(regex(*t));
    } else if (t->op != Op::kExists) {
      TSUNAGU_RETURN_IF_ERROR(value(*t, op_at));
    }
    Expr e;
    e.term = std::move(t);
    return e;
  }

  // DottedPath *1([DottedPath])
  Status path(AttrPath& p) {
    size_t start = pos_;
    std::vector<std::string> names;
    std::string cur;
    auto flush = [&]() -> Status {
      if (cur.empty()) return error("an attribute name is empty", pos_);
      names.push_back(std::move(cur));
      cur.clear();
      return Status::Ok();
    };
    while (pos_ < q_.size()) {
      char c = q_[pos_];
      if (c == '.') {
        TSUNAGU_RETURN_IF_ERROR(flush());
        ++pos_;
        continue;
      }
      if (c == '[' || c == '=' || c == '!' || c == '<' || c == '>' || c == '~' || c == ';' ||
          c == '|' || c == ')' || c == '(') {
        break;
      }
      if (c == '"' || c == ',' || c == '{' || c == '}' || static_cast<unsigned char>(c) <= 0x20) {
        return error(std::string("'") + c + "' cannot appear in an attribute name", pos_);
      }
      cur.push_back(c);
      ++pos_;
    }
    if (cur.empty() && names.empty()) return error("expected an attribute name", pos_);
    TSUNAGU_RETURN_IF_ERROR(flush());
    if (pos_ < q_.size() && q_[pos_] == '[') {
      size_t open = pos_++;
      size_t close = q_.find(']', pos_);
      if (close == std::string_view::npos) return error("'[' is never closed", open);
      std::string_view inner = q_.substr(pos_, close - pos_);
      if (inner.empty()) return error("'[]' names no member", open);
      size_t s = 0;
      while (s <= inner.size()) {
        size_t dot = inner.find('.', s);
        if (dot == std::string_view::npos) dot = inner.size();
        if (dot == s) return error("a member name in [...] is empty", pos_ + s);
        p.member.emplace_back(inner.substr(s, dot - s));
        s = dot + 1;
      }
      pos_ = close + 1;
    }
    // A trailing observedAt/createdAt/... after an attribute addresses that member.
    if (names.size() > 1) {
      const std::string& last = names.back();
      Meta m = last == "observedAt"   ? Meta::kObservedAt
               : last == "createdAt"  ? Meta::kCreatedAt
               : last == "modifiedAt" ? Meta::kModifiedAt
               : last == "unitCode"   ? Meta::kUnitCode
               : last == "datasetId"  ? Meta::kDatasetId
                                      : Meta::kNone;
      if (m != Meta::kNone) {
        p.meta = m;
        names.pop_back();
      }
    }
    for (const auto& n : names) {
      // AttrName starts with a letter (§4.9); the rest may be any character a name allows.
      unsigned char first = static_cast<unsigned char>(n[0]);
      if (!valid_name(n) || !(std::isalpha(first) || first >= 0x80)) {
        return error("'" + n + "' is not a valid attribute name (it must start with a letter)",
                     start);
      }
      // A name nobody stored looks up to the empty atom, held by none.
      p.names.push_back(intern_ ? ctx_.expand(n) : ctx_.lookup(n));
    }
    expanding_ = std::find(expand_.begin(), expand_.end(), names[0]) != expand_.end();
    p.text = std::string(q_.substr(start, pos_ - start));
    return Status::Ok();
  }

  // Reads the raw text of a value up to the next top-level ';', '|' or ')'.
  std::string_view raw_value() {
    size_t start = pos_;
    bool in_string = false;
    while (pos_ < q_.size()) {
      char c = q_[pos_];
      if (in_string) {
        if (c == '\\')
          ++pos_;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == ';' || c == '|' || c == ')') {
        break;
      }
      ++pos_;
    }
    return q_.substr(start, pos_ - start);
  }

  Status literal(std::string_view s, size_t at, Literal& out) {
    out.text = std::string(s);
    if (s.empty()) return error("expected a value", at);
    if (s.front() == '"') {
      if (s.size() < 2 || s.back() != '"') return error("a quoted string is not closed", at);
      JsonDoc d;
      std::string text(s);
      if (!parse_json(text, d).ok() || !d.IsString()) {
        return error("invalid quoted string " + text.substr(0, 60), at);
      }
      out.kind = Literal::Kind::kString;
      out.quoted = true;
      out.text.assign(d.GetString(), d.GetStringLength());
      if (valid_name(out.text)) out.expanded = ctx_.iri(out.text);
      if (expanding_ && !out.expanded.empty()) out.text = out.expanded;
      return Status::Ok();
    }
    if (s == "true" || s == "false") {
      out.kind = Literal::Kind::kBool;
      out.boolean = s == "true";
      return Status::Ok();
    }
    if (is_json_number(s)) {
      out.kind = Literal::Kind::kNumber;
      out.number = std::strtod(std::string(s).c_str(), nullptr);
      return Status::Ok();
    }
    if (auto t = parse_datetime(s)) {
      out.kind = Literal::Kind::kDateTime;
      out.time = *t;
      return Status::Ok();
    }
    if (auto d = parse_date(s)) {
      out.kind = Literal::Kind::kDate;
      out.time = *d;
      return Status::Ok();
    }
    if (auto t = parse_time(s)) {
      out.kind = Literal::Kind::kTime;
      out.time = *t;
      return Status::Ok();
    }
    for (char c : s) {
      if (c == '"' || c == '(' || c == '[' || c == ']' || c == '<' || c == '>' || c == '=' ||
          c == '!' || c == '~' || static_cast<unsigned char>(c) <= 0x20) {
        return error("'" + std::string(s.substr(0, 60)) + "' is not a value", at);
      }
    }
    out.kind = Literal::Kind::kString;
    if (expanding_ && valid_name(out.text)) {  // a term of an expandValues attribute
      out.expanded = ctx_.iri(out.text);
      out.text = out.expanded;
      return Status::Ok();
    }
    if (!jsonld::looks_like_absolute_iri(out.text)) {
      return error("'" + std::string(s.substr(0, 60)) +
                       "' is not a number, boolean, date, time or URI; quote strings "
                       "(\"...\")",
                   at);
    }
    return Status::Ok();
  }

  Status value(Term& t, size_t op_at) {
    size_t at = pos_;
    std::string_view raw = raw_value();
    if (raw.empty()) return error("expected a value after the operator", op_at);
    // Split on top-level ',' (list) or '..' (range), outside quotes.
    std::vector<std::pair<std::string_view, size_t>> parts;
    bool in_string = false;
    size_t s = 0;
    bool range = false;
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (in_string) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"')
        in_string = true;
      else if (c == ',') {
        parts.emplace_back(raw.substr(s, i - s), at + s);
        s = i + 1;
      } else if (c == '.' && i + 1 < raw.size() && raw[i + 1] == '.' && !range) {
        range = true;
        parts.emplace_back(raw.substr(s, i - s), at + s);
        s = i + 2;
        ++i;
      }
    }
    parts.emplace_back(raw.substr(s), at + s);
    if (range && parts.size() != 2) return error("a range takes exactly two values (a..b)", at);
    t.shape = range              ? Term::Shape::kRange
              : parts.size() > 1 ? Term::Shape::kList
                                 : Term::Shape::kSingle;
    if (t.shape != Term::Shape::kSingle && t.op != Op::kEq && t.op != Op::kNe) {
      return error(range ? "a range needs == or !=" : "a value list needs == or !=", op_at);
    }
    for (auto [text, where] : parts) {
      Literal l;
      TSUNAGU_RETURN_IF_ERROR(literal(text, where, l));
      if (range && l.kind == Literal::Kind::kBool) {
        return error("a range cannot hold booleans", where);
      }
      t.values.push_back(std::move(l));
    }
    if (range && t.values[0].kind != t.values[1].kind) {
      return error("both ends of a range must be of the same kind", at);
    }
    return Status::Ok();
  }

  // A regular expression: quoted ("...") or up to ';', or '|' / ')' outside its own groups.
  Status regex(Term& t) {
    size_t at = pos_;
    std::string pattern;
    if (pos_ < q_.size() && q_[pos_] == '"') {
      Literal l;
      std::string_view raw = raw_value();
      TSUNAGU_RETURN_IF_ERROR(literal(raw, at, l));
      pattern = l.text;
    } else {
      int depth = 0;
      bool klass = false;
      size_t start = pos_;
      while (pos_ < q_.size()) {
        char c = q_[pos_];
        if (c == '\\' && pos_ + 1 < q_.size()) {
          pos_ += 2;
          continue;
        }
        if (klass) {
          if (c == ']') klass = false;
        } else if (c == '[')
          klass = true;
        else if (c == '(')
          ++depth;
        else if (c == ')') {
          if (depth == 0) break;
          --depth;
        } else if ((c == ';' || c == '|') && depth == 0)
          break;
        ++pos_;
      }
      pattern = std::string(q_.substr(start, pos_ - start));
    }
    if (pattern.empty()) return error("expected a regular expression", at);
    RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(8 << 20);
    auto re = std::make_shared<re2::RE2>(pattern, o);
    if (!re->ok()) return error("invalid regular expression: " + re->error(), at);
    Literal l;
    l.kind = Literal::Kind::kString;
    l.text = pattern;
    t.values.push_back(std::move(l));
    t.regex = std::move(re);
    return Status::Ok();
  }

  std::string_view q_;
  const jsonld::Context& ctx_;
  const std::vector<std::string>& expand_;
  bool intern_ = false;
  bool expanding_ = false;  // the current term's attribute is listed in expandValues
  size_t pos_ = 0;
};

}  // namespace

Result<Expr> parse_q(std::string_view q, const jsonld::Context& ctx,
                     const std::vector<std::string>& expand_values, NameUse names) {
  return Parser(q, ctx, expand_values, names).parse();
}

}  // namespace tsunagu::ngsild::query
