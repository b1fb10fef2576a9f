// UTF-8 well-formedness (RFC 3629: no overlongs, no surrogates, at most U+10FFFF; the rules
// nlohmann::json applies when it dumps). Agent actions and command output are arbitrary bytes;
// everything that reaches an observation or a JSON string goes through SanitizeUtf8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace toolgym::envs {

// Length of the well-formed UTF-8 sequence at s[i], or 0.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i);
// Offset of the first byte that is not well-formed UTF-8, or std::string_view::npos.
std::size_t FirstInvalidUtf8(std::string_view s);
// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view s);

}  // namespace toolgym::envs
