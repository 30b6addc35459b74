#include "ngsild/query/selection.hpp"

#include <algorithm>

#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild::query {
namespace {

// Splits a disjunction of (a;b) groups; returns the groups' raw items. Commas and '|' separate
// alternatives at the top level; ';' joins items inside parentheses (and outside when
// `bare_and`).
Result<std::vector<std::vector<std::string>>> split_dnf(std::string_view text, const char* what,
                                                        bool bare_and) {
  std::vector<std::vector<std::string>> groups;
  size_t i = 0;
  auto fail = [&](const std::string& why) {
    return Status::BadRequestData(std::string(what) + ": " + why + " at position " +
                                  std::to_string(i) + " of '" + std::string(text.substr(0, 200)) +
                                  "'");
  };
  if (text.empty()) return fail("is empty");
  while (i < text.size()) {
    std::vector<std::string> group;
    bool paren = text[i] == '(';
    if (paren) ++i;
    for (;;) {
      size_t start = i;
      while (i < text.size() && text[i] != ';' && text[i] != '|' && text[i] != ',' &&
             text[i] != ')' && text[i] != '(') {
        ++i;
      }
      if (i == start) return fail("expected a name");
      group.emplace_back(text.substr(start, i - start));
      if (i < text.size() && text[i] == ';') {
        // A type selection's and needs its parentheses (§4.17); a scope query's may go without,
        // binding tighter than '|' and ',': "A;B|C" is "(A;B)|C" (ETSI suite 019_01_06).
        if (!paren && !bare_and)
          return fail("';' joins names only inside parentheses, as in (A;B)");
        ++i;
        continue;
      }
      break;
    }
    if (paren) {
      if (i >= text.size() || text[i] != ')') return fail("'(' is never closed");
      ++i;
    } else if (i < text.size() && (text[i] == ')' || text[i] == '(')) {
      return fail(std::string("unexpected '") + text[i] + "'");
    }
    groups.push_back(std::move(group));
    if (i == text.size()) break;
    if (text[i] != '|' && text[i] != ',') return fail(std::string("unexpected '") + text[i] + "'");
    ++i;
    if (i == text.size()) return fail("expected a name after the last separator");
  }
  return groups;
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
