#include "engine/temporal.hpp"

#include <algorithm>
#include <mutex>
#include <tuple>

#include "common/json.hpp"
#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "engine/restricted.hpp"
#include "engine/tenant.hpp"
#include "ngsild/format/temporal_renderer.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "store/codec/entity_codec.hpp"
#include "store/history/chunk_codec.hpp"

namespace tsunagu::engine {

namespace history = store::history;
using ngsild::Attribute;
using ngsild::AttrKind;
using ngsild::Entity;
using ngsild::temporal::TemporalEntityView;
using ngsild::temporal::TemporalInstance;
using ngsild::temporal::TemporalSeries;
using ngsild::temporal::TimeProperty;
using ngsild::temporal::TimeRel;

struct TemporalService::Group {
  // series -> the instances this group adds, encoded into one append when persist() ends.
  std::map<uint64_t, std::vector<history::Instance>> appends;
};

TemporalService::TemporalService(store::Store& store) : store_(store) {}
TemporalService::~TemporalService() = default;

namespace {

// What a caller's role may not see of an entity or of its history is absent (restricted.hpp).
Status entity_not_found(const std::string& id) {
  return Status::NotFound("entity '" + id + "' not found");
}
Status no_history(const std::string& id) {
  return Status::NotFound("entity '" + id + "' has no temporal representation");
}

// Seqs are reserved in the store this many at a time: one note per million instances.
constexpr uint64_t kSeqBlock = 1'000'000;

// The prefix of derived instanceIds; the rest is the instance's seq.
constexpr std::string_view kInstancePrefix = "urn:ngsi-ld:Instance:";

// An entity's scope (§4.18) has a history too, as a Property named by its core term whose value
// is the array of scopes (the suite's 020_19 reads it so).
Atom scope_atom() {
  static const Atom scope = Atom::intern("https://uri.etsi.org/ngsi-ld/scope");
  return scope;
}

ngsild::Attribute scope_instance(const std::vector<std::string>& scopes) {
  std::string json;
  JsonWriter w(json);
  w.begin_array();
  for (const auto& s : scopes)
    w.string(s);
  w.end_array();
  ngsild::Attribute a;
  a.name = scope_atom();
  a.value = ngsild::Value::json(json);
  return a;
}

// Sub-attributes travel in the history as the store's entity document of an entity holding
// only them: the codec the entities use, so that they come back exactly.
std::string encode_subs(const std::vector<Attribute>& subs) {
  Entity holder;
  holder.id = "urn:tsunagu:subs";
  holder.types.push_back(Atom::intern("urn:tsunagu:subs"));
  holder.attrs = subs;
  return store::encode_entity(holder);
}

std::vector<Attribute> decode_subs(std::string_view doc) {
  auto e = store::decode_entity(doc);
  if (!e.ok()) return {};
  return std::move(e->attrs);
}

// A deletion keeps no value (it shows NGSI-LD Null), except the scope's, which shows [].
history::Instance to_instance(const Attribute& a, int64_t now, uint64_t seq, int64_t deleted_at) {
  history::Instance i;
  if (deleted_at == kNoTime || a.name == scope_atom()) {
    switch (a.value.type()) {
      case ngsild::Value::Type::kNull:
        i.kind = history::Instance::Kind::kNull;
        break;
      case ngsild::Value::Type::kBool:
        i.kind = history::Instance::Kind::kBool;
        i.boolean = a.value.as_bool();
        break;
      case ngsild::Value::Type::kInt:
        i.kind = history::Instance::Kind::kInt;
        i.integer = a.value.as_int();
        break;
      case ngsild::Value::Type::kDouble:
        i.kind = history::Instance::Kind::kDouble;
        i.number = a.value.as_double();
        break;
      case ngsild::Value::Type::kString:
        i.kind = history::Instance::Kind::kString;
        i.text = std::string(a.value.text());
        break;
      case ngsild::Value::Type::kJson:
        i.kind = history::Instance::Kind::kJson;
        i.text = std::string(a.value.text());
        break;
    }
    i.observed_at = a.observed_at;
    i.unit_code = std::string(a.unit_code.str());
    i.value_type = std::string(a.value_type.str());
    if (!a.subs.empty()) i.subs = encode_subs(a.subs);
  }
  i.attr_type = static_cast<uint8_t>(a.kind);
  i.seq = seq;
  i.created_at = now;
  i.modified_at = now;
  i.deleted_at = deleted_at;
  return i;
}

TemporalInstance from_instance(const history::Instance& i, Atom name, Atom dataset) {
  TemporalInstance t;
  Attribute& a = t.attr;
  a.kind = static_cast<AttrKind>(i.attr_type);
  a.name = name;
  a.dataset_id = dataset;
  switch (i.kind) {
    case history::Instance::Kind::kNull:
      break;
    case history::Instance::Kind::kBool:
      a.value = ngsild::Value::boolean(i.boolean);
      break;
    case history::Instance::Kind::kInt:
      a.value = ngsild::Value::integer(i.integer);
      break;
    case history::Instance::Kind::kDouble:
      a.value = ngsild::Value::number(i.number);
      break;
    case history::Instance::Kind::kString:
      a.value = ngsild::Value::string(i.text);
      break;
    case history::Instance::Kind::kJson:
      a.value = ngsild::Value::json(i.text);
      break;
  }
  if (!i.unit_code.empty()) a.unit_code = Atom::intern(i.unit_code);
  if (!i.value_type.empty()) a.value_type = Atom::intern(i.value_type);
  a.observed_at = i.observed_at;
  a.created_at = i.created_at;
  a.modified_at = i.modified_at;
  if (!i.subs.empty()) a.subs = decode_subs(i.subs);
  if (i.deleted_at != kNoTime && name != scope_atom()) {
    a = ngsild::deleted_instance(a);
    a.name = name;
    a.dataset_id = dataset;
  }
  t.deleted_at = i.deleted_at;
  t.instance_id =
      i.instance_id.empty() ? std::string(kInstancePrefix) + std::to_string(i.seq) : i.instance_id;
  return t;
}

// The time a request's timeproperty gives an instance, or kNoTime when it has none. An
// instance without observedAt is placed at the time it was recorded, so that the history of
// attributes written without observedAt reads in the default view too.
int64_t time_of(const history::Instance& i, TimeProperty p) {
  switch (p) {
    case TimeProperty::kObservedAt:
      if (i.deleted_at != kNoTime) return kNoTime;  // deletions show by deletedAt only
      return i.observed_at != kNoTime ? i.observed_at : i.created_at;
    case TimeProperty::kCreatedAt:
      return i.created_at;
    case TimeProperty::kModifiedAt:
      return i.modified_at;
    case TimeProperty::kDeletedAt:
      return i.deleted_at;
  }
  return kNoTime;
}

std::string encode_record(const std::vector<Atom>& types, const std::vector<std::string>& scopes,
                          int64_t created_at, const auto& series) {
  std::string doc;
  JsonWriter w(doc);
  w.begin_object();
  w.key("types");
  w.begin_array();
  for (Atom t : types)
    w.string(t.str());
  w.end_array();
  if (!scopes.empty()) {
    w.key("scope");
    w.begin_array();
    for (const auto& s : scopes)
      w.string(s);
    w.end_array();
  }
  w.key("createdAt");
  w.number(created_at);
  w.key("series");
  w.begin_array();
  for (const auto& s : series) {
    w.begin_array();
    w.string(s.name.str());
    w.string(s.dataset.str());
    w.number(static_cast<int64_t>(s.number));
    w.number(static_cast<int64_t>(s.kind));
    w.end_array();
  }
  w.end_array();
  w.end_object();
  return doc;
}

bool listed(const std::vector<Atom>& list, Atom a) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

}  // namespace

std::string TemporalService::key_of(std::string_view tenant, std::string_view id) {
  std::string key(tenant);
  key.push_back('\0');
  key.append(id);
  return key;
}

Status TemporalService::load(std::string_view tenant, std::string_view key, std::string_view doc) {
  JsonDoc d;
  auto damaged = [&](std::string_view what) {
    return Status::Internal("temporal record '" + std::string(key) +
                            "' is damaged: " + std::string(what));
  };
  if (!parse_json(doc, d).ok() || !d.IsObject()) return damaged("not a JSON object");
  auto r = std::make_shared<Record>();
  r->id = std::string(key);
  auto types = d.FindMember("types");
  if (types == d.MemberEnd() || !types->value.IsArray()) return damaged("types");
  for (const auto& t : types->value.GetArray()) {
    if (!t.IsString()) return damaged("types");
    r->types.push_back(Atom::intern({t.GetString(), t.GetStringLength()}));
  }
  if (auto scope = d.FindMember("scope"); scope != d.MemberEnd() && scope->value.IsArray()) {
    for (const auto& s : scope->value.GetArray()) {
      if (s.IsString()) r->scopes.emplace_back(s.GetString(), s.GetStringLength());
    }
  }
  if (auto c = d.FindMember("createdAt"); c != d.MemberEnd() && c->value.IsInt64()) {
    r->created_at = c->value.GetInt64();
  }
  auto series = d.FindMember("series");
  if (series == d.MemberEnd() || !series->value.IsArray()) return damaged("series");
  for (const auto& s : series->value.GetArray()) {
    if (!s.IsArray() || s.Size() != 4 || !s[0].IsString() || !s[1].IsString() || !s[2].IsUint64() ||
        !s[3].IsInt()) {
      return damaged("series");
    }
    Series one;
    one.name = Atom::intern({s[0].GetString(), s[0].GetStringLength()});
    if (s[1].GetStringLength() > 0) {
      one.dataset = Atom::intern({s[1].GetString(), s[1].GetStringLength()});
    }
    one.number = s[2].GetUint64();
    one.kind = static_cast<AttrKind>(s[3].GetInt());
    next_series_ = std::max(next_series_, one.number + 1);
    r->series.push_back(one);
  }
  std::string k = key_of(tenant, key);
  decided_[k] = {r, true};
  std::unique_lock lock(mu_);
  published_[std::string(tenant)][r->id] = r;
  return Status::Ok();
}

Status TemporalService::load_seq(const std::optional<std::string>& note) {
  if (!note) return Status::Ok();
  uint64_t v = 0;
  for (char c : *note) {
    if (c < '0' || c > '9') return Status::Internal("temporal: seq note is damaged");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  // Every seq below the reservation may have been given out before the restart.
  next_seq_ = v;
  reserved_seq_ = v;
  return Status::Ok();
}

size_t TemporalService::count() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [_, m] : published_)
    n += m.size();
  return n;
}

