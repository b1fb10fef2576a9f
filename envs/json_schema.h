// Validation of tool arguments against a JSON Schema. Written here because Debian packages no
// C++ JSON Schema validator for nlohmann::json; tool schemas need only this subset, and
// anything outside it is rejected when the schema is checked (CheckSchema), never ignored.
//
// Supported keywords: type (string, integer, number, boolean, array, object, null, or a list of
// them), properties, required, additionalProperties (bool), enum, minimum, maximum, minLength,
// maxLength, items, minItems, maxItems, description, default, title.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace toolgym::envs {

struct SchemaError {
  enum class Kind { kMissing, kExtra, kType, kEnum, kRange };
  Kind kind;
  std::string path;     // JSON pointer of the offending value, "/command"
  std::string message;  // "argument 'timeout' must be an integer, got the string \"5\""
};

// Errors of `value` against `schema`, in document order; empty means valid.
std::vector<SchemaError> ValidateJson(const nlohmann::json& schema, const nlohmann::json& value);

// Checks that `schema` uses only the supported subset and is well formed.
Status CheckSchema(const nlohmann::json& schema);

}  // namespace toolgym::envs
