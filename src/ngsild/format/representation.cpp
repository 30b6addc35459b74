// The representation parameters of retrieve and query operations (ETSI GS CIM 009 §6.3.7
// format/options, §4.21 pick/omit, attrs, §4.15 lang, §4.5.5 datasetId, §6.3.11 sysAttrs,
// §4.5.23 join), given as URI parameters or as members of a Query object.
#include "ngsild/format/representation.hpp"

#include <charconv>
#include <optional>

#include "common/uri.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::ngsild {

namespace {

// One level of the Attribute Projection Language (§4.21): members separated by ',' or '|'; a
// member followed by "{...}" names what to keep of the entities that Relationship links to
// (join). Reads from `pos` up to the end or the '}' that closes this level.
class ProjectionParser {
 public:
  ProjectionParser(std::string_view param, std::string_view text, const jsonld::Context& ctx)
      : param_(param), text_(text), ctx_(ctx) {}

  Status level(bool pick, Projection& pr, int depth) {
    if (depth > kMaxDepth) return fail("nests Linked Entity projections too deep");
    if (pick) pr.pick = true;
    while (true) {
      size_t start = pos_;
      while (pos_ < text_.size() && std::string_view(",|{}").find(text_[pos_]) == npos)
        ++pos_;
      std::string m(text_.substr(start, pos_ - start));
      if (m.empty()) return fail("has an empty member at position " + std::to_string(pos_));
      std::shared_ptr<Projection> nested;
      if (pos_ < text_.size() && text_[pos_] == '{') {
        ++pos_;
        nested = std::make_shared<Projection>();
        TSUNAGU_RETURN_IF_ERROR(level(pick, *nested, depth + 1));
        if (pos_ >= text_.size() || text_[pos_] != '}') return fail("has a '{' without its '}'");
        ++pos_;
      }
      TSUNAGU_RETURN_IF_ERROR(member(pick, m, std::move(nested), pr));
      if (pos_ >= text_.size()) return depth == 0 ? Status::Ok() : fail("misses a '}'");
      if (text_[pos_] == '}') {
        return depth > 0 ? Status::Ok()
                         : fail("has a '}' without its '{' at position " + std::to_string(pos_));
      }
      if (text_[pos_] == '{')
        return fail("has a '{' after '}' at position " + std::to_string(pos_));
      ++pos_;  // ',' or '|'
    }
  }

 private:
  static constexpr int kMaxDepth = 8;
  static constexpr size_t npos = std::string_view::npos;

  Status member(bool pick, const std::string& m, std::shared_ptr<Projection> nested,
                Projection& pr) {
    if (m == "id" || m == "type" || m == "scope") {
      if (nested) return fail("'" + m + "' is not a Relationship and cannot take {...}");
      bool& flag = m == "id"     ? (pick ? pr.pick_id : pr.omit_id)
                   : m == "type" ? (pick ? pr.pick_type : pr.omit_type)
                                 : (pick ? pr.pick_scope : pr.omit_scope);
      flag = true;
      return Status::Ok();
    }
    if (!valid_name(m)) return fail("'" + m + "' is not a valid attribute name");
    // A name nobody stored has no atom: it picks nothing, omits nothing, follows nothing.
    Atom name = ctx_.lookup(m);
    // omit=rel{...} omits within the linked entities only; pick=rel{...} also keeps rel.
    if (pick || !nested) (pick ? pr.pick_attrs : pr.omit_attrs).push_back(name);
    if (nested) pr.linked.emplace_back(name, std::move(nested));
    return Status::Ok();
  }

  Status fail(const std::string& what) const {
    return Status::BadRequestData(std::string(param_) + ": '" + std::string(text_.substr(0, 200)) +
                                  "' " + what);
  }

  std::string_view param_;
  std::string_view text_;
  const jsonld::Context& ctx_;
  size_t pos_ = 0;
};

}  // namespace

Status apply_representation_member(std::string_view name, std::string_view value,
                                   const jsonld::Context& ctx, RenderOptions& o) {
  std::string param(name);
  auto& pr = o.projection;
  if (name == "datasetId") {
    o.dataset_filter = true;
    auto ids = split_list(value);
    if (ids.empty()) return Status::BadRequestData("datasetId: must not be empty");
    for (const auto& d : ids) {
      if (d != "@none" && !is_absolute_uri(d)) {
        return Status::BadRequestData("datasetId: '" + d + "' is not a URI (or @none)");
      }
      // A datasetId no instance has selects nothing; it is not kept as an atom (the empty atom
      // would not match anything either, but it says nothing).
      Atom a = d == "@none" ? Atom::intern("@none") : Atom::find(d);
      if (!a.empty()) o.dataset_ids.push_back(a);
    }
    return Status::Ok();
  }
  if (value.empty()) return Status::BadRequestData(param + ": must list at least one member");
  if (name == "attrs") {
    // The deprecated attrs (§4.21 note): attribute names only, and the entity keeps its id,
    // type and scope.
    pr.pick = pr.pick_id = pr.pick_type = pr.pick_scope = true;
    for (const auto& m : split_list(value)) {
      if (m == "id" || m == "type" || m == "scope" || !valid_name(m)) {
        return Status::BadRequestData("attrs: '" + m + "' is not an attribute name");
      }
      pr.pick_attrs.push_back(ctx.lookup(m));  // an unknown name picks nothing
    }
    if (pr.pick_attrs.empty()) return Status::BadRequestData("attrs: must list an attribute");
    return Status::Ok();
  }
  ProjectionParser parser(name, value, ctx);
  return parser.level(name == "pick", pr, 0);
}

