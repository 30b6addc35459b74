#include "engine/temporal.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "common/json.hpp"
#include "engine/entity_service.hpp"
#include "engine/loader.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::engine {
namespace {

using ngsild::temporal::TemporalEntityView;
using ngsild::temporal::TimeRel;

// A writer on a MemoryStore with the temporal service listening, as app/main.cpp wires them;
// "restarting" builds all of it again on the same stored data.
class TemporalTest : public ::testing::Test {
 protected:
  TemporalTest() : cache_(nullptr, {}) { start(); }
  ~TemporalTest() override { stop(); }

  void start() {
    store_ = std::make_unique<store::MemoryStore>(data_);
    tenants_ = std::make_unique<TenantRegistry>();
    temporal_ = std::make_unique<TemporalService>(*store_);
    auto loaded = load_state(*store_, *tenants_,
                             {{std::string(TemporalService::kRecordKind),
                               [this](std::string_view t, std::string_view k, std::string_view d) {
                                 return temporal_->load(t, k, d);
                               }}});
    ASSERT_TRUE(loaded.ok()) << loaded.status().detail();
    auto seq = store_->note(TemporalService::kSeqNote);
    ASSERT_TRUE(seq.ok());
    ASSERT_TRUE(temporal_->load_seq(*seq).ok());
    Writer::Options o;
    o.listeners = {temporal_.get()};
    writer_ = std::make_unique<Writer>(*store_, *tenants_, o);
    writer_->set_next_row(loaded->max_row + 1);
    writer_->start();
    temporal_->attach(*writer_);
    entities_ = std::make_unique<EntityService>(*tenants_, *writer_);
  }

  void stop() {
    writer_->stop();
    entities_.reset();
    writer_.reset();
    temporal_.reset();
    tenants_.reset();
    store_.reset();
  }

  void restart() {
    stop();
    start();
  }

  EntityInput input(std::string_view json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto r = ngsild::parse_entity(doc, *cache_.core(),
                                  ngsild::ParseOptions{ngsild::ParseMode::kFragment, false, false});
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().detail();
    return r.ok() ? std::move(r).value() : EntityInput{};
  }

  // A provision payload whose attribute `name` has the instances (value, observedAt in
  // minutes after 2026-01-01T00:00:00Z).
  TemporalService::Input provision(const std::string& id, const std::string& name,
                                   const std::vector<std::pair<int, int>>& instances) {
    TemporalService::Input in;
    in.id = id;
    in.types = {cache_.core()->expand("Sensor")};
    for (auto [value, minute] : instances) {
      TemporalService::InstanceInput i;
      i.attr.name = cache_.core()->expand(name);
      i.attr.value = ngsild::Value::integer(value);
      i.attr.observed_at = kT0 + int64_t{minute} * 60'000'000;
      in.instances.push_back(std::move(i));
    }
    return in;
  }

  Status wait(const std::function<void(TemporalService::Done)>& op) {
    std::promise<Status> p;
    op([&p](const Status& st) { p.set_value(st); });
    return p.get_future().get();
  }

  Status upsert(TemporalService::Input in) {
    std::promise<Status> p;
    temporal_->upsert("", std::move(in), [&p](const Status& st, bool) { p.set_value(st); });
    return p.get_future().get();
  }

  // (value, minute) of each instance of `name`, in the order the read gives them.
  std::vector<std::pair<int64_t, int64_t>> values(const std::string& id, const std::string& name,
                                                  TemporalReadSpec spec = {}) {
    auto v = temporal_->retrieve("", id, spec);
    EXPECT_TRUE(v.ok()) << v.status().detail();
    std::vector<std::pair<int64_t, int64_t>> out;
    if (!v.ok()) return out;
    Atom n = cache_.core()->expand(name);
    for (const auto& s : v->series) {
      if (s.name != n) continue;
      for (const auto& i : s.instances) {
        int64_t at = i.deleted_at != kNoTime ? i.deleted_at : i.attr.observed_at;
        out.emplace_back(!i.attr.value.is_number() ? -1 : i.attr.value.as_int(),
                         at == kNoTime ? -1 : (at - kT0) / 60'000'000);
      }
    }
    return out;
  }

