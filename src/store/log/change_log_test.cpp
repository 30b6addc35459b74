// Tests of the change log's record format (store/log/change_log.hpp): batch encoding, replay of
// valid records, and the detection of torn, damaged or trailing bytes.
#include "store/log/change_log.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;
using OpKind = WriteBatch::OpKind;

constexpr size_t kHeader = 12;  // magic, payload length, CRC-32 (docs of change_log.cpp)

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string binary_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i)
    s.push_back(static_cast<char>(i));
  s += std::string("\0\0\xff\xfe", 4);
  return s;
}

void expect_same(const WriteBatch& want, const WriteBatch& got) {
  ASSERT_EQ(got.ops.size(), want.ops.size());
  for (size_t i = 0; i < want.ops.size(); ++i) {
    SCOPED_TRACE("op " + std::to_string(i));
    EXPECT_EQ(got.ops[i].kind, want.ops[i].kind);
    EXPECT_EQ(got.ops[i].row, want.ops[i].row);
    EXPECT_EQ(got.ops[i].tenant, want.ops[i].tenant);
    EXPECT_EQ(got.ops[i].id, want.ops[i].id);
    EXPECT_EQ(got.ops[i].doc, want.ops[i].doc);
    EXPECT_EQ(got.ops[i].record_kind, want.ops[i].record_kind);
  }
}

// A batch with every op kind, empty strings, binary bytes and a 1 MiB document.
WriteBatch every_kind() {
  WriteBatch b;
  b.create_tenant("");
  b.create_tenant("city");
  b.insert_entity(1, "", "urn:ngsi-ld:Lamp:1", R"({"id":"urn:ngsi-ld:Lamp:1"})");
  b.insert_entity(UINT64_MAX, "city", "", "");
  b.update_entity(1, binary_bytes());
  b.update_entity(0, "");
  b.delete_entity(42);
  b.put_entity(7, binary_bytes(), binary_bytes(), std::string(1 << 20, 'x'));
  b.put_entity(8, "t", "i", "");
  b.put_record("subscription", "city", "urn:ngsi-ld:Subscription:1", R"({"q":"a>1"})");
  b.put_record("", "", "", "");
  b.put_record(binary_bytes(), binary_bytes(), binary_bytes(), std::string(1 << 16, 'r'));
  b.delete_record("subscription", "city", "urn:ngsi-ld:Subscription:1");
  b.delete_record("", "", "");
  b.append_history(12, binary_bytes());  // the log does not read the chunk
  b.drop_history(UINT64_MAX);
  b.append_history(0, "");
  return b;
}

// The batch a payload decodes to, its strings copied out of the payload.
Status decode_batch(std::string_view payload, WriteBatch& out) {
  std::vector<OpView> ops;
  TSUNAGU_RETURN_IF_ERROR(decode_ops(payload, ops));
  for (const OpView& op : ops) {
    out.ops.push_back({op.kind, op.row, std::string(op.tenant), std::string(op.id),
                       std::string(op.doc), std::string(op.record_kind)});
  }
  return Status::Ok();
}

class ChangeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-changelog-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/changes-000000000001.log";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Appends each payload as one record; returns the offset at which each record starts.
  std::vector<uint64_t> append_all(const std::vector<std::string>& payloads) {
    ChangeLog log;
    EXPECT_TRUE(log.open(path_, 1, 0).ok());
    std::vector<uint64_t> offsets;
    for (const auto& p : payloads) {
      offsets.push_back(log.size());
      Status st = log.append(p, true);
      EXPECT_TRUE(st.ok()) << st.detail();
    }
    EXPECT_EQ(log.size(), fs::file_size(path_));
    return offsets;
  }

  struct Replayed {
    Status status;
    std::vector<std::string> records;
    uint64_t valid = 0;
    bool torn = false;
  };
  // Replays segment `seq` at `path` (by default the test's file as segment 1).
  Replayed replay(const std::string& path = {}, uint64_t seq = 1) {
    Replayed r;
    r.valid = 12345;  // replay must set both outputs
    r.torn = true;
    r.status = ChangeLog::replay(
        path.empty() ? path_ : path, seq,
        [&](std::string_view p) {
          r.records.emplace_back(p);
          return Status::Ok();
        },
        r.valid, r.torn);
    return r;
  }

  static std::vector<std::string> payloads() {
    std::vector<std::string> out;
    for (int i = 0; i < 4; ++i) {
      WriteBatch b;
      b.insert_entity(static_cast<uint64_t>(i + 1), "", "urn:e:" + std::to_string(i),
                      std::string(100 + i * 37, static_cast<char>('a' + i)));
      std::string p;
      encode_batch(b, p);
      out.push_back(std::move(p));
    }
    return out;
  }

  std::string dir_, path_;
};

