// Deterministic random numbers for task generation. std::uniform_int_distribution and friends
// are implementation-defined, so a task generated with libstdc++ could differ elsewhere; every
// draw here is defined in terms of std::mt19937_64's standardized output only.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"

namespace toolgym::scenarios {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Seed from (scenario id, version, seed, stream name): FNV-1a of the strings mixed with the
  // seed by splitmix64, so distinct streams of one task are independent.
  static Rng ForTask(std::string_view scenario_id, std::string_view version, std::uint64_t seed,
                     std::string_view stream = "");

  std::uint64_t Next() { return engine_(); }
  // Uniform in [lo, hi] (inclusive), by rejection sampling. Requires lo <= hi.
  std::int64_t UniformInt(std::int64_t lo, std::int64_t hi);
  // Uniform in [0, 1) with 53 random bits.
  double UniformReal();
  bool Bernoulli(double p) { return UniformReal() < p; }
  std::size_t Index(std::size_t n) { return static_cast<std::size_t>(UniformInt(0, n - 1)); }
  template <typename T>
  const T& Choice(const std::vector<T>& v) {
    return v[Index(v.size())];
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Index(i)]);
  }
  // k distinct indices of [0, n) in random order. Requires k <= n.
  std::vector<std::size_t> Sample(std::size_t n, std::size_t k);

 private:
  std::mt19937_64 engine_;
};

// common/hash.h's functions, under the names generators have always used.
constexpr std::uint64_t Fnv1a64(std::string_view s) { return Fnv1a(s); }
using ::toolgym::SplitMix64;

}  // namespace toolgym::scenarios
