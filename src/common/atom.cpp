#include "common/atom.hpp"

#include <array>
#include <atomic>
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

}  // namespace

Atom Atom::intern(std::string_view text) {
  if (text.empty()) return Atom();
  Table& t = table();
  std::lock_guard lock(t.mu);
  auto it = t.index.find(text);
  if (it != t.index.end()) return Atom(it->second);
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
  return Atom(id);
}

Atom Atom::find(std::string_view text) {
  Table& t = table();
  std::lock_guard lock(t.mu);
  auto it = t.index.find(text);
  return it == t.index.end() ? Atom() : Atom(it->second);
}

std::string_view Atom::str() const {
  const std::string* c = table().chunks[id_ >> kChunkBits].load(std::memory_order_acquire);
  return c[id_ & (kChunkSize - 1)];
}

}  // namespace tsunagu
