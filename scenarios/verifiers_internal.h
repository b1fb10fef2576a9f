// Helpers shared by verifiers.cc and verifiers_files.cc: reading typed fields out of a rendered
// verifier spec with errors that name the field, and quoting values for details. Internal to
// scenarios/.
#pragma once

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace toolgym::scenarios::internal {

inline bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// `s` without leading and trailing ASCII whitespace.
inline std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// Compact JSON of `v` for messages, cut to `max` bytes ("..." appended). Never throws: invalid
// UTF-8 in strings is replaced.
inline std::string Describe(const nlohmann::json& v, std::size_t max = 80) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// A string quoted as JSON for details ("expected \"42\", got \"41\""), cut to `max` bytes.
inline std::string Quote(std::string_view s, std::size_t max = 80) {
  bool cut = s.size() > max;
  std::string q = nlohmann::json(std::string(s.substr(0, cut ? max : s.size())))
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return cut ? q + "..." : q;
}

inline StatusOr<std::string> GetString(const nlohmann::json& spec, const std::string& field,
                                       bool allow_empty = false) {
  auto it = spec.find(field);
  if (it == spec.end()) return InvalidArgumentError("missing field '{}'", field);
  if (!it->is_string()) {
    return InvalidArgumentError("'{}' must be a string, got {}", field, Describe(*it));
  }
  std::string s = it->get<std::string>();
  if (s.empty() && !allow_empty) return InvalidArgumentError("'{}' must not be empty", field);
  return s;
}

inline StatusOr<std::optional<std::string>> GetOptionalString(const nlohmann::json& spec,
                                                              const std::string& field) {
  if (!spec.contains(field)) return std::optional<std::string>();
  TG_ASSIGN_OR_RETURN(std::string s, GetString(spec, field, /*allow_empty=*/true));
  return std::optional<std::string>(std::move(s));
}

inline StatusOr<bool> GetBool(const nlohmann::json& spec, const std::string& field, bool def) {
  auto it = spec.find(field);
  if (it == spec.end()) return def;
  if (!it->is_boolean()) {
    return InvalidArgumentError("'{}' must be true or false, got {}", field, Describe(*it));
  }
  return it->get<bool>();
}

// A finite number in [min, max] (inclusive), `def` when absent.
inline StatusOr<double> GetNumber(const nlohmann::json& spec, const std::string& field, double def,
                                  double min, double max) {
  auto it = spec.find(field);
  if (it == spec.end()) return def;
  if (!it->is_number()) {
    return InvalidArgumentError("'{}' must be a number, got {}", field, Describe(*it));
  }
  double v = it->get<double>();
  if (!std::isfinite(v) || v < min || v > max) {
    return InvalidArgumentError("'{}' must be a number in [{}, {}], got {}", field, min, max,
                                Describe(*it));
  }
  return v;
}

// Scalars as the text an answer would hold: strings as they are, numbers and booleans as JSON
// ("42", "3.5", "true"). Other types are an error naming `field`.
inline StatusOr<std::string> ScalarText(const nlohmann::json& v, const std::string& field) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return InvalidArgumentError("'{}' must be a string, number or boolean, got {}", field,
                              Describe(v));
}

// For the f1 and qa verifiers.
// SQuAD's normalize_answer: lower case, ASCII punctuation deleted (string.punctuation, so
// "1,234" is "1234"), the articles a/an/the dropped as words, whitespace collapsed. Returned as
// tokens. (Lower-casing is ASCII only; the official script's str.lower also folds other
// letters.)
inline std::vector<std::string> SquadTokens(std::string_view text) {
  std::string s;
  s.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && std::ispunct(u)) continue;
    s += static_cast<char>(u < 0x80 ? std::tolower(u) : u);
  }
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    const std::size_t b = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > b) {
      std::string t = s.substr(b, i - b);
      if (t != "a" && t != "an" && t != "the") tokens.push_back(std::move(t));
    }
  }
  return tokens;
}

// SQuAD's f1_score; 1 when both sides normalize to nothing (as SQuAD 2.0's script), 0 when one
// does.
inline double TokenF1(const std::vector<std::string>& pred, const std::vector<std::string>& gold) {
  if (pred.empty() || gold.empty()) return pred.empty() && gold.empty() ? 1.0 : 0.0;
  std::map<std::string, int> counts;
  for (const auto& t : gold) ++counts[t];
  int common = 0;
  for (const auto& t : pred) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / static_cast<double>(pred.size());
  const double recall = static_cast<double>(common) / static_cast<double>(gold.size());
  return 2 * precision * recall / (precision + recall);
}

}  // namespace toolgym::scenarios::internal
