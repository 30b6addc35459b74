// An open-addressing hash map for the engine's large indexes (entity ids, spatial keys,
// relationship objects), which std::unordered_map keeps as one heap node per element: every
// lookup there reads the bucket array, then a node, then (for string keys, whose hashes it does
// not keep) the key's text and the next node's text to find where the bucket ends, each
// somewhere else in memory. Under a create load those cache misses took about a tenth of the
// server's time (bench/results/history.md, 2026-11-27).
//
// Here the elements sit in one array and beside it an array of 32-bit tags, one per position:
// 0 for an empty position, otherwise bits of the element's hash (never 0). A lookup hashes the
// key once, walks the tags from the key's home position (linear probing) and compares a key
// only where the tag matches; growing moves the elements by their tags without hashing a key
// again. An erase shifts the elements after it back (no tombstones), so a table that sees many
// erases stays as fast as a fresh one.
//
// Differences from std::unordered_map: any insertion may move every element (references,
// pointers and iterators are invalidated by insertions, and by erase); erase returns nothing;
// iteration order is unspecified and changes with the table's size; an element's key may be
// replaced through an iterator, but only by an equal key (a string_view moved to another copy
// of the same text). Keys and values must be
// default-constructible and movable. Lookups with another key type work when Hash and Eq accept
// it (`is_transparent`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

namespace tsunagu {

template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<>>
class FlatHashMap {
 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = std::pair<K, V>;

  template <bool Const>
  class Iter {
   public:
    using Map = std::conditional_t<Const, const FlatHashMap, FlatHashMap>;
    using iterator_category = std::forward_iterator_tag;
    using value_type = FlatHashMap::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = std::conditional_t<Const, const value_type&, value_type&>;
    using pointer = std::conditional_t<Const, const value_type*, value_type*>;
    Iter() = default;
    Iter(Map* map, size_t pos) : map_(map), pos_(pos) { skip(); }
    // iterator converts to const_iterator, as std's do. (A constructor of const_iterator, not a
    // conversion operator of iterator: const_iterator would then declare a conversion to
    // itself, which clang rightly reports as one that is never used.)
    template <bool C = Const, class = std::enable_if_t<C>>
    Iter(const Iter<false>& it)  // NOLINT(google-explicit-constructor)
        : map_(it.map_), pos_(it.pos_) {}
    reference operator*() const { return map_->slots_[pos_]; }
    pointer operator->() const { return &map_->slots_[pos_]; }
    Iter& operator++() {
      ++pos_;
      skip();
      return *this;
    }
    bool operator==(const Iter& o) const { return pos_ == o.pos_; }
    bool operator!=(const Iter& o) const { return pos_ != o.pos_; }

   private:
    friend class FlatHashMap;
    friend class Iter<true>;
    void skip() {
      while (pos_ < map_->capacity_ && map_->tags_[pos_] == 0)
        ++pos_;
    }
    Map* map_ = nullptr;
    size_t pos_ = 0;
  };
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  FlatHashMap() = default;
  FlatHashMap(FlatHashMap&& o) noexcept { swap(o); }
  FlatHashMap& operator=(FlatHashMap&& o) noexcept {
    FlatHashMap(std::move(o)).swap(*this);
    return *this;
  }
  FlatHashMap(const FlatHashMap& o) : hash_(o.hash_), eq_(o.eq_) {
    reserve(o.size_);
    for (const auto& kv : o)
      insert_new(tag_of(kv.first), value_type(kv));
  }
  FlatHashMap& operator=(const FlatHashMap& o) {
    if (this != &o) FlatHashMap(o).swap(*this);
    return *this;
  }
  ~FlatHashMap() = default;

  void swap(FlatHashMap& o) noexcept {
    std::swap(tags_, o.tags_);
    std::swap(slots_, o.slots_);
    std::swap(capacity_, o.capacity_);
    std::swap(size_, o.size_);
    std::swap(shift_, o.shift_);
    std::swap(hash_, o.hash_);
    std::swap(eq_, o.eq_);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Positions allocated (a power of two, or 0); the table grows when size() would pass 7/8.
  size_t capacity() const { return capacity_; }

  iterator begin() { return iterator(this, 0); }
  iterator end() { return iterator(this, capacity_); }
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, capacity_); }

  template <class Q>
  iterator find(const Q& key) {
    return iterator(this, locate(key));
  }
  template <class Q>
  const_iterator find(const Q& key) const {
    return const_iterator(this, locate(key));
  }
  template <class Q>
  size_t count(const Q& key) const {
    return locate(key) == capacity_ ? 0 : 1;
  }

  // Inserts {key, V(args...)} unless `key` is present; the iterator points at the element.
  template <class... Args>
  std::pair<iterator, bool> try_emplace(const K& key, Args&&... args) {
    const uint32_t tag = tag_of(key);
    if (size_t pos = locate_tagged(key, tag); pos != capacity_) return {iterator(this, pos), false};
    size_t pos = insert_new(tag, value_type(std::piecewise_construct, std::forward_as_tuple(key),
                                            std::forward_as_tuple(std::forward<Args>(args)...)));
    return {iterator(this, pos), true};
  }
  V& operator[](const K& key) { return try_emplace(key).first->second; }

  void erase(iterator it) { erase_at(it.pos_); }
  void erase(const_iterator it) { erase_at(it.pos_); }
  template <class Q>
  size_t erase(const Q& key) {
    size_t pos = locate(key);
    if (pos == capacity_) return 0;
    erase_at(pos);
    return 1;
  }

  void clear() { FlatHashMap().swap(*this); }

