// Parameter generators: named C++ functions that scenario files compose in JSON. A scenario's
// "params" is an ordered list; each entry names a generator and its arguments, which are
// templates over the params generated before it:
//   {"name": "n",    "gen": "int", "min": 2, "max": 9}
//   {"name": "word", "gen": "choice", "values": ["alpha", "beta"]}
//   {"name": "dir",  "gen": "words", "count": "{{ n }}", "join": "/"}
// A generator gets its arguments rendered, the task's Rng, and returns any JSON value.
//
// Thread-safety: a registry is filled once at start-up, then read concurrently.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "scenarios/rng.h"

namespace toolgym::scenarios {

struct GeneratorInfo {
  std::string name;
  std::string summary;  // one line for `toolgym generators` and docs
  // Argument names the generator accepts besides "name" and "gen"; a scenario giving any other
  // is an error ("unknown argument 'maxx' for generator 'int'; expected one of: min, max").
  std::vector<std::string> arguments;
  std::vector<std::string> required;
  // Validates the rendered arguments and draws the value. Errors name the argument and what was
  // expected ("'max' must be >= 'min', got min = 5, max = 3").
  std::function<StatusOr<nlohmann::json>(const nlohmann::json& args, Rng& rng)> generate;
  // The generator reads files named relative to the scenario file: the loader adds the
  // argument "$base_dir" (that file's directory) to the rendered arguments. A scenario cannot
  // set it itself (it is no argument the generator declares).
  bool wants_base_dir = false;
};

class GeneratorRegistry {
 public:
  // The registry with every built-in generator (generators.cc, generators_data.cc,
  // generators_code.cc, generators_web.cc, generators_search.cc); docs/generators.md describes
  // each one.
  static const GeneratorRegistry& Default();
  Status Register(GeneratorInfo info);  // error on a duplicate name
  const GeneratorInfo* Find(const std::string& name) const;
  std::vector<std::string> Names() const;
  // Runs one params entry ({"name": ..., "gen": "int", "min": 1, "max": 9}, arguments already
  // rendered): checks that the generator exists, that every argument besides "name" and "gen"
  // is one it accepts and that the required ones are present ("$base_dir" too, for a generator
  // that wants it), then draws. Errors are prefixed with "generator 'int': ".
  StatusOr<nlohmann::json> Generate(const nlohmann::json& spec, Rng& rng) const;

 private:
  std::map<std::string, GeneratorInfo> generators_;
};

// Registration functions, one per source file; Default() calls them all.
void RegisterBasicGenerators(GeneratorRegistry& r);   // generators.cc
void RegisterDataGenerators(GeneratorRegistry& r);    // generators_data.cc: files, CSV, logs, text
void RegisterCodeGenerators(GeneratorRegistry& r);    // generators_code.cc: code templates, bugs
void RegisterWebGenerators(GeneratorRegistry& r);     // generators_web.cc: web sites and goals
void RegisterSearchGenerators(GeneratorRegistry& r);  // generators_search.cc: worlds, questions

}  // namespace toolgym::scenarios
