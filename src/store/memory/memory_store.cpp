#include "store/memory/memory_store.hpp"

#include <algorithm>

namespace tsunagu::store {

Status MemoryStore::apply(WriteBatch batch) {
  std::lock_guard lock(data_->mu);
  // On a copy, so that a batch that fails part way changes nothing (as a transaction).
  auto rows = data_->rows;
  auto tenants = data_->tenants;
  auto notes = data_->notes;
  auto records = data_->records;
  // History changes are decoded first and applied last, so that a damaged chunk changes nothing.
  struct HistoryOp {
    uint64_t series;
    WriteBatch::OpKind kind;
    std::vector<history::Instance> instances;  // kAppendHistory
    int64_t cutoff = 0;                        // kTrimHistory
  };
  std::vector<HistoryOp> history_ops;
  for (auto& op : batch.ops) {
    switch (op.kind) {
      case WriteBatch::OpKind::kCreateTenant:
        tenants[op.tenant] = true;
        break;
      case WriteBatch::OpKind::kInsertEntity:
        if (!rows.try_emplace(op.row, Data::Row{op.tenant, op.id, op.doc}).second) {
          return Status::Internal("memory: entity row " + std::to_string(op.row) + " exists");
        }
        break;
      case WriteBatch::OpKind::kUpdateEntity: {
        auto it = rows.find(op.row);
        if (it == rows.end()) {
          return Status::Internal("memory: entity row " + std::to_string(op.row) + " is missing");
        }
        it->second.doc = std::move(op.doc);
        break;
      }
      case WriteBatch::OpKind::kDeleteEntity:
        rows.erase(op.row);
        break;
      case WriteBatch::OpKind::kPutEntity:
        rows[op.row] = {std::move(op.tenant), std::move(op.id), std::move(op.doc)};
        break;
      case WriteBatch::OpKind::kNote:
        notes[op.id] = std::move(op.doc);
        break;
      case WriteBatch::OpKind::kPutRecord:
        records[{std::move(op.record_kind), std::move(op.tenant), std::move(op.id)}] =
            std::move(op.doc);
        break;
      case WriteBatch::OpKind::kDeleteRecord:
        records.erase({op.record_kind, op.tenant, op.id});
        break;
      case WriteBatch::OpKind::kAppendHistory: {
        std::vector<history::Instance> instances;
        TSUNAGU_RETURN_IF_ERROR(history::decode_chunk(op.doc, instances));
        history_ops.push_back({op.row, op.kind, std::move(instances)});
        break;
      }
      case WriteBatch::OpKind::kDropHistory:
        history_ops.push_back({op.row, op.kind, {}});
        break;
      case WriteBatch::OpKind::kTrimHistory: {
        auto cutoff = trim_cutoff(op.doc);
        if (!cutoff) return Status::Internal("memory: a history trim without a cutoff");
        history_ops.push_back({op.row, op.kind, {}, *cutoff});
        break;
      }
    }
  }
  if (!history_ops.empty()) {
    std::lock_guard history_lock(data_->history_mu);
    for (auto& [series, kind, instances, cutoff] : history_ops) {
      if (kind == WriteBatch::OpKind::kDropHistory) {
        data_->history.erase(series);
        continue;
      }
      auto& kept = data_->history[series];
      if (kind == WriteBatch::OpKind::kTrimHistory) {
        const int64_t before = cutoff;
        std::erase_if(kept, [before](const history::Instance& i) { return i.time() < before; });
        continue;
      }
      for (auto& instance : instances) {
        // After every instance of an earlier time, or of the same time and a lower seq.
        auto at =
            std::upper_bound(kept.begin(), kept.end(), instance,
                             [](const history::Instance& a, const history::Instance& b) {
                               return a.time() != b.time() ? a.time() < b.time() : a.seq < b.seq;
                             });
        kept.insert(at, std::move(instance));
      }
    }
  }
  data_->rows = std::move(rows);
  data_->tenants = std::move(tenants);
  data_->notes = std::move(notes);
  data_->records = std::move(records);
  return Status::Ok();
}

Status MemoryStore::load(LoadVisitor& visitor) {
  std::lock_guard lock(data_->mu);
  for (const auto& [key, value] : data_->notes)
    TSUNAGU_RETURN_IF_ERROR(visitor.note(key, value));
  for (const auto& [name, _] : data_->tenants)
    TSUNAGU_RETURN_IF_ERROR(visitor.tenant(name));
  for (const auto& [row, r] : data_->rows)
    TSUNAGU_RETURN_IF_ERROR(visitor.entity(row, r.tenant, r.id, r.doc));
  for (const auto& [address, doc] : data_->records) {
    const auto& [kind, tenant, key] = address;
    TSUNAGU_RETURN_IF_ERROR(visitor.record(kind, tenant, key, doc));
  }
  return Status::Ok();
}

Status MemoryStore::read_history(uint64_t series, const history::TimeRange& range, size_t last_n,
                                 std::vector<history::Instance>& out) {
  std::lock_guard lock(data_->history_mu);
  auto it = data_->history.find(series);
  if (it == data_->history.end()) return Status::Ok();
  const auto& kept = it->second;
  auto first = std::lower_bound(kept.begin(), kept.end(), range.from,
                                [](const history::Instance& a, int64_t t) { return a.time() < t; });
  auto last = std::lower_bound(first, kept.end(), range.until,
                               [](const history::Instance& a, int64_t t) { return a.time() < t; });
  if (last_n > 0 && static_cast<size_t>(last - first) > last_n) first = last - last_n;
  out.insert(out.end(), first, last);
  return Status::Ok();
}

Result<std::optional<std::string>> MemoryStore::note(std::string_view key) {
  std::lock_guard lock(data_->mu);
  auto it = data_->notes.find(std::string(key));
  if (it == data_->notes.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

}  // namespace tsunagu::store
