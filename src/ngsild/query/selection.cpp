#include "ngsild/query/selection.hpp"

#include <algorithm>

#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild::query {
namespace {

// A selection as a disjunction of conjunctions (each group's items all hold): what matching
// wants. Parsed by descent over expr := term (('|' | ',') term)*, term := factor (';' factor)*,
// factor := name | '(' expr ')', so parentheses may also hold an or, "(Building|Tower)" (ETSI
// suite 046_16), and nest. ';' binds tighter than '|' and ','; a type selection's ';' needs
// parentheses around it (§4.17), a scope query's may go without (`bare_and`): "A;B|C" is
// "(A;B)|C" (ETSI suite 019_01_06).
class DnfParser {
 public:
  using Groups = std::vector<std::vector<std::string>>;
  DnfParser(std::string_view text, const char* what, bool bare_and)
      : text_(text), what_(what), bare_and_(bare_and) {}

  Result<Groups> parse() {
    if (text_.empty()) return fail("is empty");
    auto g = expr();
    if (!g.ok()) return g;
    if (i_ < text_.size()) return fail(std::string("unexpected '") + text_[i_] + "'");
    return g;
  }

 private:
  // An and of two selections multiplies their groups: kept small, as a request may nest.
  static constexpr size_t kMaxGroups = 1000;
  static constexpr int kMaxDepth = 32;

  Status fail(const std::string& why) const {
    return Status::BadRequestData(std::string(what_) + ": " + why + " at position " +
                                  std::to_string(i_) + " of '" + std::string(text_.substr(0, 200)) +
                                  "'");
  }

  Result<Groups> expr() {
    auto first = term();
    if (!first.ok()) return first;
    Groups out = std::move(*first);
    while (i_ < text_.size() && (text_[i_] == '|' || text_[i_] == ',')) {
      ++i_;
      if (i_ == text_.size()) return fail("expected a name after the last separator");
      auto next = term();
      if (!next.ok()) return next;
      for (auto& g : *next)
        out.push_back(std::move(g));
      if (out.size() > kMaxGroups) return fail("too many alternatives");
    }
    return out;
  }

  Result<Groups> term() {
    auto first = factor();
    if (!first.ok()) return first;
    Groups out = std::move(*first);
    while (i_ < text_.size() && text_[i_] == ';') {
      if (depth_ == 0 && !bare_and_) {
        return fail("';' joins names only inside parentheses, as in (A;B)");
      }
      ++i_;
      auto next = factor();
      if (!next.ok()) return next;
      if (out.size() * next->size() > kMaxGroups) return fail("too many alternatives");
      Groups product;
      for (const auto& a : out) {
        for (const auto& b : *next) {
          std::vector<std::string> g = a;
          g.insert(g.end(), b.begin(), b.end());
          product.push_back(std::move(g));
        }
      }
      out = std::move(product);
    }
    return out;
  }

  Result<Groups> factor() {
    if (i_ < text_.size() && text_[i_] == '(') {
      if (depth_ == kMaxDepth) return fail("parentheses nest too deep");
      ++i_;
      ++depth_;
      auto inner = expr();
      --depth_;
      if (!inner.ok()) return inner;
      if (i_ >= text_.size() || text_[i_] != ')') return fail("'(' is never closed");
      ++i_;
      return inner;
    }
    size_t start = i_;
    while (i_ < text_.size() && text_[i_] != ';' && text_[i_] != '|' && text_[i_] != ',' &&
           text_[i_] != ')' && text_[i_] != '(') {
      ++i_;
    }
    if (i_ == start) return fail("expected a name");
    return Groups{{std::string(text_.substr(start, i_ - start))}};
  }

  std::string_view text_;
  const char* what_;
  bool bare_and_;
  size_t i_ = 0;
  int depth_ = 0;
};

Result<std::vector<std::vector<std::string>>> split_dnf(std::string_view text, const char* what,
                                                        bool bare_and) {
  return DnfParser(text, what, bare_and).parse();
}

}  // namespace

