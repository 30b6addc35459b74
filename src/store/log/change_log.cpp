#include "store/log/change_log.hpp"

#include <fcntl.h>
#include <isa-l/crc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace tsunagu::store {
namespace {

// "TSL2": the CRC covers the segment's number (8 bytes) and the payload, so a record left in a
// reused segment file from its earlier life does not read as one of the segment's own.
constexpr uint32_t kMagic = 0x54534c32;
// "TSL1" (before segments were reused): the CRC covers the payload only. Still read; such
// segments are deleted after their fold, never reused.
constexpr uint32_t kMagicV1 = 0x54534c31;
constexpr size_t kHeader = 12;  // magic, payload length, CRC-32
constexpr uint32_t kMaxRecord = 1u << 30;

void put32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // little-endian hosts only (checked in the .cpp's static_assert)
  out.append(b, 4);
}
void put64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
void put_string(std::string& out, std::string_view s) {
  put32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool u8(uint8_t& v) { return take(&v, 1); }
  bool u32(uint32_t& v) { return take(&v, 4); }
  bool u64(uint64_t& v) { return take(&v, 8); }
  bool string(std::string_view& v) {
    uint32_t n;
    if (!u32(n) || n > s_.size() - pos_) return false;
    v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == s_.size(); }

 private:
  bool take(void* p, size_t n) {
    if (n > s_.size() - pos_) return false;
    std::memcpy(p, s_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

// zlib's CRC-32 (the gzip polynomial, reflected), computed by ISA-L; `seed` continues an
// earlier CRC as zlib's crc32() does.
uint32_t crc(std::string_view s, uint32_t seed = 0) {
  return crc32_gzip_refl(seed, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}
// A TSL2 record's CRC: the segment number, little-endian, then the payload.
uint32_t record_crc(uint64_t seq, std::string_view payload) {
  char b[8];
  std::memcpy(b, &seq, 8);
  return crc(payload, crc(std::string_view(b, 8)));
}

Status io_error(const std::string& what, const std::string& path) {
  return Status::Internal("change log: " + what + " '" + path + "': " + std::strerror(errno));
}

// The size of the intact record of segment `seq` (header and payload) starting at `pos` of
// `data`, or 0.
size_t frame_at(std::string_view data, size_t pos, uint64_t seq) {
  if (data.size() - pos < kHeader) return 0;
  uint32_t magic, len, sum;
  std::memcpy(&magic, data.data() + pos, 4);
  std::memcpy(&len, data.data() + pos + 4, 4);
  std::memcpy(&sum, data.data() + pos + 8, 4);
  if ((magic != kMagic && magic != kMagicV1) || len > kMaxRecord ||
      len > data.size() - pos - kHeader) {
    return 0;
  }
  std::string_view payload = data.substr(pos + kHeader, len);
  if ((magic == kMagic ? record_crc(seq, payload) : crc(payload)) != sum) return 0;
  return kHeader + len;
}

}  // namespace

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the change log format is little-endian");

// An op is its kind and then, for the kinds up to kNote, the entity row and three strings
// (tenant, id, doc); for the record ops, which have no row, the record kind, tenant and key,
// and a put's document; for the history ops, the series and an append's chunk
// (docs/storage.md, "Record format").
void encode_batch(const WriteBatch& batch, std::string& out) {
  put32(out, static_cast<uint32_t>(batch.ops.size()));
  for (const auto& op : batch.ops) {
    out.push_back(static_cast<char>(op.kind));
    switch (op.kind) {
      case WriteBatch::OpKind::kPutRecord:
      case WriteBatch::OpKind::kDeleteRecord:
        put_string(out, op.record_kind);
        put_string(out, op.tenant);
        put_string(out, op.id);
        if (op.kind == WriteBatch::OpKind::kPutRecord) put_string(out, op.doc);
        break;
      case WriteBatch::OpKind::kAppendHistory:
      case WriteBatch::OpKind::kTrimHistory:
        put64(out, op.row);
        put_string(out, op.doc);
        break;
      case WriteBatch::OpKind::kDropHistory:
        put64(out, op.row);
        break;
      default:
        put64(out, op.row);
        put_string(out, op.tenant);
        put_string(out, op.id);
        put_string(out, op.doc);
        break;
    }
  }
}

Status decode_ops(std::string_view payload, std::vector<OpView>& out) {
  Reader r(payload);
  uint32_t n;
  if (!r.u32(n)) return Status::Internal("change log: record without an op count");
  for (uint32_t i = 0; i < n; ++i) {
    OpView op{};
    uint8_t kind;
    bool ok = r.u8(kind);
    // A kind this version does not know (written by a newer one) is refused like damage: its
    // layout is unknown, and skipping it would lose a change.
    if (ok && kind <= static_cast<uint8_t>(WriteBatch::OpKind::kNote)) {
      ok = r.u64(op.row) && r.string(op.tenant) && r.string(op.id) && r.string(op.doc);
    } else if (ok && kind == static_cast<uint8_t>(WriteBatch::OpKind::kPutRecord)) {
      ok = r.string(op.record_kind) && r.string(op.tenant) && r.string(op.id) && r.string(op.doc);
    } else if (ok && kind == static_cast<uint8_t>(WriteBatch::OpKind::kDeleteRecord)) {
      ok = r.string(op.record_kind) && r.string(op.tenant) && r.string(op.id);
    } else if (ok && (kind == static_cast<uint8_t>(WriteBatch::OpKind::kAppendHistory) ||
                      kind == static_cast<uint8_t>(WriteBatch::OpKind::kTrimHistory))) {
      ok = r.u64(op.row) && r.string(op.doc);
    } else if (ok && kind == static_cast<uint8_t>(WriteBatch::OpKind::kDropHistory)) {
      ok = r.u64(op.row);
    } else {
      ok = false;
    }
    if (!ok) {
      return Status::Internal("change log: op " + std::to_string(i) + " of a record is damaged");
    }
    op.kind = static_cast<WriteBatch::OpKind>(kind);
    out.push_back(op);
  }
  if (!r.done()) return Status::Internal("change log: a record has trailing bytes");
  return Status::Ok();
}

ChangeLog::Mapping::~Mapping() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

ChangeLog::~ChangeLog() {
  close();
}

void ChangeLog::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status ChangeLog::open(const std::string& path, uint64_t seq, uint64_t size) {
  close();
  path_ = path;
  seq_ = seq;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open", path);
  // Anything after the valid prefix is a torn record that was never acknowledged.
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return io_error("cannot truncate", path);
  if (::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0) return io_error("cannot seek", path);
  size_ = file_size_ = size;
  return Status::Ok();
}

Status ChangeLog::reuse(const std::string& path, uint64_t seq) {
  close();
  path_ = path;
  seq_ = seq;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) return io_error("cannot open", path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error("cannot stat", path);
  // A write of part of a page that is not cached reads the page first; if the file's pages
  // left the cache since its fold read them, read them back ahead of the appends.
  (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_WILLNEED);
  size_ = 0;
  file_size_ = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

Status ChangeLog::seal(bool sync) {
  if (fd_ < 0) return Status::Ok();
  if (file_size_ > size_) {
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      Status st = io_error("cannot truncate", path_);
      close();
      return st;
    }
    // With --sync full the records are on disk already; this makes the cut so, so that a
    // power loss cannot bring the old records back after the segment's last one.
    if (sync && ::fdatasync(fd_) != 0) {
      Status st = io_error("cannot sync", path_);
      close();
      return st;
    }
    file_size_ = size_;
  }
  close();
  return Status::Ok();
}

Status ChangeLog::append(std::string_view payload, bool sync) {
  frame_.clear();
  put32(frame_, kMagic);
  put32(frame_, static_cast<uint32_t>(payload.size()));
  put32(frame_, record_crc(seq_, payload));
  const char* parts[2] = {frame_.data(), payload.data()};
  size_t lengths[2] = {frame_.size(), payload.size()};
  for (int i = 0; i < 2; ++i) {
    size_t done = 0;
    while (done < lengths[i]) {
      ssize_t n = ::write(fd_, parts[i] + done, lengths[i] - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Status st = io_error("cannot write to", path_);
        // Cut the partial record off so later records stay readable.
        if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 ||
            ::lseek(fd_, static_cast<off_t>(size_), SEEK_SET) < 0) {
          close();  // no further appends to a file we cannot repair
        }
        file_size_ = size_;
        return st;
      }
      done += static_cast<size_t>(n);
    }
  }
  if (sync && ::fdatasync(fd_) != 0) {
    Status st = io_error("cannot sync", path_);
    close();  // after a failed fsync the file's state is unknown: stop using it
    return st;
  }
  size_ += kHeader + payload.size();
  file_size_ = std::max(file_size_, size_);
  return Status::Ok();
}

Status ChangeLog::replay(const std::string& path, uint64_t seq,
                         const std::function<Status(std::string_view)>& record,
                         uint64_t& valid_size, bool& torn, Mapping* keep) {
  valid_size = 0;
  torn = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path);
  // Mapped rather than read: a segment is tens of MiB, and reading it meant faulting in and
  // zeroing as much fresh memory, then copying the file into it (under a batch-create load, 8 %
  // of the server's time went to that; docs/storage.md).
  // Segments replayed are closed (the fold's) or not yet reopened (start), so none shrinks under
  // the mapping.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status err = io_error("cannot stat", path);
    ::close(fd);
    return err;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = nullptr;
  if (size > 0) {
    map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) {
      Status err = io_error("cannot map", path);
      ::close(fd);
      return err;
    }
  }
  ::close(fd);  // the mapping stays valid
  Mapping mapping(map, size);
  const std::string_view data = mapping.data();
  size_t pos = 0;
  while (pos < data.size()) {
    size_t frame = frame_at(data, pos, seq);
    if (frame == 0) break;
    TSUNAGU_RETURN_IF_ERROR(record(std::string_view(data.data() + pos + kHeader, frame - kHeader)));
    pos += frame;
  }
  valid_size = pos;
  torn = pos != data.size();
  if (torn) {
    // A crash tears only the last record (each append is synced before the next starts). An
    // intact record after the bad bytes means acknowledged data was damaged: report it rather
    // than cut every later record off.
    for (size_t at = pos + 1; at + kHeader <= data.size(); ++at) {
      if (frame_at(data, at, seq) != 0) {
        return Status::Internal("change log '" + path + "' is damaged at byte " +
                                std::to_string(pos) + ", before an intact record at byte " +
                                std::to_string(at));
      }
    }
  }
  if (keep != nullptr) *keep = std::move(mapping);
  return Status::Ok();
}

}  // namespace tsunagu::store