const TemporalService::Record& TemporalService::decided_record(const std::string& key,
                                                               const std::string& id, int64_t now) {
  Decided& d = decided_[key];
  if (!d.record) {
    d.record = std::make_shared<Record>();
    d.record->id = id;
    d.record->created_at = now;
    d.durable = false;
  }
  // A record the store holds as it is needs neither storing nor publishing again; one a failed
  // group left behind is stored with this one.
  if (!d.durable) touch(key);
  return *d.record;
}

std::vector<std::string> TemporalService::tenants() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, records] : published_) {
    if (!records.empty()) out.push_back(name);
  }
  return out;
}

std::vector<std::string> TemporalService::ids(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  if (auto t = published_.find(tenant); t != published_.end()) {
    for (const auto& [_, r] : t->second)
      out.push_back(r->id);
  }
  return out;
}

TemporalService::Record& TemporalService::edit(const std::string& key) {
  Decided& d = decided_[key];
  if (d.durable) {
    // Copied before it changes: reads hold the published one.
    d.record = std::make_shared<Record>(*d.record);
    d.durable = false;
  }
  touch(key);
  return *d.record;
}

void TemporalService::touch(const std::string& key) {
  touched_.insert(key);
}

uint64_t TemporalService::series_for(const std::string& key, Atom name, Atom dataset,
                                     AttrKind kind) {
  const Record& r = *decided_[key].record;
  for (const Series& s : r.series) {
    if (s.name == name && s.dataset == dataset && s.kind == kind) return s.number;
  }
  Record& w = edit(key);
  for (Series& s : w.series) {
    if (s.name == name && s.dataset == dataset) {
      s.kind = kind;
      return s.number;
    }
  }
  w.series.push_back({name, dataset, next_series_++, kind});
  return w.series.back().number;
}