// With `keep`, the payloads replay() handed out stay readable after it returns: a fold decodes
// them into views and writes those into the checkpoint later.
TEST_F(ChangeLogTest, KeptMappingOutlivesTheReplay) {
  const auto want = payloads();
  append_all(want);
  std::vector<std::string_view> views;
  uint64_t valid = 0;
  bool torn = true;
  ChangeLog::Mapping kept;
  ASSERT_TRUE(ChangeLog::replay(
                  path_, 1,
                  [&](std::string_view p) {
                    views.push_back(p);
                    return Status::Ok();
                  },
                  valid, torn, &kept)
                  .ok());
  EXPECT_FALSE(torn);
  EXPECT_EQ(kept.data().size(), valid);
  ASSERT_EQ(views.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(views[i], want[i]);
    std::vector<OpView> ops;
    ASSERT_TRUE(decode_ops(views[i], ops).ok());
    ASSERT_EQ(ops.size(), 1u);
    EXPECT_EQ(ops[0].id, "urn:e:" + std::to_string(i));
    EXPECT_GE(ops[0].doc.data(), kept.data().data());  // a view into the file, not a copy
    EXPECT_LE(ops[0].doc.data() + ops[0].doc.size(), kept.data().data() + kept.data().size());
  }
}

TEST_F(ChangeLogTest, EncodeDecodeRoundTripsEveryOpKind) {
  WriteBatch want = every_kind();
  std::string payload;
  encode_batch(want, payload);
  WriteBatch got;
  Status st = decode_batch(payload, got);
  ASSERT_TRUE(st.ok()) << st.detail();
  expect_same(want, got);
}

// The record ops' layout, byte for byte (docs/storage.md, "Record format"): the kind, then the
// record kind, tenant and key, and a put's document; no entity row.
TEST_F(ChangeLogTest, RecordOpsAreEncodedAsTheFormatSays) {
  WriteBatch b;
  b.put_record("sub", "t", "k1", "{}");
  b.delete_record("sub", "", "k1");
  std::string payload;
  encode_batch(b, payload);
  auto str = [](std::string_view s) {
    std::string out(4, '\0');
    out[0] = static_cast<char>(s.size());
    return out.append(s);
  };
  const std::string want = std::string("\x02\0\0\0", 4) + '\x06' + str("sub") + str("t") +
                           str("k1") + str("{}") + '\x07' + str("sub") + str("") + str("k1");
  EXPECT_EQ(payload, want);
}

// The history ops' layout: the kind and the series, and an append's chunk; nothing else.
TEST_F(ChangeLogTest, HistoryOpsAreEncodedAsTheFormatSays) {
  WriteBatch b;
  b.append_history(0x0102, "chunk");
  b.drop_history(7);
  std::string payload;
  encode_batch(b, payload);
  const std::string want = std::string("\x02\0\0\0", 4) + '\x08' +
                           std::string("\x02\x01\0\0\0\0\0\0", 8) + std::string("\x05\0\0\0", 4) +
                           "chunk" + '\x09' + std::string("\x07\0\0\0\0\0\0\0", 8);
  EXPECT_EQ(payload, want);
}

TEST_F(ChangeLogTest, EmptyBatchRoundTrips) {
  std::string payload;
  encode_batch(WriteBatch{}, payload);
  WriteBatch got;
  ASSERT_TRUE(decode_batch(payload, got).ok());
  EXPECT_TRUE(got.empty());
}

TEST_F(ChangeLogTest, EncodeAppendsToTheBuffer) {
  WriteBatch b;
  b.delete_entity(3);
  std::string one, two;
  encode_batch(b, one);
  two = "prefix";
  encode_batch(b, two);
  EXPECT_EQ(two, "prefix" + one);
}

