// A TaskSource built in C++ for env tests (no scenario files): tasks whose verifier and subgoals
// are small lambdas, so the env machinery is tested on its own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "envs/task.h"

namespace toolgym::envs::testing {

class LambdaVerifier : public Verifier {
 public:
  using Fn = std::function<VerifyResult(VerifyContext&)>;
  explicit LambdaVerifier(Fn fn, bool runs_commands = false)
      : fn_(std::move(fn)), runs_commands_(runs_commands) {}
  VerifyResult Verify(VerifyContext& ctx) const override { return fn_(ctx); }
  bool RunsCommands() const override { return runs_commands_; }

 private:
  Fn fn_;
  bool runs_commands_;
};

// Passes when the submitted answer equals `expected`.
inline std::shared_ptr<const Verifier> AnswerIs(std::string expected) {
  return std::make_shared<LambdaVerifier>([expected](VerifyContext& ctx) {
    VerifyResult r;
    r.passed = ctx.answer.has_value() && *ctx.answer == expected;
    r.score = r.passed ? 1 : 0;
    r.detail = r.passed ? "ok" : "expected " + expected;
    return r;
  });
}

// Passes when the workspace file `path` exists with exactly `content`.
inline std::shared_ptr<const Verifier> FileIs(std::string path, std::string content) {
  return std::make_shared<LambdaVerifier>([path, content](VerifyContext& ctx) {
    VerifyResult r;
    auto data = ctx.workspace->ReadFile(path, 1 << 20);
    r.passed = data.ok() && *data == content;
    r.score = r.passed ? 1 : 0;
    return r;
  });
}

class FakeSource : public TaskSource {
 public:
  FakeSource(std::string kind, std::function<Task(std::uint64_t)> make)
      : kind_(std::move(kind)), make_(std::move(make)) {}
  StatusOr<Task> MakeTask(std::uint64_t seed) const override { return make_(seed); }
  const std::string& id() const override { return id_; }
  std::string env_kind() const override { return kind_; }
  SeedRange train_seeds() const override { return {0, 100}; }
  SeedRange test_seeds() const override { return {100, 120}; }

 private:
  std::string id_ = "test.fake";
  std::string kind_;
  std::function<Task(std::uint64_t)> make_;
};

// A shell task: a file numbers.txt holding the seed's multiples; answer = the line count.
inline Task CountingTask(std::uint64_t seed) {
  Task t;
  t.scenario_id = "test.fake";
  t.scenario_version = "1";
  t.seed = seed;
  t.split = seed < 100 ? "train" : "test";
  t.env_kind = "shell";
  t.instruction = "How many lines does numbers.txt have?";
  const int n = 3 + static_cast<int>(seed % 5);
  std::string text;
  for (int i = 1; i <= n; ++i) text += std::to_string(i * (seed + 1)) + "\n";
  (void)t.workspace.AddFile("numbers.txt", text);
  t.params = {{"n", n}};
  t.tools = {"bash", "submit", "read_file", "write_file"};
  t.verifier = AnswerIs(std::to_string(n));
  t.budgets.max_turns = 6;
  return t;
}

}  // namespace toolgym::envs::testing