void TemporalService::merge_types(const std::string& key, const std::vector<Atom>& types,
                                  const std::vector<std::string>* scopes) {
  const Record& r = *decided_[key].record;
  bool new_type =
      std::any_of(types.begin(), types.end(), [&](Atom t) { return !listed(r.types, t); });
  bool new_scopes = scopes != nullptr && *scopes != r.scopes;
  if (!new_type && !new_scopes) return;
  Record& w = edit(key);
  for (Atom t : types) {
    if (!listed(w.types, t)) w.types.push_back(t);
  }
  if (new_scopes) w.scopes = *scopes;
}

void TemporalService::add_instance(uint64_t series, const Attribute& a, int64_t now,
                                   int64_t deleted_at, std::string instance_id,
                                   store::WriteBatch& batch) {
  if (next_seq_ >= reserved_seq_) {
    reserved_seq_ = next_seq_ + kSeqBlock;
    batch.ops.push_back({store::WriteBatch::OpKind::kNote,
                         0,
                         {},
                         std::string(kSeqNote),
                         std::to_string(reserved_seq_)});
  }
  if (!group_) group_ = std::make_unique<Group>();
  history::Instance i = to_instance(a, now, next_seq_++, deleted_at);
  i.instance_id = std::move(instance_id);
  group_->appends[series].push_back(std::move(i));
}

void TemporalService::flush(store::WriteBatch& batch) {
  // Records of the entities the group touched that the store does not hold as they are.
  for (const auto& key : touched_) {
    auto it = decided_.find(key);
    if (it == decided_.end() || !it->second.record || it->second.durable) continue;
    const Record& r = *it->second.record;
    std::string tenant = key.substr(0, key.find('\0'));
    batch.put_record(std::string(kRecordKind), tenant, r.id,
                     encode_record(r.types, r.scopes, r.created_at, r.series));
  }
  if (group_) {
    for (auto& [series, instances] : group_->appends) {
      if (instances.empty()) continue;
      auto chunk = history::encode_chunk(instances);
      if (chunk.ok()) batch.append_history(series, std::move(*chunk));
    }
    group_.reset();
  }
  group_touched_ = std::move(touched_);
  touched_.clear();
  provided_.clear();
}

void TemporalService::persist(const std::vector<CommittedChange>& changes, int64_t now,
                              store::WriteBatch& batch) {
  for (const CommittedChange& c : changes) {
    if (provided_.count(c.change) != 0) continue;
    const Entity* before = c.change->before.get();
    const Entity* after = c.change->after.get();
    const Entity* latest = after != nullptr ? after : before;
    if (latest == nullptr) continue;
    std::string key = key_of(c.tenant->name(), latest->id);
    decided_record(key, latest->id, now);
    merge_types(key, latest->types, after != nullptr ? &after->scopes : nullptr);
    if (after != nullptr) {
      for (const Attribute& a : after->attrs) {
        const Attribute* b = before != nullptr ? before->find(a.name, a.dataset_id) : nullptr;
        if (b != nullptr && b->modified_at == a.modified_at && ngsild::same_content(a, *b)) {
          continue;
        }
        add_instance(series_for(key, a.name, a.dataset_id, a.kind), a, now, kNoTime, {}, batch);
      }
    }
    if (before != nullptr) {
      for (const Attribute& b : before->attrs) {
        if (after != nullptr && after->find(b.name, b.dataset_id) != nullptr) continue;
        add_instance(series_for(key, b.name, b.dataset_id, b.kind), b, now, now, {}, batch);
      }
    }
    if (after != nullptr &&
        (before != nullptr ? before->scopes : std::vector<std::string>{}) != after->scopes) {
      uint64_t series = series_for(key, scope_atom(), Atom(), ngsild::AttrKind::kProperty);
      add_instance(series, scope_instance(after->scopes), now,
                   after->scopes.empty() ? now : kNoTime, {}, batch);
    }
  }
  flush(batch);
}

void TemporalService::published(const std::vector<CommittedChange>&, int64_t) {
  std::unique_lock lock(mu_);
  for (const auto& key : group_touched_) {
    auto it = decided_.find(key);
    if (it == decided_.end()) continue;
    std::string tenant = key.substr(0, key.find('\0'));
    std::string id = key.substr(key.find('\0') + 1);
    if (!it->second.record) {
      auto t = published_.find(tenant);
      if (t != published_.end()) t->second.erase(id);
      decided_.erase(it);
      continue;
    }
    it->second.durable = true;
    published_[tenant][id] = it->second.record;
  }
  group_touched_.clear();
}

// --- Provision ---------------------------------------------------------------------------

