#include "store/log/history_tail.hpp"

#include <algorithm>
#include <iterator>
#include <unordered_set>
#include <utility>

namespace tsunagu::store {

using history::Instance;

void HistoryTail::start_segment(uint64_t seq) {
  std::lock_guard lock(mu_);
  segment_ = seq;
}

HistoryTail::Op HistoryTail::make_op(uint64_t segment, WriteBatch::OpKind kind, std::string doc) {
  const bool drop = kind == WriteBatch::OpKind::kDropHistory;
  int64_t trim = INT64_MIN;
  std::shared_ptr<const std::string> chunk;
  if (kind == WriteBatch::OpKind::kTrimHistory) {
    trim = trim_cutoff(doc).value_or(INT64_MIN);
  } else if (!drop) {
    chunk = std::make_shared<const std::string>(std::move(doc));
  }
  return {segment, drop, trim, std::move(chunk)};
}

void HistoryTail::add_locked(uint64_t series, Op op) {
  auto& ops = series_[series];
  if (op.drop) ops.clear();
  ops.push_back(std::move(op));
}

void HistoryTail::add(uint64_t segment, uint64_t series, WriteBatch::OpKind kind, std::string doc) {
  Op op = make_op(segment, kind, std::move(doc));
  std::lock_guard lock(mu_);
  add_locked(series, std::move(op));
}

void HistoryTail::add_batch(uint64_t segment, std::vector<WriteBatch::Op>& ops) {
  std::vector<std::pair<uint64_t, Op>> made;
  for (auto& op : ops) {
    if (op.kind == WriteBatch::OpKind::kAppendHistory ||
        op.kind == WriteBatch::OpKind::kDropHistory ||
        op.kind == WriteBatch::OpKind::kTrimHistory) {
      made.emplace_back(op.row, make_op(segment, op.kind, std::move(op.doc)));
    }
  }
  if (made.empty()) return;
  std::lock_guard lock(mu_);
  for (auto& [series, op] : made)
    add_locked(series, std::move(op));
}

void HistoryTail::forget_upto(uint64_t segment) {
  std::lock_guard lock(mu_);
  for (auto it = series_.begin(); it != series_.end();) {
    auto& ops = it->second;
    auto kept = std::find_if(ops.begin(), ops.end(),
                             [segment](const Op& op) { return op.segment > segment; });
    ops.erase(ops.begin(), kept);
    it = ops.empty() ? series_.erase(it) : std::next(it);
  }
}

HistoryTail::Snapshot HistoryTail::snapshot(uint64_t series) const {
  Snapshot s;
  std::lock_guard lock(mu_);
  s.segment = segment_;
  auto it = series_.find(series);
  if (it == series_.end()) return s;
  for (const Op& op : it->second) {
    if (op.drop) {
      s.dropped = true;  // only the first op can be one: a drop forgets the ops before it
    } else if (op.chunk == nullptr) {
      s.trim = std::max(s.trim, op.trim);
      s.trimmed_chunks = s.chunks.size();
    } else {
      s.chunks.push_back(op.chunk);
    }
  }
  return s;
}

Status HistoryTail::overlay(const Snapshot& snapshot, const history::TimeRange& range,
                            size_t last_n, std::vector<Instance> base, std::vector<Instance>& out) {
  auto before = [](const Instance& a, const Instance& b) {
    const int64_t ta = a.time(), tb = b.time();
    return ta != tb ? ta < tb : a.seq < b.seq;
  };
  if (snapshot.trim != INT64_MIN) {
    const int64_t cutoff = snapshot.trim;
    std::erase_if(base, [cutoff](const Instance& in) { return in.time() < cutoff; });
  }
  std::vector<Instance> logged;
  for (size_t i = 0; i < snapshot.chunks.size(); ++i) {
    history::TimeRange r = range;
    if (i < snapshot.trimmed_chunks) r.from = std::max(r.from, snapshot.trim);
    TSUNAGU_RETURN_IF_ERROR(history::decode_chunk(*snapshot.chunks[i], logged, r));
  }
  if (!logged.empty()) {
    std::stable_sort(logged.begin(), logged.end(), before);
    // An instance both logged and in `base` has the same time in both: only the instances of
    // `base` within the logged times need to be looked at.
    auto first = std::lower_bound(base.begin(), base.end(), logged.front().time(),
                                  [](const Instance& a, int64_t t) { return a.time() < t; });
    auto last = std::upper_bound(first, base.end(), logged.back().time(),
                                 [](int64_t t, const Instance& a) { return t < a.time(); });
    std::unordered_set<uint64_t> seen;
    for (auto it = first; it != last; ++it)
      seen.insert(it->seq);
    std::erase_if(logged, [&](const Instance& in) { return !seen.insert(in.seq).second; });
    const auto middle = static_cast<ptrdiff_t>(base.size());
    base.insert(base.end(), std::make_move_iterator(logged.begin()),
                std::make_move_iterator(logged.end()));
    std::inplace_merge(base.begin(), base.begin() + middle, base.end(), before);
  }
  const size_t skip = last_n > 0 && base.size() > last_n ? base.size() - last_n : 0;
  out.insert(out.end(), std::make_move_iterator(base.begin() + static_cast<ptrdiff_t>(skip)),
             std::make_move_iterator(base.end()));
  return Status::Ok();
}

}  // namespace tsunagu::store