  // Makes room for `n` elements without growing again.
  void reserve(size_t n) {
    size_t want = 8;
    while (want - want / 8 < n)
      want *= 2;
    if (want > capacity_) rehash(want);
  }

 private:
  static constexpr uint64_t kMix = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio, odd

  // The tag: the high half of the hash multiplied by kMix (so that weak hashes such as the
  // identity of integers spread), never 0. The home position is the tag's top bits.
  template <class Q>
  uint32_t tag_of(const Q& key) const {
    const uint64_t h = static_cast<uint64_t>(hash_(key)) * kMix;
    const auto tag = static_cast<uint32_t>(h >> 32);
    return tag != 0 ? tag : 1;
  }
  size_t home(uint32_t tag) const { return shift_ >= 32 ? 0 : tag >> shift_; }

  template <class Q>
  size_t locate(const Q& key) const {
    return capacity_ == 0 ? 0 : locate_tagged(key, tag_of(key));
  }
  // The position of `key`, or capacity_.
  template <class Q>
  size_t locate_tagged(const Q& key, uint32_t tag) const {
    if (capacity_ == 0) return 0;
    const size_t mask = capacity_ - 1;
    for (size_t pos = home(tag);; pos = (pos + 1) & mask) {
      const uint32_t t = tags_[pos];
      if (t == 0) return capacity_;
      if (t == tag && eq_(slots_[pos].first, key)) return pos;
    }
  }

  // Places an element known to be absent; returns its position.
  size_t insert_new(uint32_t tag, value_type&& kv) {
    if (size_ + 1 > capacity_ - capacity_ / 8) rehash(capacity_ == 0 ? 8 : capacity_ * 2);
    const size_t pos = free_position(tag);
    tags_[pos] = tag;
    slots_[pos] = std::move(kv);
    ++size_;
    return pos;
  }
  size_t free_position(uint32_t tag) const {
    const size_t mask = capacity_ - 1;
    size_t pos = home(tag);
    while (tags_[pos] != 0)
      pos = (pos + 1) & mask;
    return pos;
  }

  void rehash(size_t capacity) {
    std::unique_ptr<uint32_t[]> old_tags = std::move(tags_);
    std::unique_ptr<value_type[]> old_slots = std::move(slots_);
    const size_t old_capacity = capacity_;
    tags_ = std::make_unique<uint32_t[]>(capacity);  // zeroed: every position empty
    slots_ = std::make_unique<value_type[]>(capacity);
    capacity_ = capacity;
    shift_ = 32;
    for (size_t c = capacity; c > 1; c >>= 1)
      --shift_;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old_tags[i] == 0) continue;
      const size_t pos = free_position(old_tags[i]);
      tags_[pos] = old_tags[i];
      slots_[pos] = std::move(old_slots[i]);
    }
  }

  // Removes the element at `pos` and shifts back each later one of its run that may move there
  // (one whose home is not after the hole, cyclically), so that no lookup meets a gap before
  // its key.
  void erase_at(size_t pos) {
    const size_t mask = capacity_ - 1;
    size_t hole = pos;
    for (size_t next = (hole + 1) & mask; tags_[next] != 0; next = (next + 1) & mask) {
      const size_t h = home(tags_[next]);
      // `next` may move to `hole` unless its home lies in (hole, next].
      const bool home_after_hole = hole <= next ? (h > hole && h <= next) : (h > hole || h <= next);
      if (home_after_hole) continue;
      tags_[hole] = tags_[next];
      slots_[hole] = std::move(slots_[next]);
      hole = next;
    }
    tags_[hole] = 0;
    slots_[hole] = value_type();  // releases what the element held
    --size_;
  }

  std::unique_ptr<uint32_t[]> tags_;
  std::unique_ptr<value_type[]> slots_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  int shift_ = 32;  // home = tag >> shift_: the top log2(capacity_) bits
  Hash hash_;
  Eq eq_;
};

// A set on the same table (the mapped value takes no room beyond padding).
template <class K, class Hash = std::hash<K>, class Eq = std::equal_to<>>
class FlatHashSet {
 public:
  struct Empty {};
  using Map = FlatHashMap<K, Empty, Hash, Eq>;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = K;
    using difference_type = std::ptrdiff_t;
    using reference = const K&;
    using pointer = const K*;
    const_iterator() = default;
    explicit const_iterator(typename Map::const_iterator it) : it_(it) {}
    const K& operator*() const { return it_->first; }
    const K* operator->() const { return &it_->first; }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return it_ == o.it_; }
    bool operator!=(const const_iterator& o) const { return it_ != o.it_; }

   private:
    friend class FlatHashSet;
    typename Map::const_iterator it_;
  };
  using iterator = const_iterator;

  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  const_iterator begin() const { return const_iterator(map_.begin()); }
  const_iterator end() const { return const_iterator(map_.end()); }
  template <class Q>
  const_iterator find(const Q& key) const {
    return const_iterator(map_.find(key));
  }
  template <class Q>
  size_t count(const Q& key) const {
    return map_.count(key);
  }
  std::pair<const_iterator, bool> insert(const K& key) {
    auto [it, inserted] = map_.try_emplace(key);
    return {const_iterator(typename Map::const_iterator(it)), inserted};
  }
  void erase(const_iterator it) { map_.erase(it.it_); }
  template <class Q>
  size_t erase(const Q& key) {
    return map_.erase(key);
  }
  void clear() { map_.clear(); }
  void reserve(size_t n) { map_.reserve(n); }

 private:
  Map map_;
};

}  // namespace tsunagu
