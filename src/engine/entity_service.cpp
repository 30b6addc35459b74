#include "engine/entity_service.hpp"

#include <algorithm>
#include <memory>

#include "engine/discovery.hpp"
#include "engine/query_engine.hpp"
#include "engine/restricted.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"

namespace tsunagu::engine {
namespace {

Status not_found(const std::string& id) {
  return Status::NotFound("entity '" + id + "' does not exist");
}

// 404 when the entity is absent, lacks the `type` the request named, or is one the caller's
// role may not read (with the same answer as an absent one).
Status check_target(const Entity* e, const Target& t) {
  if (e == nullptr || (t.restriction && !t.restriction->can_read(*e))) return not_found(t.id);
  if (t.type && !t.type->matches(*e)) {
    return Status::NotFound("entity '" + t.id + "' is not of the requested type");
  }
  return Status::Ok();
}

Status exists(const std::string& id) {
  return Status::AlreadyExists("entity '" + id + "' already exists");
}

std::unique_ptr<WriteRequest> single(std::string tenant, std::string id, bool create_tenant) {
  auto req = std::make_unique<WriteRequest>();
  req->tenant = std::move(tenant);
  req->create_tenant = create_tenant;
  req->changes.emplace_back();
  req->changes.back().id = std::move(id);
  return req;
}

}  // namespace

Result<Tenant*> EntityService::find_tenant(std::string_view name) const {
  Tenant* t = tenants_.find(name);
  if (t == nullptr) {
    return Status(ErrorKind::kNonexistentTenant,
                  "tenant '" + std::string(name) + "' does not exist");
  }
  return t;
}

void EntityService::prepare_join(const Tenant& tenant, ngsild::RenderOptions& o,
                                 const RestrictionPtr& restriction) {
  if (o.join == ngsild::Join::kNone) return;
  if (restriction) {
    o.lookup = [t = &tenant, restriction](std::string_view id) {
      EntityPtr e = t->get(id);
      return e && restriction->can_read(*e) ? e : nullptr;
    };
  } else {
    o.lookup = [t = &tenant](std::string_view id) { return t->get(id); };
  }
  o.join_budget = std::make_shared<ngsild::JoinBudget>();
}

Result<EntityPtr> EntityService::retrieve(const Target& t, ngsild::RenderOptions& options) const {
  auto tenant = find_tenant(t.tenant);
  if (!tenant.ok()) return tenant.status();
  EntityPtr e = (*tenant)->get(t.id);
  Status st = check_target(e.get(), t);
  if (!st.ok()) return st;
  prepare_join(**tenant, options, t.restriction);
  return e;
}

Result<QueryResult> EntityService::query(std::string_view tenant,
                                         const ngsild::query::EntityQuery& q,
                                         ngsild::RenderOptions& options) const {
  auto t = find_tenant(tenant);
  if (!t.ok()) return t.status();
  prepare_join(**t, options, q.restriction);
  return QueryEngine::run(**t, q);
}

Result<std::vector<TypeInfo>> EntityService::types(std::string_view tenant,
                                                   const RestrictionPtr& restriction) const {
  auto t = find_tenant(tenant);
  if (!t.ok()) return t.status();
  return Discovery::types(**t, restriction);
}

Result<std::vector<AttributeInfo>> EntityService::attributes(
    std::string_view tenant, const RestrictionPtr& restriction) const {
  auto t = find_tenant(tenant);
  if (!t.ok()) return t.status();
  return Discovery::attributes(**t, restriction);
}

void EntityService::create(std::string tenant, RestrictionPtr restriction, EntityInput in,
                           Done done) {
  std::string id = *in.id;
  auto req = single(std::move(tenant), id, true);
  auto input = std::make_shared<EntityInput>(std::move(in));
  req->changes[0].apply = within(
      restriction,
      [input](const Entity* cur, int64_t now) -> Result<std::shared_ptr<Entity>> {
        if (cur != nullptr) return exists(cur->id);
        return std::make_shared<Entity>(create_entity(std::move(*input), now));
      },
      exists);
  req->done = [done = std::move(done)](WriteRequest& r) { done(r.changes[0].status); };
  writer_.submit(std::move(req));
}

void EntityService::modify(Target t, Mutate mutate, Done done) {
  auto req = single(t.tenant, t.id, false);
  RestrictionPtr restriction = t.restriction;
  req->changes[0].apply = within(
      restriction,
      [t, mutate = std::move(mutate)](const Entity* cur,
                                      int64_t now) -> Result<std::shared_ptr<Entity>> {
        TSUNAGU_RETURN_IF_ERROR(check_target(cur, t));
        auto next = std::make_shared<Entity>(*cur);
        TSUNAGU_RETURN_IF_ERROR(mutate(*next, now));
        return next;
      },
      not_found);
  req->done = [done = std::move(done)](WriteRequest& r) { done(r.changes[0].status); };
  writer_.submit(std::move(req));
}

void EntityService::replace(Target t, EntityInput in, Done done) {
  auto input = std::make_shared<EntityInput>(std::move(in));
  modify(
      std::move(t),
      [input](Entity& e, int64_t now) {
        e = replace_entity(e, std::move(*input), now);
        return Status::Ok();
      },
      std::move(done));
}

void EntityService::merge(Target t, EntityInput in, MergeOptions options, Done done) {
  auto input = std::make_shared<EntityInput>(std::move(in));
  modify(
      std::move(t),
      [input, options = std::move(options)](Entity& e, int64_t now) {
        return merge_entity(e, std::move(*input), now, options);
      },
      std::move(done));
}

void EntityService::append(Target t, EntityInput in, bool no_overwrite, DoneUpdate done) {
  auto input = std::make_shared<EntityInput>(std::move(in));
  auto outcome = std::make_shared<UpdateOutcome>();
  modify(
      std::move(t),
      [input, outcome, no_overwrite](Entity& e, int64_t now) {
        append_attributes(e, std::move(*input), no_overwrite, now, *outcome);
        return Status::Ok();
      },
      [outcome, done = std::move(done)](const Status& st) { done(st, *outcome); });
}

void EntityService::update(Target t, EntityInput in, DoneUpdate done) {
  auto input = std::make_shared<EntityInput>(std::move(in));
  auto outcome = std::make_shared<UpdateOutcome>();
  modify(
      std::move(t),
      [input, outcome](Entity& e, int64_t now) {
        update_attributes(e, std::move(*input), now, *outcome);
        return Status::Ok();
      },
      [outcome, done = std::move(done)](const Status& st) { done(st, *outcome); });
}

void EntityService::partial_update_attribute(Target t, Atom name, std::vector<Attribute> fragment,
                                             Done done) {
  auto frag = std::make_shared<std::vector<Attribute>>(std::move(fragment));
  modify(
      std::move(t),
      [name, frag](Entity& e, int64_t now) {
        return engine::partial_update_attribute(e, name, std::move(*frag), now);
      },
      std::move(done));
}

void EntityService::replace_attribute(Target t, Atom name, std::vector<Attribute> fragment,
                                      Done done) {
  auto frag = std::make_shared<std::vector<Attribute>>(std::move(fragment));
  modify(
      std::move(t),
      [name, frag](Entity& e, int64_t now) {
        return engine::replace_attribute(e, name, std::move(*frag), now);
      },
      std::move(done));
}

void EntityService::delete_attribute(Target t, Atom name, std::optional<Atom> dataset_id,
                                     bool delete_all, Done done) {
  modify(
      std::move(t),
      [name, dataset_id, delete_all](Entity& e, int64_t now) {
        TSUNAGU_RETURN_IF_ERROR(engine::delete_attribute(e, name, dataset_id, delete_all));
        e.modified_at = now;
        return Status::Ok();
      },
      std::move(done));
}

void EntityService::remove(Target t, Done done) {
  auto req = single(t.tenant, t.id, false);
  RestrictionPtr restriction = t.restriction;
  req->changes[0].apply = within(
      restriction,
      [t](const Entity* cur, int64_t) -> Result<std::shared_ptr<Entity>> {
        TSUNAGU_RETURN_IF_ERROR(check_target(cur, t));
        return std::shared_ptr<Entity>();
      },
      not_found);
  req->done = [done = std::move(done)](WriteRequest& r) { done(r.changes[0].status); };
  writer_.submit(std::move(req));
}

void EntityService::batch(std::string tenant, RestrictionPtr restriction, BatchOp op,
                          std::vector<BatchItem> items,
                          std::function<void(const BatchOutcome&)> done) {
  auto req = std::make_unique<WriteRequest>();
  req->tenant = std::move(tenant);
  req->create_tenant =
      op == BatchOp::kCreate || op == BatchOp::kUpsertReplace || op == BatchOp::kUpsertUpdate;
  auto outcome = std::make_shared<BatchOutcome>();
  outcome->status.resize(items.size());
  outcome->created.resize(items.size());
  outcome->kept.resize(items.size());
  std::vector<size_t> item_of_change;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].error.ok()) {
      outcome->status[i] = items[i].error;
      continue;
    }
    Change c;
    c.id = items[i].id;
    auto input = items[i].input ? std::make_shared<EntityInput>(std::move(*items[i].input))
                                : std::shared_ptr<EntityInput>();
    Apply apply = [op, input, outcome, i, id = c.id](
                      const Entity* cur, int64_t now) -> Result<std::shared_ptr<Entity>> {
      auto missing = [&] { return not_found(id); };
      switch (op) {
        case BatchOp::kCreate:
          if (cur != nullptr)
            return Status::AlreadyExists("entity '" + cur->id + "' already exists");
          outcome->created[i] = true;
          return std::make_shared<Entity>(create_entity(std::move(*input), now));
        case BatchOp::kUpsertReplace:
        case BatchOp::kUpsertUpdate: {
          if (cur == nullptr) {
            if (input->types.empty()) return Status::BadRequestData("type: missing");
            outcome->created[i] = true;
            return std::make_shared<Entity>(create_entity(std::move(*input), now));
          }
          if (op == BatchOp::kUpsertReplace) {
            return std::make_shared<Entity>(replace_entity(*cur, std::move(*input), now));
          }
          auto next = std::make_shared<Entity>(*cur);
          UpdateOutcome ignored;
          append_attributes(*next, std::move(*input), false, now, ignored);
          return next;
        }
        case BatchOp::kUpdate:
        case BatchOp::kUpdateNoOverwrite: {
          if (cur == nullptr) return missing();
          auto next = std::make_shared<Entity>(*cur);
          UpdateOutcome update;
          append_attributes(*next, std::move(*input), op == BatchOp::kUpdateNoOverwrite, now,
                            update);
          outcome->kept[i].clear();
          for (const auto& [name, reason] : update.not_updated)
            outcome->kept[i].push_back(name);
          return next;
        }
        case BatchOp::kMerge: {
          if (cur == nullptr) return missing();
          auto next = std::make_shared<Entity>(*cur);
          TSUNAGU_RETURN_IF_ERROR(merge_entity(*next, std::move(*input), now));
          return next;
        }
        case BatchOp::kDelete:
          if (cur == nullptr) return missing();
          return std::shared_ptr<Entity>();
      }
      return Status::Internal("unknown batch operation");
    };
    // An entity the role may not read: taken for a create; for an upsert, refused as one it
    // may not change (a 404 would be no answer to an upsert); absent to the others.
    std::function<Status(const std::string&)> absent = not_found;
    if (op == BatchOp::kCreate) absent = exists;
    if (op == BatchOp::kUpsertReplace || op == BatchOp::kUpsertUpdate) {
      absent = [r = restriction.get()](const std::string& id) { return not_writable(*r, id); };
    }
    c.apply = within(restriction, std::move(apply), std::move(absent));
    item_of_change.push_back(i);
    req->changes.push_back(std::move(c));
  }
  req->done = [outcome, item_of_change = std::move(item_of_change),
               done = std::move(done)](WriteRequest& r) {
    for (size_t k = 0; k < r.changes.size(); ++k) {
      size_t i = item_of_change[k];
      outcome->status[i] = r.changes[k].status;
      if (!r.changes[k].status.ok()) outcome->created[i] = false;
    }
    done(*outcome);
  };
  writer_.submit(std::move(req));
}

