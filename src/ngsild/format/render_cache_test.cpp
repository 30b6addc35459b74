#include "ngsild/format/render_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "common/json.hpp"
#include "ngsild/model/test_atoms.hpp"

namespace tsunagu::ngsild {
namespace {

using test_atoms::D;

Entity sensor(int n) {
  Entity e;
  e.id = "urn:ngsi-ld:Sensor:" + std::to_string(n);
  e.types = {D("Sensor")};
  e.created_at = 1'700'000'000'000'000 + n;
  e.modified_at = e.created_at;
  Attribute t;
  t.name = D("temperature");
  t.value = Value::number(20.5 + n);
  Attribute name;
  name.kind = AttrKind::kLanguageProperty;
  name.name = D("name");
  name.value = Value::json(R"({"en":"park","ja":"公園"})");
  e.attrs = {t, name};
  return e;
}

uint64_t lookups(const char* result) {
  return metrics::registry()
      .counter("tsunagu_render_cache_lookups_total", "", {"result"})
      .with({result})
      .value();
}

class RenderCacheTest : public ::testing::Test {
 protected:
  RenderCacheTest() : contexts_(nullptr, {}) {}

  RenderOptions opts(Format f = Format::kNormalized) {
    RenderOptions o;
    o.ctx = contexts_.core().get();
    o.format = f;
    return o;
  }

  static std::string through(RenderCache& cache, const Entity& e, const RenderOptions& o) {
    std::string out;
    JsonWriter w(out);
    cache.render(e, o, w);
    return out;
  }

