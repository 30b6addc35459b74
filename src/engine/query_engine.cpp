#include "engine/query_engine.hpp"
#include "engine/tenant_spatial.hpp"

#include <algorithm>
#include <cmath>

namespace tsunagu::engine {
namespace {

using ngsild::query::EntityQuery;

// Collects page results and counts matches; says when scanning may stop.
class Pager {
 public:
  explicit Pager(const EntityQuery& q) : q_(q) {}
  // Offers one matching entity; returns false when no more are needed.
  bool take(const EntityPtr& e) {
    if (total_ >= q_.offset && page_.size() < q_.limit) page_.push_back(e);
    ++total_;
    // One match past the page tells whether a next page exists.
    return q_.count || total_ <= q_.offset + q_.limit;
  }
  QueryResult result() {
    bool more = total_ > q_.offset + q_.limit;
    return {std::move(page_), total_, more};
  }

 private:
  const EntityQuery& q_;
  std::vector<EntityPtr> page_;
  size_t total_ = 0;
};

// A q term the relationship index answers exactly: attr=="uri" (or a list of URIs) on a
// top-level attribute that, in this tenant, only ever holds Relationships.
const ngsild::query::Term* indexable_term(const Tenant& t, const EntityQuery& q,
                                          const std::unordered_map<Atom, AttributeStats>& stats) {
  if (!q.q) return nullptr;
  using ngsild::query::Expr;
  auto usable = [&](const Expr& e) -> const ngsild::query::Term* {
    if (e.kind != Expr::Kind::kTerm) return nullptr;
    const auto& term = *e.term;
    if (term.op != ngsild::query::Op::kEq || term.shape == ngsild::query::Term::Shape::kRange ||
        term.path.names.size() != 1 || term.path.meta != ngsild::query::Meta::kNone ||
        !term.path.member.empty()) {
      return nullptr;
    }
    for (const auto& v : term.values) {
      if (v.kind != ngsild::query::Literal::Kind::kString) return nullptr;
    }
    auto st = stats.find(term.path.names[0]);
    if (st == stats.end()) return &term;  // nobody holds it: the index (empty) is exact
    size_t relationships =
        st->second.kinds[static_cast<size_t>(ngsild::AttrKind::kRelationship)] +
        st->second.kinds[static_cast<size_t>(ngsild::AttrKind::kListRelationship)];
    return relationships == st->second.instances ? &term : nullptr;
  };
  if (const auto* term = usable(*q.q)) return term;
  if (q.q->kind == Expr::Kind::kAnd) {
    for (const auto& c : q.q->children) {
      if (const auto* term = usable(c)) return term;
    }
  }
  (void)t;
  return nullptr;
}

// A conjunct of `q` that compares one attribute's value with a number (temperature>30), which
// a numeric column can decide for entities whose one instance is a Property holding a number.
const ngsild::query::Term* numeric_conjunct(const ngsild::query::Expr& e) {
  using ngsild::query::Expr;
  using ngsild::query::Op;
  auto fits = [](const ngsild::query::Term& t) {
    return (t.op == Op::kGt || t.op == Op::kGe || t.op == Op::kLt || t.op == Op::kLe) &&
           t.shape == ngsild::query::Term::Shape::kSingle && t.values.size() == 1 &&
           t.values[0].kind == ngsild::query::Literal::Kind::kNumber && t.path.names.size() == 1 &&
           t.path.meta == ngsild::query::Meta::kNone && t.path.member.empty();
  };
  if (e.kind == Expr::Kind::kTerm) return fits(*e.term) ? e.term.get() : nullptr;
  if (e.kind != Expr::Kind::kAnd) return nullptr;
  for (const auto& c : e.children) {
    if (c.kind == Expr::Kind::kTerm && fits(*c.term)) return c.term.get();
  }
  return nullptr;
}

// Whether `v op c` holds, as q compares numbers.
bool numeric_holds(double v, ngsild::query::Op op, double c) {
  switch (op) {
    case ngsild::query::Op::kGt:
      return v > c;
    case ngsild::query::Op::kGe:
      return v >= c;
    case ngsild::query::Op::kLt:
      return v < c;
    default:
      return v <= c;
  }
}

bool only_type_filter(const EntityQuery& q) {
  return q.selectors.empty() && q.ids.empty() && !q.id_pattern && !q.q && q.attrs.empty() &&
         !q.geo && !q.scope && !q.restriction && q.order_by.empty();
}

}  // namespace

// The candidates a query reads, in creation order: a whole list (every entity, or one type's),
// or entries picked from an index.
struct QueryEngine::Plan {
  const SeqList* list = nullptr;
  std::vector<SeqList::Entry> picked;  // when not a whole list
  bool use_picked = false;
  bool geo_decided = false;  // the candidates already passed the geo-query
  bool single_type = false;  // the query selects exactly one type
  bool own_list = false;     // `list` is that one type's own list
  const std::vector<SeqList::Entry>& entries() const {
    return use_picked ? picked : list->entries();
  }
  // What matching need not check again: walking the one type's own list already guarantees
  // the type (walking every entity for selectors does not); so do the geo candidates, and they
  // passed the geo-query.
  EntityQuery::Skip skip() const {
    EntityQuery::Skip s;
    s.types = (!use_picked && own_list) || geo_decided;
    s.geo = geo_decided;
    return s;
  }
};

QueryResult QueryEngine::run(const Tenant& t, const EntityQuery& q) {
  std::shared_lock lock(t.mu_);
  Plan p;
  if (!plan(t, q, p)) return {};
  // A plain page of one type list (or of everything): no scan at all.
  if (p.list != nullptr && only_type_filter(q) && (p.single_type || !q.types || q.types->any)) {
    QueryResult r;
    r.total = p.list->size();
    const auto& entries = p.list->entries();
    for (size_t i = p.list->select(q.offset); i < entries.size() && r.entities.size() < q.limit;
         ++i) {
      if (entries[i].slot != SeqList::kDead) r.entities.push_back(t.slots_[entries[i].slot].entity);
    }
    r.more = q.offset + r.entities.size() < r.total;
    return r;
  }
  return q.order_by.empty() ? scan(t, q, p) : order(t, q, p);
}

bool QueryEngine::plan(const Tenant& t, const EntityQuery& q, Plan& p) {
  const SeqList*& list = p.list;
  std::vector<SeqList::Entry>& picked = p.picked;
  bool& use_picked = p.use_picked;
  bool selectors_by_id =
      !q.selectors.empty() && std::all_of(q.selectors.begin(), q.selectors.end(),
                                          [](const auto& s) { return s.id.has_value(); });
  if (selectors_by_id) {
    use_picked = true;
    for (const auto& s : q.selectors) {
      auto it = t.by_id_.find(std::string_view(*s.id));
      if (it != t.by_id_.end()) picked.push_back({t.slots_[it->second].seq, it->second});
    }
  } else if (!q.selectors.empty()) {
    list = &t.all_;
  } else if (const auto* term = indexable_term(t, q, t.stats_.attributes)) {
    use_picked = true;
    auto by_name = t.objects_.find(term->path.names[0]);
    if (by_name != t.objects_.end()) {
      for (const auto& v : term->values) {
        auto by_uri = by_name->second.find(std::string_view(v.text));
        if (by_uri == by_name->second.end()) continue;
        for (uint32_t slot : by_uri->second)
          picked.push_back({t.slots_[slot].seq, slot});
      }
    }
  } else if (!q.ids.empty()) {
    use_picked = true;
    for (const auto& id : q.ids) {
      auto it = t.by_id_.find(std::string_view(id));
      if (it != t.by_id_.end()) picked.push_back({t.slots_[it->second].seq, it->second});
    }
  } else if (q.geo && ngsild::geo::search_boxes(*q.geo).prunes) {
    use_picked = true;
    p.geo_decided = true;
    geo_candidates(t, q, p);
  } else if (q.types && !q.types->any) {
    if (q.types->groups.size() == 1) {
      // One group: walk the smallest of its type lists; matches() checks the others.
      for (Atom type : q.types->groups[0]) {
        auto it = t.by_type_.find(type);
        if (it == t.by_type_.end()) return false;
        if (list == nullptr || it->second.size() < list->size()) list = &it->second;
      }
      p.own_list = q.types->groups[0].size() == 1;
    } else {
      use_picked = true;
      for (const auto& g : q.types->groups) {
        const SeqList* smallest = nullptr;
        bool missing = false;
        for (Atom type : g) {
          auto it = t.by_type_.find(type);
          if (it == t.by_type_.end()) {
            missing = true;
            break;
          }
          if (smallest == nullptr || it->second.size() < smallest->size()) smallest = &it->second;
        }
        if (missing || smallest == nullptr) continue;
        for (const auto& e : smallest->entries()) {
          if (e.slot != SeqList::kDead) picked.push_back(e);
        }
      }
    }
  } else {
    list = &t.all_;
  }
  if (use_picked) {
    std::sort(picked.begin(), picked.end(),
              [](const SeqList::Entry& a, const SeqList::Entry& b) { return a.seq < b.seq; });
    picked.erase(std::unique(picked.begin(), picked.end(),
                             [](const SeqList::Entry& a, const SeqList::Entry& b) {
                               return a.seq == b.seq;
                             }),
                 picked.end());
  }
  p.single_type =
      q.types && !q.types->any && q.types->groups.size() == 1 && q.types->groups[0].size() == 1;
  return true;
}

// The spatial index's candidates that pass the geo-query, into p.picked.
void QueryEngine::geo_candidates(const Tenant& t, const EntityQuery& q, Plan& p) {
  std::vector<SeqList::Entry>& picked = p.picked;
  auto it = t.spatial_->by_name.find(q.geo_property);
  if (it != t.spatial_->by_name.end()) {
    // A query for one type (the usual case) reads that type's index, whose candidates need
    // no type check, and the index of entities with several types. Any other type selection
    // reads every index and checks the type first, which costs far less than the geometry:
    // the dense slot_types_ array rejects other types without touching their entities.
    const uint32_t single = q.types ? q.types->single().id() : 0;
    std::vector<uint32_t> hits;
    std::vector<std::pair<uint32_t, const ngsild::geo::Box*>> candidates;
    const ngsild::geo::PointMatcher points(*q.geo);
    auto scan = [&](const ngsild::geo::SpatialIndex& index, bool typed) {
      candidates.clear();
      index.for_each_candidate(*q.geo, [&](uint64_t key, const ngsild::geo::Box& box) {
        candidates.emplace_back(static_cast<uint32_t>(key), &box);
      });
      const size_t n = candidates.size();
      for (size_t i = 0; i < n; ++i) {
        const auto [slot, box] = candidates[i];
        if (!typed) {
          if (i + 8 < n) __builtin_prefetch(&t.slot_types_[candidates[i + 8].first]);
          const uint32_t tag = t.slot_types_[slot];
          if (single != 0 && tag != single && tag != Tenant::kSeveralTypes) continue;
          if (q.types && tag != single && !q.types->matches(*t.slots_[slot].entity)) continue;
        }
        // Points (most entity locations) are decided from the indexed position, without
        // parsing the entity's GeoJSON again; other shapes are parsed.
        bool hit;
        if (boost::geometry::equals(box->min_corner(), box->max_corner())) {
          hit = points.matches(box->min_corner());
        } else {
          hit = q.geo_matches(*t.slots_[slot].entity);
        }
        if (hit) hits.push_back(slot);
      }
    };
    if (single != 0) {
      auto own = it->second.find(single);
      if (own != it->second.end()) scan(own->second, true);
      auto several = it->second.find(Tenant::kSeveralTypes);
      if (several != it->second.end()) scan(several->second, false);
    } else {
      for (const auto& [tag, index] : it->second)
        scan(index, false);
    }
    // Each hit's slot is a cache miss of its own: asked for well ahead, not one at a time.
    picked.reserve(hits.size());
    for (size_t i = 0; i < hits.size(); ++i) {
      if (i + 8 < hits.size()) __builtin_prefetch(&t.slots_[hits[i + 8]]);
      picked.push_back({t.slots_[hits[i]].seq, hits[i]});
    }
  }
}

// Without orderBy: the matches in creation order, a page of them.
QueryResult QueryEngine::scan(const Tenant& t, const EntityQuery& q, const Plan& p) {
  const std::vector<SeqList::Entry>& entries = p.entries();
  const EntityQuery::Skip skip = p.skip();
  Pager pager(q);
  const size_t n = entries.size();
  // A numeric conjunct over one type's list: once the same query has been asked twice with
  // no write in between, a column of the attribute's values rejects most entities unread.
  // The column is aligned with the type's own list: only when that is the list walked.
  const ngsild::query::Term* numeric = nullptr;
  if (!p.use_picked && p.single_type && q.q) {
    auto own = t.by_type_.find(q.types->groups[0][0]);
    if (own != t.by_type_.end() && p.list == &own->second) numeric = numeric_conjunct(*q.q);
  }
  std::shared_ptr<const Tenant::NumericColumn> column;
  if (numeric != nullptr) column = t.numeric_column(q.types->groups[0][0], numeric->path.names[0]);
  if (column && column->values.size() != n) column = nullptr;
  // Entries worth reading: live, and not rejected by the column.
  auto wanted = [&](size_t i) {
    if (entries[i].slot == SeqList::kDead) return false;
    if (!column) return true;
    const double v = column->values[i];
    return std::isnan(v) || numeric_holds(v, numeric->op, numeric->values[0].number);
  };
  // Whether matching reads attributes (otherwise only the entity itself is touched).
  const bool reads_attrs = q.q || !q.attrs.empty() || (q.geo && !skip.geo);
  for (size_t i = 0; i < n; ++i) {
    // Entities are scattered on the heap: ask for the ones a few steps ahead early.
    if (i + 8 < n && wanted(i + 8)) {
      __builtin_prefetch(t.slots_[entries[i + 8].slot].entity.get());
    }
    if (!wanted(i)) continue;
    const EntityPtr& entity = t.slots_[entries[i].slot].entity;
    if (reads_attrs && i + 4 < n && wanted(i + 4)) {
      const auto* ahead = t.slots_[entries[i + 4].slot].entity.get();
      if (!ahead->attrs.empty()) __builtin_prefetch(ahead->attrs.data());
    }
    if (q.matches(*entity, skip) && !pager.take(entity)) break;
  }
  return pager.result();
}

// orderBy: every match is needed before the first page is known.
QueryResult QueryEngine::order(const Tenant& t, const EntityQuery& q, const Plan& p) {
  const std::vector<SeqList::Entry>& entries = p.entries();
  const EntityQuery::Skip skip = p.skip();
  struct Keyed {
    std::vector<ngsild::query::SortKey> keys;
    uint64_t seq;
    uint32_t slot;
  };
  std::vector<Keyed> matched;
  const ngsild::geo::Geometry* from = q.order_from ? &*q.order_from : nullptr;
  std::shared_ptr<const ngsild::query::Collation> collation = q.collation;
  if (!collation) collation = *ngsild::query::Collation::get("");
  for (const auto& e : entries) {
    if (e.slot == SeqList::kDead) continue;
    const auto& entity = *t.slots_[e.slot].entity;
    if (!q.matches(entity, skip)) continue;
    matched.push_back(
        {ngsild::query::sort_keys(entity, q.order_by, from, *collation), e.seq, e.slot});
  }
  std::sort(matched.begin(), matched.end(), [&](const Keyed& a, const Keyed& b) {
    int c = ngsild::query::compare_keys(a.keys, b.keys, q.order_by);
    return c != 0 ? c < 0 : a.seq < b.seq;  // ties keep creation order: stable pages
  });
  QueryResult r;
  r.total = matched.size();
  for (size_t i = q.offset; i < matched.size() && r.entities.size() < q.limit; ++i) {
    r.entities.push_back(t.slots_[matched[i].slot].entity);
  }
  r.more = q.offset + r.entities.size() < r.total;
  return r;
}

}  // namespace tsunagu::engine
