#include "envs/code_env.h"

#include <fmt/format.h>

#include "envs/python_tests.h"
#include "envs/render.h"
#include "envs/shell_env.h"

namespace toolgym::envs {

using nlohmann::json;

// Reads go to the interpreter's sandbox (the live workspace); runs go to a second sandbox whose
// workspace is reset to a snapshot of the live one whenever it changed since the last run.
class CodeEnv::TestWorkspace : public WorkspaceView {
 public:
  TestWorkspace(sandbox::Session* session, const sandbox::SandboxConfig& config)
      : session_(session), config_(config), live_(&session->sandbox(), nullptr) {}

  void Invalidate() { fresh_ = false; }

  StatusOr<std::optional<FileStat>> Stat(const std::string& path) override {
    return live_.Stat(path);
  }
  StatusOr<std::string> ReadFile(const std::string& path, std::uint64_t max_bytes) override {
    return live_.ReadFile(path, max_bytes);
  }
  sandbox::RunResult Run(const sandbox::RunOptions& options) override {
    sandbox::RunResult fail;
    if (!runner_) {
      auto sb = sandbox::Sandbox::Create(config_);
      if (!sb.ok()) {
        fail.error = "cannot create the test sandbox: " + sb.status().message();
        return fail;
      }
      runner_ = std::move(sb).value();
    }
    if (!fresh_) {
      auto snap = session_->sandbox().SnapshotWorkspace();
      if (!snap.ok()) {
        fail.error = "cannot copy the workspace: " + snap.status().message();
        return fail;
      }
      snapshot_ = std::move(snap).value();
      fresh_ = true;
    }
    // Every run starts from the snapshot: a test cannot leave anything for the next one.
    if (Status st = runner_->ResetWorkspace(snapshot_); !st.ok()) {
      fail.error = "cannot prepare the test workspace: " + st.message();
      return fail;
    }
    return runner_->Run(options);
  }

 private:
  sandbox::Session* session_;
  sandbox::SandboxConfig config_;
  SandboxWorkspace live_;
  std::unique_ptr<sandbox::Sandbox> runner_;
  bool fresh_ = false;
  sandbox::FileTree snapshot_;
};

CodeEnv::CodeEnv(std::shared_ptr<const TaskSource> source, EnvOptions options)
    : ToolEnv(std::move(source), std::move(options)) {}

CodeEnv::~CodeEnv() = default;

std::vector<ToolSpec> CodeEnv::AllTools() {
  std::vector<ToolSpec> tools;
  tools.push_back(
      {"python",
       "Run Python code in the persistent interpreter of this episode (like a notebook cell): "
       "variables, functions and imports persist between calls; the value of a final "
       "expression is shown. The working directory is the workspace.",
       {{"type", "object"},
        {"properties", {{"code", {{"type", "string"}, {"description", "Python code to run"}}}}},
        {"required", {"code"}},
        {"additionalProperties", false}}});
  tools.push_back(
      {"run_tests",
       "Run the public tests against the files in the workspace and report each "
       "failure.",
       {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}}});
  tools.push_back(
      {"submit",
       "Submit the workspace as your solution. Hidden tests decide the result. This "
       "ends the episode.",
       {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}}});
  auto shell = ShellEnv::AllTools(false);
  for (auto& t : shell)
    if (t.name == "read_file" || t.name == "write_file") tools.push_back(t);
  return tools;
}

std::vector<ToolSpec> CodeEnv::KindTools(const Task&) const { return AllTools(); }

std::string CodeEnv::KindRules(const Task& task) const {
  const ToolLimits& l = task.limits_for("python");
  return fmt::format(
      "You are an agent writing Python 3.11 code in a sandbox. The working directory is "
      "/workspace. Each python call may run for {:g} s; output beyond {} bytes is cut. There is "
      "no network access and no third-party package.",
      l.timeout_s, l.max_output_bytes);
}

Status CodeEnv::BeginEpisode(const Task& task) {
  if (!session_) {
    TG_ASSIGN_OR_RETURN(session_,
                        sandbox::Session::Create(EpisodeSandboxConfig(task),
                                                 {.interpreter = sandbox::Interpreter::kPython}));
    tests_ = std::make_unique<TestWorkspace>(session_.get(), EpisodeSandboxConfig(task));
  }
  tests_->Invalidate();
  return session_->Reset(task.workspace);
}

WorkspaceView* CodeEnv::workspace() { return tests_.get(); }

