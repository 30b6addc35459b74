// The history chunk: a time-ordered run of the instances of one attribute series (one entity,
// attribute and datasetId), encoded column by column so that a regular sensor series costs a
// few bytes per instance, and decoded again exactly. The store will keep one chunk per row of a
// SQLite table and decode only the chunks a query touches. Format and figures: docs/temporal.md
// ("History storage"). Pure functions, safe to call from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "common/time.hpp"

namespace tsunagu::store::history {

// One attribute instance of a series (ETSI GS CIM 009 §4.5.6-4.5.9), as the history keeps it.
// The series (entity, attribute name, datasetId) is the chunk's, not the instance's.
struct Instance {
  // The value's JSON type. A Property's number keeps whether it was an integer; a
  // Relationship's object is a string; a GeoProperty's GeoJSON, a LanguageProperty's
  // languageMap and any other array or object are JSON text (minified, as the model holds it).
  enum class Kind : uint8_t { kNull, kBool, kInt, kDouble, kString, kJson };
  Kind kind = Kind::kNull;
  bool boolean = false;  // kBool
  int64_t integer = 0;   // kInt
  double number = 0;     // kDouble, exactly (every bit)
  std::string text;      // kString, kJson

  // The attribute type (the engine's ngsild::AttrKind); the store does not interpret it.
  uint8_t attr_type = 0;
  // The instance's number within its series, from which the engine derives its instanceId.
  uint64_t seq = 0;
  // Microseconds since the epoch; kNoTime when absent. An instance with deleted_at records the
  // attribute's deletion (its value is then usually kNull).
  int64_t observed_at = kNoTime;
  int64_t created_at = kNoTime;
  int64_t modified_at = kNoTime;
  int64_t deleted_at = kNoTime;
  // An instanceId given explicitly (temporal provision may carry one); empty when the engine
  // derives it from the series and `seq`.
  std::string instance_id;
  std::string unit_code;   // empty: none
  std::string value_type;  // valueType / objectType, expanded; empty: none
  // Other sub-attributes, as one JSON object's text; empty: none.
  std::string subs;

  // The time that orders a series: observedAt, or for an instance without one deletedAt, then
  // createdAt, then modifiedAt (kNoTime when it has none of them).
  int64_t time() const;
};

// Most instances one chunk holds; the store starts a new chunk long before (a few thousand).
inline constexpr size_t kMaxChunkInstances = 65536;

// A time interval [from, until) of Instance::time().
struct TimeRange {
  int64_t from = INT64_MIN;
  int64_t until = INT64_MAX;
};

// What the chunk's first bytes say, without decoding it.
struct ChunkInfo {
  size_t count = 0;
  int64_t first_time = kNoTime;  // the first and last instance's time(); kNoTime when empty
  int64_t last_time = kNoTime;
};

// A numeric instance for aggregation: its time() and its value as a double.
struct TimedNumber {
  int64_t time;
  double value;
};

// Encodes `instances` (any order: they are sorted by time() and then seq, equal ones keeping
// their order) as one chunk. InvalidRequest when there are more than kMaxChunkInstances.
Result<std::string> encode_chunk(std::span<const Instance> instances);

// Decoding checks the chunk's CRC and every length and count; a chunk that is damaged,
// truncated or of an unknown version gives InternalError naming what is wrong, never a crash.
Result<ChunkInfo> read_chunk_info(std::string_view chunk);
// Appends the chunk's instances whose time() lies in `range` to `out`, in time order.
Status decode_chunk(std::string_view chunk, std::vector<Instance>& out, TimeRange range = {});
// Appends (time(), value) of the integer and double instances whose time() lies in `range`, in
// time order, without building instances: the aggregation path.
Status decode_numbers(std::string_view chunk, std::vector<TimedNumber>& out, TimeRange range = {});

// The chunk holding the instances of `chunk` and `more` (in time order: `more` may overlap or
// precede it). It is decoded and encoded again: see docs/temporal.md for why that is cheap
// enough at fold time.
Result<std::string> append_to_chunk(std::string_view chunk, std::span<const Instance> more);

}  // namespace tsunagu::store::history
