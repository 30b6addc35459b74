#include "store/history/chunk_codec.hpp"

#include <isa-l/crc.h>

#include <algorithm>
#include <numeric>

#include "store/history/columns.hpp"

namespace tsunagu::store::history {
namespace {

constexpr uint8_t kMagic = 0xA7;
constexpr uint8_t kVersion = 1;
constexpr size_t kCrcBytes = 4;

// Column ids, in the order they are written. An absent column means every value is the
// default: null values, seq 0, no timestamp, attribute type 0, no string.
enum Column : uint8_t {
  kKinds = 1,
  kSeq,
  kObserved,
  kCreated,
  kModified,
  kDeleted,
  kAttrType,
  kBools,
  kInts,
  kDoubles,
  kStrings,
  kJson,
  kUnitCode,
  kValueType,
  kInstanceId,
  kSubs,
  kColumnEnd,
};

uint32_t crc(std::string_view s) {
  return crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

Status damaged(std::string_view what) {
  return Status::Internal("history chunk damaged: " + std::string(what));
}

void put_column(std::string& out, Column id, const std::string& payload) {
  if (payload.empty()) return;
  out.push_back(static_cast<char>(id));
  put_varint(out, payload.size());
  out += payload;
}

std::string int_payload(std::span<const int64_t> v) {
  std::string s;
  if (std::any_of(v.begin(), v.end(), [](int64_t x) { return x != 0; })) encode_ints(v, s);
  return s;
}

std::string string_payload(std::span<const std::string_view> v) {
  std::string s;
  if (std::any_of(v.begin(), v.end(), [](std::string_view x) { return !x.empty(); }))
    encode_strings(v, s);
  return s;
}

int64_t or_zero(int64_t t) {
  return t == kNoTime ? 0 : t;
}

// A timestamp column: whether each is present (a flag column, left out when all are), then the
// present ones as their difference from `ref` (a timestamp they are usually close to).
std::string time_payload(std::span<const int64_t> t, std::span<const int64_t> ref) {
  std::string s;
  std::vector<int64_t> present(t.size()), diff;
  diff.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    present[i] = t[i] != kNoTime;
    if (present[i])
      diff.push_back(static_cast<int64_t>(static_cast<uint64_t>(t[i]) -
                                          static_cast<uint64_t>(or_zero(ref[i]))));
  }
  if (diff.empty()) return s;
  if (diff.size() == t.size()) {
    s.push_back(0);
  } else {
    s.push_back(1);
    encode_ints(present, s);
  }
  encode_ints(diff, s);
  return s;
}

bool decode_times(std::string_view payload, size_t n, const std::vector<int64_t>* ref,
                  std::vector<int64_t>& t) {
  t.assign(n, kNoTime);
  if (payload.empty()) return true;
  ByteReader in(payload);
  uint8_t mixed;
  if (!in.byte(mixed) || mixed > 1) return false;
  std::vector<int64_t> present;
  size_t m = n;
  if (mixed == 1) {
    present.resize(n);
    if (!decode_ints(in, n, present.data())) return false;
    m = 0;
    for (int64_t p : present) {
      if (p != 0 && p != 1) return false;
      m += static_cast<size_t>(p);
    }
  }
  std::vector<int64_t> diff(m);
  if (!decode_ints(in, m, diff.data()) || !in.at_end()) return false;
  for (size_t i = 0, j = 0; i < n; ++i) {
    if (mixed == 1 && present[i] == 0) continue;
    const int64_t r = ref != nullptr ? or_zero((*ref)[i]) : 0;
    t[i] = static_cast<int64_t>(static_cast<uint64_t>(diff[j++]) + static_cast<uint64_t>(r));
    if (t[i] == kNoTime) return false;  // a present timestamp that reads as an absent one
  }
  return true;
}

// A chunk split into its columns, its CRC checked.
struct Parsed {
  size_t count = 0;
  int64_t first = kNoTime;
  int64_t last = kNoTime;
  std::string_view columns[kColumnEnd] = {};
};

Status parse(std::string_view chunk, Parsed& p, bool header_only = false) {
  if (chunk.size() < 2 + 1 + kCrcBytes) return damaged("shorter than a header");
  if (static_cast<uint8_t>(chunk[0]) != kMagic) return damaged("not a history chunk");
  if (static_cast<uint8_t>(chunk[1]) != kVersion)
    return damaged("version " + std::to_string(static_cast<uint8_t>(chunk[1])) + " unknown");
  const std::string_view body = chunk.substr(0, chunk.size() - kCrcBytes);
  uint32_t sum = 0;
  for (size_t i = 0; i < kCrcBytes; ++i)
    sum |= static_cast<uint32_t>(static_cast<unsigned char>(chunk[body.size() + i])) << (8 * i);
  if (crc(body) != sum) return damaged("CRC mismatch");

  ByteReader in(body.substr(2));
  uint64_t count, first, span;
  if (!in.varint(count)) return damaged("count truncated");
  if (count > kMaxChunkInstances) return damaged("count " + std::to_string(count) + " too large");
  p.count = static_cast<size_t>(count);
  if (count > 0) {
    if (!in.varint(first) || !in.varint(span)) return damaged("time bounds truncated");
    p.first = static_cast<int64_t>(unzigzag(first));
    p.last = static_cast<int64_t>(static_cast<uint64_t>(p.first) + span);
    if (p.last < p.first) return damaged("time bounds out of order");
  }
  if (header_only) return Status::Ok();
  int previous = 0;
  while (!in.at_end()) {
    uint8_t id;
    uint64_t size;
    std::string_view payload;
    if (!in.byte(id) || !in.varint(size) || !in.bytes(size, payload) || size == 0)
      return damaged("column truncated");
    if (id <= previous || id >= kColumnEnd)
      return damaged("column " + std::to_string(id) + " unknown or out of order");
    p.columns[id] = payload;
    previous = id;
  }
  if (count == 0 && previous != 0) return damaged("columns in an empty chunk");
  return Status::Ok();
}

bool decode_int_column(std::string_view payload, size_t n, std::vector<int64_t>& v) {
  v.assign(n, 0);
  if (payload.empty()) return true;
  ByteReader in(payload);
  return decode_ints(in, n, v.data()) && in.at_end();
}

// The views point into `payload` or `storage`.
bool decode_string_column(std::string_view payload, size_t n, std::vector<std::string_view>& v,
                          std::string& storage) {
  v.assign(n, {});
  if (payload.empty()) return true;
  ByteReader in(payload);
  return decode_strings(in, n, v.data(), storage) && in.at_end();
}

// The time() of every instance, from the timestamp columns, and the first and last instance in
// `range`. Checks that the times are in order and agree with the header.
struct Times {
  std::vector<int64_t> observed, created, modified, deleted, key;
  size_t lo = 0, hi = 0;
};

Status decode_keys(const Parsed& p, TimeRange range, bool all_columns, Times& t) {
  const size_t n = p.count;
  if (!decode_times(p.columns[kObserved], n, nullptr, t.observed))
    return damaged("observedAt column");
  const bool observed_only = !p.columns[kObserved].empty() &&
                             static_cast<uint8_t>(p.columns[kObserved][0]) == 0 &&
                             p.columns[kDeleted].empty();
  if (all_columns || !observed_only) {
    if (!decode_times(p.columns[kCreated], n, &t.observed, t.created))
      return damaged("createdAt column");
    if (!decode_times(p.columns[kModified], n, &t.created, t.modified))
      return damaged("modifiedAt column");
    if (!decode_times(p.columns[kDeleted], n, &t.created, t.deleted))
      return damaged("deletedAt column");
  }
  if (observed_only) {
    t.key = t.observed;
  } else {
    t.key.resize(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t k = t.observed[i];
      for (int64_t other : {t.deleted[i], t.created[i], t.modified[i]})
        if (k == kNoTime) k = other;
      t.key[i] = k;
    }
  }
  if (n > 0 && (t.key.front() != p.first || t.key.back() != p.last))
    return damaged("times disagree with the header");
  if (!std::is_sorted(t.key.begin(), t.key.end())) return damaged("times out of order");
  t.lo =
      static_cast<size_t>(std::lower_bound(t.key.begin(), t.key.end(), range.from) - t.key.begin());
  t.hi = static_cast<size_t>(std::lower_bound(t.key.begin(), t.key.end(), range.until) -
                             t.key.begin());
  if (t.hi < t.lo) t.hi = t.lo;
  return Status::Ok();
}

using Kind = Instance::Kind;
constexpr int kKindCount = static_cast<int>(Kind::kJson) + 1;

// The kinds column and how many values of each kind there are.
Status decode_kinds(const Parsed& p, std::vector<int64_t>& kinds, size_t (&per_kind)[kKindCount]) {
  if (!decode_int_column(p.columns[kKinds], p.count, kinds)) return damaged("kinds column");
  std::fill(std::begin(per_kind), std::end(per_kind), 0);
  for (int64_t k : kinds) {
    if (k < 0 || k >= kKindCount) return damaged("value kind " + std::to_string(k) + " unknown");
    ++per_kind[k];
  }
  return Status::Ok();
}

Status decode_number_columns(const Parsed& p, const size_t (&per_kind)[kKindCount],
                             std::vector<int64_t>& ints, std::vector<double>& doubles) {
  if (!decode_int_column(p.columns[kInts], per_kind[static_cast<int>(Kind::kInt)], ints))
    return damaged("integer values");
  const size_t nd = per_kind[static_cast<int>(Kind::kDouble)];
  doubles.resize(nd);
  ByteReader in(p.columns[kDoubles]);
  if (!decode_doubles(in, nd, doubles.data()) || !in.at_end()) return damaged("double values");
  return Status::Ok();
}

}  // namespace

int64_t Instance::time() const {
  for (int64_t t : {observed_at, deleted_at, created_at})
    if (t != kNoTime) return t;
  return modified_at;
}

Result<std::string> encode_chunk(std::span<const Instance> instances) {
  const size_t n = instances.size();
  if (n > kMaxChunkInstances)
    return Status::InvalidRequest("a history chunk holds at most " +
                                  std::to_string(kMaxChunkInstances) + " instances, not " +
                                  std::to_string(n));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto before = [&](size_t a, size_t b) {
    const int64_t ta = instances[a].time(), tb = instances[b].time();
    return ta != tb ? ta < tb : instances[a].seq < instances[b].seq;
  };
  if (!std::is_sorted(order.begin(), order.end(), before))
    std::stable_sort(order.begin(), order.end(), before);

  std::vector<int64_t> kinds(n), seq(n), attr_type(n), observed(n), created(n), modified(n),
      deleted(n), bools, ints;
  std::vector<double> doubles;
  std::vector<std::string_view> strings, json, unit(n), value_type(n), ids(n), subs(n);
  for (size_t j = 0; j < n; ++j) {
    const Instance& in = instances[order[j]];
    kinds[j] = static_cast<int64_t>(in.kind);
    seq[j] = static_cast<int64_t>(in.seq);
    attr_type[j] = in.attr_type;
    observed[j] = in.observed_at;
    created[j] = in.created_at;
    modified[j] = in.modified_at;
    deleted[j] = in.deleted_at;
    unit[j] = in.unit_code;
    value_type[j] = in.value_type;
    ids[j] = in.instance_id;
    subs[j] = in.subs;
    switch (in.kind) {
      case Kind::kNull:
        break;
      case Kind::kBool:
        bools.push_back(in.boolean ? 1 : 0);
        break;
      case Kind::kInt:
        ints.push_back(in.integer);
        break;
      case Kind::kDouble:
        doubles.push_back(in.number);
        break;
      case Kind::kString:
        strings.emplace_back(in.text);
        break;
      case Kind::kJson:
        json.emplace_back(in.text);
        break;
    }
  }

  std::string out;
  out.push_back(static_cast<char>(kMagic));
  out.push_back(static_cast<char>(kVersion));
  put_varint(out, n);
  if (n > 0) {
    const int64_t first = instances[order.front()].time(), last = instances[order.back()].time();
    put_varint(out, zigzag(static_cast<uint64_t>(first)));
    put_varint(out, static_cast<uint64_t>(last) - static_cast<uint64_t>(first));
  }
  put_column(out, kKinds, int_payload(kinds));
  put_column(out, kSeq, int_payload(seq));
  const std::vector<int64_t> none(n, kNoTime);
  put_column(out, kObserved, time_payload(observed, none));
  put_column(out, kCreated, time_payload(created, observed));
  put_column(out, kModified, time_payload(modified, created));
  put_column(out, kDeleted, time_payload(deleted, created));
  put_column(out, kAttrType, int_payload(attr_type));
  std::string payload;
  encode_ints(bools, payload);
  put_column(out, kBools, payload);
  payload.clear();
  encode_ints(ints, payload);
  put_column(out, kInts, payload);
  payload.clear();
  (void)encode_doubles(doubles, payload);
  put_column(out, kDoubles, payload);
  payload.clear();
  encode_strings(strings, payload);
  put_column(out, kStrings, payload);
  payload.clear();
  encode_strings(json, payload);
  put_column(out, kJson, payload);
  put_column(out, kUnitCode, string_payload(unit));
  put_column(out, kValueType, string_payload(value_type));
  put_column(out, kInstanceId, string_payload(ids));
  put_column(out, kSubs, string_payload(subs));
  const uint32_t sum = crc(out);
  for (size_t i = 0; i < kCrcBytes; ++i)
    out.push_back(static_cast<char>(sum >> (8 * i)));
  return out;
}

Result<ChunkInfo> read_chunk_info(std::string_view chunk) {
  Parsed p;
  TSUNAGU_RETURN_IF_ERROR(parse(chunk, p, true));
  return ChunkInfo{p.count, p.first, p.last};
}

Status decode_chunk(std::string_view chunk, std::vector<Instance>& out, TimeRange range) {
  Parsed p;
  TSUNAGU_RETURN_IF_ERROR(parse(chunk, p));
  const size_t n = p.count;
  Times t;
  TSUNAGU_RETURN_IF_ERROR(decode_keys(p, range, true, t));
  std::vector<int64_t> kinds, seq, attr_type, bools, ints;
  std::vector<double> doubles;
  size_t per_kind[kKindCount];
  TSUNAGU_RETURN_IF_ERROR(decode_kinds(p, kinds, per_kind));
  TSUNAGU_RETURN_IF_ERROR(decode_number_columns(p, per_kind, ints, doubles));
  std::vector<std::string_view> strings, json, unit, value_type, ids, subs;
  std::string expanded[6];  // what compressed string columns expand to
  if (!decode_int_column(p.columns[kSeq], n, seq)) return damaged("seq column");
  for (size_t i = 1; i < n; ++i)  // at equal times, by seq (decode_numbers has no use for it)
    if (t.key[i] == t.key[i - 1] &&
        static_cast<uint64_t>(seq[i]) < static_cast<uint64_t>(seq[i - 1]))
      return damaged("instances at one time out of seq order");
  if (!decode_int_column(p.columns[kAttrType], n, attr_type)) return damaged("attribute types");
  if (!decode_int_column(p.columns[kBools], per_kind[static_cast<int>(Kind::kBool)], bools))
    return damaged("boolean values");
  if (!decode_string_column(p.columns[kStrings], per_kind[static_cast<int>(Kind::kString)], strings,
                            expanded[0]))
    return damaged("string values");
  if (!decode_string_column(p.columns[kJson], per_kind[static_cast<int>(Kind::kJson)], json,
                            expanded[1]))
    return damaged("JSON values");
  if (!decode_string_column(p.columns[kUnitCode], n, unit, expanded[2]))
    return damaged("unitCode column");
  if (!decode_string_column(p.columns[kValueType], n, value_type, expanded[3]))
    return damaged("valueType column");
  if (!decode_string_column(p.columns[kInstanceId], n, ids, expanded[4]))
    return damaged("instanceId column");
  if (!decode_string_column(p.columns[kSubs], n, subs, expanded[5]))
    return damaged("sub-attribute column");

  size_t next[kKindCount] = {};
  out.reserve(out.size() + (t.hi - t.lo));
  for (size_t i = 0; i < t.hi; ++i) {
    const auto kind = static_cast<Kind>(kinds[i]);
    const size_t v = next[static_cast<int>(kind)]++;
    if (i < t.lo) continue;
    if (attr_type[i] < 0 || attr_type[i] > 255) return damaged("attribute type out of range");
    Instance& in = out.emplace_back();
    in.kind = kind;
    switch (kind) {
      case Kind::kNull:
        break;
      case Kind::kBool:
        if (bools[v] != 0 && bools[v] != 1) return damaged("boolean value out of range");
        in.boolean = bools[v] == 1;
        break;
      case Kind::kInt:
        in.integer = ints[v];
        break;
      case Kind::kDouble:
        in.number = doubles[v];
        break;
      case Kind::kString:
        in.text = strings[v];
        break;
      case Kind::kJson:
        in.text = json[v];
        break;
    }
    in.attr_type = static_cast<uint8_t>(attr_type[i]);
    in.seq = static_cast<uint64_t>(seq[i]);
    in.observed_at = t.observed[i];
    in.created_at = t.created[i];
    in.modified_at = t.modified[i];
    in.deleted_at = t.deleted[i];
    in.instance_id = ids[i];
    in.unit_code = unit[i];
    in.value_type = value_type[i];
    in.subs = subs[i];
  }
  return Status::Ok();
}

Status decode_numbers(std::string_view chunk, std::vector<TimedNumber>& out, TimeRange range) {
  Parsed p;
  TSUNAGU_RETURN_IF_ERROR(parse(chunk, p));
  Times t;
  TSUNAGU_RETURN_IF_ERROR(decode_keys(p, range, false, t));
  std::vector<int64_t> kinds, ints;
  std::vector<double> doubles;
  size_t per_kind[kKindCount];
  TSUNAGU_RETURN_IF_ERROR(decode_kinds(p, kinds, per_kind));
  TSUNAGU_RETURN_IF_ERROR(decode_number_columns(p, per_kind, ints, doubles));
  const size_t nd = doubles.size();
  if (nd == p.count) {  // a series of doubles: no kinds to look at
    for (size_t i = t.lo; i < t.hi; ++i)
      out.push_back({t.key[i], doubles[i]});
    return Status::Ok();
  }
  size_t ii = 0, di = 0;
  for (size_t i = 0; i < t.hi; ++i) {
    if (kinds[i] == static_cast<int64_t>(Kind::kInt)) {
      if (i >= t.lo) out.push_back({t.key[i], static_cast<double>(ints[ii])});
      ++ii;
    } else if (kinds[i] == static_cast<int64_t>(Kind::kDouble)) {
      if (i >= t.lo) out.push_back({t.key[i], doubles[di]});
      ++di;
    }
  }
  return Status::Ok();
}

Result<std::string> append_to_chunk(std::string_view chunk, std::span<const Instance> more) {
  std::vector<Instance> all;
  TSUNAGU_RETURN_IF_ERROR(decode_chunk(chunk, all));
  all.insert(all.end(), more.begin(), more.end());
  return encode_chunk(all);
}

}  // namespace tsunagu::store::history
