// Discovery (ETSI GS CIM 009 §6.25-§6.28): GET /types, /types/{type}, /attributes,
// /attributes/{attrId}, with details=true, names compacted with the request's @context.
#include <algorithm>
#include <memory>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "http/api/api.hpp"

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
    auto found = env.entities.types(p.tenant);
    if (!found.ok()) return p.fail(found.status());
    auto& infos = *found;
    std::sort(infos.begin(), infos.end(), [&](const TypeInfo& a, const TypeInfo& b) {
      return p.ctx->compact(a.type) < p.ctx->compact(b.type);
    });
    std::string body;
    JsonWriter w(body);
    if (!*details) {
      std::vector<std::string> names;
      for (const auto& i : infos)
        names.push_back(p.ctx->compact(i.type));
      w.begin_object();
      w.key("id");
      w.string(list_id("EntityTypeList"));
      w.key("type");
      w.string("EntityTypeList");
      w.key("typeList");
      string_array(w, names);
      context_member(p, w);
      w.end_object();
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
    p.respond_json(200, std::move(body));
  });
}

void retrieve_entity_type_info(Env& env, Call&& c) {
  prepare(env, std::move(c), item_spec(), [&env](Prepared&& p) {
    auto found = env.entities.types(p.tenant);
    if (!found.ok()) return p.fail(found.status());
    const auto& infos = *found;
    Atom wanted = p.ctx->lookup(p.call.params.at(0));
    auto it = std::find_if(infos.begin(), infos.end(),
                           [&](const TypeInfo& i) { return i.type == wanted; });
    if (it == infos.end()) {
      return p.fail(Status::NotFound("no entity of type '" + p.call.params.at(0) + "'"));
    }
    auto found_attrs = env.entities.attributes(p.tenant);
    if (!found_attrs.ok()) return p.fail(found_attrs.status());
    auto& attrs = *found_attrs;
    std::string body;
    JsonWriter w(body);
    w.begin_object();
    w.key("id");
    w.string(it->type.str());
    w.key("type");
    w.string("EntityTypeInfo");
    w.key("typeName");
    w.string(p.ctx->compact(it->type));
    w.key("entityCount");
    w.number(static_cast<int64_t>(it->entities));
    w.key("attributeDetails");
    w.begin_array();
    std::sort(attrs.begin(), attrs.end(), [&](const AttributeInfo& a, const AttributeInfo& b) {
      return p.ctx->compact(a.name) < p.ctx->compact(b.name);
    });
    for (const auto& a : attrs) {
      if (std::find(it->attributes.begin(), it->attributes.end(), a.name) == it->attributes.end()) {
        continue;
      }
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
    p.respond_json(200, std::move(body));
  });
}

void retrieve_attr_types(Env& env, Call&& c) {
  prepare(env, std::move(c), list_spec(), [&env](Prepared&& p) {
    auto details = flag_param(p.call.query, "details");
    if (!details.ok()) return p.fail(details.status());
    auto found = env.entities.attributes(p.tenant);
    if (!found.ok()) return p.fail(found.status());
    auto& infos = *found;
    std::sort(infos.begin(), infos.end(), [&](const AttributeInfo& a, const AttributeInfo& b) {
      return p.ctx->compact(a.name) < p.ctx->compact(b.name);
    });
    std::string body;
    JsonWriter w(body);
    if (!*details) {
      std::vector<std::string> names;
      for (const auto& i : infos)
        names.push_back(p.ctx->compact(i.name));
      w.begin_object();
      w.key("id");
      w.string(list_id("AttributeList"));
      w.key("type");
      w.string("AttributeList");
      w.key("attributeList");
      string_array(w, names);
      context_member(p, w);
      w.end_object();
    } else {
      w.begin_array();
      for (const auto& i : infos)
        attribute_object(p, i, false, w);
      w.end_array();
    }
    p.respond_json(200, std::move(body));
  });
}

void retrieve_attr_type_info(Env& env, Call&& c) {
  prepare(env, std::move(c), item_spec(), [&env](Prepared&& p) {
    auto found = env.entities.attributes(p.tenant);
    if (!found.ok()) return p.fail(found.status());
    const auto& infos = *found;
    Atom wanted = p.ctx->lookup(p.call.params.at(0));
    auto it = std::find_if(infos.begin(), infos.end(),
                           [&](const AttributeInfo& i) { return i.name == wanted; });
    if (it == infos.end()) {
      return p.fail(Status::NotFound("no entity has an attribute '" + p.call.params.at(0) + "'"));
    }
    std::string body;
    JsonWriter w(body);
    attribute_object(p, *it, true, w);
    p.respond_json(200, std::move(body));
  });
}

}  // namespace tsunagu::http::api
