// Entities as they were last rendered, kept for the next response that renders them the same
// way. A page of query results is mostly entities the same application asked for before, in
// the same form; copying their text is several times cheaper than rendering them again from
// the model scattered over the heap (docs/jsonld.md, "Rendered entities are kept").
//
// An entry is named by the entity snapshot's stamp, the @context's id and the form (format,
// sysAttrs, @context member). A published snapshot never changes and neither number is ever
// reused, so an entry can never be stale: a write publishes a new snapshot, whose renderings
// are new entries; the old ones are dropped by forget() (the writer's change feed calls it) or
// age out. Renderings that depend on more of the request (pick, omit, attrs, lang, datasetId,
// join, a notification's previous values) are not kept. The cache holds at most a configured
// number of bytes, evicting first the entries not read since they were last looked at (a
// clock); thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/json_writer.hpp"
#include "common/metrics.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::ngsild {

class RenderCache {
 public:
  // budget_bytes: what the kept texts and their bookkeeping may take; 0 keeps nothing.
  explicit RenderCache(size_t budget_bytes);
  ~RenderCache();
  RenderCache(const RenderCache&) = delete;
  RenderCache& operator=(const RenderCache&) = delete;

  // Writes `e` rendered with `o` to `w`, as render_entity() would: from a kept text when there
  // is one, else by rendering it and keeping the text.
  void render(const Entity& e, const RenderOptions& o, JsonWriter& w);

  // A page renders many entities: asking for entity i + 4's slot and then for entity i + 2's
  // entry (which the slot names by then) while entity i is copied hides most of the memory
  // latency of a lookup. `stage` 1 asks for the slot, 2 for the entry. Takes no lock and
  // changes nothing: it only reads memory early.
  void prefetch(const Entity& e, const RenderOptions& o, int stage) const;

  // Drops every kept rendering of snapshot `e`: called once a write replaced or deleted it, so
  // that what was deleted does not stay in memory until it is evicted. Costs nothing for a
  // snapshot that was never rendered.
  void forget(const Entity& e);

  // Whether renderings with `o` are kept (otherwise render() just renders).
  bool keeps(const RenderOptions& o) const;

  // Counted in /metrics as tsunagu_render_cache_lookups_total{result="hit"|"miss"} (every
  // cache in the process together).
  struct Stats {
    size_t bytes = 0, entries = 0;
  };
  Stats stats() const;
  // Tests: every kept entry is found by a lookup of its key, and the counts add up.
  bool consistent() const;

 private:
  struct Key {
    uint64_t snapshot, context;
    uint32_t form;
    bool operator==(const Key&) const = default;
  };
  // A kept rendering: this header, then the text, in one allocation.
  struct Entry {
    Key key;
    uint32_t size;
    bool used;  // read since it was kept or last passed over by the clock hand
    char* text() { return reinterpret_cast<char*>(this + 1); }
  };
  // Slots are written under the shard's mutex; their fields are atomics only so that
  // prefetch() may read them without it (relaxed: it only asks the CPU for memory).
  struct Slot {
    std::atomic<uint64_t> hash{0};
    std::atomic<Entry*> entry{nullptr};  // nullptr: empty
  };
  struct Table {
    explicit Table(size_t n) : mask(n - 1), slots(new Slot[n]) {}
    const size_t mask;  // size - 1, size a power of two
    const std::unique_ptr<Slot[]> slots;
  };
  // Each shard is an open-addressing table (linear probing, at most half full): a lookup reads
  // one slot and one entry, where a node-based map with a separate text reads four scattered
  // blocks. Eviction is a clock (second chance): a hit only marks its entry; the hand passes
  // over the slots, unmarking marked entries and evicting unmarked ones.
  struct Shard {
    std::mutex mu;
    std::atomic<Table*> table{nullptr};
    // Every table the shard had, the current one last: a prefetch() may still be reading an
    // outgrown one. Together they take less than twice the current one.
    std::vector<std::unique_ptr<Table>> tables;
    size_t count = 0;
    size_t bytes = 0;
    size_t hand = 0;
    ~Shard();
    Entry* find(uint64_t hash, const Key& k) const;
    void insert(uint64_t hash, Entry* e);
    void erase_at(size_t i);  // backward-shift deletion: no tombstones
  };
  static constexpr size_t kShards = 16;
  // What an entry costs beyond its text: its header, the allocator's rounding and two slots.
  static constexpr size_t kEntryOverhead = sizeof(Entry) + 16 + 2 * sizeof(Slot);

  // Of the snapshot alone: a snapshot's renderings (forms, contexts) share a probe sequence,
  // which forget() walks.
  static uint64_t hash_of(uint64_t snapshot);
  Shard& shard_of(uint64_t hash) { return shards_[hash >> 60]; }
  void keep(Shard& s, uint64_t hash, const Key& k, std::string_view text);

  const size_t shard_budget_;
  std::unique_ptr<Shard[]> shards_;
  metrics::Counter& hits_;
  metrics::Counter& misses_;
};

}  // namespace tsunagu::ngsild
