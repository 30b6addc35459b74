// Small helpers of the Context Source Registration model: modes, intervals, fresh ids.
#include "ngsild/registration/registration.hpp"

#include <algorithm>
#include <iterator>

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

namespace {

// The operation groups (§4.20, Table 4.20-2).
constexpr std::string_view kRetrieveOps[] = {"retrieveEntity",
                                             "queryEntity",
                                             "queryBatch",
                                             "retrieveTemporal",
                                             "queryTemporal",
                                             "retrieveEntityTypes",
                                             "retrieveEntityTypeDetails",
                                             "retrieveEntityTypeInfo",
                                             "retrieveAttrTypes",
                                             "retrieveAttrTypeDetails",
                                             "retrieveAttrTypeInfo"};
constexpr std::string_view kSubscriptionOps[] = {"createSubscription", "updateSubscription",
                                                 "retrieveSubscription", "querySubscription",
                                                 "deleteSubscription"};
constexpr std::string_view kUpdateOps[] = {"updateEntity", "updateAttrs", "replaceEntity",
                                           "replaceAttrs"};
// redirectionOps: these, and the retrieve operations of entities and of types and attributes.
constexpr std::string_view kRedirectionWrites[] = {"createEntity", "updateEntity",  "appendAttrs",
                                                   "updateAttrs",  "deleteAttrs",   "deleteEntity",
                                                   "mergeEntity",  "replaceEntity", "replaceAttrs"};

// The operations that belong to no group above (§4.20, Table 4.20-1).
constexpr std::string_view kOtherOps[] = {"createBatch",         "upsertBatch",
                                          "updateBatch",         "deleteBatch",
                                          "mergeBatch",          "upsertTemporal",
                                          "appendAttrsTemporal", "deleteAttrsTemporal",
                                          "updateAttrsTemporal", "deleteAttrInstanceTemporal",
                                          "deleteTemporal",      "queryEntityMap",
                                          "createEntityMap",     "updateEntityMap",
                                          "deleteEntityMap",     "retrieveEntityMap"};
constexpr std::string_view kGroups[] = {"federationOps", "updateOps", "retrieveOps",
                                        "redirectionOps"};

template <size_t N>
bool in(const std::string_view (&group)[N], std::string_view op) {
  return std::find(std::begin(group), std::end(group), op) != std::end(group);
}

bool group_has(std::string_view group, std::string_view op) {
  if (group == op) return true;
  if (group == "retrieveOps") return in(kRetrieveOps, op);
  if (group == "federationOps") return in(kRetrieveOps, op) || in(kSubscriptionOps, op);
  if (group == "updateOps") return in(kUpdateOps, op);
  if (group == "redirectionOps") {
    return in(kRedirectionWrites, op) || (in(kRetrieveOps, op) && op != "queryBatch" &&
                                          op != "retrieveTemporal" && op != "queryTemporal");
  }
  return false;
}

}  // namespace

bool known_operation(std::string_view name) {
  return in(kGroups, name) || in(kRetrieveOps, name) || in(kSubscriptionOps, name) ||
         in(kRedirectionWrites, name) || in(kOtherOps, name);
}

bool supports(const Registration& r, std::string_view op) {
  if (r.operations.empty()) return group_has("federationOps", op);
  return std::any_of(r.operations.begin(), r.operations.end(),
                     [op](const std::string& g) { return group_has(g, op); });
}

std::string make_registration_id() {
  return random_urn("urn:ngsi-ld:ContextSourceRegistration:");
}

}  // namespace tsunagu::ngsild::registration
