// For the randomized tests: Marsaglia's xorshift64, so that a failing input comes back on every
// run. Called as a function, it gives the next 64 bits.
#pragma once

#include <cstdint>

namespace tsunagu::testing {

class Xorshift {
 public:
  explicit Xorshift(uint64_t seed) : state_(seed) {}

  uint64_t operator()() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // In [0, bound).
  uint64_t below(uint64_t bound) { return (*this)() % bound; }
  // In [0, 1), with the 53 bits a double holds.
  double unit() { return static_cast<double>((*this)() >> 11) / 9007199254740992.0; }

 private:
  uint64_t state_;
};

}  // namespace tsunagu::testing
