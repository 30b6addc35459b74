// The column encodings a history chunk is made of (docs/temporal.md, "History storage"): a run of
// integers (timestamps, sequence numbers, integer values, dictionary indices, flags), of doubles,
// and of strings. Each encoder picks the smallest of its forms for the run it is given; each
// decoder reads exactly what the encoder wrote for `n` values and returns false on anything else
// (truncation, a form that does not exist, a value out of range), never reading past its input.
// Used by chunk_codec.cpp; the forms are exposed for its tests and the benchmark.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/history/bytes.hpp"

namespace tsunagu::store::history {

// Integers. The values are first divided by the largest power of ten that divides them all
// (timestamps in whole milliseconds or seconds lose their zeros), then transformed (none,
// differences, or differences of differences), zigzagged, and written as varints, as runs of
// (value, length), or bit-packed at the width of the largest; a run of equal values is one varint.
void encode_ints(std::span<const int64_t> v, std::string& out);
bool decode_ints(ByteReader& in, size_t n, int64_t* out);

// Doubles, exactly (every bit, -0.0 included). kBest writes the smallest of the three forms; the
// others force one (the benchmark compares them). kDecimal: each value is m / 10^e for one e <= 15
// and integers m below 2^53, the m written as integers; kXor: Gorilla's XOR with the previous
// value (Pelkonen et al., VLDB 2015); kRaw: eight bytes each.
enum class DoubleForm : uint8_t { kDecimal = 0, kXor = 1, kRaw = 2, kBest = 255 };
// False only when a forced kDecimal does not hold the values exactly (nothing is written then).
bool encode_doubles(std::span<const double> v, std::string& out,
                    DoubleForm form = DoubleForm::kBest);
bool decode_doubles(ByteReader& in, size_t n, double* out);

// Strings (bytes; JSON text for JSON values): a dictionary of the distinct strings in first-seen
// order and an integer column of indices; or each string in turn; or, for runs of long strings
// that the dictionary does not shrink (JSON values), each string in turn compressed with zstd.
// Whichever is smallest.
void encode_strings(std::span<const std::string_view> v, std::string& out);
// The views point into the input, or into `storage` for the compressed form (which then must
// outlive them).
bool decode_strings(ByteReader& in, size_t n, std::string_view* out, std::string& storage);

}  // namespace tsunagu::store::history
