// Shared helpers of the built-in generators (generators.cc, generators_data.cc,
// generators_code.cc): argument readers whose errors name the argument, the built-in word lists
// and calendar arithmetic that does not depend on the host's time zone or locale.
//
// Not part of the scenario format's public API; scenario authors see only generator names and
// arguments (docs/generators.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "scenarios/rng.h"

namespace toolgym::scenarios::genutil {

using json = nlohmann::json;

// Short display of a value for error messages ("\"abc\"", "5", "an object").
std::string Show(const json& v);

// Readers for one argument of `args`. Without a default the argument is required. Integers
// accept integral floats and decimal strings ("5", as produced by a template that is not a
// lone placeholder). Errors: "'count' must be an integer, got \"x\"".
StatusOr<std::int64_t> GetInt(const json& args, std::string_view key,
                              std::optional<std::int64_t> def = std::nullopt);
StatusOr<double> GetNumber(const json& args, std::string_view key,
                           std::optional<double> def = std::nullopt);
StatusOr<bool> GetBool(const json& args, std::string_view key,
                       std::optional<bool> def = std::nullopt);
StatusOr<std::string> GetString(const json& args, std::string_view key,
                                std::optional<std::string> def = std::nullopt);
// A JSON array (required unless `def` is given); `min_size` items at least.
StatusOr<json> GetArray(const json& args, std::string_view key, std::size_t min_size = 0,
                        std::optional<json> def = std::nullopt);
// An array of strings.
StatusOr<std::vector<std::string>> GetStrings(const json& args, std::string_view key,
                                              std::size_t min_size = 0,
                                              std::optional<std::vector<std::string>> def = {});

// "'count' must be in [1, 1000], got 0".
Status CheckRange(std::string_view key, std::int64_t v, std::int64_t lo, std::int64_t hi);
// "'max' must be >= 'min', got min = 5, max = 3".
Status CheckOrdered(std::string_view lo_key, double lo, std::string_view hi_key, double hi);

struct IntRange {
  std::int64_t min = 0;
  std::int64_t max = 0;
};
// An argument given as a number (fixed) or {"min": a, "max": b}; checks min <= max and both in
// [lo, hi]. Errors name "key.min" / "key.max".
StatusOr<IntRange> GetIntRange(const json& args, std::string_view key, std::optional<IntRange> def,
                               std::int64_t lo, std::int64_t hi);

// Built-in word lists by name: nouns, adjectives, verbs, colors, animals, fruits, cities
// (lowercase ASCII, no spaces, no duplicates), names and surnames (capitalized). nullptr for an
// unknown name.
const std::vector<std::string>* BuiltinList(std::string_view name);
std::vector<std::string> BuiltinListNames();
// A word list argument: a builtin list's name or an inline array of strings (deduplicated, in
// order). Missing: the list called `def`.
StatusOr<std::vector<std::string>> GetWordList(const json& args, std::string_view key,
                                               std::string_view def);
// Joins the words of the given lists without duplicates, in order.
std::vector<std::string> MergeLists(const std::vector<std::string_view>& names);

// Calendar arithmetic on the proleptic Gregorian calendar; days count from 1970-01-01.
std::int64_t DaysFromCivil(std::int64_t y, int m, int d);
void CivilFromDays(std::int64_t days, std::int64_t& y, int& m, int& d);
// "YYYY-MM-DD" to days; an error naming `key` otherwise.
StatusOr<std::int64_t> ParseDate(std::string_view key, std::string_view text);
// strftime-like: %Y %y %m %d %e %j %b %B %a %A %u %w %H %M %S %F %T %%; seconds since the epoch,
// UTC. Errors on any other directive.
StatusOr<std::string> FormatTime(std::int64_t epoch_seconds, std::string_view format);

// n lowercase words from `vocab` joined with single spaces.
std::string RandomWords(Rng& rng, const std::vector<std::string>& vocab, std::size_t n);
// Lines of random words, `min_words`..`max_words` per line, until the text has at least
// `target_bytes`; every line ends with '\n'.
std::string RandomText(Rng& rng, const std::vector<std::string>& vocab, std::size_t target_bytes,
                       int min_words = 3, int max_words = 9);
std::string HexString(Rng& rng, std::size_t length);

// Exact decimal arithmetic for generated decimals: a value with `decimals` places held as an
// integer count of 10^-decimals.
double ScaledToDouble(std::int64_t scaled, int decimals);
std::string FormatScaled(std::int64_t scaled, int decimals);

}  // namespace toolgym::scenarios::genutil
