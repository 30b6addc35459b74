#include "common/params.hpp"

namespace tsunagu {

std::vector<std::string> split_list(std::string_view v) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string_view::npos) comma = v.size();
    std::string_view item = v.substr(pos, comma - pos);
    while (!item.empty() && blank(item.front()))
      item.remove_prefix(1);
    while (!item.empty() && blank(item.back()))
      item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    pos = comma + 1;
  }
  return out;
}

Result<bool> parse_flag(std::string_view name, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return Status::BadRequestData(std::string(name) + ": '" + std::string(value.substr(0, 40)) +
                                "' is not true or false");
}

Result<bool> flag_param(const QueryParams& q, std::string_view name) {
  const std::string* v = q.find(name);
  return v == nullptr ? Result<bool>(false) : parse_flag(name, *v);
}

}  // namespace tsunagu
