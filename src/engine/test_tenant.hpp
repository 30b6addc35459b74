// Tests only: a Tenant filled the way the commit thread fills it (entities made by a create from
// normalized JSON with the core @context), and queries on it built from the texts a request
// carries (type, q, georel, scopeQ, orderBy), so that a test reads like the request it stands
// for. Answers are short ids ("Bin:1" for urn:ngsi-ld:Bin:1), in the order the engine gives.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/entity_ops.hpp"
#include "engine/query_engine.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/query/entity_query.hpp"

namespace tsunagu::engine::test {

inline constexpr int64_t kT0 = 1767225600000000;  // 2026-01-01T00:00:00Z

inline std::string short_id(std::string_view id) {
  constexpr std::string_view kPrefix = "urn:ngsi-ld:";
  if (id.substr(0, kPrefix.size()) == kPrefix) id.remove_prefix(kPrefix.size());
  return std::string(id);
}

inline std::vector<std::string> short_ids(const std::vector<EntityPtr>& entities) {
  std::vector<std::string> out;
  for (const auto& e : entities)
    out.push_back(short_id(e->id));
  return out;
}

// An EntityQuery put together from request texts. A text that does not parse fails the test.
class Query {
 public:
  explicit Query(const ngsild::jsonld::Context& ctx) : ctx_(&ctx) {}

  Query& id(std::string id) {
    q_.ids.push_back(std::move(id));
    return *this;
  }
  Query& id_pattern(const std::string& pattern) {
    q_.id_pattern = std::make_shared<re2::RE2>(pattern);
    EXPECT_TRUE(q_.id_pattern->ok()) << pattern;
    return *this;
  }
  Query& type(std::string_view text) {
    auto t = ngsild::query::parse_type_selection(text, *ctx_);
    EXPECT_TRUE(t.ok()) << text << ": " << t.status().detail();
    if (t.ok()) q_.types = std::move(*t);
    return *this;
  }
  // One EntitySelector of POST /entityOperations/query; empty texts are left out.
  Query& selector(std::string_view id, const std::string& id_pattern, std::string_view type) {
    ngsild::query::EntitySelector s;
    if (!id.empty()) s.id = std::string(id);
    if (!id_pattern.empty()) s.id_pattern = std::make_shared<re2::RE2>(id_pattern);
    if (!type.empty()) {
      auto t = ngsild::query::parse_type_selection(type, *ctx_);
      EXPECT_TRUE(t.ok()) << type << ": " << t.status().detail();
      if (t.ok()) s.types = std::move(*t);
    }
    q_.selectors.push_back(std::move(s));
    return *this;
  }
  Query& attrs(std::initializer_list<std::string_view> names) {
    for (auto n : names)
      q_.attrs.push_back(ctx_->lookup(n));
    return *this;
  }
  Query& q(std::string_view text) {
    auto e = ngsild::query::parse_q(text, *ctx_);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status().detail();
    if (e.ok()) q_.q = std::move(*e);
    return *this;
  }
  Query& geo(std::string_view georel, std::string_view geometry, std::string_view coordinates,
             std::string_view geoproperty = "location") {
    auto g = ngsild::geo::parse_geoquery(georel, geometry, coordinates);
    EXPECT_TRUE(g.ok()) << georel << " " << geometry << " " << coordinates << ": "
                        << g.status().detail();
    if (!g.ok()) return *this;
    q_.geo = std::move(*g);
    q_.geo->geoproperty = std::string(geoproperty);
    q_.geo_property = ctx_->lookup(geoproperty);
    return *this;
  }
  Query& scope(std::string_view text) {
    auto s = ngsild::query::parse_scope_query(text);
    EXPECT_TRUE(s.ok()) << text << ": " << s.status().detail();
    if (s.ok()) q_.scope = std::move(*s);
    return *this;
  }
  Query& order_by(std::string_view text) {
    auto o = ngsild::query::parse_order_by(text, *ctx_);
    EXPECT_TRUE(o.ok()) << text << ": " << o.status().detail();
    if (o.ok()) q_.order_by = std::move(*o);
    return *this;
  }
  // orderFrom, a Point ("[lon,lat]").
  Query& order_from(std::string_view coordinates) {
    auto g = ngsild::geo::parse_geojson_text(R"({"type":"Point","coordinates":)" +
                                             std::string(coordinates) + "}");
    EXPECT_TRUE(g.ok()) << coordinates << ": " << g.status().detail();
    if (g.ok()) q_.order_from = std::move(*g);
    return *this;
  }
  Query& page(size_t offset, size_t limit) {
    q_.offset = offset;
    q_.limit = limit;
    return *this;
  }
  Query& count() {
    q_.count = true;
    return *this;
  }

  const ngsild::query::EntityQuery& get() const { return q_; }
  ngsild::query::EntityQuery& get() { return q_; }

 private:
  const ngsild::jsonld::Context* ctx_;
  ngsild::query::EntityQuery q_;
};

// A tenant, the core @context, and the helpers above bound to them.
class TenantTest : public ::testing::Test {
 protected:
  TenantTest() : contexts_(nullptr, {}), tenant_("test") {}

  const ngsild::jsonld::Context& ctx() const { return *contexts_.core(); }

  // The entity a create of `json` (with id and type) makes, or null after a failed expectation.
  EntityPtr entity(std::string_view json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto in = ngsild::parse_entity(doc, ctx(),
                                   ngsild::ParseOptions{ngsild::ParseMode::kEntity, true, true});
    EXPECT_TRUE(in.ok()) << json << ": " << in.status().detail();
    if (!in.ok()) return nullptr;
    return std::make_shared<const ngsild::Entity>(create_entity(std::move(*in), kT0));
  }
  // Puts the entity of `json` into the tenant, as a create or a replace of its id does.
  void put(std::string_view json) {
    EntityPtr e = entity(json);
    ASSERT_NE(e, nullptr);
    tenant_.put(std::move(e));
  }

  Query query() const { return Query(ctx()); }
  QueryResult run(const Query& q) const { return QueryEngine::run(tenant_, q.get()); }
  // The ids of the page the query answers.
  std::vector<std::string> ids(const Query& q) const { return short_ids(run(q).entities); }
  // Every id of the tenant, in the order for_each gives them.
  std::vector<std::string> all_ids() const {
    std::vector<std::string> out;
    tenant_.for_each([&](const EntityPtr& e) { out.push_back(short_id(e->id)); });
    return out;
  }

  ngsild::jsonld::ContextCache contexts_;
  Tenant tenant_;
};

}  // namespace tsunagu::engine::test
