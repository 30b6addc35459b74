// The engine's one door for the API layer: reads answer at once from memory; writes are queued
// to the writer and complete through a callback once durable (or refused). Callbacks run on the
// committing thread and must only hand the result on (e.g. to an http Reply). Handlers never
// hold a Tenant: federation (answers from local data plus registered sources) and access
// control (what a caller may read) will act here, in one place.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/entity_ops.hpp"
#include "engine/reads.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/query/entity_query.hpp"

namespace tsunagu::engine {

class Tenant;
class TenantRegistry;
class Writer;

using ngsild::query::RestrictionPtr;

// The entity an operation addresses; it must match `type` (the `type` URI parameter, an entity
// type selection, §4.17) when given, and the caller's role, when it has one, must let it read
// the entity (else the entity is absent to it) and, to change it, write it before and after.
struct Target {
  std::string tenant;
  std::string id;
  std::optional<ngsild::query::TypeSelection> type;
  RestrictionPtr restriction;
};

// Batch operations (§5.6.7-§5.6.10, §5.6.20): each entity changes atomically, the whole batch
// commits in one transaction, later items for the same id build on earlier ones (§5.5.11).
enum class BatchOp : unsigned char {
  kCreate,
  kUpsertReplace,
  kUpsertUpdate,
  kUpdate,             // append attributes, overwriting
  kUpdateNoOverwrite,  // append attributes, keeping existing ones
  kMerge,
  kDelete,
};

struct BatchItem {
  std::string id;
  std::optional<EntityInput> input;  // absent for kDelete or when parsing failed
  Status error;                      // a parse failure reported for this item
};

struct BatchOutcome {
  std::vector<Status> status;  // per item
  std::vector<bool> created;   // per item: the entity did not exist before
  // per item: the attributes an update with noOverwrite left as they were (expanded names)
  std::vector<std::vector<Atom>> kept;
};

class EntityService {
 public:
  using Done = std::function<void(const Status&)>;
  using DoneUpdate = std::function<void(const Status&, const UpdateOutcome&)>;

  EntityService(TenantRegistry& tenants, Writer& writer) : tenants_(tenants), writer_(writer) {}

  // Reads. Each answers from the tenant's current state, or NonexistentTenant (the default
  // tenant always exists). When `options` asks for Linked Entity retrieval (§4.5.23), they are
  // readied for it: linked entities are the tenant's current ones, within a fresh JoinBudget.

  // ResourceNotFound (naming the id) or the entity's current snapshot.
  Result<EntityPtr> retrieve(const Target& t, ngsild::RenderOptions& options) const;
  // Query Entities (§5.7.2): one page of the matches (of those q.restriction lets read).
  Result<QueryResult> query(std::string_view tenant, const ngsild::query::EntityQuery& q,
                            ngsild::RenderOptions& options) const;
  // The entity types and the attributes the tenant holds (§5.7.5-§5.7.8), unordered: of the
  // entities `restriction` lets read, when there is one.
  Result<std::vector<TypeInfo>> types(std::string_view tenant,
                                      const RestrictionPtr& restriction = nullptr) const;
  Result<std::vector<AttributeInfo>> attributes(std::string_view tenant,
                                                const RestrictionPtr& restriction = nullptr) const;

  // Writes. With a restriction (the caller's role), an entity the role may not read is absent
  // (ResourceNotFound; AlreadyExists for a create, since the id is taken all the same), and a
  // change to an entity it may not write, or that leaves one it may not write, is Forbidden.

  // AlreadyExists when the id is taken. Creates the tenant on first use.
  void create(std::string tenant, RestrictionPtr restriction, EntityInput in, Done done);
  void replace(Target t, EntityInput in, Done done);
  void merge(Target t, EntityInput in, MergeOptions options, Done done);
  void append(Target t, EntityInput in, bool no_overwrite, DoneUpdate done);
  void update(Target t, EntityInput in, DoneUpdate done);
  void partial_update_attribute(Target t, Atom name, std::vector<Attribute> fragment, Done done);
  void replace_attribute(Target t, Atom name, std::vector<Attribute> fragment, Done done);
  void delete_attribute(Target t, Atom name, std::optional<Atom> dataset_id, bool delete_all,
                        Done done);
  void remove(Target t, Done done);

  void batch(std::string tenant, RestrictionPtr restriction, BatchOp op,
             std::vector<BatchItem> items, std::function<void(const BatchOutcome&)> done);

  // Purge (§5.6.21): deletes the entities matching `q` (limit and offset ignored), or only their
  // attributes `drop`, or all but `keep`. Matches are found now and re-checked at commit time.
  // With q.restriction, only what the role may read matches, and what it may not write is
  // Forbidden.
  void purge(std::string tenant, ngsild::query::EntityQuery q, std::vector<Atom> drop,
             std::vector<Atom> keep, Done done);

  // Readies `o` for the Linked Entity retrieval it asks for (§4.5.23; nothing when it asks for
  // none): linked entities are `tenant`'s current ones, within a fresh JoinBudget. The reads
  // above call it; notifications do too (engine/subscriptions.cpp).
  // With a restriction, linked entities it may not read are not found.
  static void prepare_join(const Tenant& tenant, ngsild::RenderOptions& o,
                           const RestrictionPtr& restriction = nullptr);

 private:
  using Mutate = std::function<Status(Entity& e, int64_t now)>;
  Result<Tenant*> find_tenant(std::string_view name) const;
  // Applies `mutate` to a copy of the existing entity (404 when absent or of another type).
  void modify(Target t, Mutate mutate, Done done);

  TenantRegistry& tenants_;
  Writer& writer_;
};

}  // namespace tsunagu::engine
