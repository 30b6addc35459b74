// The byte- and bit-level pieces of the history chunk format (docs/temporal.md, "History
// storage"): LEB128 varints, zigzag, and MSB-first bit streams. Readers never read past their
// input and report truncation by returning false: chunks are read from disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tsunagu::store::history {

inline uint64_t zigzag(uint64_t v) {
  return (v << 1) ^ (0 - (v >> 63));
}
inline uint64_t unzigzag(uint64_t z) {
  return (z >> 1) ^ (0 - (z & 1));
}

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void put_varint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

// Reads bytes from the front of a view.
class ByteReader {
 public:
  explicit ByteReader(std::string_view s)
      : p_(reinterpret_cast<const unsigned char*>(s.data())), end_(p_ + s.size()) {}

  // False when the input ends inside the varint or it is longer than ten bytes.
  bool varint(uint64_t& v) {
    if (p_ != end_ && *p_ < 0x80) {  // the common one-byte case
      v = *p_++;
      return true;
    }
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const unsigned char b = *p_++;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        v = r;
        return true;
      }
    }
    return false;
  }
  bool byte(uint8_t& b) {
    if (p_ == end_) return false;
    b = *p_++;
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (n > remaining()) return false;
    out = {reinterpret_cast<const char*>(p_), n};
    p_ += n;
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }

 private:
  const unsigned char* p_;
  const unsigned char* end_;
};

// Appends bits most significant first; finish() pads the last byte with zeros.
class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  // The low `n` bits of `v`, n <= 64.
  void put(uint64_t v, int n) {
    while (n > 0) {
      const int take = n < 8 - used_ ? n : 8 - used_;
      const uint64_t bits = (v >> (n - take)) & ((uint64_t{1} << take) - 1);
      acc_ = static_cast<uint8_t>(acc_ | (bits << (8 - used_ - take)));
      used_ += take;
      n -= take;
      if (used_ == 8) {
        out_.push_back(static_cast<char>(acc_));
        acc_ = 0;
        used_ = 0;
      }
    }
  }
  void finish() {
    if (used_ > 0) out_.push_back(static_cast<char>(acc_));
    acc_ = 0;
    used_ = 0;
  }

 private:
  std::string& out_;
  uint8_t acc_ = 0;
  int used_ = 0;
};

// Reads what BitWriter wrote. get() returns false when fewer than `n` bits are left.
class BitReader {
 public:
  explicit BitReader(std::string_view s)
      : p_(reinterpret_cast<const unsigned char*>(s.data())), bits_left_(s.size() * 8) {}
  bool get(int n, uint64_t& v) {
    if (static_cast<uint64_t>(n) > bits_left_) return false;
    uint64_t r = 0;
    bits_left_ -= static_cast<uint64_t>(n);
    while (n > 0) {
      const int avail = 8 - used_;
      const int take = n < avail ? n : avail;
      const uint64_t bits = (static_cast<uint64_t>(*p_) >> (avail - take)) & ((1u << take) - 1);
      r = take == 64 ? bits : (r << take) | bits;
      used_ += take;
      n -= take;
      if (used_ == 8) {
        ++p_;
        used_ = 0;
      }
    }
    v = r;
    return true;
  }
  // Bits not read yet, padding included.
  uint64_t bits_left() const { return bits_left_; }

 private:
  const unsigned char* p_;
  uint64_t bits_left_;
  int used_ = 0;
};

}  // namespace tsunagu::store::history