Status apply_join_member(std::string_view name, std::string_view value, RenderOptions& o) {
  if (name == "join") {
    if (value == "inline") {
      o.join = Join::kInline;
    } else if (value == "flat") {
      o.join = Join::kFlat;
    } else if (value != "@none") {
      return Status::BadRequestData("join: '" + std::string(value.substr(0, 100)) +
                                    "' is not one of flat, inline, @none");
    }
  } else if (name == "joinLevel") {
    int level = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), level);
    if (ec != std::errc() || end != value.data() + value.size() || level < 1 ||
        level > kMaxJoinLevel) {
      return Status::BadRequestData("joinLevel: '" + std::string(value.substr(0, 100)) +
                                    "' is not a whole number from 1 to " +
                                    std::to_string(kMaxJoinLevel));
    }
    o.join_level = level;
  } else if (name == "containedBy") {
    for (auto& id : split_list(value)) {
      if (!is_absolute_uri(id)) {
        return Status::BadRequestData("containedBy: '" + id + "' is not an entity id (a URI)");
      }
      o.contained_by.push_back(std::move(id));
    }
  }
  return Status::Ok();
}

Status check_linked_projection(const RenderOptions& o) {
  if (o.projection.linked.empty() || o.join != Join::kNone) return Status::Ok();
  return Status::BadRequestData(
      "pick/omit: a projection in {...} applies to linked entities, which needs join=inline or "
      "join=flat (§4.5.23)");
}

Status join_complete(const RenderOptions& o) {
  if (!o.join_budget || !o.join_budget->exhausted) return Status::Ok();
  return Status(ErrorKind::kTooComplexQuery,
                "join: the entities asked for link to more than " +
                    std::to_string(JoinBudget().left) +
                    " entities; ask for fewer (limit), a lower joinLevel, or pick the "
                    "Relationships to follow");
}

Result<RenderOptions> representation_options(const QueryParams& q, const jsonld::Context& ctx,
                                             bool geojson) {
  RenderOptions o;
  o.ctx = &ctx;

  std::optional<Format> from_options;
  if (const std::string* v = q.find("options")) {
    for (const auto& opt : split_list(*v)) {
      std::optional<Format> f;
      if (opt == "keyValues" || opt == "simplified")
        f = Format::kKeyValues;
      else if (opt == "concise")
        f = Format::kConcise;
      else if (opt == "normalized")
        f = Format::kNormalized;
      else if (opt == "sysAttrs")
        o.sys_attrs = true;
      else {
        return Status::InvalidRequest("options: '" + opt +
                                      "' is not one of keyValues, simplified, concise, "
                                      "normalized, sysAttrs");
      }
      if (f) {
        if (from_options && *from_options != *f) {
          return Status::BadRequestData("options: '" + *v + "' asks for two representations");
        }
        from_options = f;
      }
    }
  }
  if (const std::string* v = q.find("format")) {
    if (*v == "keyValues" || *v == "simplified")
      o.format = Format::kKeyValues;
    else if (*v == "concise")
      o.format = Format::kConcise;
    else if (*v == "normalized")
      o.format = Format::kNormalized;
    else {
      return Status::InvalidRequest("format: '" + *v +
                                    "' is not one of normalized, concise, keyValues, simplified");
    }
  } else if (from_options) {
    o.format = *from_options;
  }

  const std::string* pick = q.find("pick");
  const std::string* omit = q.find("omit");
  const std::string* attrs = q.find("attrs");
  if (pick && omit) return Status::BadRequestData("pick and omit cannot be used together");
  if (pick && attrs) return Status::BadRequestData("pick and attrs cannot be used together");
  if (omit && attrs) return Status::BadRequestData("omit and attrs cannot be used together");
  for (const char* name : {"pick", "omit", "attrs", "datasetId"}) {
    if (const std::string* v = q.find(name)) {
      TSUNAGU_RETURN_IF_ERROR(apply_representation_member(name, *v, ctx, o));
    }
  }
  if (const std::string* v = q.find("lang")) {
    if (v->empty()) return Status::BadRequestData("lang: must name a language");
    o.lang = *v;
  }
  for (const char* name : {"join", "joinLevel", "containedBy"}) {
    if (const std::string* v = q.find(name)) {
      TSUNAGU_RETURN_IF_ERROR(apply_join_member(name, *v, o));
    }
  }
  TSUNAGU_RETURN_IF_ERROR(check_linked_projection(o));
  if (q.find("geometryProperty") != nullptr && !geojson) {
    return Status::BadRequestData(
        "geometryProperty: only applies when Accept is "
        "application/geo+json (§5.7.2.4)");
  }
  return o;
}

}  // namespace tsunagu::ngsild
