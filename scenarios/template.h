// Templates in scenario files: "{{ expr }}" placeholders in strings, rendered against a JSON
// context (the task's params, and for the expert also `obs`). Written here because Debian
// packages no Jinja-like engine for nlohmann::json (inja is not packaged), and scenarios need
// only lookups and a few filters.
//
// expr := path ( "|" filter )*
// path := name ( "." name | "." index )*           e.g. params are top level: "file.path", "rows.0"
// filters: upper, lower, trim, len, json, str, join("sep"), first, last, sorted, keys, values,
//          sum, min, max, shell_quote, lines, basename, dirname, default("x"), int, round(n),
//          indent(n), match("re", "rewrite"), map("filter", args...), natsorted
// Filter arguments are literals: "str" or 'str' (with \ escapes), numbers, true, false, null.
//
// Semantics worth knowing (docs/generators.md has the generator side):
//   - A path component that is a number indexes a list ("rows.0"); on an object it is a key.
//   - default(x) applies when the path is missing or null (a missing name is then no error);
//     default with no argument gives "". Filters before it still see the missing value.
//   - upper/lower/trim/lines/basename/dirname/indent need a string; first/last take a list or a
//     string; sorted/min/max need all numbers or all strings; sum needs numbers (an integer
//     when all are integers).
//   - shell_quote: a POSIX single-quoted word safe for bash ('it'\''s'); non-strings are
//     quoted in their string form.
//   - int: integers as they are, floats and numeric strings truncated toward zero ("7.9" -> 7),
//     booleans to 0/1. round(n): n decimals (default 0, giving an integer), ties to even like
//     Python's round.
//   - lines: split on "\n" without a trailing empty item. basename/dirname follow Python's
//     posixpath. indent(n) (default 4) indents every non-empty line after the first, like
//     Jinja.
//   - default(x, true) also replaces the values Jinja calls falsy: "", 0, false, [], {}.
//   - match(re): an RE2 search (linear time, so safe on observations the agent shaped). On a
//     string: group 1 when the pattern has a group ("" when that group took no part), else the
//     whole match; null when nothing matches (so `| default("none")` applies). With a second
//     argument, that rewrite with \0..\9 replaced by the groups ('\\2 \\1' in a template
//     literal, whose own escapes come first: write '\\d' for RE2's \d, '\n' is a newline).
//     On a list: each item's result, items without a match dropped.
//   - map("f", args...): filter f (any filter, default included) applied to each item of a list.
//   - natsorted: like sorted, but strings compare runs of ASCII digits as numbers ("item9" before
//     "item10", "950 x" before "1200 y"), as GNU `sort -V` does.
//   - Errors name the placeholder: "unknown name 'cnt' in '{{ cnt }}' (available: count,
//     file)", "filter 'join' needs a list, got a number (5) in '{{ n|join }}'".
//
// A string that is exactly one placeholder ("{{ n }}") renders to the value itself with its JSON
// type (a number stays a number); otherwise each placeholder is replaced by its string form
// (strings as-is, other values as compact JSON). "{{{{" renders a literal "{{".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace toolgym::scenarios {

// Renders one template string. Errors name the placeholder and what was missing or wrong.
StatusOr<nlohmann::json> RenderTemplate(std::string_view text, const nlohmann::json& context);
// Renders to a string (non-string results as compact JSON).
StatusOr<std::string> RenderString(std::string_view text, const nlohmann::json& context);
// Renders every string inside `value` (object keys are left alone). Errors carry the JSON
// pointer of the string that failed.
StatusOr<nlohmann::json> RenderJson(const nlohmann::json& value, const nlohmann::json& context);
// True when `text` contains a placeholder.
bool HasPlaceholder(std::string_view text);

}  // namespace toolgym::scenarios
