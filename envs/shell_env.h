// The shell environment: a persistent bash in a sandbox for the episode.
//
// Tools (a scenario allows a subset): bash(command), submit(answer) or submit() for state
// tasks, read_file(path), write_file(path, content) for agents that cannot quote well. Relative
// paths resolve against the shell's current directory, as in bash.
#pragma once

#include <memory>

#include "envs/env.h"
#include "envs/workspace_view.h"
#include "sandbox/session.h"

namespace toolgym::envs {

class ShellEnv : public ToolEnv {
 public:
  ShellEnv(std::shared_ptr<const TaskSource> source, EnvOptions options);
  ~ShellEnv() override;

  // The tools of the shell env (submit's schema depends on whether the task takes an answer).
  static std::vector<ToolSpec> AllTools(bool requires_answer);

 protected:
  std::vector<ToolSpec> KindTools(const Task& task) const override;
  Status BeginEpisode(const Task& task) override;
  ToolOutcome Execute(const ToolCall& call) override;
  WorkspaceView* workspace() override { return view_.get(); }
  StatusOr<std::unique_ptr<ToolEnv>> ForkKind() override;
  std::string KindRules(const Task& task) const override;

 private:
  ToolOutcome RunInShell(const std::string& command, const ToolLimits& limits);
  void BindView();

  std::unique_ptr<sandbox::Session> session_;
  std::unique_ptr<SandboxWorkspace> view_;
  // A fork's sandbox has the fork-time workspace as its template; its next episode needs a
  // fresh sandbox instead of a reset.
  bool template_dirty_ = false;
};

// The sandbox every shell and code episode runs in (docs/envs.md): no network, the default
// limits, an empty workspace template (a task's files are written at reset).
sandbox::SandboxConfig EpisodeSandboxConfig(const Task& task);

}  // namespace toolgym::envs
