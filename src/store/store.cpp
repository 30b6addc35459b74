#include "store/store.hpp"

#include <charconv>

namespace tsunagu::store {

std::optional<int64_t> trim_cutoff(std::string_view doc) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(doc.data(), doc.data() + doc.size(), v);
  if (ec != std::errc() || end != doc.data() + doc.size() || doc.empty()) return std::nullopt;
  return v;
}

}  // namespace tsunagu::store
