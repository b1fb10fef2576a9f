// Workspace verifiers against a real sandbox (files, links, modes, hashes), check commands and
// hidden tests, including the agent's ways of faking a state: symlinks to the right file, a
// directory where a file should be, commands run before the episode is over.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "scenarios/verifiers.h"
#include "tests/envs/sandbox_workspace.h"

namespace toolgym::scenarios {
namespace {

using envs::ToolRecord;
using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using envs::testing::SnapshotWorkspace;
using nlohmann::json;

std::shared_ptr<const Verifier> MustBuild(const char* spec) {
  auto v = VerifierRegistry::Default().Build(json::parse(spec));
  EXPECT_TRUE(v.ok()) << spec << ": " << v.status().ToString();
  return v.ok() ? *v : nullptr;
}

std::string BuildError(const char* spec) {
  auto v = VerifierRegistry::Default().Build(json::parse(spec));
  return v.ok() ? "OK" : v.status().message();
}

class FileVerifiersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox::FileTree tree;
    ASSERT_TRUE(tree.AddFile("out/result.txt", "hello world\n").ok());
    ASSERT_TRUE(tree.AddFile("data/real.txt", "the answer is 42\n").ok());
    ASSERT_TRUE(tree.AddFile("run.sh", "#!/bin/sh\necho hi\n", 0755).ok());
    ASSERT_TRUE(tree.AddFile("secret.key", "k", 0600).ok());
    ASSERT_TRUE(tree.AddDirectory("empty").ok());
    ASSERT_TRUE(tree.AddSymlink("link.txt", "data/real.txt").ok());
    ASSERT_TRUE(tree.AddSymlink("dangling", "nowhere").ok());
    ASSERT_TRUE(tree.AddFile("abc.bin", "abc").ok());
    auto ws = SnapshotWorkspace::Create(std::move(tree));
    ASSERT_TRUE(ws.ok()) << ws.status().ToString();
    ws_ = std::move(ws).value();
  }

  VerifyResult Check(const char* spec, bool final = false, bool with_workspace = true) {
    auto v = MustBuild(spec);
    if (!v) return VerifyResult{.detail = "build failed"};
    VerifyContext ctx{params_, answer_, history_, with_workspace ? ws_.get() : nullptr, final};
    return v->Verify(ctx);
  }
  bool Passes(const char* spec) {
    VerifyResult r = Check(spec);
    EXPECT_EQ(r.score, r.passed ? 1.0 : 0.0) << spec;
    return r.passed;
  }

  json params_ = json::object();
  std::optional<std::string> answer_;
  std::vector<ToolRecord> history_;
  std::unique_ptr<SnapshotWorkspace> ws_;
};

TEST_F(FileVerifiersTest, FileExists) {
  EXPECT_TRUE(Passes(R"J({"type": "file_exists", "path": "out/result.txt"})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_exists", "path": "out/missing.txt"})J"));
  // A directory is not a file unless asked for.
  EXPECT_FALSE(Passes(R"J({"type": "file_exists", "path": "empty"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_exists", "path": "empty", "kind": "directory"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_exists", "path": "out", "kind": "directory"})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_exists", "path": "run.sh", "kind": "directory"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_exists", "path": "empty", "kind": "any"})J"));
  // A planted symlink, even to the right file, is not the file.
  VerifyResult r = Check(R"J({"type": "file_exists", "path": "link.txt"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "\"link.txt\" is a symlink, which does not count");
  EXPECT_FALSE(Passes(R"J({"type": "file_exists", "path": "link.txt", "kind": "any"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_exists", "path": "link.txt", "allow_symlink": true})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_exists", "path": "dangling", "allow_symlink": true})J"));
  r = Check(R"J({"type": "file_exists", "path": "out/result.txt"})J", false, false);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "no workspace to check \"out/result.txt\" in");
}

TEST_F(FileVerifiersTest, FileAbsent) {
  EXPECT_TRUE(Passes(R"J({"type": "file_absent", "path": "out/missing.txt"})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_absent", "path": "out/result.txt"})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_absent", "path": "dangling"})J"));  // a link is something
  EXPECT_FALSE(Passes(R"J({"type": "file_absent", "path": "empty"})J"));
  // The verifier sees the workspace as it is now.
  ASSERT_TRUE(ws_->Sh("rm out/result.txt").ok());
  EXPECT_TRUE(Passes(R"J({"type": "file_absent", "path": "out/result.txt"})J"));
}

TEST_F(FileVerifiersTest, PathsMustStayInTheWorkspace) {
  for (const char* spec : {R"J({"type": "file_exists", "path": "/etc/passwd"})J",
                           R"J({"type": "file_absent", "path": "../x"})J",
                           R"J({"type": "file_equals", "path": "a/../b", "content": ""})J",
                           R"J({"type": "file_mode", "path": "./a", "mode": "0644"})J"}) {
    std::string err = BuildError(spec);
    EXPECT_NE(err.find("must be relative to the workspace"), std::string::npos) << spec << err;
  }
  EXPECT_NE(BuildError(R"J({"type": "file_exists", "path": ""})J").find("must not be empty"),
            std::string::npos);
  EXPECT_NE(BuildError(R"J({"type": "file_exists", "path": "x", "kind": "fifo"})J")
                .find("'kind' must be \"file\", \"directory\" or \"any\""),
            std::string::npos);
}