  static constexpr int64_t kT0 = 1767225600000000;  // 2026-01-01T00:00:00Z
  ngsild::jsonld::ContextCache cache_;
  std::shared_ptr<store::MemoryStore::Data> data_ = std::make_shared<store::MemoryStore::Data>();
  std::unique_ptr<store::MemoryStore> store_;
  std::unique_ptr<TenantRegistry> tenants_;
  std::unique_ptr<TemporalService> temporal_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<EntityService> entities_;
};

using Pairs = std::vector<std::pair<int64_t, int64_t>>;

TEST_F(TemporalTest, ProvisionKeepsTimeOrderAndSurvivesARestart) {
  ASSERT_TRUE(upsert(provision("urn:ngsi-ld:Sensor:1", "t", {{3, 30}, {1, 10}, {2, 20}})).ok());
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:1", "t"), (Pairs{{1, 10}, {2, 20}, {3, 30}}));
  restart();
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:1", "t"), (Pairs{{1, 10}, {2, 20}, {3, 30}}));
  // Instances added after the restart get instanceIds of their own.
  ASSERT_TRUE(upsert(provision("urn:ngsi-ld:Sensor:1", "t", {{4, 40}})).ok());
  auto v = temporal_->retrieve("", "urn:ngsi-ld:Sensor:1", {});
  ASSERT_TRUE(v.ok());
  std::set<std::string> ids;
  for (const auto& i : v->series.at(0).instances)
    ids.insert(i.instance_id);
  EXPECT_EQ(ids.size(), 4u);
}

TEST_F(TemporalTest, AnInstanceSentAgainReplacesTheOneObservedThen) {
  ASSERT_TRUE(upsert(provision("urn:ngsi-ld:Sensor:2", "t", {{1, 10}, {2, 20}})).ok());
  ASSERT_TRUE(upsert(provision("urn:ngsi-ld:Sensor:2", "t", {{5, 20}, {3, 30}, {6, 30}})).ok());
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:2", "t"), (Pairs{{1, 10}, {5, 20}, {6, 30}}));
}

TEST_F(TemporalTest, EveryEntityWriteIsCaptured) {
  std::promise<Status> created;
  entities_->create("", nullptr, input(R"({"id": "urn:ngsi-ld:Sensor:3", "type": "Sensor",
                              "t": {"type": "Property", "value": 1,
                                    "observedAt": "2026-01-01T00:05:00Z"},
                              "u": {"type": "Property", "value": 9}})"),
                    [&](const Status& st) { created.set_value(st); });
  ASSERT_TRUE(created.get_future().get().ok());
  Target target{"", "urn:ngsi-ld:Sensor:3", std::nullopt};
  std::promise<Status> updated;
  entities_->update(target, input(R"({"t": {"type": "Property", "value": 2,
                                    "observedAt": "2026-01-01T00:06:00Z"}})"),
                    [&](const Status& st, const UpdateOutcome&) { updated.set_value(st); });
  ASSERT_TRUE(updated.get_future().get().ok());
  EXPECT_TRUE(wait([&](TemporalService::Done d) {
                entities_->delete_attribute(target, cache_.core()->expand("u"), std::nullopt, false,
                                            std::move(d));
              }).ok());
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:3", "t"), (Pairs{{1, 5}, {2, 6}}));
  TemporalReadSpec deletions;
  deletions.time.property = ngsild::temporal::TimeProperty::kDeletedAt;
  auto u = values("urn:ngsi-ld:Sensor:3", "u", deletions);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].first, -1);  // NGSI-LD Null, with the time of the deletion
  restart();
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:3", "t"), (Pairs{{1, 5}, {2, 6}}));
}

TEST_F(TemporalTest, WindowAndLastN) {
  ASSERT_TRUE(
      upsert(provision("urn:ngsi-ld:Sensor:4", "t", {{1, 10}, {2, 20}, {3, 30}, {4, 40}})).ok());
  TemporalReadSpec spec;
  spec.time.rel = TimeRel::kBetween;
  spec.time.at = kT0 + int64_t{20} * 60'000'000;
  spec.time.end_at = kT0 + int64_t{40} * 60'000'000;
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:4", "t", spec), (Pairs{{2, 20}, {3, 30}}));
  spec.last_n = 1;
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:4", "t", spec), (Pairs{{3, 30}}));
  // Cut to two instances: with lastN the latest are kept, otherwise the earliest.
  TemporalReadSpec cut;
  cut.max_instances = 2;
  auto v = temporal_->retrieve("", "urn:ngsi-ld:Sensor:4", cut);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->truncated);
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:4", "t", cut), (Pairs{{1, 10}, {2, 20}}));
  cut.last_n = 4;
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:4", "t", cut), (Pairs{{3, 30}, {4, 40}}));
}

TEST_F(TemporalTest, InstancesAreModifiedAndDeletedOneByOne) {
  auto in = provision("urn:ngsi-ld:Sensor:5", "t", {{1, 10}, {2, 20}, {3, 30}});
  in.instances[0].instance_id = "urn:test:a";
  in.instances[1].instance_id = "urn:test:b";
  ASSERT_TRUE(upsert(std::move(in)).ok());
  Atom t = cache_.core()->expand("t");
  ngsild::Attribute fragment;
  fragment.value = ngsild::Value::integer(7);
  EXPECT_TRUE(wait([&](TemporalService::Done d) {
                temporal_->update_instance("", "urn:ngsi-ld:Sensor:5", t, "urn:test:b", fragment,
                                           std::move(d));
              }).ok());
  EXPECT_TRUE(wait([&](TemporalService::Done d) {
                temporal_->delete_instance("", "urn:ngsi-ld:Sensor:5", t, "urn:test:a",
                                           std::move(d));
              }).ok());
  EXPECT_EQ(wait([&](TemporalService::Done d) {
              temporal_->delete_instance("", "urn:ngsi-ld:Sensor:5", t, "urn:test:a", std::move(d));
            }).kind(),
            ErrorKind::kResourceNotFound);
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:5", "t"), (Pairs{{7, 20}, {3, 30}}));
  restart();
  EXPECT_EQ(values("urn:ngsi-ld:Sensor:5", "t"), (Pairs{{7, 20}, {3, 30}}));
}

TEST_F(TemporalTest, DeletingTheRepresentationDropsTheHistory) {
  ASSERT_TRUE(upsert(provision("urn:ngsi-ld:Sensor:6", "t", {{1, 10}})).ok());
  EXPECT_TRUE(wait([&](TemporalService::Done d) {
                temporal_->remove("", "urn:ngsi-ld:Sensor:6", std::move(d));
              }).ok());
  EXPECT_EQ(temporal_->retrieve("", "urn:ngsi-ld:Sensor:6", {}).status().kind(),
            ErrorKind::kResourceNotFound);
  {
    std::lock_guard lock(data_->history_mu);
    for (const auto& [series, instances] : data_->history)
      EXPECT_TRUE(instances.empty()) << "series " << series;
  }
  restart();
  EXPECT_EQ(temporal_->retrieve("", "urn:ngsi-ld:Sensor:6", {}).status().kind(),
            ErrorKind::kResourceNotFound);
  EXPECT_EQ(temporal_->count(), 0u);
}

}  // namespace
}  // namespace tsunagu::engine
