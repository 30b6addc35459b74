#include "engine/loader.hpp"

#include <algorithm>

#include "store/codec/entity_codec.hpp"

namespace tsunagu::engine {
namespace {

class Visitor final : public store::LoadVisitor {
 public:
  Visitor(TenantRegistry& tenants, std::vector<std::pair<std::string, RecordLoader>> records)
      : tenants_(tenants), records_(std::move(records)) {}

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
    auto decoded = store::decode_entity(doc);
    if (!decoded.ok()) return damaged(tenant, id, decoded.status().detail());
    auto e = std::make_shared<ngsild::Entity>(std::move(*decoded));
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