TEST_F(ChangeLogTest, BatchesSurviveTheFileRoundTrip) {
  std::vector<WriteBatch> batches;
  batches.push_back(every_kind());
  WriteBatch small;
  small.delete_entity(9);
  batches.push_back(small);
  batches.push_back(WriteBatch{});
  std::vector<std::string> payloads;
  for (const auto& b : batches) {
    std::string p;
    encode_batch(b, p);
    payloads.push_back(p);
  }
  append_all(payloads);
  Replayed r = replay();
  ASSERT_TRUE(r.status.ok()) << r.status.detail();
  EXPECT_FALSE(r.torn);
  EXPECT_EQ(r.valid, fs::file_size(path_));
  ASSERT_EQ(r.records.size(), batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    WriteBatch got;
    ASSERT_TRUE(decode_batch(r.records[i], got).ok());
    expect_same(batches[i], got);
  }
}

TEST_F(ChangeLogTest, ReplayDeliversRecordsInOrderWithExactFraming) {
  auto p = payloads();
  p.push_back("");  // an empty payload is a record too
  auto offsets = append_all(p);
  uint64_t expected_size = 0;
  for (const auto& x : p)
    expected_size += kHeader + x.size();
  EXPECT_EQ(fs::file_size(path_), expected_size);
  Replayed r = replay();
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, p);
  EXPECT_EQ(r.valid, expected_size);
  EXPECT_FALSE(r.torn);
  EXPECT_EQ(offsets[1], kHeader + p[0].size());
}

// The header holds the standard CRC-32 (zlib's and gzip's), whatever computes it: logs written
// by earlier builds must replay. "123456789" is the polynomial's published check value.
// CRC-32 as zlib and gzip define it (reflected polynomial 0xEDB88320), bit by bit: an
// expectation independent of the ISA-L routine the log uses.
uint32_t crc32_bitwise(std::string_view bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

std::string le32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>(v >> (8 * i));
  return out;
}

// A record as the format says, framed here byte by byte rather than by the writer.
std::string framed(std::string_view magic, std::string_view payload, uint32_t crc) {
  return std::string(magic) + le32(static_cast<uint32_t>(payload.size())) + le32(crc) +
         std::string(payload);
}

