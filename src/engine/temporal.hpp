// The history of every entity (ETSI GS CIM 009 §4.5.6-4.5.9, §5.6.11-5.6.16, §5.7.3-5.7.4):
// what the change feed captures into the store's history series, temporal provision, and the
// temporal reads. Each entity's temporal representation is the entity's, not a second entity:
// provision updates the current entity to the latest instance it brings, and deleting the
// temporal representation deletes the entity. docs/temporal.md explains the model.
//
// A series is the history of one attribute instance (name, datasetId) of one entity; the store
// keeps its instances (store::Store::read_history). This service keeps, per tenant and entity,
// which series exist (a "temporal" record per entity, written only when a series appears or the
// types change), and gives every instance a number (seq) from one counter, reserved in blocks
// through a store note, from which instanceIds derive.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/change_feed.hpp"
#include "engine/writer.hpp"
#include "ngsild/model/entity.hpp"
#include "ngsild/query/entity_query.hpp"
#include "ngsild/temporal/temporal_entity.hpp"
#include "ngsild/temporal/temporal_request.hpp"

namespace tsunagu::engine {

// Which instances of which attributes a temporal read returns.
struct TemporalReadSpec {
  ngsild::temporal::TimeFilter time;
  int64_t last_n = 0;
  bool pick = false;              // only the attributes in `attrs` (attrs or pick)
  std::vector<Atom> attrs;        // expanded names
  std::vector<Atom> omit;         // expanded names
  bool dataset_filter = false;    // only instances whose datasetId is listed
  std::vector<Atom> dataset_ids;  // "@none" (as an Atom) selects the default instance
  // The most instances one entity shows (0: all): beyond, the earliest are kept, or with
  // lastN the latest (§6.3.10).
  size_t max_instances = 0;
};

class TemporalService final : public ChangeListener {
 public:
  using Done = std::function<void(const Status&)>;
  static constexpr std::string_view kRecordKind = "temporal";
  static constexpr std::string_view kSeqNote = "temporal.seq";

  // One instance of a temporal provision payload: the attribute (name and datasetId set), and
  // the instanceId it was given, if any.
  struct InstanceInput {
    ngsild::Attribute attr;
    std::string instance_id;
  };
  struct Input {
    std::string id;
    std::vector<Atom> types;
    std::optional<std::vector<std::string>> scopes;
    std::vector<InstanceInput> instances;
  };

  explicit TemporalService(store::Store& store);
  ~TemporalService() override;

  // At start, before attach: each stored record, then the seq note.
  Status load(std::string_view tenant, std::string_view key, std::string_view doc);
  Status load_seq(const std::optional<std::string>& note);
  size_t count() const;
  // The tenants that have history.
  std::vector<std::string> tenants() const;
  // The entities of `tenant` that have a history.
  std::vector<std::string> ids(std::string_view tenant) const;
  // The writer through which provision goes (it lists this service among its listeners).
  void attach(Writer& writer) { writer_ = &writer; }

  // ChangeListener: captures every change of the current entities.
  void persist(const std::vector<CommittedChange>& changes, int64_t time,
               store::WriteBatch& batch) override;
  void published(const std::vector<CommittedChange>& changes, int64_t time) override;

  // Writes. With a restriction (a caller's role, docs/security.md "Roles"), the entity and its
  // history are checked on the committing thread as the entity service checks entities: one
  // the role may not read is absent, one it may not write (before or after) is Forbidden.

  // Create or Update Temporal Representation (§5.6.11): `created` tells which.
  void upsert(std::string tenant, Input in, std::function<void(const Status&, bool created)> done,
              ngsild::query::RestrictionPtr restriction = nullptr);
  // Add Attributes to Temporal Representation (§5.6.12): ResourceNotFound without the entity.
  void add_attributes(std::string tenant, Input in, Done done,
                      ngsild::query::RestrictionPtr restriction = nullptr);
  // Delete Temporal Representation (§5.6.16): the entity and its whole history.
  void remove(std::string tenant, std::string id, Done done,
              ngsild::query::RestrictionPtr restriction = nullptr);
  // Delete Attribute from Temporal Representation (§5.6.13): the instance with `dataset` (the
  // default one when absent), or every instance with delete_all; from the entity too.
  void delete_attribute(std::string tenant, std::string id, Atom name, std::optional<Atom> dataset,
                        bool delete_all, Done done,
                        ngsild::query::RestrictionPtr restriction = nullptr);
  // Modify (§5.6.14) or delete (§5.6.15) one instance of an attribute's history.
  void update_instance(std::string tenant, std::string id, Atom name, std::string instance_id,
                       ngsild::Attribute fragment, Done done,
                       ngsild::query::RestrictionPtr restriction = nullptr);
  void delete_instance(std::string tenant, std::string id, Atom name, std::string instance_id,
                       Done done, ngsild::query::RestrictionPtr restriction = nullptr);

  // Retention: every series of the tenants named forgets its instances before the tenant's
  // cutoff (microseconds), in write requests of a few thousand series each; `done` follows the
  // last (with the first error, if any). A tenant without history is no error.
  void trim(const std::vector<std::pair<std::string, int64_t>>& cutoffs, Done done);