TEST_F(FileVerifiersTest, FileEquals) {
  EXPECT_TRUE(Passes(R"J({"type": "file_equals", "path": "out/result.txt",
                          "content": "hello world\n"})J"));
  VerifyResult r = Check(R"J({"type": "file_equals", "path": "out/result.txt",
                              "content": "hello world"})J");
  EXPECT_FALSE(r.passed);  // exact bytes: the final newline matters
  EXPECT_EQ(r.detail,
            "\"out/result.txt\" differs at byte 11 (file 12 bytes, expected 11): expected \"\", "
            "got \"\\n\"");
  // A file much longer than the content is not read past one byte more than the content.
  r = Check(R"J({"type": "file_equals", "path": "out/result.txt", "content": "hello"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "\"out/result.txt\" is longer than the expected 5 bytes");
  EXPECT_TRUE(Passes(R"J({"type": "file_equals", "path": "out/result.txt",
                          "content": "hello world", "normalize": ["trailing_newline"]})J"));
  r = Check(R"J({"type": "file_equals", "path": "out/result.txt", "content": "hello wordl\n"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail,
            "\"out/result.txt\" differs at byte 9 (file 12 bytes, expected 12): expected "
            "\"dl\\n\", got \"ld\\n\"");
  EXPECT_FALSE(Passes(R"J({"type": "file_equals", "path": "out/result.txt",
                           "content": "hello world\n\n"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_equals", "path": "out/result.txt",
                          "content": "  HELLO   world ", "normalize": ["case", "whitespace", "trim"]})J"));
  // The link points at a file with the right content; it is still not the file.
  r = Check(R"J({"type": "file_equals", "path": "link.txt", "content": "the answer is 42\n"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "\"link.txt\" is a symlink, not a regular file");
  EXPECT_FALSE(Passes(R"J({"type": "file_equals", "path": "empty", "content": ""})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_equals", "path": "nope", "content": ""})J"));
}

TEST_F(FileVerifiersTest, FileContains) {
  EXPECT_TRUE(
      Passes(R"J({"type": "file_contains", "path": "data/real.txt", "text": "answer is 42"})J"));
  EXPECT_FALSE(
      Passes(R"J({"type": "file_contains", "path": "data/real.txt", "text": "Answer is 42"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_contains", "path": "data/real.txt", "text": "Answer is 42",
                          "normalize": ["case"]})J"));
  EXPECT_FALSE(
      Passes(R"J({"type": "file_contains", "path": "data/real.txt", "text": "answer is 43"})J"));
  // A symlink pointing to the right file fails.
  VerifyResult r =
      Check(R"J({"type": "file_contains", "path": "link.txt", "text": "answer is 42"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "\"link.txt\" is a symlink, not a regular file");
  // A link swapped in at the checked path after the fact also fails.
  ASSERT_TRUE(ws_->Sh("rm out/result.txt && ln -s ../data/real.txt out/result.txt").ok());
  EXPECT_FALSE(Passes(R"J({"type": "file_contains", "path": "out/result.txt", "text": "42"})J"));
  EXPECT_NE(
      BuildError(R"J({"type": "file_contains", "path": "a", "text": " ", "normalize": "trim"})J")
          .find("empty after normalization"),
      std::string::npos);
}

TEST_F(FileVerifiersTest, FileMode) {
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "run.sh", "mode": "0755"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "run.sh", "mode": "755"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "run.sh", "mode": "0o755"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "run.sh", "mode": 493})J"));      // 0755
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "secret.key", "mode": 384})J"));  // 0600
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "secret.key", "mode": "0600"})J"));
  VerifyResult r = Check(R"J({"type": "file_mode", "path": "secret.key", "mode": "0644"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "\"secret.key\" has mode 0600, expected 0644");
  ASSERT_TRUE(ws_->Sh("chmod 644 secret.key").ok());
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "secret.key", "mode": "0644"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_mode", "path": "empty", "mode": "0755"})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_mode", "path": "link.txt", "mode": "0777"})J"));
  EXPECT_FALSE(Passes(R"J({"type": "file_mode", "path": "nope", "mode": "0644"})J"));
  EXPECT_NE(BuildError(R"J({"type": "file_mode", "path": "a", "mode": 644})J")
                .find("write octal modes as strings"),
            std::string::npos);
  for (const char* bad :
       {R"J("0999")J", R"J("rwxr-xr-x")J", R"J("")J", R"J("017777")J", "-1", "6.5", "null"}) {
    std::string spec = std::string(R"J({"type": "file_mode", "path": "a", "mode": )J") + bad + "}";
    EXPECT_NE(BuildError(spec.c_str()).find("'mode'"), std::string::npos) << bad;
  }
}

