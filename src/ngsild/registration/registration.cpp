// Small helpers of the Context Source Registration model: modes, intervals, fresh ids.
#include "ngsild/registration/registration.hpp"

#include <algorithm>

#include "common/uri.hpp"

namespace tsunagu::ngsild::registration {

bool RegistrationInfo::provides(Atom name) const {
  auto in = [name](const std::optional<std::vector<Atom>>& names) {
    return names && std::find(names->begin(), names->end(), name) != names->end();
  };
  return !names_attributes() || in(property_names) || in(relationship_names);
}

bool TimeInterval::overlaps(int64_t from, int64_t to) const {
  const bool starts_before_end = to == kNoTime || start < to;
  const bool ends_after_start = end == kNoTime || from == kNoTime || end >= from;
  return starts_before_end && ends_after_start;
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kInclusive:
      return "inclusive";
    case Mode::kExclusive:
      return "exclusive";
    case Mode::kRedirect:
      return "redirect";
    case Mode::kAuxiliary:
      return "auxiliary";
  }
  return "inclusive";
}

std::optional<Mode> mode_from_name(std::string_view name) {
  for (Mode m : {Mode::kInclusive, Mode::kExclusive, Mode::kRedirect, Mode::kAuxiliary}) {
    if (mode_name(m) == name) return m;
  }
  return std::nullopt;
}

std::string make_registration_id() {
  return random_urn("urn:ngsi-ld:ContextSourceRegistration:");
}

}  // namespace tsunagu::ngsild::registration
