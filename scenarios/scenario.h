// Scenario files: a task family in JSON that researchers write without touching C++
// (docs/scenarios.md is the guide, with the full field reference).
//
// Loading validates everything before a single episode runs: structure and types of every field,
// generator and verifier names and their arguments, tools of the env kind, the expert's steps
// (only tools the env has; templates that refer only to what the agent can see: the
// instruction's parameters and earlier observations), seed ranges, and then instantiates the
// family for its first train and test seeds so that template and generator errors surface at
// load time too. Every error names the file, the JSON path, what was expected and what was
// found; a directory with several bad files reports all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/task.h"

namespace toolgym::scenarios {

// One problem found while loading.
struct LoadError {
  std::string file;     // the scenario file
  std::string path;     // JSON pointer of the offending value ("/params/2/max"), "" for the file
  std::string message;  // "expected an integer >= 1, found \"ten\""
  std::string ToString() const;  // "file.json: /params/2/max: expected ..."
};

class Scenario : public envs::TaskSource {
 public:
  // Parses and validates one scenario document. `file` names it in errors (and is the base for
  // a workspace "dir"). Returns null and fills `errors` when anything is wrong.
  static std::shared_ptr<const Scenario> FromJson(const nlohmann::json& doc,
                                                  const std::string& file,
                                                  std::vector<LoadError>* errors);
  static std::shared_ptr<const Scenario> FromFile(const std::string& path,
                                                  std::vector<LoadError>* errors);

  StatusOr<envs::Task> MakeTask(std::uint64_t seed) const override;
  const std::string& id() const override { return id_; }
  std::string env_kind() const override { return env_kind_; }
  SeedRange train_seeds() const override { return train_; }
  SeedRange test_seeds() const override { return test_; }

  const std::string& version() const { return version_; }
  const std::string& title() const { return title_; }
  const std::string& description() const { return description_; }
  const std::string& file() const { return file_; }
  const std::vector<std::string>& tags() const { return tags_; }
  int difficulty() const { return difficulty_; }
  bool requires_answer() const { return requires_answer_; }
  const nlohmann::json& document() const { return doc_; }
  // The generated parameters of one instance (what MakeTask renders its templates with).
  StatusOr<nlohmann::json> GenerateParams(std::uint64_t seed) const;

 private:
  Scenario() = default;
  nlohmann::json doc_;
  std::string file_, dir_;
  std::string id_, version_, title_, description_, env_kind_;
  std::vector<std::string> tags_;
  int difficulty_ = 1;
  bool requires_answer_ = true;
  SeedRange train_, test_;
  std::vector<std::vector<envs::ExpertStep>> expert_variants_;
  sandbox::FileTree static_files_;  // from "workspace.dir", loaded once
};

// The expert step templates may refer to these roots besides the instruction's parameters.
inline const std::set<std::string>& ExpertContextRoots() {
  static const std::set<std::string> kRoots = {"obs", "x"};
  return kRoots;
}

}  // namespace toolgym::scenarios