TEST_F(ChangeLogTest, HeaderCarriesTheCrc32OfTheSegmentNumberAndThePayload) {
  EXPECT_EQ(crc32_bitwise("123456789"), 0xCBF43926u);  // the standard check value
  append_all({"123456789", ""});
  std::string bytes = read_file(path_);
  ASSERT_EQ(bytes.size(), 2 * kHeader + 9);
  const std::string seq1("\x01\0\0\0\0\0\0\0", 8);  // segment 1, little-endian
  EXPECT_EQ(bytes.substr(0, 4), "2LST");
  EXPECT_EQ(bytes.substr(0, kHeader + 9),
            framed("2LST", "123456789", crc32_bitwise(seq1 + "123456789")));
  EXPECT_EQ(bytes.substr(kHeader + 9), framed("2LST", "", crc32_bitwise(seq1)));

  // The reader checks the same CRC: the records replay as segment 1 and are cut with any other
  // CRC, or as any other segment.
  const uint32_t good = crc32_bitwise(seq1 + "123456789");
  write_file(path_, framed("2LST", "123456789", good) + framed("2LST", "123456789", good));
  Replayed r = replay();
  ASSERT_TRUE(r.status.ok()) << r.status.detail();
  EXPECT_EQ(r.records, (std::vector<std::string>{"123456789", "123456789"}));
  EXPECT_FALSE(r.torn);
  write_file(path_, framed("2LST", "123456789", good) + framed("2LST", "123456789", good + 1));
  r = replay();
  ASSERT_TRUE(r.status.ok()) << r.status.detail();
  EXPECT_EQ(r.records, (std::vector<std::string>{"123456789"}));
  EXPECT_TRUE(r.torn);
  write_file(path_, framed("2LST", "123456789", good));
  r = replay(path_, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.detail();
  EXPECT_TRUE(r.records.empty()) << "a record of segment 1 is not one of segment 2";
  EXPECT_EQ(r.valid, 0u);
  EXPECT_TRUE(r.torn);
}

// Segments written before the CRC covered the segment number ("TSL1", the CRC of the payload
// alone) are still read, also with records of the current format after them (a segment the
// new version went on appending to).
TEST_F(ChangeLogTest, RecordsOfTheFirstFormatAreStillRead) {
  write_file(path_, framed("1LST", "123456789", 0xCBF43926u) + framed("1LST", "", 0));
  {
    ChangeLog log;
    ASSERT_TRUE(log.open(path_, 1, fs::file_size(path_)).ok());
    ASSERT_TRUE(log.append("new", true).ok());
  }
  Replayed r = replay();
  ASSERT_TRUE(r.status.ok()) << r.status.detail();
  EXPECT_EQ(r.records, (std::vector<std::string>{"123456789", "", "new"}));
  EXPECT_FALSE(r.torn);
  write_file(path_, framed("1LST", "123456789", 0xCBF43927u));
  r = replay();
  EXPECT_TRUE(r.records.empty());
  EXPECT_TRUE(r.torn);
}

// A reused file (a folded segment written over as a later one): replay gives the new records
// only, the old ones after them count as a torn tail (never as damage), and seal() cuts them.
TEST_F(ChangeLogTest, ReusedFileReadsOnlyItsNewRecordsAndSealCutsTheOldOnes) {
  auto old_records = payloads();
  append_all(old_records);
  const uint64_t old_size = fs::file_size(path_);
  const std::string reused = dir_ + "/changes-000000000007.log";
  fs::rename(path_, reused);
  ChangeLog log;
  ASSERT_TRUE(log.reuse(reused, 7).ok());
  EXPECT_EQ(log.size(), 0u);
  ASSERT_TRUE(log.append("first", false).ok());
  ASSERT_TRUE(log.append("second", true).ok());
  EXPECT_EQ(fs::file_size(reused), old_size) << "written over, not cut, while open";
  Replayed r = replay(reused, 7);
  ASSERT_TRUE(r.status.ok()) << r.status.detail();
  EXPECT_EQ(r.records, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(r.valid, log.size());
  EXPECT_TRUE(r.torn);
  ASSERT_TRUE(log.seal(true).ok());
  EXPECT_FALSE(log.is_open());
  EXPECT_EQ(fs::file_size(reused), 2 * kHeader + 11);
  r = replay(reused, 7);
  EXPECT_EQ(r.records, (std::vector<std::string>{"first", "second"}));
  EXPECT_FALSE(r.torn);

  // Writing past the old end: nothing is left to cut.
  ASSERT_TRUE(log.reuse(reused, 8).ok());
  const std::string big(3 * old_size, 'b');
  ASSERT_TRUE(log.append(big, false).ok());
  ASSERT_TRUE(log.seal(false).ok());
  EXPECT_EQ(fs::file_size(reused), kHeader + big.size());
}

TEST_F(ChangeLogTest, EmptyFileHasNoRecordsAndIsNotTorn) {
  write_file(path_, "");
  Replayed r = replay();
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.valid, 0u);
  EXPECT_FALSE(r.torn);
}

TEST_F(ChangeLogTest, MissingFileIsAnError) {
  Replayed r = replay();
  EXPECT_EQ(r.status.kind(), ErrorKind::kInternalError);
  EXPECT_NE(r.status.detail().find(path_), std::string::npos) << r.status.detail();
  EXPECT_TRUE(r.records.empty());
}

TEST_F(ChangeLogTest, TornInTheLastPayloadKeepsTheValidPrefix) {
  auto p = payloads();
  auto offsets = append_all(p);
  uint64_t size = fs::file_size(path_);
  for (uint64_t cut : {offsets.back() + kHeader, offsets.back() + kHeader + 1, size - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    fs::resize_file(path_, cut);
    Replayed r = replay();
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.records, std::vector<std::string>(p.begin(), p.end() - 1));
    EXPECT_EQ(r.valid, offsets.back());
    EXPECT_TRUE(r.torn);
  }
}

TEST_F(ChangeLogTest, TornInTheLastHeaderKeepsTheValidPrefix) {
  auto p = payloads();
  auto offsets = append_all(p);
  for (uint64_t in_header : {1u, 4u, 6u, 8u, 11u}) {
    SCOPED_TRACE("header bytes kept: " + std::to_string(in_header));
    fs::resize_file(path_, offsets.back() + in_header);
    Replayed r = replay();
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.records.size(), p.size() - 1);
    EXPECT_EQ(r.valid, offsets.back());
    EXPECT_TRUE(r.torn);
  }
}

TEST_F(ChangeLogTest, FlippedPayloadByteInTheLastRecordStopsBeforeIt) {
  auto p = payloads();
  auto offsets = append_all(p);
  std::string data = read_file(path_);
  data[offsets.back() + kHeader + 5] ^= 0x01;
  write_file(path_, data);
  Replayed r = replay();
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.records, std::vector<std::string>(p.begin(), p.end() - 1));
  EXPECT_EQ(r.valid, offsets.back());
  EXPECT_TRUE(r.torn);
}

