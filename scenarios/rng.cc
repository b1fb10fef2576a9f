#include "scenarios/rng.h"

#include <limits>
#include <unordered_set>

#include "common/check.h"

namespace toolgym::scenarios {

// Each string is hashed on its own and folded in through splitmix64, so ("ab", "c") and
// ("a", "bc") give different streams.
Rng Rng::ForTask(std::string_view scenario_id, std::string_view version, std::uint64_t seed,
                 std::string_view stream) {
  std::uint64_t h = SplitMix64(Fnv1a64(scenario_id));
  h = SplitMix64(h ^ Fnv1a64(version));
  h = SplitMix64(h ^ seed);
  h = SplitMix64(h ^ Fnv1a64(stream));
  return Rng(h);
}

std::int64_t Rng::UniformInt(std::int64_t lo, std::int64_t hi) {
  TG_CHECK_LE(lo, hi);
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == std::numeric_limits<std::uint64_t>::max()) return static_cast<std::int64_t>(Next());
  const std::uint64_t n = span + 1;
  // Draws below 2^64 mod n would make the low residues more likely; reject them.
  const std::uint64_t threshold = (0 - n) % n;
  std::uint64_t x = Next();
  while (x < threshold) x = Next();
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % n);
}

double Rng::UniformReal() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

std::vector<std::size_t> Rng::Sample(std::size_t n, std::size_t k) {
  TG_CHECK_LE(k, n);
  std::vector<std::size_t> out;
  out.reserve(k);
  if (n <= (1u << 16) || k * 4 >= n) {
    // Partial Fisher-Yates: the first k slots of a shuffled [0, n).
    std::vector<std::size_t> pool(n);
    for (std::size_t i = 0; i < n; ++i) pool[i] = i;
    for (std::size_t i = 0; i < k; ++i) {
      std::size_t j = i + Index(n - i);
      std::swap(pool[i], pool[j]);
      out.push_back(pool[i]);
    }
    return out;
  }
  // Few of many: rejection keeps memory at O(k).
  std::unordered_set<std::size_t> seen;
  while (out.size() < k) {
    std::size_t x = Index(n);
    if (seen.insert(x).second) out.push_back(x);
  }
  return out;
}

}  // namespace toolgym::scenarios
