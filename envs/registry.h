// Env kinds by name ("shell", "code"; the search and web kinds register here too). A scenario
// names its kind; scenarios::Make() looks the factory up here.
//
// Thread-safety: kinds are registered at start-up (the built-ins on first use); lookups may run
// concurrently after that.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/env.h"

namespace toolgym::envs {

struct EnvKind {
  std::string name;
  std::string summary;
  std::function<std::unique_ptr<Env>(std::shared_ptr<const TaskSource>, EnvOptions)> make;
  // Every tool the kind offers; for requires_answer false/true submit differs only in schema.
  std::function<std::vector<ToolSpec>(bool requires_answer)> tools;
  // Optional: checks a task's kind-specific parts (Task::options: a site, a corpus) when a
  // scenario is loaded, so that a bad site file is reported with its file and JSON path before
  // any episode runs. Empty means nothing to check.
  std::function<std::vector<TaskError>(const Task& task)> validate;
};

Status RegisterEnvKind(EnvKind kind);
const EnvKind* FindEnvKind(const std::string& name);
std::vector<std::string> EnvKindNames();

// An env of the source's kind.
StatusOr<std::unique_ptr<Env>> MakeEnv(std::shared_ptr<const TaskSource> source,
                                       const EnvOptions& options = {});

}  // namespace toolgym::envs
