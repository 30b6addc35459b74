// Named parameters as a request carries them (the decoded URI query, or the members a
// subscription or registration stores), and the value shapes NGSI-LD gives them: lists and
// booleans. Shared by the HTTP layer, which decodes them, and by ngsild/, which gives them
// meaning, so that neither depends on the other.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"

namespace tsunagu {

// Decoded parameters in order of appearance.
struct QueryParams {
  std::vector<std::pair<std::string, std::string>> items;
  // The value of `name`, or nullptr.
  const std::string* find(std::string_view name) const {
    for (const auto& [k, v] : items) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

// Splits a comma-separated value, trimming spaces and tabs and dropping empty items.
std::vector<std::string> split_list(std::string_view v);

// A boolean value: BadRequestData naming `name` when it is neither true nor false.
Result<bool> parse_flag(std::string_view name, std::string_view value);
// A boolean parameter (`details`, `reload`, `count`, ...): false when absent, else parse_flag.
Result<bool> flag_param(const QueryParams& q, std::string_view name);

}  // namespace tsunagu
