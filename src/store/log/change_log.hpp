// The change log: append-only files (segments) of write batches, each one record with a length
// and a CRC, so that making a group of changes durable costs one sequential write and one fdatasync
// instead of rewriting B-tree pages. A record torn by a crash (never acknowledged) is detected
// by its length or CRC when the log is read back, and cut off. Format: docs/storage.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "store/store.hpp"

namespace tsunagu::store {

// Encodes a batch as one record payload, and back (as views into `payload`).
void encode_batch(const WriteBatch& batch, std::string& out);
Status decode_ops(std::string_view payload, std::vector<OpView>& out);

// One log file, opened for appending. Not thread-safe (used by the committing thread).
class ChangeLog {
 public:
  ChangeLog() = default;
  ~ChangeLog();
  ChangeLog(const ChangeLog&) = delete;
  ChangeLog& operator=(const ChangeLog&) = delete;

  // Opens (creating) `path` as log segment `seq` for appending at `size` bytes (what replay()
  // found valid; anything after it is cut off).
  Status open(const std::string& path, uint64_t seq, uint64_t size);
  // Opens `path`, a segment whose records are all folded, as segment `seq`, writing from its
  // first byte over the old records: its blocks are allocated and its pages most likely cached,
  // so that appending costs less than appending to a new file. Old records left after the new
  // ones cannot pass for records of `seq` (each record's CRC covers its segment's number), and
  // seal() cuts them off.
  Status reuse(const std::string& path, uint64_t seq);
  // Appends one record and, with `sync`, waits until it is on disk. On failure the file is cut
  // back to its previous size, so a failed append never leaves a torn record before later ones.
  Status append(std::string_view payload, bool sync);
  // Ends the segment: cuts off what a reused file held after the records written (with `sync`,
  // durably) and closes it.
  Status seal(bool sync);
  uint64_t size() const { return size_; }
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  void close();

  // A read-only mapping of a whole log file, unmapped when destroyed.
  class Mapping {
   public:
    Mapping() = default;
    Mapping(void* data, size_t size) : data_(data), size_(size) {}
    Mapping(Mapping&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; }
    Mapping& operator=(Mapping&& o) noexcept {
      std::swap(data_, o.data_);
      std::swap(size_, o.size_);
      return *this;
    }
    ~Mapping();
    std::string_view data() const { return {static_cast<const char*>(data_), size_}; }

   private:
    void* data_ = nullptr;
    size_t size_ = 0;
  };

  // Reads every valid record of segment `seq` at `path` in order, calling `record(payload)`.
  // Returns the size of the valid prefix in `valid_size`; `torn` tells whether bytes after it were
  // found. The payloads point into a mapping of the file: it ends with the call, or, with `keep`,
  // is handed over there, so that views of the payloads stay valid.
  static Status replay(const std::string& path, uint64_t seq,
                       const std::function<Status(std::string_view payload)>& record,
                       uint64_t& valid_size, bool& torn, Mapping* keep = nullptr);

 private:
  int fd_ = -1;
  uint64_t seq_ = 0;
  uint64_t size_ = 0;       // bytes of this segment's records
  uint64_t file_size_ = 0;  // bytes in the file (more than size_ while a reused file's old
                            // records remain after the new ones)
  std::string path_;
  std::string frame_;  // reused record buffer
};

}  // namespace tsunagu::store