bool TypeSelection::matches(const Entity& e) const {
  if (any) return true;
  for (const auto& g : groups) {
    if (std::all_of(g.begin(), g.end(), [&](Atom t) { return e.has_type(t); })) return true;
  }
  return false;
}

std::vector<Atom> TypeSelection::all_types() const {
  std::vector<Atom> out;
  for (const auto& g : groups) {
    for (Atom t : g) {
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
  }
  return out;
}

Result<TypeSelection> parse_type_selection(std::string_view text, const jsonld::Context& ctx,
                                           bool intern) {
  TypeSelection s;
  if (text == "*") {
    s.any = true;
    return s;
  }
  auto groups = split_dnf(text, "type", false);
  if (!groups.ok()) return groups.status();
  for (const auto& g : *groups) {
    std::vector<Atom> atoms;
    for (const auto& name : g) {
      if (!valid_name(name)) {
        return Status::BadRequestData("type: '" + name + "' is not a valid type name");
      }
      // A type nobody has looks up to the empty atom, matching none.
      atoms.push_back(intern ? ctx.expand(name) : ctx.lookup(name));
    }
    s.groups.push_back(std::move(atoms));
  }
  return s;
}

bool ScopePattern::matches(std::string_view scope) const {
  if (any) return !scope.empty();
  size_t pos = 1;
  size_t level = 0;
  while (level < levels.size()) {
    if (pos > scope.size()) return false;
    size_t slash = scope.find('/', pos);
    if (slash == std::string_view::npos) slash = scope.size();
    std::string_view seg = scope.substr(pos, slash - pos);
    if (seg.empty()) return false;
    if (levels[level] != "+" && levels[level] != seg) return false;
    ++level;
    pos = slash + 1;
  }
  bool exhausted = pos > scope.size();
  return subtree || exhausted;
}

bool ScopeQuery::matches(const Entity& e) const {
  for (const auto& g : groups) {
    bool all = std::all_of(g.begin(), g.end(), [&](const ScopePattern& p) {
      return std::any_of(e.scopes.begin(), e.scopes.end(),
                         [&](const std::string& s) { return p.matches(s); });
    });
    if (all) return true;
  }
  return false;
}

Result<ScopeQuery> parse_scope_query(std::string_view text) {
  ScopeQuery q;
  auto groups = split_dnf(text, "scopeQ", true);
  if (!groups.ok()) return groups.status();
  for (const auto& g : *groups) {
    std::vector<ScopePattern> patterns;
    for (const auto& s : g) {
      ScopePattern p;
      if (s == "/#") {
        p.any = true;
        patterns.push_back(std::move(p));
        continue;
      }
      if (s.size() < 2 || s[0] != '/') {
        return Status::BadRequestData("scopeQ: '" + s + "' does not start with '/'");
      }
      size_t pos = 1;
      while (pos <= s.size()) {
        size_t slash = s.find('/', pos);
        if (slash == std::string::npos) slash = s.size();
        std::string level = s.substr(pos, slash - pos);
        if (level.empty()) return Status::BadRequestData("scopeQ: '" + s + "' has an empty level");
        // ScopeQLevel: a letter then letters, digits or '_'; or the wildcards + and # (§4.19).
        if (level != "+" && level != "#") {
          unsigned char first = static_cast<unsigned char>(level[0]);
          bool ok = std::isalpha(first) || first >= 0x80;
          for (unsigned char c : level) {
            ok = ok && (std::isalnum(c) || c == '_' || c >= 0x80);
          }
          if (!ok) {
            return Status::BadRequestData("scopeQ: level '" + level + "' of '" + s +
                                          "' must start with a letter and hold only letters, "
                                          "digits or '_'");
          }
        }
        if (level == "#") {
          if (slash != s.size() || p.levels.empty()) {
            return Status::BadRequestData("scopeQ: '#' may only end a scope, as in /A/#");
          }
          p.subtree = true;
        } else {
          p.levels.push_back(std::move(level));
        }
        pos = slash + 1;
      }
      patterns.push_back(std::move(p));
    }
    q.groups.push_back(std::move(patterns));
  }
  return q;
}

}  // namespace tsunagu::ngsild::query