void TemporalService::submit(std::string tenant, bool create_tenant, std::optional<Change> change,
                             std::function<Status(const Change*, store::WriteBatch&)> decide,
                             Done done) {
  auto req = std::make_unique<WriteRequest>();
  req->tenant = std::move(tenant);
  req->create_tenant = create_tenant;
  if (change) req->changes.push_back(std::move(*change));
  WriteRequest* raw = req.get();
  RecordWork w;
  w.decide = [this, raw, decide = std::move(decide)](store::WriteBatch& batch) -> Status {
    const Change* c = raw->changes.empty() ? nullptr : &raw->changes.front();
    if (c != nullptr) provided_.insert(c);
    return decide(c, batch);
  };
  w.finished = [](const Status&) {};
  req->records = std::move(w);
  req->done = [done = std::move(done)](WriteRequest& r) {
    // A request whose change failed and whose record work went on (the entity was gone but its
    // history was not) answers as the record work decided.
    done(r.records->status);
  };
  writer_->submit(std::move(req));
}

namespace {

// The latest instance of each (name, datasetId) of `instances`, by observedAt (later ones in
// the payload win ties): what the current entity holds after a provision.
std::vector<const Attribute*> latest_instances(
    const std::vector<TemporalService::InstanceInput>& instances) {
  std::vector<const Attribute*> out;
  for (const auto& in : instances) {
    const Attribute& a = in.attr;
    auto it = std::find_if(out.begin(), out.end(), [&](const Attribute* o) {
      return o->name == a.name && o->dataset_id == a.dataset_id;
    });
    if (it == out.end()) {
      out.push_back(&a);
    } else if (a.observed_at >= (*it)->observed_at) {
      *it = &a;
    }
  }
  return out;
}

// Brings `e` up to the instances of a provision: the types added, the scope replaced when
// given, and each attribute set to its latest instance unless the entity holds a later one.
void apply_provision(Entity& e, const TemporalService::Input& in, int64_t now) {
  for (Atom t : in.types) {
    if (!listed(e.types, t)) e.types.push_back(t);
  }
  if (in.scopes) e.scopes = *in.scopes;
  for (const Attribute* a : latest_instances(in.instances)) {
    const Attribute* current = e.find(a->name, a->dataset_id);
    if (current != nullptr && current->observed_at != kNoTime && a->observed_at != kNoTime &&
        current->observed_at > a->observed_at) {
      continue;
    }
    Attribute next = *a;
    next.flags = 0;
    next.created_at = current != nullptr ? current->created_at : now;
    next.modified_at = now;
    e.put(std::move(next));
  }
  e.modified_at = now;
}

}  // namespace

Status TemporalService::provide(const std::string& tenant, const Input& in,
                                store::WriteBatch& batch) {
  int64_t now = now_us();
  std::string key = key_of(tenant, in.id);
  decided_record(key, in.id, now);
  merge_types(key, in.types, in.scopes ? &*in.scopes : nullptr);
  // The instances by series, in payload order.
  std::map<uint64_t, std::vector<const InstanceInput*>> by_series;
  for (const auto& i : in.instances)
    by_series[series_for(key, i.attr.name, i.attr.dataset_id, i.attr.kind)].push_back(&i);
  // An instance observed when one the series holds was observed replaces it (§5.6.11: a
  // representation sent again updates its instances rather than doubling them); so does a
  // later one of the same payload. The store is read for every series first, so that a read
  // that fails leaves nothing of the provision in the group.
  struct Plan {
    uint64_t series;
    const std::vector<const InstanceInput*>* instances;
    std::vector<int64_t> observed;       // sorted
    bool rewrite = false;                // some instance is observed again
    std::vector<history::Instance> all;  // the series as the store holds it, to rewrite
  };
  std::vector<Plan> plans;
  for (const auto& [series, instances] : by_series) {
    Plan& p = plans.emplace_back(Plan{series, &instances, {}, false, {}});
    for (const InstanceInput* i : instances) {
      if (i->attr.observed_at != kNoTime) p.observed.push_back(i->attr.observed_at);
    }
    std::sort(p.observed.begin(), p.observed.end());
    p.rewrite = std::adjacent_find(p.observed.begin(), p.observed.end()) != p.observed.end();
    if (p.observed.empty()) continue;
    std::vector<history::Instance> held;
    TSUNAGU_RETURN_IF_ERROR(
        store_.read_history(series, {p.observed.front(), p.observed.back() + 1}, 0, held));
    if (group_) {
      if (auto g = group_->appends.find(series); g != group_->appends.end()) {
        held.insert(held.end(), g->second.begin(), g->second.end());
      }
    }
    auto observed_again = [&](const history::Instance& h) {
      return h.observed_at != kNoTime && h.deleted_at == kNoTime &&
             std::binary_search(p.observed.begin(), p.observed.end(), h.observed_at);
    };
    p.rewrite = p.rewrite || std::any_of(held.begin(), held.end(), observed_again);
    if (p.rewrite) TSUNAGU_RETURN_IF_ERROR(store_.read_history(series, {}, 0, p.all));
  }
  if (in.scopes) {
    add_instance(series_for(key, scope_atom(), Atom(), ngsild::AttrKind::kProperty),
                 scope_instance(*in.scopes), now, in.scopes->empty() ? now : kNoTime, {}, batch);
  }
  for (Plan& p : plans) {
    if (!p.rewrite) {
      for (const InstanceInput* i : *p.instances)
        add_instance(p.series, i->attr, now, kNoTime, i->instance_id, batch);
      continue;
    }
    // Rewritten whole: what it held but the instances observed again, then the new ones.
    if (group_) {
      if (auto g = group_->appends.find(p.series); g != group_->appends.end()) {
        p.all.insert(p.all.end(), g->second.begin(), g->second.end());
        group_->appends.erase(g);
      }
    }
    std::erase_if(p.all, [&](const history::Instance& h) {
      return h.observed_at != kNoTime && h.deleted_at == kNoTime &&
             std::binary_search(p.observed.begin(), p.observed.end(), h.observed_at);
    });
    std::vector<const InstanceInput*> last;  // the last of the payload at each observedAt
    for (auto it = p.instances->rbegin(); it != p.instances->rend(); ++it) {
      const InstanceInput* i = *it;
      bool later = i->attr.observed_at != kNoTime &&
                   std::any_of(last.begin(), last.end(), [&](const InstanceInput* o) {
                     return o->attr.observed_at == i->attr.observed_at;
                   });
      if (!later) last.push_back(i);
    }
    batch.drop_history(p.series);
    if (!group_) group_ = std::make_unique<Group>();
    group_->appends[p.series] = std::move(p.all);
    for (auto it = last.rbegin(); it != last.rend(); ++it)
      add_instance(p.series, (*it)->attr, now, kNoTime, (*it)->instance_id, batch);
  }
  return Status::Ok();
}