TEST_F(FileVerifiersTest, FileSha256) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_TRUE(Passes(R"J({"type": "file_sha256", "path": "abc.bin",
      "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})J"));
  EXPECT_TRUE(Passes(R"J({"type": "file_sha256", "path": "abc.bin",
      "sha256": "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"})J"));
  ASSERT_TRUE(ws_->Sh("printf abd > abc.bin").ok());
  VerifyResult r = Check(R"J({"type": "file_sha256", "path": "abc.bin",
      "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})J");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("expected ba7816bf"), std::string::npos) << r.detail;
  // SHA-256 of the empty string.
  ASSERT_TRUE(ws_->Sh(": > abc.bin").ok());
  EXPECT_TRUE(Passes(R"J({"type": "file_sha256", "path": "abc.bin",
      "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})J"));
  EXPECT_NE(BuildError(R"J({"type": "file_sha256", "path": "a", "sha256": "abc"})J")
                .find("'sha256' must be 64 hexadecimal digits, got \"abc\" (3 characters)"),
            std::string::npos);
  EXPECT_NE(BuildError(R"J({"type": "file_sha256", "path": "a",
      "sha256": "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})J")
                .find("64 hexadecimal digits"),
            std::string::npos);
}

TEST_F(FileVerifiersTest, CommandRunsOnlyAtTheEnd) {
  const char* spec = R"J({"type": "command", "command": "grep -q 42 data/real.txt"})J";
  auto v = MustBuild(spec);
  EXPECT_TRUE(v->RunsCommands());
  VerifyResult r = Check(spec, /*final=*/false);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "not evaluated before the episode ends");
  EXPECT_EQ(ws_->runs(), 0);
  r = Check(spec, /*final=*/true);
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_EQ(r.score, 1.0);
  EXPECT_EQ(r.verdicts, std::vector<std::string>{"ok"});
  EXPECT_EQ(ws_->runs(), 1);

  r = Check(R"J({"type": "command", "command": "echo oops >&2; exit 3"})J", true);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.verdicts, std::vector<std::string>{"nonzero_exit"});
  EXPECT_NE(r.detail.find("stderr: \"oops\""), std::string::npos) << r.detail;

  // Runs with bash (a bashism) in the workspace.
  EXPECT_TRUE(
      Check(R"J({"type": "command", "command": "[[ -x run.sh ]] && test -f out/result.txt"})J",
            true)
          .passed);
  r = Check(R"J({"type": "command", "command": "sleep 30", "timeout_s": 0.5})J", true);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.verdicts, std::vector<std::string>{"wall_time_limit"});

  EXPECT_TRUE(
      Check(R"J({"type": "command", "command": "./run.sh", "expect_stdout": "hi"})J", true).passed);
  r = Check(R"J({"type": "command", "command": "./run.sh", "expect_stdout": "hello"})J", true);
  EXPECT_FALSE(r.passed);  // exit 0 is not enough when stdout is checked
  EXPECT_NE(r.detail.find("printed \"hi\", expected \"hello\""), std::string::npos) << r.detail;

  r = Check(spec, true, /*with_workspace=*/false);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(
      BuildError(R"J({"type": "command", "command": "true", "timeout_s": 0})J").find("'timeout_s'"),
      std::string::npos);
  EXPECT_NE(BuildError(R"J({"type": "command", "command": "true", "timeout_s": 1000})J")
                .find("'timeout_s'"),
            std::string::npos);
}

TEST_F(FileVerifiersTest, HiddenTests) {
  ASSERT_TRUE(
      ws_->Sh("printf 'def add(a, b):\\n    return a + b if a < 100 else 0\\n' > solution.py")
          .ok());
  const char* all_pass = R"J({"type": "hidden_tests", "tests": [
      {"name": "small", "call": "add(1, 2)", "expect": 3},
      {"name": "neg", "call": "add(-1, 1)", "expect": 0}]})J";
  auto v = MustBuild(all_pass);
  EXPECT_TRUE(v->RunsCommands());
  VerifyResult r = Check(all_pass, /*final=*/false);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.detail, "not evaluated before the episode ends");
  r = Check(all_pass, /*final=*/true);
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_EQ(r.score, 1.0);
  EXPECT_EQ(r.verdicts, (std::vector<std::string>{"ok", "ok"}));

  r = Check(R"J({"type": "hidden_tests", "tests": [
      {"name": "small", "call": "add(1, 2)", "expect": 3},
      {"name": "big", "call": "add(100, 1)", "expect": 101}]})J",
            true);
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.score, 0.5);
  EXPECT_EQ(r.detail, "1/2 hidden tests passed; FAIL big: expected 101, got 0");

  EXPECT_EQ(BuildError(R"J({"type": "hidden_tests", "tests": [{"call": "add(1, 2)"}]})J"),
            "verifier 'hidden_tests': tests[0].expect is missing (a call test compares the "
            "call's result with it)");
  EXPECT_NE(BuildError(R"J({"type": "hidden_tests", "tests": []})J").find("non-empty array"),
            std::string::npos);
}

}  // namespace
}  // namespace toolgym::scenarios
