#include "engine/restricted.hpp"

namespace tsunagu::engine {

Status not_writable(const ngsild::query::Restriction& r, const std::string& id) {
  return Status(ErrorKind::kForbidden,
                "the role '" + r.role + "' may not change entity '" + id + "' as asked");
}

Status writable(const ngsild::query::RestrictionPtr& r, const ngsild::Entity& e,
                const std::function<Status(const std::string&)>& absent) {
  if (!r || r->can_write(e)) return Status::Ok();
  return r->can_read(e) ? not_writable(*r, e.id) : absent(e.id);
}

Apply within(const ngsild::query::RestrictionPtr& r, Apply apply,
             std::function<Status(const std::string&)> absent) {
  if (!r) return apply;
  return [r, apply = std::move(apply), absent = std::move(absent)](
             const ngsild::Entity* cur, int64_t now) -> Result<std::shared_ptr<ngsild::Entity>> {
    if (cur != nullptr) TSUNAGU_RETURN_IF_ERROR(writable(r, *cur, absent));
    auto next = apply(cur, now);
    if (next.ok() && *next && !r->can_write(**next)) return not_writable(*r, (*next)->id);
    return next;
  };
}

}  // namespace tsunagu::engine