Status TemporalService::history_writable(const std::string& tenant, const std::string& id,
                                         const ngsild::query::RestrictionPtr& restriction) const {
  if (!restriction) return Status::Ok();
  auto it = decided_.find(key_of(tenant, id));
  if (it == decided_.end() || !it->second.record) return Status::Ok();
  return writable(restriction, probe(*it->second.record), no_history);
}

void TemporalService::upsert(std::string tenant, Input in,
                             std::function<void(const Status&, bool created)> done,
                             ngsild::query::RestrictionPtr restriction) {
  auto input = std::make_shared<Input>(std::move(in));
  auto created = std::make_shared<bool>(false);
  Change change;
  change.id = input->id;
  change.apply = [input, created](const Entity* current,
                                  int64_t now) -> Result<std::shared_ptr<Entity>> {
    auto e = current != nullptr ? std::make_shared<Entity>(*current) : std::make_shared<Entity>();
    if (current == nullptr) {
      e->id = input->id;
      e->created_at = now;
      *created = true;
    }
    apply_provision(*e, *input, now);
    return e;
  };
  // An entity the role may not read cannot be upserted by it: refused as one it may not change.
  auto refused = [r = restriction.get()](const std::string& id) { return not_writable(*r, id); };
  change.apply = within(restriction, std::move(change.apply), refused);
  std::string t = tenant;
  submit(
      std::move(tenant), true, std::move(change),
      [this, t, input, restriction, refused](const Change* c, store::WriteBatch& batch) -> Status {
        if (!c->status.ok()) return c->status;
        if (restriction) {
          auto it = decided_.find(key_of(t, input->id));
          if (it != decided_.end() && it->second.record)
            TSUNAGU_RETURN_IF_ERROR(writable(restriction, probe(*it->second.record), refused));
        }
        return provide(t, *input, batch);
      },
      [done, created](const Status& st) { done(st, *created); });
}

void TemporalService::add_attributes(std::string tenant, Input in, Done done,
                                     ngsild::query::RestrictionPtr restriction) {
  auto input = std::make_shared<Input>(std::move(in));
  Change change;
  change.id = input->id;
  change.apply = [input](const Entity* current, int64_t now) -> Result<std::shared_ptr<Entity>> {
    if (current == nullptr) return Status::NotFound("entity '" + input->id + "' not found");
    auto e = std::make_shared<Entity>(*current);
    apply_provision(*e, *input, now);
    return e;
  };
  change.apply = within(restriction, std::move(change.apply), entity_not_found);
  std::string t = tenant;
  submit(
      std::move(tenant), false, std::move(change),
      [this, t, input, restriction](const Change* c, store::WriteBatch& batch) -> Status {
        if (!c->status.ok()) return c->status;
        TSUNAGU_RETURN_IF_ERROR(history_writable(t, input->id, restriction));
        return provide(t, *input, batch);
      },
      std::move(done));
}

void TemporalService::remove(std::string tenant, std::string id, Done done,
                             ngsild::query::RestrictionPtr restriction) {
  Change change;
  change.id = id;
  change.apply = [id](const Entity* current, int64_t) -> Result<std::shared_ptr<Entity>> {
    if (current == nullptr) return Status::NotFound("entity '" + id + "' not found");
    return std::shared_ptr<Entity>();
  };
  change.apply = within(restriction, std::move(change.apply), entity_not_found);
  std::string t = tenant;
  submit(
      std::move(tenant), false, std::move(change),
      [this, t, id, restriction](const Change* c, store::WriteBatch& batch) -> Status {
        // Refused by the role: nothing of the history goes either.
        if (c->status.kind() == ErrorKind::kForbidden) return c->status;
        TSUNAGU_RETURN_IF_ERROR(history_writable(t, id, restriction));
        std::string key = key_of(t, id);
        auto it = decided_.find(key);
        if (it == decided_.end() || !it->second.record) {
          return c->status.ok() ? Status::Ok() : c->status;
        }
        for (const Series& s : it->second.record->series) {
          batch.drop_history(s.number);
          if (group_) group_->appends.erase(s.number);
        }
        batch.delete_record(std::string(kRecordKind), t, id);
        it->second.record.reset();
        it->second.durable = false;
        touch(key);
        return Status::Ok();
      },
      std::move(done));
}