// A crash only tears the last record; damage followed by intact records is damage to
// acknowledged data, and replay reports it instead of dropping the later records.
TEST_F(ChangeLogTest, FlippedPayloadByteBeforeIntactRecordsIsAnError) {
  auto p = payloads();
  auto offsets = append_all(p);
  std::string data = read_file(path_);
  data[offsets[2] + kHeader + 5] ^= 0x01;
  write_file(path_, data);
  Replayed r = replay();
  EXPECT_EQ(r.status.kind(), ErrorKind::kInternalError);
  EXPECT_NE(r.status.detail().find("damaged at byte " + std::to_string(offsets[2])),
            std::string::npos)
      << r.status.detail();
}

TEST_F(ChangeLogTest, DamagedHeaderFieldsOfTheLastRecordStopBeforeIt) {
  auto p = payloads();
  auto offsets = append_all(p);
  const std::string clean = read_file(path_);
  // Byte 0: magic; byte 4: the length's low byte (CRC no longer matches); byte 7: its high byte
  // (claims more than the file holds); byte 8: the CRC.
  for (size_t field : {0u, 4u, 7u, 8u}) {
    SCOPED_TRACE("header byte " + std::to_string(field));
    std::string data = clean;
    data[offsets.back() + field] ^= 0x40;
    write_file(path_, data);
    Replayed r = replay();
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.records, std::vector<std::string>(p.begin(), p.end() - 1));
    EXPECT_EQ(r.valid, offsets.back());
    EXPECT_TRUE(r.torn);
  }
}

TEST_F(ChangeLogTest, DamagedHeaderFieldsBeforeIntactRecordsAreAnError) {
  auto p = payloads();
  auto offsets = append_all(p);
  const std::string clean = read_file(path_);
  for (size_t field : {0u, 4u, 7u, 8u}) {
    SCOPED_TRACE("header byte " + std::to_string(field));
    std::string data = clean;
    data[offsets[1] + field] ^= 0x40;
    write_file(path_, data);
    Replayed r = replay();
    EXPECT_EQ(r.status.kind(), ErrorKind::kInternalError);
  }
}

TEST_F(ChangeLogTest, GarbageAfterValidRecordsIsReportedAsTorn) {
  auto p = payloads();
  append_all(p);
  const uint64_t size = fs::file_size(path_);
  const std::string clean = read_file(path_);
  for (const std::string& garbage :
       {std::string("x"), std::string(kHeader, '\0'), std::string(4096, '\0'),
        std::string("TSL1 not really a record, longer than a header")}) {
    SCOPED_TRACE("garbage of " + std::to_string(garbage.size()) + " bytes");
    write_file(path_, clean + garbage);
    Replayed r = replay();
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.records, p);
    EXPECT_EQ(r.valid, size);
    EXPECT_TRUE(r.torn);
  }
}

TEST_F(ChangeLogTest, ReopeningAtTheValidSizeCutsTheTailAndLaterAppendsAreReadable) {
  auto p = payloads();
  auto offsets = append_all(p);
  fs::resize_file(path_, offsets.back() + kHeader + 3);  // torn last record
  Replayed before = replay();
  ASSERT_TRUE(before.torn);
  {
    ChangeLog log;
    ASSERT_TRUE(log.open(path_, 1, before.valid).ok());
    EXPECT_EQ(log.size(), before.valid);
    EXPECT_EQ(fs::file_size(path_), before.valid);
    ASSERT_TRUE(log.append("after the cut", true).ok());
    ASSERT_TRUE(log.append("and one more", false).ok());
    EXPECT_EQ(log.size(), fs::file_size(path_));
  }
  Replayed after = replay();
  ASSERT_TRUE(after.status.ok());
  EXPECT_FALSE(after.torn);
  std::vector<std::string> want(p.begin(), p.end() - 1);
  want.push_back("after the cut");
  want.push_back("and one more");
  EXPECT_EQ(after.records, want);
  EXPECT_EQ(after.valid, fs::file_size(path_));
}

TEST_F(ChangeLogTest, ReopeningAtTheFullSizeKeepsEveryRecord) {
  auto p = payloads();
  append_all(p);
  {
    ChangeLog log;
    ASSERT_TRUE(log.open(path_, 1, fs::file_size(path_)).ok());
    ASSERT_TRUE(log.append("tail", true).ok());
  }
  auto want = p;
  want.push_back("tail");
  EXPECT_EQ(replay().records, want);
}

