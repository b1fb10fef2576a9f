// The code-execution environment: write or fix code so that hidden tests pass.
//
// Tools: python(code) runs a cell in a persistent sandboxed interpreter (Debian's python3 -I;
// state carries over between calls like a notebook), run_tests() runs the task's public tests
// (each in its own fresh sandboxed process) and reports each failure, submit() ends the episode
// and the hidden tests decide the reward; read_file(path) and write_file(path, content) for
// writing code without quoting it into Python.
//
// Tests and verifiers never run in the interpreter's sandbox: a second sandbox of the env gets a
// copy of the workspace (snapshot) and runs each test there, so the agent's interpreter state
// survives run_tests() and nothing the agent left running can touch a test.
//
// fork() replays the episode's python/write_file calls into a new interpreter from the task's
// initial workspace (an interpreter's memory cannot be copied between sandboxes); code whose
// effects are not determined by its inputs (time, unseeded randomness) may diverge.
#pragma once

#include <memory>

#include "envs/env.h"
#include "envs/workspace_view.h"
#include "sandbox/session.h"

namespace toolgym::envs {

class CodeEnv : public ToolEnv {
 public:
  CodeEnv(std::shared_ptr<const TaskSource> source, EnvOptions options);
  ~CodeEnv() override;

  static std::vector<ToolSpec> AllTools();

 protected:
  std::vector<ToolSpec> KindTools(const Task& task) const override;
  Status BeginEpisode(const Task& task) override;
  ToolOutcome Execute(const ToolCall& call) override;
  WorkspaceView* workspace() override;
  StatusOr<std::unique_ptr<ToolEnv>> ForkKind() override;
  std::string KindRules(const Task& task) const override;

 private:
  class TestWorkspace;
  // Runs a cell; the raw result goes to *result when given.
  ToolOutcome RunCell(const std::string& code, const ToolLimits& limits,
                      sandbox::RunResult* result);

  std::unique_ptr<sandbox::Session> session_;
  std::unique_ptr<TestWorkspace> tests_;
};

}  // namespace toolgym::envs