void TemporalService::delete_attribute(std::string tenant, std::string id, Atom name,
                                       std::optional<Atom> dataset, bool delete_all, Done done,
                                       ngsild::query::RestrictionPtr restriction) {
  Change change;
  change.id = id;
  change.apply = [name, dataset, delete_all](const Entity* current,
                                             int64_t now) -> Result<std::shared_ptr<Entity>> {
    if (current == nullptr) return Status::NotFound("no current entity");
    auto e = std::make_shared<Entity>(*current);
    bool changed = delete_all ? e->erase_all(name) > 0 : e->erase(name, dataset.value_or(Atom()));
    if (changed) e->modified_at = now;
    return e;
  };
  change.apply = within(restriction, std::move(change.apply), entity_not_found);
  std::string t = tenant;
  submit(
      std::move(tenant), false, std::move(change),
      [this, t, id, name, dataset, delete_all, restriction](const Change* c,
                                                            store::WriteBatch& batch) -> Status {
        if (c->status.kind() == ErrorKind::kForbidden) return c->status;
        TSUNAGU_RETURN_IF_ERROR(history_writable(t, id, restriction));
        std::string key = key_of(t, id);
        auto it = decided_.find(key);
        if (it == decided_.end() || !it->second.record) {
          return Status::NotFound("entity '" + id + "' has no temporal representation");
        }
        const Record& old = *it->second.record;
        bool any = std::any_of(old.series.begin(), old.series.end(), [&](const Series& s) {
          return s.name == name && (delete_all || s.dataset == dataset.value_or(Atom()));
        });
        if (!any) {
          return Status::NotFound("attribute '" + std::string(name.str()) +
                                  "' has no history in entity '" + id + "'");
        }
        Record& r = edit(key);
        std::vector<Series> kept;
        for (const Series& s : r.series) {
          if (s.name == name && (delete_all || s.dataset == dataset.value_or(Atom()))) {
            batch.drop_history(s.number);
            if (group_) group_->appends.erase(s.number);
          } else {
            kept.push_back(s);
          }
        }
        r.series = std::move(kept);
        return Status::Ok();
      },
      std::move(done));
}

Status TemporalService::rewrite_instance(const std::string& tenant, const std::string& id,
                                         Atom name, const std::string& instance_id,
                                         const std::function<bool(Attribute&)>& edit,
                                         store::WriteBatch& batch) {
  auto it = decided_.find(key_of(tenant, id));
  if (it == decided_.end() || !it->second.record) {
    return Status::NotFound("entity '" + id + "' has no temporal representation");
  }
  const Record& r = *it->second.record;
  bool has_attr = false;
  for (const Series& s : r.series) {
    if (s.name != name) continue;
    has_attr = true;
    std::vector<history::Instance> all;
    TSUNAGU_RETURN_IF_ERROR(store_.read_history(s.number, {}, 0, all));
    if (group_) {
      if (auto g = group_->appends.find(s.number); g != group_->appends.end()) {
        all.insert(all.end(), g->second.begin(), g->second.end());
      }
    }
    auto found = std::find_if(all.begin(), all.end(), [&](const history::Instance& i) {
      return i.instance_id.empty()
                 ? instance_id == std::string(kInstancePrefix) + std::to_string(i.seq)
                 : i.instance_id == instance_id;
    });
    if (found == all.end()) continue;
    TemporalInstance view = from_instance(*found, s.name, s.dataset);
    int64_t now = now_us();
    if (edit(view.attr)) {
      history::Instance next = to_instance(view.attr, found->created_at, found->seq, kNoTime);
      next.modified_at = now;
      next.instance_id = found->instance_id;
      *found = std::move(next);
    } else {
      all.erase(found);
    }
    batch.drop_history(s.number);
    if (!group_) group_ = std::make_unique<Group>();
    group_->appends[s.number] = std::move(all);
    return Status::Ok();
  }
  if (!has_attr) {
    return Status::NotFound("attribute '" + std::string(name.str()) + "' has no history in '" + id +
                            "'");
  }
  return Status::NotFound("no instance '" + instance_id + "' of attribute '" +
                          std::string(name.str()) + "'");
}

void TemporalService::update_instance(std::string tenant, std::string id, Atom name,
                                      std::string instance_id, Attribute fragment, Done done,
                                      ngsild::query::RestrictionPtr restriction) {
  auto frag = std::make_shared<Attribute>(std::move(fragment));
  std::string t = tenant;
  submit(
      std::move(tenant), false, std::nullopt,
      [this, t, id, name, instance_id, frag, restriction](const Change*,
                                                          store::WriteBatch& batch) -> Status {
        TSUNAGU_RETURN_IF_ERROR(history_writable(t, id, restriction));
        return rewrite_instance(
            t, id, name, instance_id,
            [&](Attribute& a) {
              AttrKind kind = a.kind;
              int64_t observed = a.observed_at;
              a = *frag;
              a.flags = 0;
              a.name = name;
              if (!(frag->flags & ngsild::kFlagTypeGiven)) a.kind = kind;
              if (a.observed_at == kNoTime) a.observed_at = observed;
              return true;
            },
            batch);
      },
      std::move(done));
}

void TemporalService::delete_instance(std::string tenant, std::string id, Atom name,
                                      std::string instance_id, Done done,
                                      ngsild::query::RestrictionPtr restriction) {
  std::string t = tenant;
  submit(
      std::move(tenant), false, std::nullopt,
      [this, t, id, name, instance_id, restriction](const Change*,
                                                    store::WriteBatch& batch) -> Status {
        TSUNAGU_RETURN_IF_ERROR(history_writable(t, id, restriction));
        return rewrite_instance(
            t, id, name, instance_id, [](Attribute&) { return false; }, batch);
      },
      std::move(done));
}

