// Discovery (ETSI GS CIM 009 §6.25-§6.28): GET /types, /types/{type}, /attributes,
// /attributes/{attrId}, with details=true, names compacted with the request's @context. The
// registered context sources that take the operation are asked the same (§4.3.6.2), and what
// they hold is added to what is held here (docs/federation.md, "Distributed discovery").
#include <algorithm>
#include <memory>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "http/api/api.hpp"
#include "http/api/federation.hpp"

namespace tsunagu::http::api {
namespace {

using engine::AttributeInfo;
using engine::TypeInfo;
namespace jsonld = ngsild::jsonld;

std::string list_id(std::string_view kind) {
  static std::atomic<uint64_t> counter{0};
  char buf[64];
  snprintf(buf, sizeof buf, "%llx-%llx", static_cast<unsigned long long>(now_us()),
           static_cast<unsigned long long>(counter.fetch_add(1)));
  return "urn:ngsi-ld:" + std::string(kind) + ":" + buf;
}

// Writes names compacted and sorted, for stable answers.
std::vector<std::string> compacted(const jsonld::Context& ctx, const std::vector<Atom>& names) {
  std::vector<std::string> out;
  for (Atom a : names)
    out.push_back(ctx.compact(a));
  std::sort(out.begin(), out.end());
  return out;
}

void string_array(JsonWriter& w, const std::vector<std::string>& items) {
  w.begin_array();
  for (const auto& s : items)
    w.string(s);
  w.end_array();
}

void context_member(const Prepared& p, JsonWriter& w) {
  if (p.accept == MediaType::kJsonLd) {
    w.key("@context");
    w.raw(p.ctx->body_json());
  }
}

// Sorts `infos` by their names compacted (for stable answers) and returns those names.
template <typename Info>
std::vector<std::string> sort_by_name(const Prepared& p, std::vector<Info>& infos,
                                      Atom Info::*name) {
  std::sort(infos.begin(), infos.end(), [&](const Info& a, const Info& b) {
    return p.ctx->compact(a.*name) < p.ctx->compact(b.*name);
  });
  std::vector<std::string> names;
  for (const auto& i : infos)
    names.push_back(p.ctx->compact(i.*name));
  return names;
}

// An EntityTypeList or AttributeList (§5.2.24, §5.2.27): a fresh id, and the names.
void name_list(const Prepared& p, std::string_view kind, std::string_view member,
               const std::vector<std::string>& names, JsonWriter& w) {
  w.begin_object();
  w.key("id");
  w.string(list_id(kind));
  w.key("type");
  w.string(kind);
  w.key(member);
  string_array(w, names);
  context_member(p, w);
  w.end_object();
}

void render_types(Prepared& p, std::vector<TypeInfo>& infos, bool details,
                  std::vector<Header> warnings) {
  const auto names = sort_by_name(p, infos, &TypeInfo::type);
  std::string body;
  JsonWriter w(body);
  if (!details) {
    name_list(p, "EntityTypeList", "typeList", names, w);
  } else {
    w.begin_array();
    for (const auto& i : infos) {
      w.begin_object();
      w.key("id");
      w.string(i.type.str());
      w.key("type");
      w.string("EntityType");
      w.key("typeName");
      w.string(p.ctx->compact(i.type));
      w.key("attributeNames");
      string_array(w, compacted(*p.ctx, i.attributes));
      context_member(p, w);
      w.end_object();
    }
    w.end_array();
  }
  p.respond_json(200, std::move(body), std::move(warnings));
}

void attribute_object(const Prepared& p, const AttributeInfo& a, bool counts, JsonWriter& w) {
  const auto& ctx = *p.ctx;
  w.begin_object();
  w.key("id");
  w.string(a.name.str());
  w.key("type");
  w.string("Attribute");
  w.key("attributeName");
  w.string(ctx.compact(a.name));
  if (counts) {
    w.key("attributeCount");
    w.number(static_cast<int64_t>(a.instances));
    w.key("attributeTypes");
    w.begin_array();
    for (auto k : a.kinds)
      w.string(ngsild::kind_name(k));
    w.end_array();
  }
  w.key("typeNames");
  string_array(w, compacted(ctx, a.types));
  context_member(p, w);
  w.end_object();
}

void add_unique(std::vector<Atom>& to, Atom a) {
  if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
}

// The names of a source's JSON array of strings, expanded with the request's @context (the
// source compacted them with it: the request's Link went along).
std::vector<Atom> names_of(const JsonValue& v, const Prepared& p) {
  std::vector<Atom> out;
  if (!v.IsArray()) return out;
  for (const auto& n : v.GetArray()) {
    if (n.IsString()) out.push_back(p.ctx->expand({n.GetString(), n.GetStringLength()}));
  }
  return out;
}

const JsonValue* member(const JsonValue& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto m = v.FindMember(name);
  return m == v.MemberEnd() ? nullptr : &m->value;
}

TypeInfo& type_entry(std::vector<TypeInfo>& infos, Atom type) {
  for (auto& i : infos) {
    if (i.type == type) return i;
  }
  infos.push_back({type, 0, {}});
  return infos.back();
}

AttributeInfo& attribute_entry(std::vector<AttributeInfo>& infos, Atom name) {
  for (auto& i : infos) {
    if (i.name == name) return i;
  }
  infos.push_back({name, 0, 0, {}, {}});
  return infos.back();
}

// Adds an Attribute object of a source (§5.2.28: attributeName, attributeCount,
// attributeTypes, typeNames) to `infos`.
void add_attribute(std::vector<AttributeInfo>& infos, const JsonValue& a, const Prepared& p) {
  const JsonValue* name = member(a, "attributeName");
  if (name == nullptr || !name->IsString()) return;
  AttributeInfo& info =
      attribute_entry(infos, p.ctx->expand({name->GetString(), name->GetStringLength()}));
  if (const JsonValue* count = member(a, "attributeCount"); count && count->IsUint64()) {
    info.instances += count->GetUint64();
  }
  if (const JsonValue* kinds = member(a, "attributeTypes"); kinds && kinds->IsArray()) {
    for (const auto& k : kinds->GetArray()) {
      for (int i = 0; k.IsString() && i <= static_cast<int>(ngsild::AttrKind::kListRelationship);
           ++i) {
        const auto kind = static_cast<ngsild::AttrKind>(i);
        if (ngsild::kind_name(kind) == std::string_view(k.GetString(), k.GetStringLength()) &&
            std::find(info.kinds.begin(), info.kinds.end(), kind) == info.kinds.end()) {
          info.kinds.push_back(kind);
        }
      }
    }
  }
  if (const JsonValue* types = member(a, "typeNames")) {
    for (Atom t : names_of(*types, p))
      add_unique(info.types, t);
  }
}

// The type or attribute of the path, expanded: an IRI nothing here holds is only interned when
// sources may be asked about it (reads never intern names otherwise, Context::lookup).
Atom asked_name(Env& env, const Prepared& p) {
  const std::string& name = p.call.params.at(0);
  const Atom held = p.ctx->lookup(name);
  return held.empty() && may_forward(env, p) ? p.ctx->expand(name) : held;
}

// Asks the sources registered for `operation` (those `which` selects) the request itself, then
// calls `answer` with their answers that parsed (none when no source is registered) and the
// warning naming those that failed.
void with_sources(
    Env& env, Prepared&& p, std::string_view operation,
    const ngsild::registration::RegistrationQuery& which,
    std::function<void(Prepared&, const std::vector<JsonDoc>&, std::vector<Header>)> answer) {
  auto sources = read_sources(env, p, {operation}, which);
  if (sources.empty()) return answer(p, {}, {});
  std::vector<Forward> requests(sources.size(), Forward{"GET", forwarded_path(p)});
  auto shared = std::make_shared<Prepared>(std::move(p));
  fan_out(env, *shared, sources, std::move(requests),
          [shared, answer = std::move(answer)](std::vector<SourceAnswer> answers) {
            std::vector<JsonDoc> docs;
            for (const auto& a : answers) {
              JsonDoc d;
              if (a.outcome.ok() && parse_json(a.outcome.body, d).ok()) {
                docs.push_back(std::move(d));
              }
            }
            answer(*shared, docs, source_warnings(answers));
          });
}

const CallSpec& list_spec() {
  static const CallSpec spec{
      false, {}, {MediaType::kJson, MediaType::kJsonLd}, {"details", "local"}};
  return spec;
}
const CallSpec& item_spec() {
  static const CallSpec spec{false, {}, {MediaType::kJson, MediaType::kJsonLd}, {"local"}};
  return spec;
}

}  // namespace

void retrieve_entity_types(Env& env, Call&& c) {
  prepare(env, std::move(c), list_spec(), [&env](Prepared&& p) {
    auto details = flag_param(p.call.query, "details");
    if (!details.ok()) return p.fail(details.status());
    auto found = env.entities.types(p.tenant, p.restriction);
    if (!found.ok()) return p.fail(found.status());
    const bool detailed = *details;
    with_sources(
        env, std::move(p), detailed ? "retrieveEntityTypeDetails" : "retrieveEntityTypes", {},
        [detailed, infos = std::move(*found)](Prepared& p, const std::vector<JsonDoc>& docs,
                                              std::vector<Header> warnings) mutable {
          for (const auto& d : docs) {
            if (const JsonValue* list = member(d, "typeList")) {
              for (Atom t : names_of(*list, p))
                type_entry(infos, t);
            }
            if (!d.IsArray()) continue;
            for (const auto& e : d.GetArray()) {
              const JsonValue* name = member(e, "typeName");
              if (name == nullptr || !name->IsString()) continue;
              TypeInfo& info =
                  type_entry(infos, p.ctx->expand({name->GetString(), name->GetStringLength()}));
              if (const JsonValue* attrs = member(e, "attributeNames")) {
                for (Atom a : names_of(*attrs, p))
                  add_unique(info.attributes, a);
              }
            }
          }
          render_types(p, infos, detailed, std::move(warnings));
        });
  });
}

void retrieve_entity_type_info(Env& env, Call&& c) {
  prepare(env, std::move(c), item_spec(), [&env](Prepared&& p) {
    auto found = env.entities.types(p.tenant, p.restriction);
    if (!found.ok()) return p.fail(found.status());
    auto found_attrs = env.entities.attributes(p.tenant, p.restriction);
    if (!found_attrs.ok()) return p.fail(found_attrs.status());
    const Atom wanted = asked_name(env, p);
    // What is held here: the type's entity count and its attributes with their kinds.
    std::optional<TypeInfo> type;
    std::vector<AttributeInfo> details;
    for (const auto& i : *found) {
      if (i.type != wanted) continue;
      type = i;
      for (const auto& a : *found_attrs) {
        if (std::find(i.attributes.begin(), i.attributes.end(), a.name) != i.attributes.end()) {
          details.push_back(a);
        }
      }
    }
    ngsild::registration::RegistrationQuery which;
    which.entities.types = ngsild::query::TypeSelection{false, {{wanted}}};
    with_sources(
        env, std::move(p), "retrieveEntityTypeInfo", which,
        [wanted, type = std::move(type), details = std::move(details)](
            Prepared& p, const std::vector<JsonDoc>& docs, std::vector<Header> warnings) mutable {
          for (const auto& d : docs) {
            const JsonValue* count = member(d, "entityCount");
            if (count == nullptr || !count->IsUint64()) continue;  // not an EntityTypeInfo
            if (!type) type = TypeInfo{wanted, 0, {}};
            type->entities += count->GetUint64();
            if (const JsonValue* attrs = member(d, "attributeDetails"); attrs && attrs->IsArray()) {
              for (const auto& a : attrs->GetArray())
                add_attribute(details, a, p);
            }
          }
          if (!type) {
            return p.fail(Status::NotFound("no entity of type '" + p.call.params.at(0) + "'"));
          }
          sort_by_name(p, details, &AttributeInfo::name);
          std::string body;
          JsonWriter w(body);
          w.begin_object();
          w.key("id");
          w.string(type->type.str());
          w.key("type");
          w.string("EntityTypeInfo");
          w.key("typeName");
          w.string(p.ctx->compact(type->type));
          w.key("entityCount");
          w.number(static_cast<int64_t>(type->entities));
          w.key("attributeDetails");
          w.begin_array();
          for (const auto& a : details) {
            w.begin_object();
            w.key("id");
            w.string(a.name.str());
            w.key("type");
            w.string("Attribute");
            w.key("attributeName");
            w.string(p.ctx->compact(a.name));
            w.key("attributeTypes");
            w.begin_array();
            for (auto k : a.kinds)
              w.string(ngsild::kind_name(k));
            w.end_array();
            w.end_object();
          }
          w.end_array();
          context_member(p, w);
          w.end_object();
          p.respond_json(200, std::move(body), std::move(warnings));
        });
  });
}

void retrieve_attr_types(Env& env, Call&& c) {
  prepare(env, std::move(c), list_spec(), [&env](Prepared&& p) {
    auto details = flag_param(p.call.query, "details");
    if (!details.ok()) return p.fail(details.status());
    auto found = env.entities.attributes(p.tenant, p.restriction);
    if (!found.ok()) return p.fail(found.status());
    const bool detailed = *details;
    with_sources(
        env, std::move(p), detailed ? "retrieveAttrTypeDetails" : "retrieveAttrTypes", {},
        [detailed, infos = std::move(*found)](Prepared& p, const std::vector<JsonDoc>& docs,
                                              std::vector<Header> warnings) mutable {
          for (const auto& d : docs) {
            if (const JsonValue* list = member(d, "attributeList")) {
              for (Atom a : names_of(*list, p))
                attribute_entry(infos, a);
            }
            if (!d.IsArray()) continue;
            for (const auto& a : d.GetArray())
              add_attribute(infos, a, p);
          }
          const auto names = sort_by_name(p, infos, &AttributeInfo::name);
          std::string body;
          JsonWriter w(body);
          if (!detailed) {
            name_list(p, "AttributeList", "attributeList", names, w);
          } else {
            w.begin_array();
            for (const auto& i : infos)
              attribute_object(p, i, false, w);
            w.end_array();
          }
          p.respond_json(200, std::move(body), std::move(warnings));
        });
  });
}

void retrieve_attr_type_info(Env& env, Call&& c) {
  prepare(env, std::move(c), item_spec(), [&env](Prepared&& p) {
    auto found = env.entities.attributes(p.tenant, p.restriction);
    if (!found.ok()) return p.fail(found.status());
    const Atom wanted = asked_name(env, p);
    std::vector<AttributeInfo> infos;
    for (const auto& i : *found) {
      if (i.name == wanted) infos.push_back(i);
    }
    ngsild::registration::RegistrationQuery which;
    which.entities.attrs = {wanted};
    with_sources(env, std::move(p), "retrieveAttrTypeInfo", which,
                 [infos = std::move(infos)](Prepared& p, const std::vector<JsonDoc>& docs,
                                            std::vector<Header> warnings) mutable {
                   for (const auto& d : docs)
                     add_attribute(infos, d, p);
                   if (infos.empty()) {
                     return p.fail(Status::NotFound("no entity has an attribute '" +
                                                    p.call.params.at(0) + "'"));
                   }
                   std::string body;
                   JsonWriter w(body);
                   attribute_object(p, infos.front(), true, w);
                   p.respond_json(200, std::move(body), std::move(warnings));
                 });
  });
}

}  // namespace tsunagu::http::api
