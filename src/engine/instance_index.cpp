#include "engine/instance_index.hpp"

namespace tsunagu::engine {

using ngsild::Attribute;

namespace {
// Below this many changes, or attributes, the entity's own scans are cheaper than a table.
constexpr size_t kIndexFrom = 16;
}  // namespace

InstanceIndex::InstanceIndex(ngsild::Entity& e, size_t changes, bool force)
    : e_(e), indexed_(force || (changes >= kIndexFrom && e.attrs.size() >= kIndexFrom)) {
  if (!indexed_) return;
  where_.reserve(e.attrs.size() + changes);
  erased_.assign(e.attrs.size(), false);
  for (size_t i = 0; i < e.attrs.size(); ++i) {
    where_.try_emplace(key(e.attrs[i].name, e.attrs[i].dataset_id), static_cast<int64_t>(i));
    ++live_existing_.try_emplace(e.attrs[i].name.id(), 0).first->second;
  }
}

Attribute* InstanceIndex::find(Atom name, Atom dataset) {
  if (!indexed_) return e_.find(name, dataset);
  auto it = where_.find(key(name, dataset));
  if (it == where_.end()) return nullptr;
  if (it->second >= 0) {
    const auto i = static_cast<size_t>(it->second);
    return erased_[i] ? nullptr : &e_.attrs[i];
  }
  Pending& p = pending_[static_cast<size_t>(-1 - it->second)];
  return p.live ? &p.attr : nullptr;
}

void InstanceIndex::put(Attribute a) {
  if (!indexed_) {
    e_.put(std::move(a));
    return;
  }
  if (Attribute* there = find(a.name, a.dataset_id)) {  // replaced where it is
    *there = std::move(a);
    return;
  }
  // New: after the instances of its name there are (Entity::put), or after everything.
  const uint32_t name = a.name.id();
  auto live = live_existing_.find(name);
  const bool run = live != live_existing_.end() && live->second > 0;
  auto [g, fresh] = group_of_.try_emplace(name, groups_.size());
  if (fresh) {
    groups_.push_back({run, {}, 0});
  } else if (groups_[g->second].live == 0 && !run) {
    // Every instance of the name is gone: like a name never seen, it goes after everything.
    g->second = groups_.size();
    groups_.push_back({false, {}, 0});
  }
  Group& group = groups_[g->second];
  group.members.push_back(pending_.size());
  ++group.live;
  where_.try_emplace(key(a.name, a.dataset_id), 0).first->second =
      -1 - static_cast<int64_t>(pending_.size());
  pending_.push_back({std::move(a), true});
}

bool InstanceIndex::erase(Atom name, Atom dataset) {
  if (!indexed_) return e_.erase(name, dataset);
  auto it = where_.find(key(name, dataset));
  if (it == where_.end()) return false;
  if (it->second >= 0) {
    const auto i = static_cast<size_t>(it->second);
    if (erased_[i]) return false;
    erased_[i] = true;
    --live_existing_.find(name.id())->second;
    return true;
  }
  Pending& p = pending_[static_cast<size_t>(-1 - it->second)];
  if (!p.live) return false;
  p.live = false;
  --groups_[group_of_.find(name.id())->second].live;
  return true;
}

InstanceIndex::~InstanceIndex() {
  finish();
}

void InstanceIndex::finish() {
  if (!indexed_ || finished_) return;
  finished_ = true;
  std::vector<Attribute> out;
  out.reserve(e_.attrs.size() + pending_.size());
  auto emit = [&](const Group& g) {
    for (size_t m : g.members) {
      if (pending_[m].live) out.push_back(std::move(pending_[m].attr));
    }
  };
  std::vector<bool> done(groups_.size(), false);
  auto& attrs = e_.attrs;
  for (size_t i = 0; i < attrs.size(); ++i) {
    const Atom name = attrs[i].name;
    if (!erased_[i]) out.push_back(std::move(attrs[i]));
    if (i + 1 < attrs.size() && attrs[i + 1].name == name) continue;
    // The end of the name's run: the new instances anchored to it follow.
    auto g = group_of_.find(name.id());
    if (g != group_of_.end() && groups_[g->second].anchored && !done[g->second]) {
      emit(groups_[g->second]);
      done[g->second] = true;
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!done[g]) emit(groups_[g]);
  }
  attrs = std::move(out);
}

}  // namespace tsunagu::engine
