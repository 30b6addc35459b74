#include "store/history/columns.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <zstd.h>

namespace tsunagu::store::history {
namespace {

// Integer column forms: the low two bits of the form byte are the transform (how many leading
// values are kept as they are: the "head"), the next two how the rest (the "tail") is written.
enum Repr : uint8_t { kVarints = 0, kRuns = 1, kPacked = 2, kConstant = 3 };
constexpr int kMaxScale = 18;

constexpr uint64_t kPow10[kMaxScale + 1] = {1,
                                            10,
                                            100,
                                            1000,
                                            10000,
                                            100000,
                                            1000000,
                                            10000000,
                                            100000000,
                                            1000000000,
                                            10000000000,
                                            100000000000,
                                            1000000000000,
                                            10000000000000,
                                            100000000000000,
                                            1000000000000000,
                                            10000000000000000,
                                            100000000000000000,
                                            1000000000000000000};

// The largest k with 10^k dividing every value (0 when one is not a multiple of 10).
int common_scale(std::span<const int64_t> v) {
  int k = kMaxScale;
  for (int64_t x : v) {
    while (k > 0 && x % static_cast<int64_t>(kPow10[k]) != 0)
      --k;
    if (k == 0) break;
  }
  return k;
}

// Zigzagged values of `s` after `order` rounds of differencing (wrapping arithmetic, so that
// any int64 round-trips).
void transform(std::span<const uint64_t> s, int order, std::vector<uint64_t>& z) {
  z.assign(s.begin(), s.end());
  for (int r = 0; r < order; ++r)
    for (size_t i = z.size() - 1; i > static_cast<size_t>(r); --i)
      z[i] -= z[i - 1];
  for (uint64_t& x : z)
    x = zigzag(x);
}

struct TailCost {
  size_t varints = 0;
  size_t runs = 0;
  size_t packed = 0;
  int width = 0;
};

TailCost tail_cost(std::span<const uint64_t> t) {
  TailCost c;
  uint64_t all = 0;
  for (size_t i = 0; i < t.size();) {
    size_t j = i + 1;
    while (j < t.size() && t[j] == t[i])
      ++j;
    c.runs += varint_size(t[i]) + varint_size(j - i);
    c.varints += varint_size(t[i]) * (j - i);
    all |= t[i];
    i = j;
  }
  c.width = 64 - std::countl_zero(all);
  c.packed = 1 + (t.size() * static_cast<size_t>(c.width) + 7) / 8;
  return c;
}

void write_packed(std::span<const uint64_t> t, int width, std::string& out) {
  out.push_back(static_cast<char>(width));
  BitWriter w(out);
  if (width > 0)
    for (uint64_t x : t)
      w.put(x, width);
  w.finish();
}

// Reads `m` values of `width` bits. A 64-bit big-endian load holds any value of up to 57 bits
// that starts in its first byte, so most values take one load and two shifts.
bool read_packed(ByteReader& in, size_t m, uint64_t* out) {
  uint8_t width;
  if (!in.byte(width) || width > 64) return false;
  const uint64_t bits = static_cast<uint64_t>(m) * width;
  std::string_view data;
  if (!in.bytes((bits + 7) / 8, data)) return false;
  if (width == 0) {
    std::fill(out, out + m, 0);
    return true;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t size = data.size();
  size_t i = 0;
  if (width <= 56) {
    for (; i < m; ++i) {
      const uint64_t bit = static_cast<uint64_t>(i) * width;
      const size_t byte = bit / 8;
      if (byte + 8 > size) break;
      uint64_t word;
      std::memcpy(&word, p + byte, 8);
      if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
      out[i] = (word << (bit % 8)) >> (64 - width);
    }
  }
  if (i < m) {  // the last few values, or wide ones
    BitReader r(data);
    uint64_t skip;
    for (uint64_t left = static_cast<uint64_t>(i) * width; left > 0;) {
      const int n = left > 64 ? 64 : static_cast<int>(left);
      if (!r.get(n, skip)) return false;
      left -= static_cast<uint64_t>(n);
    }
    for (; i < m; ++i)
      if (!r.get(width, out[i])) return false;
  }
  return true;
}

}  // namespace

void encode_ints(std::span<const int64_t> v, std::string& out) {
  if (v.empty()) return;
  bool constant = true;
  for (int64_t x : v)
    constant = constant && x == v[0];
  if (constant) {
    out.push_back(static_cast<char>(kConstant << 2));
    put_varint(out, zigzag(static_cast<uint64_t>(v[0])));
    return;
  }
  const int scale = common_scale(v);
  std::vector<uint64_t> scaled(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    scaled[i] = static_cast<uint64_t>(v[i] / static_cast<int64_t>(kPow10[scale]));

  int best_order = 0;
  Repr best_repr = kVarints;
  size_t best_cost = SIZE_MAX;
  std::vector<uint64_t> z, best_z;
  for (int order = 0; order <= 2 && static_cast<size_t>(order) < v.size(); ++order) {
    transform(scaled, order, z);
    size_t head = 0;
    for (int i = 0; i < order; ++i)
      head += varint_size(z[i]);
    const TailCost c = tail_cost(std::span<const uint64_t>(z).subspan(order));
    const std::pair<size_t, Repr> options[] = {
        {c.varints, kVarints}, {c.runs, kRuns}, {c.packed, kPacked}};
    for (auto [cost, repr] : options) {
      if (head + cost < best_cost) {
        best_cost = head + cost;
        best_order = order;
        best_repr = repr;
      }
    }
    if (best_order == order) best_z.swap(z);
  }

  out.push_back(static_cast<char>(best_order | (best_repr << 2)));
  out.push_back(static_cast<char>(scale));
  for (int i = 0; i < best_order; ++i)
    put_varint(out, best_z[i]);
  const std::span<const uint64_t> tail = std::span<const uint64_t>(best_z).subspan(best_order);
  switch (best_repr) {
    case kVarints:
      for (uint64_t x : tail)
        put_varint(out, x);
      break;
    case kRuns:
      for (size_t i = 0; i < tail.size();) {
        size_t j = i + 1;
        while (j < tail.size() && tail[j] == tail[i])
          ++j;
        put_varint(out, tail[i]);
        put_varint(out, j - i);
        i = j;
      }
      break;
    case kPacked:
      write_packed(tail, tail_cost(tail).width, out);
      break;
    case kConstant:
      break;
  }
}

bool decode_ints(ByteReader& in, size_t n, int64_t* out) {
  if (n == 0) return true;
  uint8_t form;
  if (!in.byte(form) || form > 0x0f) return false;
  const int order = form & 3;
  const int repr = form >> 2;
  if (repr == kConstant) {
    uint64_t z;
    if (order != 0 || !in.varint(z)) return false;
    std::fill(out, out + n, static_cast<int64_t>(unzigzag(z)));
    return true;
  }
  uint8_t scale;
  if (order > 2 || static_cast<size_t>(order) > n || !in.byte(scale) || scale > kMaxScale)
    return false;
  auto* z = reinterpret_cast<uint64_t*>(out);  // decoded in place, same size and alignment
  for (int i = 0; i < order; ++i)
    if (!in.varint(z[i])) return false;
  const size_t m = n - static_cast<size_t>(order);
  uint64_t* tail = z + order;
  switch (repr) {
    case kVarints:
      for (size_t i = 0; i < m; ++i)
        if (!in.varint(tail[i])) return false;
      break;
    case kRuns:
      for (size_t i = 0; i < m;) {
        uint64_t value, length;
        if (!in.varint(value) || !in.varint(length) || length == 0 || length > m - i) return false;
        std::fill(tail + i, tail + i + length, value);
        i += length;
      }
      break;
    case kPacked:
      if (!read_packed(in, m, tail)) return false;
      break;
    default:
      return false;
  }
  for (size_t i = 0; i < n; ++i)
    z[i] = unzigzag(z[i]);
  for (int r = order - 1; r >= 0; --r)  // undo the last differencing first
    for (size_t i = static_cast<size_t>(r) + 1; i < n; ++i)
      z[i] += z[i - 1];
  if (scale > 0)
    for (size_t i = 0; i < n; ++i)
      z[i] *= kPow10[scale];
  return true;
}

namespace {

constexpr int kMaxDecimalExponent = 15;
constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below it is a double

bool same_bits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// The smallest e for which every value is exactly m / 10^e with |m| < 2^53, or -1.
int decimal_exponent(std::span<const double> v) {
  for (int e = 0; e <= kMaxDecimalExponent; ++e) {
    const double p = static_cast<double>(kPow10[e]);
    bool all = true;
    for (double x : v) {
      const double m = std::nearbyint(x * p);
      if (!(std::fabs(m) < kExact) || !same_bits(m / p, x)) {
        all = false;
        break;
      }
    }
    if (all) return e;
  }
  return -1;
}

void write_xor(std::span<const double> v, std::string& out) {
  std::string bits;
  BitWriter w(bits);
  uint64_t prev = std::bit_cast<uint64_t>(v[0]);
  w.put(prev, 64);
  int lead = -1, trail = 0;  // the window of the previous meaningful bits; -1: none yet
  for (size_t i = 1; i < v.size(); ++i) {
    const uint64_t cur = std::bit_cast<uint64_t>(v[i]);
    const uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      w.put(0, 1);
      continue;
    }
    int l = std::countl_zero(x);
    const int t = std::countr_zero(x);
    if (l > 31) l = 31;
    if (lead >= 0 && l >= lead && t >= trail) {
      w.put(0b10, 2);
      w.put(x >> trail, 64 - lead - trail);
    } else {
      lead = l;
      trail = t;
      const int len = 64 - l - t;  // 1..64, written as len - 1 in six bits
      w.put(0b11, 2);
      w.put(static_cast<uint64_t>(l), 5);
      w.put(static_cast<uint64_t>(len - 1), 6);
      w.put(x >> t, len);
    }
  }
  w.finish();
  put_varint(out, bits.size());
  out += bits;
}

bool read_xor(ByteReader& in, size_t n, double* out) {
  uint64_t size;
  std::string_view bits;
  if (!in.varint(size) || !in.bytes(size, bits)) return false;
  BitReader r(bits);
  uint64_t prev;
  if (!r.get(64, prev)) return false;
  out[0] = std::bit_cast<double>(prev);
  int lead = -1, trail = 0;
  for (size_t i = 1; i < n; ++i) {
    uint64_t flag, x;
    if (!r.get(1, flag)) return false;
    if (flag == 1) {
      if (!r.get(1, flag)) return false;
      if (flag == 1) {
        uint64_t l, len;
        if (!r.get(5, l) || !r.get(6, len)) return false;
        lead = static_cast<int>(l);
        trail = 64 - lead - static_cast<int>(len + 1);
        if (trail < 0) return false;
      } else if (lead < 0) {
        return false;
      }
      if (!r.get(64 - lead - trail, x)) return false;
      prev ^= x << trail;
    }
    out[i] = std::bit_cast<double>(prev);
  }
  return r.bits_left() < 8;  // only the last byte's padding is left
}

}  // namespace

bool encode_doubles(std::span<const double> v, std::string& out, DoubleForm form) {
  if (v.empty()) return true;
  std::string decimal, xored;
  if (form == DoubleForm::kBest || form == DoubleForm::kDecimal) {
    const int e = decimal_exponent(v);
    if (e >= 0) {
      decimal.push_back(static_cast<char>(DoubleForm::kDecimal));
      decimal.push_back(static_cast<char>(e));
      std::vector<int64_t> m(v.size());
      const double p = static_cast<double>(kPow10[e]);
      for (size_t i = 0; i < v.size(); ++i)
        m[i] = static_cast<int64_t>(std::nearbyint(v[i] * p));
      encode_ints(m, decimal);
    } else if (form == DoubleForm::kDecimal) {
      return false;
    }
  }
  if (form == DoubleForm::kBest || form == DoubleForm::kXor) {
    xored.push_back(static_cast<char>(DoubleForm::kXor));
    write_xor(v, xored);
  }
  const size_t raw = 1 + 8 * v.size();
  const std::string* best = nullptr;
  for (const std::string* s : {&decimal, &xored})
    if (!s->empty() && (best == nullptr || s->size() < best->size())) best = s;
  if (best != nullptr && (form != DoubleForm::kBest || best->size() < raw)) {
    out += *best;
    return true;
  }
  out.push_back(static_cast<char>(DoubleForm::kRaw));
  for (double d : v) {
    const uint64_t b = std::bit_cast<uint64_t>(d);
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>(b >> (8 * i)));
  }
  return true;
}

bool decode_doubles(ByteReader& in, size_t n, double* out) {
  if (n == 0) return true;
  uint8_t form;
  if (!in.byte(form)) return false;
  switch (static_cast<DoubleForm>(form)) {
    case DoubleForm::kDecimal: {
      uint8_t e;
      if (!in.byte(e) || e > kMaxDecimalExponent) return false;
      std::vector<int64_t> m(n);
      if (!decode_ints(in, n, m.data())) return false;
      const double p = static_cast<double>(kPow10[e]);
      for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<double>(m[i]) / p;
      return true;
    }
    case DoubleForm::kXor:
      return read_xor(in, n, out);
    case DoubleForm::kRaw: {
      std::string_view raw;
      if (n > in.remaining() / 8 || !in.bytes(8 * n, raw)) return false;
      for (size_t i = 0; i < n; ++i) {
        uint64_t b = 0;
        for (int k = 0; k < 8; ++k)
          b |= static_cast<uint64_t>(static_cast<unsigned char>(raw[8 * i + k])) << (8 * k);
        out[i] = std::bit_cast<double>(b);
      }
      return true;
    }
    default:
      return false;
  }
}

namespace {

enum StringForm : uint8_t { kEach = 0, kDictionary = 1, kCompressed = 2 };
// Below this many bytes of strings zstd's frame costs more than it saves.
constexpr size_t kCompressFrom = 256;
// zstd's fastest level compressed 70 and 1,000 small JSON objects better than its default (3).
constexpr int kZstdLevel = 1;
// The most a compressed column may claim to expand to: a damaged chunk must not make the reader
// allocate without bound.
constexpr uint64_t kMaxExpanded = uint64_t{64} << 20;

// zstd's contexts, one per thread and kept rather than made and freed by every call
// (ZSTD_compress, ZSTD_decompress): a chunk's strings are small, and the setup was a share of the
// work that grew as chunks shrank.
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZstdContexts() = default;
  ZstdContexts(const ZstdContexts&) = delete;
  ZstdContexts& operator=(const ZstdContexts&) = delete;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
thread_local ZstdContexts zstd;

bool read_each(ByteReader& in, size_t n, std::string_view* out) {
  for (size_t i = 0; i < n; ++i) {
    uint64_t len;
    if (!in.varint(len) || !in.bytes(len, out[i])) return false;
  }
  return true;
}

}  // namespace

void encode_strings(std::span<const std::string_view> v, std::string& out) {
  if (v.empty()) return;
  std::unordered_map<std::string_view, int64_t> index;
  std::vector<std::string_view> dict;
  std::vector<int64_t> at(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    auto [it, added] = index.try_emplace(v[i], static_cast<int64_t>(dict.size()));
    if (added) dict.push_back(v[i]);
    at[i] = it->second;
  }
  std::string each;
  each.push_back(kEach);
  for (std::string_view s : v) {
    put_varint(each, s.size());
    each += s;
  }
  std::string d;
  d.push_back(kDictionary);
  put_varint(d, dict.size());
  for (std::string_view s : dict) {
    put_varint(d, s.size());
    d += s;
  }
  encode_ints(at, d);
  const std::string* best = d.size() < each.size() ? &d : &each;

  std::string z;
  if (best == &each && each.size() >= kCompressFrom) {
    const std::string_view plain = std::string_view(each).substr(1);
    z.push_back(kCompressed);
    put_varint(z, plain.size());
    const size_t head = z.size();
    z.resize(head + ZSTD_compressBound(plain.size()));
    const size_t n = ZSTD_compressCCtx(zstd.c, z.data() + head, z.size() - head, plain.data(),
                                       plain.size(), kZstdLevel);
    if (ZSTD_isError(n)) {
      z.clear();
    } else {
      z.resize(head + n);
      if (z.size() < best->size()) best = &z;
    }
  }
  out += *best;
}

bool decode_strings(ByteReader& in, size_t n, std::string_view* out, std::string& storage) {
  if (n == 0) return true;
  uint8_t form;
  if (!in.byte(form)) return false;
  if (form == kEach) return read_each(in, n, out);
  if (form == kCompressed) {
    uint64_t size;
    if (!in.varint(size) || size > kMaxExpanded) return false;
    std::string_view packed;
    if (!in.bytes(in.remaining(), packed)) return false;
    storage.resize(size);
    const size_t got =
        ZSTD_decompressDCtx(zstd.d, storage.data(), storage.size(), packed.data(), packed.size());
    if (ZSTD_isError(got) || got != size) return false;
    ByteReader plain(storage);
    return read_each(plain, n, out) && plain.at_end();
  }
  uint64_t size;
  // Every entry takes at least its length byte, which bounds the dictionary's allocation.
  if (form != kDictionary || !in.varint(size) || size == 0 || size > in.remaining() || size > n)
    return false;
  std::vector<std::string_view> dict(size);
  for (auto& s : dict) {
    uint64_t len;
    if (!in.varint(len) || !in.bytes(len, s)) return false;
  }
  std::vector<int64_t> at(n);
  if (!decode_ints(in, n, at.data())) return false;
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<uint64_t>(at[i]) >= size) return false;
    out[i] = dict[static_cast<size_t>(at[i])];
  }
  return true;
}

}  // namespace tsunagu::store::history
