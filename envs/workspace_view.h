// SandboxWorkspace: the WorkspaceView of an env whose workspace lives in a sandbox. Files are
// read from the host side through /proc/<init>/root, resolved with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), so nothing the agent planted (links, FIFOs, huge files) can redirect,
// block or flood the reader.
#pragma once

#include <functional>
#include <string>

#include "envs/task.h"
#include "sandbox/sandbox.h"

namespace toolgym::envs {

class SandboxWorkspace : public WorkspaceView {
 public:
  using RunFn = std::function<sandbox::RunResult(const sandbox::RunOptions&)>;
  // `sandbox` must outlive this view; `run` executes fresh commands (Session::RunFresh for a
  // session's sandbox, Sandbox::Run otherwise).
  SandboxWorkspace(sandbox::Sandbox* sandbox, RunFn run);
  void Rebind(sandbox::Sandbox* sandbox, RunFn run);

  StatusOr<std::optional<FileStat>> Stat(const std::string& path) override;
  StatusOr<std::string> ReadFile(const std::string& path, std::uint64_t max_bytes) override;
  sandbox::RunResult Run(const sandbox::RunOptions& options) override;

 private:
  StatusOr<int> OpenBeneath(const std::string& path, int flags);
  sandbox::Sandbox* sandbox_;
  RunFn run_;
};

}  // namespace toolgym::envs
