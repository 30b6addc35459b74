// Fuzz target: the history chunk codec (store/history/chunk_codec.hpp), whose chunks are read
// from disk that may be damaged. Any bytes give instances or an InternalError with a detail,
// never a crash. Each input is tried as it is and with its last four bytes replaced by the CRC
// of the rest, so that mutations reach the column decoders instead of stopping at the CRC. A
// chunk that decodes is encoded again and reads back the same, in whole and as numbers.
#include <isa-l/crc.h>

#include <bit>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "store/history/chunk_codec.hpp"

using namespace tsunagu;
using namespace tsunagu::store::history;
using fuzz::require;

namespace {

bool same(const Instance& a, const Instance& b) {
  return a.kind == b.kind && a.boolean == b.boolean && a.integer == b.integer &&
         std::bit_cast<uint64_t>(a.number) == std::bit_cast<uint64_t>(b.number) &&
         a.text == b.text && a.attr_type == b.attr_type && a.seq == b.seq &&
         a.observed_at == b.observed_at && a.created_at == b.created_at &&
         a.modified_at == b.modified_at && a.deleted_at == b.deleted_at &&
         a.instance_id == b.instance_id && a.unit_code == b.unit_code &&
         a.value_type == b.value_type && a.subs == b.subs;
}

void check(std::string_view chunk) {
  auto info = read_chunk_info(chunk);
  fuzz::require_explained(info, "read_chunk_info");
  std::vector<Instance> out;
  const Status st = decode_chunk(chunk, out);
  fuzz::require_explained(st, "decode_chunk");
  std::vector<TimedNumber> numbers;
  const Status nst = decode_numbers(chunk, numbers);
  fuzz::require_explained(nst, "decode_numbers");
  if (!st.ok()) return;
  require(info.ok() && info->count == out.size(), "the header counts the instances");
  require(nst.ok(), "a chunk that decodes decodes to numbers");

  auto again = encode_chunk(out);
  require(again.ok(), "decoded instances encode", again.ok() ? "" : again.status().detail());
  std::vector<Instance> back;
  const Status bst = decode_chunk(*again, back);
  require(bst.ok(), "an encoded chunk decodes", bst.detail());
  require(back.size() == out.size(), "a chunk keeps its instances");
  for (size_t i = 0; i < out.size(); ++i)
    require(same(back[i], out[i]), "an instance reads back as it was");
  std::vector<TimedNumber> numbers_back;
  require(decode_numbers(*again, numbers_back).ok() && numbers_back.size() == numbers.size(),
          "the numbers read back");
  for (size_t i = 0; i < numbers.size(); ++i)
    require(
        numbers_back[i].time == numbers[i].time && std::bit_cast<uint64_t>(numbers_back[i].value) ==
                                                       std::bit_cast<uint64_t>(numbers[i].value),
        "a number reads back as it was");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view chunk = fuzz::text_of(data, size);
  check(chunk);
  if (size >= 4) {
    std::string fixed(chunk);
    const uint32_t sum = crc32_gzip_refl(0, data, size - 4);
    for (size_t i = 0; i < 4; ++i)
      fixed[size - 4 + i] = static_cast<char>(sum >> (8 * i));
    check(fixed);
  }
  return 0;
}