void EntityService::purge(std::string tenant, ngsild::query::EntityQuery q, std::vector<Atom> drop,
                          std::vector<Atom> keep, Done done) {
  auto t = find_tenant(tenant);
  if (!t.ok()) return done(t.status());
  q.offset = 0;
  q.limit = SIZE_MAX;
  q.order_by.clear();
  QueryResult matches = QueryEngine::run(**t, q);
  // A role that may read some of the matches but not write them purges none of them.
  if (q.restriction) {
    for (const auto& e : matches.entities) {
      if (!q.restriction->can_write(*e)) return done(not_writable(*q.restriction, e->id));
    }
  }
  auto req = std::make_unique<WriteRequest>();
  req->tenant = std::move(tenant);
  auto query = std::make_shared<ngsild::query::EntityQuery>(std::move(q));
  auto drop_list = std::make_shared<std::vector<Atom>>(std::move(drop));
  auto keep_list = std::make_shared<std::vector<Atom>>(std::move(keep));
  for (const auto& e : matches.entities) {
    Change c;
    c.id = e->id;
    c.apply = within(
        query->restriction,
        [query, drop_list, keep_list](const Entity* cur,
                                      int64_t now) -> Result<std::shared_ptr<Entity>> {
          if (cur == nullptr) return Status::NotFound("gone");
          if (!query->matches(*cur)) return std::make_shared<Entity>(*cur);  // changed meanwhile
          if (drop_list->empty() && keep_list->empty()) return std::shared_ptr<Entity>();
          auto next = std::make_shared<Entity>(*cur);
          auto& attrs = next->attrs;
          attrs.erase(
              std::remove_if(attrs.begin(), attrs.end(),
                             [&](const Attribute& a) {
                               bool listed_drop = std::find(drop_list->begin(), drop_list->end(),
                                                            a.name) != drop_list->end();
                               bool listed_keep = std::find(keep_list->begin(), keep_list->end(),
                                                            a.name) != keep_list->end();
                               return listed_drop || (!keep_list->empty() && !listed_keep);
                             }),
              attrs.end());
          next->modified_at = now;
          return next;
        },
        not_found);
    req->changes.push_back(std::move(c));
  }
  // Entities that vanished or changed meanwhile are simply not purged: not an error.
  req->done = [done = std::move(done)](WriteRequest& r) {
    for (const auto& c : r.changes) {
      if (!c.status.ok() && c.status.kind() != ErrorKind::kResourceNotFound) return done(c.status);
    }
    done(Status::Ok());
  };
  writer_.submit(std::move(req));
}

}  // namespace tsunagu::engine
