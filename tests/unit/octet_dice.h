// Deterministic pseudo-random input for the randomized unit tests: short
// streams drawn from the few octets a parser treats specially (for the
// framers CR, LF and '.') plus some ordinary ones, so that every branch is
// hit thousands of times in a few milliseconds; Below() for sizes, positions
// and choices. Seeded, so a failure reproduces (Catch2 CAPTUREs the input).
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace mailnest {

class OctetDice {
 public:
  explicit OctetDice(uint32_t seed) : rng_(seed) {}

  // 0 .. n-1.
  size_t Below(size_t n) { return static_cast<size_t>(rng_() % n); }

  // 0 .. max_len-1 octets, each drawn uniformly from alphabet (repeat an
  // octet in it to make it more likely).
  std::string Draw(std::string_view alphabet, size_t max_len) {
    std::string s(Below(max_len), '\0');
    for (char& c : s) c = alphabet[Below(alphabet.size())];
    return s;
  }

 private:
  std::minstd_rand rng_;
};

}  // namespace mailnest
