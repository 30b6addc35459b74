#include "ngsild/format/render_cache.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace tsunagu::ngsild {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint32_t form_of(const RenderOptions& o) {
  return static_cast<uint32_t>(o.format) | (o.sys_attrs ? 4u : 0u) | (o.with_context ? 8u : 0u);
}

metrics::Family<metrics::Counter>& lookups() {
  static auto& f = metrics::registry().counter(
      "tsunagu_render_cache_lookups_total",
      "Entity renderings looked up among those kept, by result", {"result"});
  return f;
}

}  // namespace

static_assert(sizeof(uint64_t) * 8 - 60 == 4 && (size_t{1} << 4) == 16,
              "shard_of() takes the top four bits of the hash for kShards == 16");

uint64_t RenderCache::hash_of(uint64_t snapshot) {
  return mix(snapshot);
}

RenderCache::Shard::~Shard() {
  if (Table* t = table.load(kRelaxed)) {
    for (size_t i = 0; i <= t->mask; ++i)
      std::free(t->slots[i].entry.load(kRelaxed));
  }
}

RenderCache::Entry* RenderCache::Shard::find(uint64_t hash, const Key& k) const {
  const Table* t = table.load(kRelaxed);
  if (t == nullptr) return nullptr;
  for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
    const Slot& s = t->slots[i];
    Entry* e = s.entry.load(kRelaxed);
    if (e == nullptr) return nullptr;
    if (s.hash.load(kRelaxed) == hash && e->key == k) return e;
  }
}

void RenderCache::Shard::insert(uint64_t hash, Entry* e) {
  Table* t = table.load(kRelaxed);
  if (t == nullptr || 2 * (count + 1) > t->mask + 1) {
    const Table* old = t;
    tables.push_back(std::make_unique<Table>(old ? 2 * (old->mask + 1) : 64));
    t = tables.back().get();
    table.store(t, kRelaxed);
    count = 0;
    hand = 0;
    if (old != nullptr) {
      for (size_t i = 0; i <= old->mask; ++i) {
        if (Entry* moved = old->slots[i].entry.load(kRelaxed))
          insert(old->slots[i].hash.load(kRelaxed), moved);
      }
    }
  }
  size_t i = hash & t->mask;
  while (t->slots[i].entry.load(kRelaxed) != nullptr)
    i = (i + 1) & t->mask;
  t->slots[i].hash.store(hash, kRelaxed);
  t->slots[i].entry.store(e, kRelaxed);
  ++count;
}

void RenderCache::Shard::erase_at(size_t i) {
  Table* t = table.load(kRelaxed);
  Slot* slots = t->slots.get();
  std::free(slots[i].entry.load(kRelaxed));
  slots[i].entry.store(nullptr, kRelaxed);
  --count;
  // Entries after the hole whose probe passed through it move back into it.
  for (size_t j = (i + 1) & t->mask; slots[j].entry.load(kRelaxed) != nullptr;
       j = (j + 1) & t->mask) {
    const uint64_t hash = slots[j].hash.load(kRelaxed);
    const size_t home = hash & t->mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots[i].hash.store(hash, kRelaxed);
    slots[i].entry.store(slots[j].entry.load(kRelaxed), kRelaxed);
    slots[j].entry.store(nullptr, kRelaxed);
    i = j;
  }
}

RenderCache::RenderCache(size_t budget_bytes)
    : shard_budget_(budget_bytes / kShards),
      shards_(std::make_unique<Shard[]>(kShards)),
      hits_(lookups().with({"hit"})),
      misses_(lookups().with({"miss"})) {}

RenderCache::~RenderCache() = default;

bool RenderCache::keeps(const RenderOptions& o) const {
  const Projection& p = o.projection;
  // A joined rendering holds other entities, whose changes do not change this one's stamp.
  return shard_budget_ != 0 && o.ctx != nullptr && o.lang.empty() && o.join == Join::kNone &&
         o.previous == nullptr && !o.dataset_filter && !p.pick && p.omit_attrs.empty() &&
         !p.omit_id && !p.omit_type && !p.omit_scope;
}

