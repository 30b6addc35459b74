// Interned strings. Attribute names, entity types, unit codes and datasetIds repeat across
// millions of entities; each distinct text is stored once and referred to by a 4-byte Atom.
// Interning takes a lock; reading an Atom's text is lock-free. Atoms are never freed.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace tsunagu {

class Atom {
 public:
  constexpr Atom() = default;  // the empty atom ("")

  // The atom for `text`, creating it on first use. Thread-safe.
  static Atom intern(std::string_view text);
  // The atom for `text` if it was ever interned, else the empty atom. Never creates one, so
  // read paths use it: a name nobody stored has no atom and matches nothing.
  static Atom find(std::string_view text);
  // How many atoms exist, the empty one included. Every atom created from now on has an id at
  // least this large (ids are handed out in order), which lets a cache built now tell atoms it
  // could have seen from newer ones.
  static uint32_t count();

  std::string_view str() const;
  bool empty() const { return id_ == 0; }
  uint32_t id() const { return id_; }

  friend bool operator==(Atom a, Atom b) { return a.id_ == b.id_; }
  friend bool operator!=(Atom a, Atom b) { return a.id_ != b.id_; }
  friend bool operator<(Atom a, Atom b) { return a.id_ < b.id_; }

 private:
  explicit constexpr Atom(uint32_t id) : id_(id) {}
  uint32_t id_ = 0;
};

}  // namespace tsunagu

template <>
struct std::hash<tsunagu::Atom> {
  size_t operator()(tsunagu::Atom a) const noexcept { return a.id(); }
};
