#include "envs/shell_env.h"

#include <fmt/format.h>

#include "envs/render.h"

namespace toolgym::envs {

using nlohmann::json;

sandbox::SandboxConfig EpisodeSandboxConfig(const Task& task) {
  sandbox::SandboxConfig c;
  c.network = sandbox::NetworkMode::kNone;
  double longest = 10;
  for (const auto& [name, l] : task.tool_limits) longest = std::max(longest, l.timeout_s);
  c.limits.wall_time_s = longest;
  c.limits.cpu_time_s = longest;
  return c;
}

ShellEnv::ShellEnv(std::shared_ptr<const TaskSource> source, EnvOptions options)
    : ToolEnv(std::move(source), std::move(options)) {}

ShellEnv::~ShellEnv() = default;

std::vector<ToolSpec> ShellEnv::AllTools(bool requires_answer) {
  std::vector<ToolSpec> tools;
  tools.push_back(
      {"bash",
       "Run a bash command in the persistent shell of this episode. The working "
       "directory and exported variables persist between calls. Returns stdout, "
       "stderr and a nonzero exit code.",
       {{"type", "object"},
        {"properties",
         {{"command", {{"type", "string"}, {"description", "The bash command to run"}}}}},
        {"required", {"command"}},
        {"additionalProperties", false}}});
  tools.push_back(SubmitTool(requires_answer));
  tools.push_back(
      {"read_file",
       "Read a text file.",
       {{"type", "object"},
        {"properties", {{"path", {{"type", "string"}, {"description", "Path of the file"}}}}},
        {"required", {"path"}},
        {"additionalProperties", false}}});
  tools.push_back({"write_file",
                   "Write a text file (created or replaced; parent directories are created).",
                   {{"type", "object"},
                    {"properties",
                     {{"path", {{"type", "string"}, {"description", "Path of the file"}}},
                      {"content", {{"type", "string"}, {"description", "The whole new content"}}}}},
                    {"required", {"path", "content"}},
                    {"additionalProperties", false}}});
  return tools;
}

std::vector<ToolSpec> ShellEnv::KindTools(const Task& task) const {
  return AllTools(task.requires_answer);
}

std::string ShellEnv::KindRules(const Task& task) const {
  const ToolLimits& l = task.limits_for("bash");
  return fmt::format(
      "You are an agent operating a Linux shell (bash) in a sandbox. The working directory is "
      "/workspace. Each command may run for {:g} s; output beyond {} bytes is cut. There is no "
      "network access and no root.",
      l.timeout_s, l.max_output_bytes);
}

void ShellEnv::BindView() {
  sandbox::Session* s = session_.get();
  auto run = [s](const sandbox::RunOptions& o) { return s->RunFresh(o); };
  if (view_) {
    view_->Rebind(&s->sandbox(), run);
  } else {
    view_ = std::make_unique<SandboxWorkspace>(&s->sandbox(), run);
  }
}

Status ShellEnv::BeginEpisode(const Task& task) {
  if (!session_ || template_dirty_) {
    session_.reset();
    TG_ASSIGN_OR_RETURN(session_, sandbox::Session::Create(EpisodeSandboxConfig(task)));
    template_dirty_ = false;
    BindView();
  }
  return session_->Reset(task.workspace);
}

ToolEnv::ToolOutcome ShellEnv::RunInShell(const std::string& command, const ToolLimits& limits) {
  sandbox::RunResult r = session_->Exec(command, limits.timeout_s);
  ToolOutcome o;
  o.verdict = sandbox::VerdictName(r.verdict);
  o.exit_code = r.exit_code;
  o.error = r.verdict != sandbox::Verdict::kOk;
  o.wall_time_s = r.wall_time_s;
  o.output = RenderCommandResult(r, limits.max_output_bytes, limits.timeout_s, "shell");
  return o;
}

ToolEnv::ToolOutcome ShellEnv::Execute(const ToolCall& call) {
  const Task& t = current_task();
  const ToolLimits& limits = t.limits_for(call.name);
  if (call.name == "bash")
    return RunInShell(call.arguments.at("command").get<std::string>(), limits);
  if (call.name == "read_file") {
    const std::string path = call.arguments.at("path").get<std::string>();
    sandbox::RunResult r = session_->Exec("cat -- " + ShellQuote(path), limits.timeout_s);
    ToolOutcome o;
    o.verdict = sandbox::VerdictName(r.verdict);
    o.exit_code = r.exit_code;
    o.wall_time_s = r.wall_time_s;
    if (r.verdict != sandbox::Verdict::kOk) {
      o.error = true;
      std::string err = r.stderr_data;
      if (err.starts_with("cat: ")) err.erase(0, 5);
      while (!err.empty() && err.back() == '\n') err.pop_back();
      o.output = "read_file failed: " + SanitizeUtf8(err.empty() ? o.verdict : err);
      return o;
    }
    o.output = RenderFileContent(r, limits.max_output_bytes);
    return o;
  }
  if (call.name == "write_file") {
    const std::string path = call.arguments.at("path").get<std::string>();
    const std::string content = call.arguments.at("content").get<std::string>();
    const std::string q = ShellQuote(path);
    const std::string cmd = "__tg_content=" + ShellQuote(content) + "; { __tg_d=$(dirname -- " + q +
                            ") && mkdir -p -- \"$__tg_d\" && printf '%s' "
                            "\"$__tg_content\" > " +
                            q +
                            "; }; __tg_rc=$?; unset __tg_content __tg_d; "
                            "(exit $__tg_rc)";
    sandbox::RunResult r = session_->Exec(cmd, limits.timeout_s);
    ToolOutcome o;
    o.verdict = sandbox::VerdictName(r.verdict);
    o.exit_code = r.exit_code;
    o.wall_time_s = r.wall_time_s;
    if (r.verdict != sandbox::Verdict::kOk) {
      o.error = true;
      std::string err = r.stderr_data;
      while (!err.empty() && err.back() == '\n') err.pop_back();
      o.output = "write_file failed: " + SanitizeUtf8(err.empty() ? o.verdict : err);
      return o;
    }
    o.output = fmt::format("Wrote {} bytes to {}", content.size(), SanitizeUtf8(path));
    return o;
  }
  ToolOutcome o;
  o.error = true;
  o.output = "tool '" + call.name + "' is not available in the shell env";
  return o;
}

StatusOr<std::unique_ptr<ToolEnv>> ShellEnv::ForkKind() {
  auto copy = std::make_unique<ShellEnv>(source(), options());
  TG_ASSIGN_OR_RETURN(copy->session_, session_->Fork());
  copy->template_dirty_ = true;
  copy->BindView();
  return std::unique_ptr<ToolEnv>(std::move(copy));
}

}  // namespace toolgym::envs
