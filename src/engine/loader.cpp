#include "engine/loader.hpp"

#include <algorithm>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/parse/entity_parser.hpp"

namespace tsunagu::engine {
namespace {

class Visitor final : public store::LoadVisitor {
 public:
  Visitor(TenantRegistry& tenants, std::vector<std::pair<std::string, RecordLoader>> records)
      : tenants_(tenants), records_(std::move(records)), contexts_(nullptr, {}) {}

  Status record(std::string_view kind, std::string_view tenant, std::string_view key,
                std::string_view doc) override {
    for (const auto& [k, load] : records_) {
      if (k == kind) {
        ++stats.records;
        return load(tenant, key, doc);
      }
    }
    return Status::Internal("the store holds records of kind '" + std::string(kind) +
                            "', which this version of Tsunagu does not know");
  }

  Status tenant(std::string_view name) override {
    bool created = false;
    tenants_.get_or_create(name, created)->set_persisted();
    if (created) ++stats.tenants;
    return Status::Ok();
  }

  Status entity(uint64_t row, std::string_view tenant, std::string_view id,
                std::string_view doc) override {
    JsonDoc json;
    Status st = parse_json(doc, json);
    if (!st.ok()) return damaged(tenant, id, st.detail());
    auto in = ngsild::parse_entity(json, *contexts_.core(),
                                   ngsild::ParseOptions{ngsild::ParseMode::kStored, true, true});
    if (!in.ok()) return damaged(tenant, id, in.status().detail());
    auto e = std::make_shared<ngsild::Entity>();
    e->id = std::move(*in->id);
    e->types = std::move(in->types);
    if (in->scopes) e->scopes = std::move(*in->scopes);
    e->created_at = in->created_at;
    e->modified_at = in->modified_at;
    e->attrs = std::move(in->attrs);
    e->row = row;
    e->shrink_to_fit();
    stats.max_row = std::max(stats.max_row, row);
    bool created = false;
    tenants_.get_or_create(tenant, created)->put(std::move(e));
    if (created) ++stats.tenants;
    ++stats.entities;
    return Status::Ok();
  }

  LoadStats stats;

 private:
  static Status damaged(std::string_view tenant, std::string_view id, const std::string& why) {
    return Status::Internal("stored entity '" + std::string(id) + "' of tenant '" +
                            std::string(tenant) + "' cannot be read: " + why);
  }

  TenantRegistry& tenants_;
  std::vector<std::pair<std::string, RecordLoader>> records_;
  ngsild::jsonld::ContextCache contexts_;
};

}  // namespace

Result<LoadStats> load_state(store::Store& store, TenantRegistry& tenants,
                             std::vector<std::pair<std::string, RecordLoader>> records) {
  Visitor v(tenants, std::move(records));
  Status st = store.load(v);
  if (!st.ok()) return st;
  return v.stats;
}

}  // namespace tsunagu::engine
