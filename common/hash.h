// Small, stable hash and mixing functions for deriving seeds: their values are part of what
// makes runs repeat (same scenario, seed and options, same draws), so they never change.
#pragma once

#include <cstdint>
#include <string_view>

namespace toolgym {

// SplitMix64's output function (Steele, Lea and Flood 2014): a bijective mix of 64 bits, for
// deriving independent seeds from (seed, index) pairs.
constexpr std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// 64-bit FNV-1a of a string.
constexpr std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace toolgym
