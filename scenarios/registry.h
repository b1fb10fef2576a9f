// The scenario registry: every scenario family by id, loaded from directories of scenario files
// (the shipped suites under scenarios/suites/, plus $TOOLGYM_SCENARIO_PATH, a colon-separated
// list of directories or files), and make(scenario_id, options) -> Env.
//
// Thread-safety: Default() is loaded once on first use; a registry is immutable afterwards, so
// lookups and Make() may run concurrently.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/env.h"
#include "envs/env_pool.h"
#include "scenarios/scenario.h"

namespace toolgym::scenarios {

class ScenarioRegistry {
 public:
  // Loads every *.json file under `path` (recursively) or the file itself; in a directory, JSON
  // of another toolgym format ("format": "toolgym.site/1", a site) is skipped. All files are read
  // and all errors reported; the good scenarios are added even when others fail. A duplicate id
  // is an error naming both files.
  std::vector<LoadError> Load(const std::string& path);
  Status Add(std::shared_ptr<const Scenario> scenario);

  const Scenario* Find(const std::string& id) const;
  std::shared_ptr<const Scenario> Get(const std::string& id) const;
  std::vector<std::string> Ids() const;  // sorted
  size_t size() const { return scenarios_.size(); }

  // An env for the scenario; options as EnvOptions::FromJson. Unknown ids list close matches.
  StatusOr<std::unique_ptr<envs::Env>> Make(
      const std::string& id, const nlohmann::json& options = nlohmann::json::object()) const;
  // A pool of one env per id (repeat an id for several envs of it; mix ids for a mix), with
  // options.env_options as EnvOptions JSON (envs/env_pool.h).
  StatusOr<std::unique_ptr<envs::EnvPool>> MakePool(const std::vector<std::string>& ids,
                                                    envs::EnvPoolOptions options = {}) const;

  // The shipped suites and $TOOLGYM_SCENARIO_PATH; load errors are kept in default_errors().
  static const ScenarioRegistry& Default();
  static const std::vector<LoadError>& DefaultErrors();
  // Where the shipped suites are: $TOOLGYM_SUITES_DIR, else the source tree's scenarios/suites.
  static std::string SuitesDir();

 private:
  Status UnknownId(const std::string& id) const;  // NotFound with close matches
  std::map<std::string, std::shared_ptr<const Scenario>> scenarios_;
};

// Shorthand for ScenarioRegistry::Default().Make(id, options).
StatusOr<std::unique_ptr<envs::Env>> Make(const std::string& scenario_id,
                                          const nlohmann::json& options = nlohmann::json::object());

}  // namespace toolgym::scenarios