  jsonld::ContextCache contexts_;
};

TEST_F(RenderCacheTest, KeptTextIsWhatTheRendererWrites) {
  RenderCache cache(1 << 20);
  const Entity e = sensor(1);
  for (Format f : {Format::kNormalized, Format::kConcise, Format::kKeyValues}) {
    for (bool sys : {false, true}) {
      for (bool with_context : {false, true}) {
        RenderOptions o = opts(f);
        o.sys_attrs = sys;
        o.with_context = with_context;
        const std::string direct = render_entity(e, o);
        const uint64_t hits = lookups("hit"), misses = lookups("miss");
        EXPECT_EQ(through(cache, e, o), direct);  // rendered and kept
        EXPECT_EQ(lookups("miss"), misses + 1);
        EXPECT_EQ(through(cache, e, o), direct);  // from the cache
        EXPECT_EQ(lookups("hit"), hits + 1);
      }
    }
  }
  EXPECT_EQ(cache.stats().entries, 12u);  // one per form
}

TEST_F(RenderCacheTest, EntitiesInAnArrayGetTheirSeparators) {
  RenderCache cache(1 << 20);
  std::vector<Entity> page = {sensor(1), sensor(2), sensor(3)};
  const RenderOptions o = opts();
  auto render_page = [&](bool cached) {
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    for (const Entity& e : page)
      cached ? cache.render(e, o, w) : render_entity(e, o, w);
    w.end_array();
    return out;
  };
  const std::string direct = render_page(false);
  through(cache, page[1], o);  // the middle one kept, the others not yet
  EXPECT_EQ(render_page(true), direct);
  EXPECT_EQ(render_page(true), direct);  // all three kept
  JsonDoc doc;
  ASSERT_TRUE(parse_json(direct, doc).ok()) << direct;
}

// A write builds a new snapshot from a copy of the old one; the copy must not be mistaken for
// the snapshot it came from.
TEST_F(RenderCacheTest, ACopyIsRenderedAfreshOnceChanged) {
  RenderCache cache(1 << 20);
  const RenderOptions o = opts(Format::kKeyValues);
  auto first = std::make_shared<const Entity>(sensor(1));
  const std::string before = through(cache, *first, o);
  Entity next = *first;
  next.attrs[0].value = Value::number(99.5);
  EXPECT_NE(next.stamp.get(), first->stamp.get());
  const std::string after = through(cache, next, o);
  EXPECT_EQ(after, render_entity(next, o));
  EXPECT_NE(after.find("99.5"), std::string::npos) << after;
  Entity moved = std::move(next);
  moved.attrs[0].value = Value::number(7.5);
  EXPECT_NE(through(cache, moved, o).find("7.5"), std::string::npos);
  EXPECT_EQ(through(cache, *first, o), before);  // the old snapshot is unchanged
}

TEST_F(RenderCacheTest, ContextsAreKeptApart) {
  RenderCache cache(1 << 20);
  JsonDoc c;
  ASSERT_TRUE(
      parse_json(R"({"temp": "https://uri.etsi.org/ngsi-ld/default-context/temperature"})", c)
          .ok());
  auto custom = contexts_.from_json(c);
  ASSERT_TRUE(custom.ok());
  const Entity e = sensor(1);
  RenderOptions core = opts(), mine = opts();
  mine.ctx = custom->get();
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(through(cache, e, core), render_entity(e, core));
    const std::string out = through(cache, e, mine);
    EXPECT_EQ(out, render_entity(e, mine));
    EXPECT_NE(out.find("\"temp\":"), std::string::npos) << out;
  }
}

// Issue 14, item 11: the renderings of a deleted entity stayed until evicted. forget() drops
// every rendering of one snapshot (all forms, all contexts) and nothing of another's, also when
// entries of other snapshots share its probe sequence and move back as it is emptied.
TEST_F(RenderCacheTest, ForgetDropsEveryRenderingOfASnapshotAndNothingElse) {
  RenderCache cache(64 << 20);
  std::vector<Entity> all;
  for (int n = 0; n < 500; ++n)
    all.push_back(sensor(n));
  const std::vector<RenderOptions> forms = {opts(), opts(Format::kKeyValues),
                                            opts(Format::kConcise)};
  for (const Entity& e : all) {
    for (const RenderOptions& o : forms)
      through(cache, e, o);
  }
  ASSERT_EQ(cache.stats().entries, 1500u);
  const Entity never_rendered = sensor(9999);
  cache.forget(never_rendered);
  EXPECT_EQ(cache.stats().entries, 1500u);
  for (int n = 0; n < 500; n += 2)
    cache.forget(all[n]);
  EXPECT_EQ(cache.stats().entries, 750u);
  EXPECT_TRUE(cache.consistent());
  for (int n = 0; n < 500; ++n) {
    for (const RenderOptions& o : forms) {
      const uint64_t hits = lookups("hit");
      EXPECT_EQ(through(cache, all[n], o), render_entity(all[n], o));
      EXPECT_EQ(lookups("hit"), hits + (n % 2 == 1 ? 1 : 0)) << n;  // the forgotten: misses
    }
  }
  EXPECT_TRUE(cache.consistent());
}

TEST_F(RenderCacheTest, RenderingsThatDependOnTheRequestAreNotKept) {
  RenderCache cache(1 << 20);
  const Entity e = sensor(1);
  RenderOptions lang = opts(), pick = opts(), omit = opts(), dataset = opts(), changes = opts();
  lang.lang = "ja";
  pick.projection.pick = true;
  pick.projection.pick_attrs = {D("name")};
  omit.projection.omit_attrs = {D("name")};
  dataset.dataset_filter = true;
  const Entity earlier = sensor(2);  // a notification's showChanges: values of another state
  changes.previous = &earlier;
  for (const RenderOptions* o : {&lang, &pick, &omit, &dataset, &changes}) {
    EXPECT_FALSE(cache.keeps(*o));
    EXPECT_EQ(through(cache, e, *o), render_entity(e, *o));
    EXPECT_EQ(through(cache, e, *o), render_entity(e, *o));
  }
  EXPECT_NE(through(cache, e, lang).find("公園"), std::string::npos);
  EXPECT_EQ(through(cache, e, lang).find("park"), std::string::npos);
  EXPECT_NE(through(cache, e, changes).find("\"previousValue\":22.5"), std::string::npos);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_FALSE(RenderCache(0).keeps(opts()));
}

// Far more renderings than fit: the cache stays within its budget, evicts, and every answer
// (hit or miss, after many evictions moved entries within the tables) is still the right one.
TEST_F(RenderCacheTest, StaysWithinItsBudgetAndRightAfterEvictions) {
  const size_t budget = 256 << 10;
  RenderCache cache(budget);
  std::vector<Entity> all;
  for (int i = 0; i < 3000; ++i)
    all.push_back(sensor(i));
  const RenderOptions o = opts();
  std::vector<std::string> direct;
  for (const Entity& e : all)
    direct.push_back(render_entity(e, o));
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < all.size(); ++i) {
      // Some entities are read far more often: the clock keeps those.
      const size_t at = (i % 3 == 0) ? i % 200 : i;
      ASSERT_EQ(through(cache, all[at], o), direct[at]) << at;
    }
    const auto st = cache.stats();
    EXPECT_LE(st.bytes, budget);
    EXPECT_GT(st.entries, 100u);
    EXPECT_LT(st.entries, all.size());
    EXPECT_TRUE(cache.consistent());
  }
  const uint64_t hits = lookups("hit");
  for (size_t i = 0; i < 200; ++i)
    ASSERT_EQ(through(cache, all[i], o), direct[i]);
  EXPECT_GT(lookups("hit"), hits + 150);  // the often read ones stayed
}

TEST_F(RenderCacheTest, ThreadsShareOneCache) {
  RenderCache cache(128 << 10);  // small: threads evict each other's entries
  std::vector<Entity> all;
  for (int i = 0; i < 500; ++i)
    all.push_back(sensor(i));
  const RenderOptions kv = opts(Format::kKeyValues), normalized = opts();
  std::vector<std::string> direct_kv, direct_normalized;
  for (const Entity& e : all) {
    direct_kv.push_back(render_entity(e, kv));
    direct_normalized.push_back(render_entity(e, normalized));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < all.size(); ++i) {
          const size_t at = (i * 7 + t * 31 + round) % all.size();
          const bool use_kv = (at + t) % 2 == 0;
          const std::string out = through(cache, all[at], use_kv ? kv : normalized);
          if (out != (use_kv ? direct_kv[at] : direct_normalized[at])) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(cache.consistent());
  EXPECT_LE(cache.stats().bytes, size_t{128} << 10);
}

}  // namespace
}  // namespace tsunagu::ngsild
