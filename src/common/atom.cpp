#include "common/atom.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tsunagu {
namespace {

// Texts live in fixed-size chunks that never move, so str() reads without a lock once the atom
// id has been published (the id is only handed out after its text is in place).
constexpr uint32_t kChunkBits = 14;
constexpr uint32_t kChunkSize = 1u << kChunkBits;
constexpr uint32_t kMaxChunks = 1u << 14;  // 2^28 atoms

struct Table {
  std::mutex mu;
  std::unordered_map<std::string_view, uint32_t> index;
  std::array<std::atomic<std::string*>, kMaxChunks> chunks{};
  uint32_t next = 1;

  Table() {
    chunks[0] = new std::string[kChunkSize];
    index.emplace(std::string_view(), 0);
  }
};

Table& table() {
  static Table* t = new Table();  // intentionally immortal: atoms outlive every other object
  return *t;
}

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// A slot of the per-thread table of recent atoms, from the text's length and its first and last
// eight bytes: quick to compute, and names that share a prefix (IRIs) differ at the end.
size_t recent_slot(std::string_view s, size_t slots) {
  uint64_t head = 0, tail = 0;
  if (s.size() >= 8) {
    std::memcpy(&head, s.data(), 8);
    std::memcpy(&tail, s.data() + s.size() - 8, 8);
  } else {
    for (char c : s)
      head = head << 8 | static_cast<unsigned char>(c);
  }
  uint64_t h = (head ^ (tail * 0x9e3779b97f4a7c15ull) ^ s.size()) * 0xff51afd7ed558ccdull;
  return static_cast<size_t>(h >> 32) & (slots - 1);
}

// Each thread remembers the atoms it interned or found last (unit codes, dataset ids, names
// repeat from one entity to the next): a hit, checked against the atom's own text, saves the
// shared index's lock, hash and lookup. The slot of `text`.
uint32_t& recent(std::string_view text) {
  constexpr size_t kRecent = 256;
  thread_local std::array<uint32_t, kRecent> slots{};
  return slots[recent_slot(text, kRecent)];
}

}  // namespace

Atom Atom::intern(std::string_view text) {
  if (text.empty()) return Atom();
  uint32_t& cached = recent(text);
  if (cached != 0 && same_text(Atom(cached).str(), text)) return Atom(cached);
  Table& t = table();
  std::lock_guard lock(t.mu);
  auto it = t.index.find(text);
  if (it != t.index.end()) {
    cached = it->second;
    return Atom(it->second);
  }
  uint32_t id = t.next++;
  uint32_t chunk = id >> kChunkBits;
  std::string* c = t.chunks[chunk].load(std::memory_order_relaxed);
  if (c == nullptr) {
    c = new std::string[kChunkSize];
    t.chunks[chunk].store(c, std::memory_order_release);
  }
  std::string& slot = c[id & (kChunkSize - 1)];
  slot.assign(text);
  t.index.emplace(std::string_view(slot), id);
  cached = id;
  return Atom(id);
}

Atom Atom::find(std::string_view text) {
  if (text.empty()) return Atom();
  uint32_t& cached = recent(text);
  if (cached != 0 && same_text(Atom(cached).str(), text)) return Atom(cached);
  Table& t = table();
  std::lock_guard lock(t.mu);
  auto it = t.index.find(text);
  if (it == t.index.end()) return Atom();
  cached = it->second;
  return Atom(it->second);
}

uint32_t Atom::count() {
  Table& t = table();
  std::lock_guard lock(t.mu);
  return t.next;
}

std::string_view Atom::str() const {
  const std::string* c = table().chunks[id_ >> kChunkBits].load(std::memory_order_acquire);
  return c[id_ & (kChunkSize - 1)];
}

}  // namespace tsunagu
