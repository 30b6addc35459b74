// Writes kept within what a caller's role may change (docs/security.md, "Roles"), checked on the
// committing thread against the entity as a change finds it and as it leaves it. The entity
// service and the temporal service wrap their changes with it.
#pragma once

#include <functional>
#include <string>

#include "common/status.hpp"
#include "engine/writer.hpp"
#include "ngsild/query/restriction.hpp"

namespace tsunagu::engine {

using Apply = decltype(Change::apply);

// Forbidden: the role may not change entity `id` as asked.
Status not_writable(const ngsild::query::Restriction& r, const std::string& id);

// `apply` within what `r` may change: an entity it may not read is absent (`absent` answers
// for it, given the id), one it may read but not write is Forbidden, and so is a change that
// leaves an entity it may not write. Null `r`: `apply` itself.
Apply within(const ngsild::query::RestrictionPtr& r, Apply apply,
             std::function<Status(const std::string&)> absent);

// The same check of an entity alone (its history, say): OK when `r` may write `e` (or is
// null), else Forbidden or, when it may not even read it, `absent(e.id)`.
Status writable(const ngsild::query::RestrictionPtr& r, const ngsild::Entity& e,
                const std::function<Status(const std::string&)>& absent);

}  // namespace tsunagu::engine
