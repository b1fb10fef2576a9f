// Helpers shared by verifiers.cc and verifiers_files.cc: reading typed fields out of a rendered
// verifier spec with errors that name the field, and quoting values for details. Internal to
// scenarios/.
#pragma once

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace toolgym::scenarios::internal
