// The change log: an append-only file of write batches, each one record with a length and a
// CRC, so that making a group of changes durable costs one sequential write and one fdatasync
// instead of rewriting B-tree pages. A record torn by a crash (never acknowledged) is detected
// by its length or CRC when the log is read back, and cut off. Format: docs/storage.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "store/store.hpp"

namespace tsunagu::store {

// Encodes a batch as one record payload, and back.
void encode_batch(const WriteBatch& batch, std::string& out);
Status decode_batch(std::string_view payload, WriteBatch& out);

// One log file, opened for appending. Not thread-safe (used by the committing thread).
class ChangeLog {
 public:
  ChangeLog() = default;
  ~ChangeLog();
  ChangeLog(const ChangeLog&) = delete;
  ChangeLog& operator=(const ChangeLog&) = delete;

  // Opens (creating) `path` for appending at `size` bytes (what replay() found valid; anything
  // after it is cut off).
  Status open(const std::string& path, uint64_t size);
  // Appends one record and, with `sync`, waits until it is on disk. On failure the file is cut
  // back to its previous size, so a failed append never leaves a torn record before later ones.
  Status append(std::string_view payload, bool sync);
  uint64_t size() const { return size_; }
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  void close();

  // Reads every valid record of `path` in order, calling `record(payload)`. Returns the size of
  // the valid prefix in `valid_size`; `torn` tells whether bytes after it were found.
  static Status replay(const std::string& path,
                       const std::function<Status(std::string_view payload)>& record,
                       uint64_t& valid_size, bool& torn);

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
  std::string frame_;  // reused record buffer
};

}  // namespace tsunagu::store