void TemporalService::trim(const std::vector<std::pair<std::string, int64_t>>& cutoffs, Done done) {
  constexpr size_t kSeriesPerRequest = 4096;
  // The series to trim, by tenant, as published now; series added later are newer than any
  // cutoff anyway, and a trim of a series dropped meanwhile does nothing.
  std::vector<std::tuple<std::string, int64_t, std::vector<uint64_t>>> work;
  {
    std::shared_lock lock(mu_);
    for (const auto& [tenant, cutoff] : cutoffs) {
      auto t = published_.find(tenant);
      if (t == published_.end()) continue;
      std::vector<uint64_t> series;
      for (const auto& [_, r] : t->second) {
        for (const Series& s : r->series)
          series.push_back(s.number);
      }
      work.emplace_back(tenant, cutoff, std::move(series));
    }
  }
  struct Pending {
    std::mutex mu;
    size_t left = 0;
    Status first;
    Done done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  std::vector<std::tuple<std::string, int64_t, std::vector<uint64_t>>> requests;
  for (auto& [tenant, cutoff, series] : work) {
    for (size_t at = 0; at < series.size(); at += kSeriesPerRequest) {
      auto end =
          series.begin() + static_cast<ptrdiff_t>(std::min(at + kSeriesPerRequest, series.size()));
      requests.emplace_back(
          tenant, cutoff, std::vector<uint64_t>(series.begin() + static_cast<ptrdiff_t>(at), end));
    }
  }
  if (requests.empty()) return pending->done(Status::Ok());
  pending->left = requests.size();
  for (auto& [tenant, cutoff, series] : requests) {
    auto numbers = std::make_shared<std::vector<uint64_t>>(std::move(series));
    const int64_t before = cutoff;
    submit(
        tenant, false, std::nullopt,
        [numbers, before](const Change*, store::WriteBatch& batch) -> Status {
          for (uint64_t s : *numbers)
            batch.trim_history(s, before);
          return Status::Ok();
        },
        [pending](const Status& st) {
          Done finish;
          Status result;
          {
            std::lock_guard lock(pending->mu);
            if (!st.ok() && pending->first.ok()) pending->first = st;
            if (--pending->left > 0) return;
            finish = std::move(pending->done);
            result = pending->first;
          }
          finish(result);
        });
  }
}

// --- Reads -------------------------------------------------------------------------------

TemporalService::RecordPtr TemporalService::find(std::string_view tenant,
                                                 std::string_view id) const {
  std::shared_lock lock(mu_);
  auto t = published_.find(tenant);
  if (t == published_.end()) return nullptr;
  auto it = t->second.find(id);
  return it == t->second.end() ? nullptr : it->second;
}

Status TemporalService::read_series(const Series& s, const TemporalReadSpec& spec,
                                    std::vector<TemporalInstance>& out) const {
  const auto& f = spec.time;
  history::TimeRange range;
  if (f.property == TimeProperty::kObservedAt) {
    // The store orders by observedAt (or the recording time without one): read only the window.
    if (f.rel == TimeRel::kBefore) range.until = f.at;
    if (f.rel == TimeRel::kAfter) range.from = f.at;
    if (f.rel == TimeRel::kBetween) {
      range.from = f.at;
      range.until = f.end_at;
    }
  }
  std::vector<history::Instance> all;
  TSUNAGU_RETURN_IF_ERROR(store_.read_history(s.number, range, 0, all));
  std::vector<const history::Instance*> kept;
  for (const auto& i : all) {
    int64_t t = time_of(i, f.property);
    if (t == kNoTime || !f.admits(t)) continue;
    kept.push_back(&i);
  }
  if (f.property != TimeProperty::kObservedAt) {
    std::stable_sort(kept.begin(), kept.end(),
                     [&](const history::Instance* a, const history::Instance* b) {
                       return time_of(*a, f.property) < time_of(*b, f.property);
                     });
  }
  size_t first = 0;
  if (spec.last_n > 0 && kept.size() > static_cast<size_t>(spec.last_n)) {
    first = kept.size() - static_cast<size_t>(spec.last_n);
  }
  for (size_t k = first; k < kept.size(); ++k)
    out.push_back(from_instance(*kept[k], s.name, s.dataset));
  return Status::Ok();
}

Result<TemporalEntityView> TemporalService::view(const Record& r,
                                                 const TemporalReadSpec& spec) const {
  TemporalEntityView v;
  v.id = r.id;
  v.types = r.types;
  v.scopes = r.scopes;
  v.created_at = r.created_at;
  static const Atom none = Atom::intern("@none");
  // Series of one name adjacent, in the order names first appeared.
  std::vector<const Series*> order;
  for (const Series& s : r.series) {
    if (spec.pick && !listed(spec.attrs, s.name)) continue;
    if (listed(spec.omit, s.name)) continue;
    if (spec.dataset_filter && !listed(spec.dataset_ids, s.dataset.empty() ? none : s.dataset)) {
      continue;
    }
    auto pos = std::find_if(order.rbegin(), order.rend(),
                            [&](const Series* o) { return o->name == s.name; });
    order.insert(pos.base(), &s);
  }
  for (const Series* s : order) {
    TemporalSeries ts;
    ts.name = s->name;
    ts.dataset_id = s->dataset;
    ts.kind = s->kind;
    TSUNAGU_RETURN_IF_ERROR(read_series(*s, spec, ts.instances));
    if (ts.instances.empty()) continue;             // nothing in the window
    if (s->name == scope_atom()) v.scopes.clear();  // shown as its history instead
    for (const auto& i : ts.instances)
      v.modified_at = std::max(v.modified_at, i.attr.modified_at);
    v.series.push_back(std::move(ts));
  }
  truncate(v, spec);
  return v;
}

void TemporalService::truncate(TemporalEntityView& v, const TemporalReadSpec& spec) {
  size_t total = 0;
  for (const auto& s : v.series) {
    total += s.instances.size();
    for (const auto& i : s.instances) {
      int64_t t = ngsild::shown_time(i, spec.time.property);
      v.first = v.first == kNoTime ? t : std::min(v.first, t);
      v.last = v.last == kNoTime ? t : std::max(v.last, t);
    }
  }
  if (spec.max_instances == 0 || total <= spec.max_instances) return;
  // The times of all instances, to find where the cut falls.
  std::vector<int64_t> times;
  times.reserve(total);
  for (const auto& s : v.series) {
    for (const auto& i : s.instances)
      times.push_back(ngsild::shown_time(i, spec.time.property));
  }
  std::sort(times.begin(), times.end());
  const bool latest = spec.last_n > 0;
  // Keep the instances on the near side of the cut; ties at the cut are split in series order.
  int64_t cut = latest ? times[total - spec.max_instances] : times[spec.max_instances - 1];
  size_t near = static_cast<size_t>(
      latest ? times.end() - std::upper_bound(times.begin(), times.end(), cut)
             : std::lower_bound(times.begin(), times.end(), cut) - times.begin());
  size_t at_cut = spec.max_instances - near;
  v.first = kNoTime;
  v.last = kNoTime;
  for (auto& s : v.series) {
    std::vector<TemporalInstance> kept;
    for (auto& i : s.instances) {
      int64_t t = ngsild::shown_time(i, spec.time.property);
      bool keep = latest ? t > cut : t < cut;
      if (t == cut && at_cut > 0) {
        keep = true;
        --at_cut;
      }
      if (!keep) continue;
      v.first = v.first == kNoTime ? t : std::min(v.first, t);
      v.last = v.last == kNoTime ? t : std::max(v.last, t);
      kept.push_back(std::move(i));
    }
    s.instances = std::move(kept);
  }
  v.truncated = true;
}

Entity TemporalService::probe(const Record& r) {
  Entity e;
  e.id = r.id;
  e.types = r.types;
  e.scopes = r.scopes;
  e.created_at = r.created_at;
  return e;
}

Result<TemporalEntityView> TemporalService::retrieve(
    std::string_view tenant, std::string_view id, const TemporalReadSpec& spec,
    const ngsild::query::RestrictionPtr& restriction) const {
  RecordPtr r = find(tenant, id);
  if (!r || (restriction && !restriction->can_read(probe(*r)))) return no_history(std::string(id));
  if (spec.pick && !spec.attrs.empty()) {
    bool any = std::any_of(r->series.begin(), r->series.end(),
                           [&](const Series& s) { return listed(spec.attrs, s.name); });
    if (!any) {
      return Status::NotFound("entity '" + std::string(id) +
                              "' has no history of the attributes asked for");
    }
  }
  return view(*r, spec);
}

Result<TemporalService::Page> TemporalService::query(std::string_view tenant,
                                                     const ngsild::query::EntityQuery& q,
                                                     const TemporalReadSpec& spec) const {
  std::vector<RecordPtr> records;
  {
    std::shared_lock lock(mu_);
    auto t = published_.find(tenant);
    if (t != published_.end()) {
      records.reserve(t->second.size());
      for (const auto& [_, r] : t->second)
        records.push_back(r);
    }
  }
  // Ids and types first, on the record alone; q, geo-queries, attrs, the window and orderBy on
  // the instances in the window.
  ngsild::query::EntityQuery head = q;
  head.q.reset();
  head.geo.reset();
  head.attrs.clear();
  TemporalReadSpec window = spec;
  window.pick = false;
  window.omit.clear();
  window.last_n = 0;
  window.max_instances = 0;
  const ngsild::geo::Geometry* from = q.order_from ? &*q.order_from : nullptr;
  std::shared_ptr<const ngsild::query::Collation> collation = q.collation;
  if (!collation && !q.order_by.empty()) collation = *ngsild::query::Collation::get("");
  // Without a window, q, geo-query, attrs or orderBy, the records alone decide.
  const bool reads_instances =
      spec.time.rel != TimeRel::kAny || q.q || q.geo || !q.attrs.empty() || !q.order_by.empty();
  struct Match {
    RecordPtr record;
    std::vector<ngsild::query::SortKey> keys;
  };
  std::vector<Match> matches;
  for (const RecordPtr& r : records) {
    Entity e = probe(*r);
    if (!head.matches(e)) continue;
    if (!reads_instances) {
      matches.push_back({r, {}});
      continue;
    }
    auto all = view(*r, window);
    if (!all.ok()) return all.status();
    // An entity with no instance in the window is not in the answer.
    if (spec.time.rel != TimeRel::kAny && all->series.empty()) continue;
    e.modified_at = all->modified_at;
    // q holds when some instances satisfy it; orderBy reads the latest instance of each series.
    Entity latest = e;
    for (auto& s : all->series) {
      if (!q.order_by.empty() && !s.instances.empty())
        latest.attrs.push_back(s.instances.back().attr);
      for (auto& i : s.instances)
        e.attrs.push_back(std::move(i.attr));
    }
    if (!q.matches(e)) continue;
    Match m{r, {}};
    if (!q.order_by.empty())
      m.keys = ngsild::query::sort_keys(latest, q.order_by, from, *collation);
    matches.push_back(std::move(m));
  }
  if (!q.order_by.empty()) {
    // Ties in creation order, as Query Entities orders them.
    std::stable_sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
      int c = ngsild::query::compare_keys(a.keys, b.keys, q.order_by);
      return c != 0 ? c < 0 : a.record->created_at < b.record->created_at;
    });
  }
  Page page;
  page.total = matches.size();
  for (size_t k = q.offset; k < matches.size(); ++k) {
    if (page.entities.size() >= q.limit) {
      page.more = true;
      break;
    }
    auto v = view(*matches[k].record, spec);
    if (!v.ok()) return v.status();
    page.entities.push_back(std::move(*v));
  }
  return page;
}

}  // namespace tsunagu::engine