  // Retrieve Temporal Evolution of an Entity (§5.7.3). ResourceNotFound for an entity without
  // history, when the attributes asked for have none, or when `restriction` (a caller's role)
  // may not read the entity as its history names it (id, types, scopes).
  Result<ngsild::temporal::TemporalEntityView> retrieve(
      std::string_view tenant, std::string_view id, const TemporalReadSpec& spec,
      const ngsild::query::RestrictionPtr& restriction = nullptr) const;
  // Query Temporal Evolution of Entities (§5.7.4), of the entities q.restriction may read: q
  // and geo-queries hold for an entity when
  // some instances in the window satisfy them; an entity with none in the window is left out.
  // In entity id order, or orderBy's (by each attribute's latest instance in the window; ties
  // in creation order).
  struct Page {
    std::vector<ngsild::temporal::TemporalEntityView> entities;
    size_t total = 0;
    bool more = false;
  };
  Result<Page> query(std::string_view tenant, const ngsild::query::EntityQuery& q,
                     const TemporalReadSpec& spec) const;

 private:
  struct Series {
    Atom name;
    Atom dataset;
    uint64_t number = 0;
    ngsild::AttrKind kind = ngsild::AttrKind::kProperty;
  };
  struct Record {
    std::string id;
    std::vector<Atom> types;
    std::vector<std::string> scopes;
    int64_t created_at = kNoTime;
    std::vector<Series> series;
  };
  using RecordPtr = std::shared_ptr<const Record>;
  // What a query's entity filters (ids, types, scopes, a role) read of a record, as an entity.
  static ngsild::Entity probe(const Record& r);
  // Committing thread: whether `restriction` may write the history of `id` as decided so far
  // (OK when there is none yet, or no restriction).
  Status history_writable(const std::string& tenant, const std::string& id,
                          const ngsild::query::RestrictionPtr& restriction) const;
  // A record as the committing thread has decided it. One that a group changes is not durable
  // until the group is published; a group the store refused leaves it so, and the next group
  // that touches it stores it.
  struct Decided {
    std::shared_ptr<Record> record;  // null: deleted in a group not yet published
    bool durable = false;            // stored as it is
  };
  // What one group's provision and capture add, until persist() ends.
  struct Group;

  static std::string key_of(std::string_view tenant, std::string_view id);
  // The committing thread's record under `key` (key_of), created when absent; one the store
  // does not hold as it is goes with the group.
  const Record& decided_record(const std::string& key, const std::string& id, int64_t now);
  // The record under `key`, to be changed: stored again with the group.
  Record& edit(const std::string& key);
  // The series of (name, dataset) in the record under `key`, added when new.
  uint64_t series_for(const std::string& key, Atom name, Atom dataset, ngsild::AttrKind kind);
  void merge_types(const std::string& key, const std::vector<Atom>& types,
                   const std::vector<std::string>* scopes);
  // A provision's record and instances.
  Status provide(const std::string& tenant, const Input& in, store::WriteBatch& batch);
  // Appends one instance to `series` in the group's batch (encoded at the end of persist()).
  void add_instance(uint64_t series, const ngsild::Attribute& a, int64_t now, int64_t deleted_at,
                    std::string instance_id, store::WriteBatch& batch);
  void flush(store::WriteBatch& batch);
  void touch(const std::string& key);
  // Queues a request of one entity change (or none) and record work on the writer.
  void submit(std::string tenant, bool create_tenant, std::optional<Change> change,
              std::function<Status(const Change* change, store::WriteBatch& batch)> decide,
              Done done);
  // Rewrites `name`'s series of `id` with `edit` applied to the instance `instance_id`.
  Status rewrite_instance(const std::string& tenant, const std::string& id, Atom name,
                          const std::string& instance_id,
                          const std::function<bool(ngsild::Attribute&)>& edit,
                          store::WriteBatch& batch);

  RecordPtr find(std::string_view tenant, std::string_view id) const;
  // Cuts `v` to spec.max_instances instances (the earliest, or with lastN the latest).
  static void truncate(ngsild::temporal::TemporalEntityView& v, const TemporalReadSpec& spec);
  Status read_series(const Series& s, const TemporalReadSpec& spec,
                     std::vector<ngsild::temporal::TemporalInstance>& out) const;
  Result<ngsild::temporal::TemporalEntityView> view(const Record& r,
                                                    const TemporalReadSpec& spec) const;

  store::Store& store_;
  Writer* writer_ = nullptr;

  // The committing thread's.
  std::unordered_map<std::string, Decided> decided_;
  std::unordered_set<const Change*> provided_;  // changes whose history provision adds
  std::unique_ptr<Group> group_;
  // The records the group touched (stored with it, published when it commits).
  std::unordered_set<std::string> touched_, group_touched_;
  uint64_t next_series_ = 1;
  uint64_t next_seq_ = 1;
  uint64_t reserved_seq_ = 0;  // seqs below this are reserved in the store

  // What reads see: tenant -> id -> record, as stored.
  mutable std::shared_mutex mu_;
  std::map<std::string, std::map<std::string, RecordPtr, std::less<>>, std::less<>> published_;
};

}  // namespace tsunagu::engine