namespace {

// The last line of a traceback says what went wrong.
std::string LastLine(std::string err) {
  while (!err.empty() && err.back() == '\n') err.pop_back();
  auto nl = err.rfind('\n');
  return SanitizeUtf8(nl == std::string::npos ? err : err.substr(nl + 1));
}

// A cell that runs `code` for a tool (read_file, write_file) in a namespace of its own, with the
// real builtins: nothing the agent defined or rebound (open, os, sys) changes what the tool does,
// and the tool leaves no name behind in the agent's namespace, even when it fails.
std::string ToolCell(const std::string& code) {
  return "import builtins as __tg_b\ntry:\n    __tg_b.exec(" + PythonStringLiteral(code) +
         ", {'__builtins__': __tg_b, '__name__': '__toolgym_tool__'})\nfinally:\n    del __tg_b\n";
}

}  // namespace

ToolEnv::ToolOutcome CodeEnv::RunCell(const std::string& code, const ToolLimits& limits,
                                      sandbox::RunResult* result) {
  tests_->Invalidate();
  sandbox::RunResult r = session_->Exec(code, limits.timeout_s);
  ToolOutcome o;
  o.verdict = sandbox::VerdictName(r.verdict);
  o.exit_code = r.exit_code;
  o.error = r.verdict != sandbox::Verdict::kOk;
  o.wall_time_s = r.wall_time_s;
  o.output = RenderCommandResult(r, limits.max_output_bytes, limits.timeout_s, "interpreter");
  if (result != nullptr) *result = std::move(r);
  return o;
}

ToolEnv::ToolOutcome CodeEnv::Execute(const ToolCall& call) {
  const Task& t = current_task();
  const ToolLimits& limits = t.limits_for(call.name);
  if (call.name == "python")
    return RunCell(call.arguments.at("code").get<std::string>(), limits, nullptr);
  if (call.name == "run_tests") {
    ToolOutcome o;
    if (t.public_tests.empty()) {
      o.output = "This task has no public tests.";
      return o;
    }
    TestReport report = RunPythonTests(*tests_, t.public_tests);
    o.error = report.passed != report.total;
    o.output = fmt::format("{} of {} public tests passed.\n", report.passed, report.total) +
               report.Render(/*show_expected=*/true);
    bool cut = false;
    o.output = Truncate(SanitizeUtf8(o.output), limits.max_output_bytes, &cut);
    if (cut) o.output += "\n[report truncated]";
    o.verdict = o.error ? "tests_failed" : "tests_passed";
    return o;
  }
  if (call.name == "read_file") {
    const std::string path = call.arguments.at("path").get<std::string>();
    sandbox::RunResult r;
    ToolOutcome o = RunCell(ToolCell("import sys\nwith open(" + PythonStringLiteral(path) +
                                     ", 'rb') as f:\n    sys.stdout.buffer.write(f.read())\n"),
                            limits, &r);
    if (o.error) {
      o.output = "read_file failed: " + LastLine(r.stderr_data);
      return o;
    }
    o.output = RenderFileContent(r, limits.max_output_bytes);
    return o;
  }
  if (call.name == "write_file") {
    const std::string path = call.arguments.at("path").get<std::string>();
    const std::string content = call.arguments.at("content").get<std::string>();
    const std::string cell =
        ToolCell("import os\np = " + PythonStringLiteral(path) +
                 "\nif os.path.dirname(p):\n    os.makedirs(os.path.dirname(p), exist_ok=True)\n"
                 "with open(p, 'w', encoding='utf-8', newline='') as f:\n    f.write(" +
                 PythonStringLiteral(content) + ")\n");
    sandbox::RunResult r;
    ToolOutcome o = RunCell(cell, limits, &r);
    if (o.error) {
      o.output = "write_file failed: " + LastLine(r.stderr_data);
      return o;
    }
    o.output = fmt::format("Wrote {} bytes to {}", content.size(), SanitizeUtf8(path));
    return o;
  }
  ToolOutcome o;
  o.error = true;
  o.output = "tool '" + call.name + "' is not available in the code env";
  return o;
}

StatusOr<std::unique_ptr<ToolEnv>> CodeEnv::ForkKind() {
  auto copy = std::make_unique<CodeEnv>(source(), options());
  TG_RETURN_IF_ERROR(copy->BeginEpisode(current_task()));
  copy->AdoptTaskForReplay(current_task());
  for (const ToolRecord& rec : history()) {
    const std::string& n = rec.call.name;
    if (n == "python" || n == "write_file") copy->Execute(rec.call);
  }
  return std::unique_ptr<ToolEnv>(std::move(copy));
}

}  // namespace toolgym::envs
