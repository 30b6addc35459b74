// The embedded store's history tail: the history ops the change log holds and the SQLite
// checkpoint may not, kept in memory per series until the fold has written their segment, so that
// Store::read_history sees every applied batch. A read is the checkpoint's instances with the
// tail's ops laid over them (docs/storage.md, "The history tail").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace tsunagu::store {

// Thread-safe: the committing thread adds, the fold thread forgets, any thread takes snapshots.
class HistoryTail {
 public:
  // What a read lays over the checkpoint, as the tail held it at one moment.
  struct Snapshot {
    // The series' first op is a drop: what the checkpoint holds of it does not count.
    bool dropped = false;
    // The chunks appended since (or since the last fold), in the order they were logged.
    std::vector<std::shared_ptr<const std::string>> chunks;
    // Trims (retention): the latest cutoff (a later one is never earlier), and how many of
    // `chunks` were logged before it. The checkpoint's instances before it do not count either.
    int64_t trim = INT64_MIN;
    size_t trimmed_chunks = 0;
    // The log segment being written at that moment: every op logged later is in it or a later
    // one, so a fold of segments before it wrote only ops the snapshot holds.
    uint64_t segment = 0;
  };

  // Ops logged from now on go to log segment `seq`.
  void start_segment(uint64_t seq);
  // Adds a history op logged in segment `segment`: a drop (which makes every earlier op of the
  // series irrelevant to a read, and so forgets them), a trim, or an append of `doc`'s chunk.
  void add(uint64_t segment, uint64_t series, WriteBatch::OpKind kind, std::string doc);
  // Adds the history ops among `ops` (one batch's), taking their docs, all at once: a snapshot
  // holds all of them or none, so that a rewrite (a drop, then an append) is never seen half done.
  void add_batch(uint64_t segment, std::vector<WriteBatch::Op>& ops);
  // Forgets the ops of segments up to `segment`: the checkpoint holds them.
  void forget_upto(uint64_t segment);
  Snapshot snapshot(uint64_t series) const;

  // Appends to `out` the instances of `base` (the checkpoint's answer to the same read, read
  // after `snapshot` was taken) with the snapshot's ops replayed over them: an append adds the
  // instances in `range` whose seq `base` does not hold (the fold may have written some of them
  // since the snapshot), in time order, then seq; with last_n > 0 only the last last_n are kept.
  // InternalError when a chunk is damaged (apply() checked each, so only memory damage can).
  static Status overlay(const Snapshot& snapshot, const history::TimeRange& range, size_t last_n,
                        std::vector<history::Instance> base, std::vector<history::Instance>& out);

 private:
  struct Op {
    uint64_t segment;
    bool drop;
    int64_t trim;                              // a trim's cutoff; INT64_MIN for other ops
    std::shared_ptr<const std::string> chunk;  // an append's, shared with snapshots
  };
  static Op make_op(uint64_t segment, WriteBatch::OpKind kind, std::string doc);
  void add_locked(uint64_t series, Op op);

  mutable std::mutex mu_;
  uint64_t segment_ = 0;
  // A vector, not a deque: most series hold one or two ops, and a deque's first block alone
  // is 512 bytes (half a gigabyte for the first instances of a million series).
  std::unordered_map<uint64_t, std::vector<Op>> series_;
};

}  // namespace tsunagu::store
