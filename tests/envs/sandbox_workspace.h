// Test utility: a WorkspaceView over a real sandbox, simple rather than fast. Stat and ReadFile
// take a fresh Sandbox::SnapshotWorkspace() (which never follows links) and look the path up in
// it; Run is Sandbox::Run. The envs' own implementation is envs/workspace_view.h; this one lets
// tests of verifiers and python_tests run without an env.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/status.h"
#include "envs/task.h"
#include "sandbox/sandbox.h"

namespace toolgym::envs::testing {

class SnapshotWorkspace : public WorkspaceView {
 public:
  // A sandbox whose workspace starts as `tree`, with short default limits.
  static StatusOr<std::unique_ptr<SnapshotWorkspace>> Create(sandbox::FileTree tree = {}) {
    sandbox::SandboxConfig config;
    config.limits.wall_time_s = 10;
    config.limits.cpu_time_s = 10;
    config.workspace_template = std::move(tree);
    TG_ASSIGN_OR_RETURN(auto sb, sandbox::Sandbox::Create(std::move(config)));
    return std::unique_ptr<SnapshotWorkspace>(new SnapshotWorkspace(std::move(sb)));
  }

  StatusOr<std::optional<FileStat>> Stat(const std::string& path) override {
    TG_RETURN_IF_ERROR(sandbox::ValidateRelativePath(path));
    TG_ASSIGN_OR_RETURN(sandbox::FileTree tree, sandbox_->SnapshotWorkspace());
    const auto& entries = tree.entries();
    auto it = entries.find(path);
    if (it != entries.end()) {
      return std::optional<FileStat>(FileStat{
          .type = it->second.type, .mode = it->second.mode, .size = it->second.data.size()});
    }
    // A directory that only appears as the parent of listed entries.
    auto child = entries.lower_bound(path + "/");
    if (child != entries.end() && child->first.starts_with(path + "/")) {
      return std::optional<FileStat>(
          FileStat{.type = sandbox::FileEntry::Type::kDirectory, .mode = 0755, .size = 0});
    }
    return std::optional<FileStat>();
  }

  StatusOr<std::string> ReadFile(const std::string& path,
                                 std::uint64_t max_bytes = 16u << 20) override {
    TG_RETURN_IF_ERROR(sandbox::ValidateRelativePath(path));
    TG_ASSIGN_OR_RETURN(sandbox::FileTree tree, sandbox_->SnapshotWorkspace());
    auto it = tree.entries().find(path);
    if (it == tree.entries().end()) return NotFoundError("{}: no such file", path);
    if (it->second.type != sandbox::FileEntry::Type::kFile) {
      return InvalidArgumentError("{}: not a regular file", path);
    }
    if (it->second.data.size() > max_bytes) {
      return ResourceExhaustedError("{}: more than {} bytes", path, max_bytes);
    }
    return it->second.data;
  }

  sandbox::RunResult Run(const sandbox::RunOptions& options) override {
    ++runs_;
    return sandbox_->Run(options);
  }

  // Runs a shell script in the workspace (test setup: links, modes, files).
  sandbox::RunResult Sh(const std::string& script) {
    return sandbox_->Run({.argv = {"/bin/sh", "-c", script}});
  }

  sandbox::Sandbox& sandbox() { return *sandbox_; }
  int runs() const { return runs_; }  // calls of Run() so far

 private:
  explicit SnapshotWorkspace(std::unique_ptr<sandbox::Sandbox> sb) : sandbox_(std::move(sb)) {}
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  int runs_ = 0;
};

}  // namespace toolgym::envs::testing