void RenderCache::prefetch(const Entity& e, const RenderOptions& o, int stage) const {
  const uint64_t stamp = e.stamp.peek();
  if (stamp == 0 || !keeps(o)) return;  // never rendered, or not kept
  const uint64_t hash = hash_of(stamp);
  const Table* t = shards_[hash >> 60].table.load(kRelaxed);
  if (t == nullptr) return;
  const Slot& slot = t->slots[hash & t->mask];
  if (stage == 1) {
    __builtin_prefetch(&slot);
  } else if (const Entry* entry = slot.entry.load(kRelaxed)) {
    // May be another key's entry, or one just freed: prefetching never faults.
    __builtin_prefetch(entry);
    __builtin_prefetch(reinterpret_cast<const char*>(entry) + 64);
  }
}

void RenderCache::render(const Entity& e, const RenderOptions& o, JsonWriter& w) {
  if (!keeps(o)) return render_entity(e, o, w);
  const Key k{e.stamp.get(), o.ctx->id(), form_of(o)};
  const uint64_t hash = hash_of(k.snapshot);
  Shard& s = shard_of(hash);
  {
    std::lock_guard lock(s.mu);
    if (Entry* hit = s.find(hash, k)) {
      hit->used = true;
      w.raw(std::string_view(hit->text(), hit->size));
      hits_.inc();
      return;
    }
  }
  misses_.inc();
  // Rendered in place, after the separator the writer owes; then the same bytes are kept.
  std::string& out = w.buffer_for_raw();
  const size_t start = out.size();
  JsonWriter inner(out);
  render_entity(e, o, inner);
  const std::string_view text(out.data() + start, out.size() - start);
  if (text.size() + kEntryOverhead <= shard_budget_ / 8) keep(s, hash, k, text);
}

void RenderCache::keep(Shard& s, uint64_t hash, const Key& k, std::string_view text) {
  std::lock_guard lock(s.mu);
  // Another thread may have kept the same rendering meanwhile.
  if (s.find(hash, k) != nullptr) return;
  void* block = std::malloc(sizeof(Entry) + text.size());
  if (block == nullptr) return;  // not kept: the response is complete without it
  Entry* e = new (block) Entry{k, static_cast<uint32_t>(text.size()), false};
  std::memcpy(e->text(), text.data(), text.size());
  s.bytes += text.size() + kEntryOverhead;
  // Room first, so that the hand never evicts the entry being kept.
  while (s.bytes > shard_budget_ && s.count > 0) {
    const Table* t = s.table.load(kRelaxed);
    s.hand &= t->mask;
    Entry* at = t->slots[s.hand].entry.load(kRelaxed);
    if (at == nullptr) {
      ++s.hand;
    } else if (at->used) {
      at->used = false;
      ++s.hand;
    } else {
      s.bytes -= at->size + kEntryOverhead;
      s.erase_at(s.hand);  // a later entry may move into this slot: look at it again
    }
  }
  s.insert(hash, e);
}

void RenderCache::forget(const Entity& e) {
  const uint64_t stamp = e.stamp.peek();
  if (stamp == 0 || shard_budget_ == 0) return;  // never rendered, or nothing is kept
  const uint64_t hash = hash_of(stamp);
  Shard& s = shard_of(hash);
  std::lock_guard lock(s.mu);
  const Table* t = s.table.load(kRelaxed);
  if (t == nullptr) return;
  for (size_t i = hash & t->mask;;) {
    Entry* at = t->slots[i].entry.load(kRelaxed);
    if (at == nullptr) return;
    if (at->key.snapshot == stamp) {
      s.bytes -= at->size + kEntryOverhead;
      s.erase_at(i);  // a later entry may move into this slot: look at it again
    } else {
      i = (i + 1) & t->mask;
    }
  }
}

RenderCache::Stats RenderCache::stats() const {
  Stats st;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    st.bytes += shards_[i].bytes;
    st.entries += shards_[i].count;
  }
  return st;
}

bool RenderCache::consistent() const {
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard lock(shards_[i].mu);
    size_t count = 0, bytes = 0;
    const Table* t = s.table.load(kRelaxed);
    for (size_t j = 0; t != nullptr && j <= t->mask; ++j) {
      const Entry* e = t->slots[j].entry.load(kRelaxed);
      if (e == nullptr) continue;
      ++count;
      bytes += e->size + kEntryOverhead;
      if (s.find(t->slots[j].hash.load(kRelaxed), e->key) != e) return false;
    }
    if (count != s.count || bytes != s.bytes) return false;
  }
  return true;
}

}  // namespace tsunagu::ngsild