TEST_F(ChangeLogTest, OpenCreatesAMissingFile) {
  ChangeLog log;
  ASSERT_TRUE(log.open(path_, 1, 0).ok());
  EXPECT_TRUE(log.is_open());
  EXPECT_EQ(log.path(), path_);
  EXPECT_TRUE(fs::exists(path_));
  log.close();
  EXPECT_FALSE(log.is_open());
  Replayed r = replay();
  EXPECT_TRUE(r.records.empty());
  EXPECT_FALSE(r.torn);
}

TEST_F(ChangeLogTest, OpenInAMissingDirectoryFails) {
  ChangeLog log;
  Status st = log.open(dir_ + "/no/such/dir/changes.log", 1, 0);
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_FALSE(log.is_open());
}

TEST_F(ChangeLogTest, AnErrorFromTheRecordCallbackStopsTheReplay) {
  append_all(payloads());
  int seen = 0;
  uint64_t valid = 0;
  bool torn = false;
  Status st = ChangeLog::replay(
      path_, 1,
      [&](std::string_view) {
        return ++seen == 2 ? Status::Internal("visitor refuses") : Status::Ok();
      },
      valid, torn);
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_EQ(st.detail(), "visitor refuses");
  EXPECT_EQ(seen, 2);
}

TEST_F(ChangeLogTest, DecodeRefusesAnUnknownOpKind) {
  WriteBatch b;
  b.delete_entity(1);
  std::string payload;
  encode_batch(b, payload);
  for (unsigned char kind : {10, 0x7f, 0xff}) {
    std::string bad = payload;
    bad[4] = static_cast<char>(kind);  // after the 4-byte op count
    WriteBatch out;
    Status st = decode_batch(bad, out);
    EXPECT_EQ(st.kind(), ErrorKind::kInternalError) << "kind " << int(kind);
  }
}

TEST_F(ChangeLogTest, DecodeRefusesEveryTruncation) {
  WriteBatch b;
  b.create_tenant("t");
  b.insert_entity(3, "t", "urn:x", "{\"doc\":1}");
  b.update_entity(3, "{}");
  b.put_record("subscription", "t", "urn:s", "{}");
  b.delete_record("subscription", "t", "urn:s");
  b.append_history(5, "chunk");
  b.drop_history(5);
  std::string payload;
  encode_batch(b, payload);
  for (size_t n = 0; n < payload.size(); ++n) {
    WriteBatch out;
    Status st = decode_batch(std::string_view(payload).substr(0, n), out);
    EXPECT_EQ(st.kind(), ErrorKind::kInternalError) << "prefix of " << n << " bytes";
  }
}

TEST_F(ChangeLogTest, DecodeRefusesAStringLongerThanThePayload) {
  WriteBatch b;
  b.insert_entity(3, "t", "urn:x", "doc");
  std::string payload;
  encode_batch(b, payload);
  // op count (4) + kind (1) + row (8) = offset 13: the tenant's length.
  std::string bad = payload;
  bad[13 + 3] = '\x7f';  // length 0x7f000001
  WriteBatch out;
  EXPECT_EQ(decode_batch(bad, out).kind(), ErrorKind::kInternalError);
  bad = payload;
  bad[13] = static_cast<char>(bad[13] + payload.size());  // a few bytes beyond the end
  EXPECT_EQ(decode_batch(bad, out).kind(), ErrorKind::kInternalError);
}

TEST_F(ChangeLogTest, DecodeRefusesTrailingBytes) {
  WriteBatch b;
  b.delete_entity(1);
  std::string payload;
  encode_batch(b, payload);
  WriteBatch out;
  Status st = decode_batch(payload + "x", out);
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("trailing"), std::string::npos) << st.detail();
}

TEST_F(ChangeLogTest, DecodeRefusesAnOpCountLargerThanTheOps) {
  WriteBatch b;
  b.delete_entity(1);
  std::string payload;
  encode_batch(b, payload);
  payload[0] = 2;
  WriteBatch out;
  EXPECT_EQ(decode_batch(payload, out).kind(), ErrorKind::kInternalError);
  payload[0] = 0;  // fewer ops than encoded: the rest is trailing
  EXPECT_EQ(decode_batch(payload, out).kind(), ErrorKind::kInternalError);
}

}  // namespace
}  // namespace tsunagu::store
