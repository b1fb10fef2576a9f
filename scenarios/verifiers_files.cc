// Verifiers that look at the workspace (file_exists, file_absent, file_equals, file_contains,
// file_mode, file_sha256) and those that run commands in the sandbox at the end of an episode
// (command, hidden_tests).
//
// Files are looked up without following symlinks (WorkspaceView's contract): a link the agent
// planted at the checked path, even one pointing at the right contents, is not the file.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/check.h"
#include "envs/python_tests.h"
#include "scenarios/verifiers.h"
#include "scenarios/verifiers_internal.h"

namespace toolgym::scenarios {
namespace {

using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using envs::WorkspaceView;
using internal::Describe;
using internal::Quote;
using internal::Trim;
using nlohmann::json;
using sandbox::FileEntry;

constexpr std::uint64_t kMaxSha256Bytes = 64ull << 20;
constexpr double kMaxCommandSeconds = 600;

VerifyResult Result(bool passed, std::string detail) {
  VerifyResult r;
  r.passed = passed;
  r.score = passed ? 1.0 : 0.0;
  r.detail = std::move(detail);
  return r;
}

const char* TypeName(FileEntry::Type t) {
  switch (t) {
    case FileEntry::Type::kFile:
      return "a regular file";
    case FileEntry::Type::kDirectory:
      return "a directory";
    case FileEntry::Type::kSymlink:
      return "a symlink";
  }
  return "?";
}

StatusOr<std::string> GetPath(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, internal::GetString(spec, "path"));
  Status valid = sandbox::ValidateRelativePath(path);
  if (!valid.ok()) {
    return InvalidArgumentError(
        "'path' {} must be relative to the workspace, without '.' or '..' components: {}",
        Quote(path), valid.message());
  }
  return path;
}

StatusOr<std::vector<std::string>> NormalizeField(const json& spec) {
  if (!spec.contains("normalize")) return std::vector<std::string>();
  return ParseNormalizeOptions(spec["normalize"]);
}

// The workspace entry at `path`, or a failed result saying why it cannot be checked.
struct Lookup {
  std::optional<WorkspaceView::FileStat> stat;
  std::optional<VerifyResult> failure;
};

Lookup StatPath(VerifyContext& ctx, const std::string& path) {
  Lookup l;
  if (ctx.workspace == nullptr) {
    l.failure = Result(false, fmt::format("no workspace to check {} in", Quote(path)));
    return l;
  }
  auto st = ctx.workspace->Stat(path);
  if (!st.ok()) {
    l.failure =
        Result(false, fmt::format("cannot stat {}: {}", Quote(path), st.status().message()));
    return l;
  }
  l.stat = *st;
  return l;
}

// Contents of the regular file at `path` (at most max_bytes), or a failed result.
struct Contents {
  std::string data;
  std::optional<VerifyResult> failure;
  bool too_large = false;  // the failure is a file over max_bytes
};

Contents ReadRegularFile(VerifyContext& ctx, const std::string& path, std::uint64_t max_bytes) {
  Contents c;
  Lookup l = StatPath(ctx, path);
  if (l.failure) {
    c.failure = std::move(l.failure);
    return c;
  }
  if (!l.stat) {
    c.failure = Result(false, fmt::format("{} does not exist", Quote(path)));
    return c;
  }
  if (l.stat->type != FileEntry::Type::kFile) {
    c.failure = Result(
        false, fmt::format("{} is {}, not a regular file", Quote(path), TypeName(l.stat->type)));
    return c;
  }
  auto data = ctx.workspace->ReadFile(path, max_bytes);
  if (!data.ok()) {
    if (data.status().code() == StatusCode::kResourceExhausted) {
      c.too_large = true;
      c.failure = Result(false, fmt::format("{} is larger than {} bytes", Quote(path), max_bytes));
    } else {
      c.failure =
          Result(false, fmt::format("cannot read {}: {}", Quote(path), data.status().message()));
    }
    return c;
  }
  c.data = std::move(data).value();
  return c;
}

// ---------------------------------------------------------------------------------------------
// file_exists, file_absent

enum class Kind { kFile, kDirectory, kAny };

class FileExistsVerifier : public Verifier {
 public:
  FileExistsVerifier(std::string path, Kind kind, bool allow_symlink)
      : path_(std::move(path)), kind_(kind), allow_symlink_(allow_symlink) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    Lookup l = StatPath(ctx, path_);
    if (l.failure) return *l.failure;
    if (!l.stat) return Result(false, fmt::format("{} does not exist", Quote(path_)));
    FileEntry::Type t = l.stat->type;
    if (t == FileEntry::Type::kSymlink) {
      if (allow_symlink_)
        return Result(true, fmt::format("{} is a symlink (allowed)", Quote(path_)));
      return Result(false, fmt::format("{} is a symlink, which does not count", Quote(path_)));
    }
    bool ok = kind_ == Kind::kAny || (kind_ == Kind::kFile && t == FileEntry::Type::kFile) ||
              (kind_ == Kind::kDirectory && t == FileEntry::Type::kDirectory);
    if (ok) return Result(true, fmt::format("{} exists ({})", Quote(path_), TypeName(t)));
    return Result(false, fmt::format("{} is {}, expected {}", Quote(path_), TypeName(t),
                                     kind_ == Kind::kFile ? "a regular file" : "a directory"));
  }

 private:
  std::string path_;
  Kind kind_;
  bool allow_symlink_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildFileExists(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, GetPath(spec));
  TG_ASSIGN_OR_RETURN(bool allow_symlink, internal::GetBool(spec, "allow_symlink", false));
  TG_ASSIGN_OR_RETURN(auto kind_name, internal::GetOptionalString(spec, "kind"));
  Kind kind = Kind::kFile;
  if (kind_name) {
    if (*kind_name == "file") {
      kind = Kind::kFile;
    } else if (*kind_name == "directory") {
      kind = Kind::kDirectory;
    } else if (*kind_name == "any") {
      kind = Kind::kAny;
    } else {
      return InvalidArgumentError("'kind' must be \"file\", \"directory\" or \"any\", got {}",
                                  Quote(*kind_name));
    }
  }
  return std::shared_ptr<const Verifier>(
      std::make_shared<FileExistsVerifier>(std::move(path), kind, allow_symlink));
}

class FileAbsentVerifier : public Verifier {
 public:
  explicit FileAbsentVerifier(std::string path) : path_(std::move(path)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    Lookup l = StatPath(ctx, path_);
    if (l.failure) return *l.failure;
    if (!l.stat) return Result(true, fmt::format("{} is absent", Quote(path_)));
    return Result(false, fmt::format("{} exists ({})", Quote(path_), TypeName(l.stat->type)));
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// file_equals, file_contains

class FileEqualsVerifier : public Verifier {
 public:
  FileEqualsVerifier(std::string path, std::string content, std::vector<std::string> normalize)
      : path_(std::move(path)),
        normalize_(std::move(normalize)),
        content_(NormalizeText(std::move(content), normalize_)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    // Without normalization a file longer than the expected content cannot be equal: read one
    // byte more than it to tell "longer" apart without reading a huge file.
    std::uint64_t max = normalize_.empty() ? content_.size() + 1 : (16u << 20);
    Contents c = ReadRegularFile(ctx, path_, max);
    if (c.failure) {
      if (normalize_.empty() && c.too_large) {
        return Result(false, fmt::format("{} is longer than the expected {} bytes", Quote(path_),
                                         content_.size()));
      }
      return *c.failure;
    }
    std::string got = NormalizeText(std::move(c.data), normalize_);
    if (got == content_) {
      return Result(
          true, fmt::format("{} has the expected content ({} bytes)", Quote(path_), got.size()));
    }
    std::size_t at = 0;
    while (at < got.size() && at < content_.size() && got[at] == content_[at]) ++at;
    return Result(false,
                  fmt::format("{} differs at byte {} (file {} bytes, expected {}): expected {}, "
                              "got {}",
                              Quote(path_), at, got.size(), content_.size(),
                              Quote(std::string_view(content_).substr(at), 40),
                              Quote(std::string_view(got).substr(at), 40)));
  }

 private:
  std::string path_;
  std::vector<std::string> normalize_;
  std::string content_;  // normalized
};

StatusOr<std::shared_ptr<const Verifier>> BuildFileEquals(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, GetPath(spec));
  TG_ASSIGN_OR_RETURN(std::string content, internal::GetString(spec, "content", true));
  TG_ASSIGN_OR_RETURN(auto normalize, NormalizeField(spec));
  return std::shared_ptr<const Verifier>(std::make_shared<FileEqualsVerifier>(
      std::move(path), std::move(content), std::move(normalize)));
}

class FileContainsVerifier : public Verifier {
 public:
  FileContainsVerifier(std::string path, std::string text, std::vector<std::string> normalize)
      : path_(std::move(path)),
        normalize_(std::move(normalize)),
        text_(NormalizeText(std::move(text), normalize_)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    Contents c = ReadRegularFile(ctx, path_, 16u << 20);
    if (c.failure) return *c.failure;
    std::string got = NormalizeText(std::move(c.data), normalize_);
    if (got.find(text_) != std::string::npos) {
      return Result(true, fmt::format("{} contains {}", Quote(path_), Quote(text_)));
    }
    return Result(false, fmt::format("{} ({} bytes) does not contain {}", Quote(path_), got.size(),
                                     Quote(text_)));
  }

 private:
  std::string path_;
  std::vector<std::string> normalize_;
  std::string text_;  // normalized
};

StatusOr<std::shared_ptr<const Verifier>> BuildFileContains(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, GetPath(spec));
  TG_ASSIGN_OR_RETURN(std::string text, internal::GetString(spec, "text"));
  TG_ASSIGN_OR_RETURN(auto normalize, NormalizeField(spec));
  if (NormalizeText(text, normalize).empty()) {
    return InvalidArgumentError("'text' {} is empty after normalization", Quote(text));
  }
  return std::shared_ptr<const Verifier>(std::make_shared<FileContainsVerifier>(
      std::move(path), std::move(text), std::move(normalize)));
}

// ---------------------------------------------------------------------------------------------
// file_mode, file_sha256

StatusOr<std::uint32_t> ParseMode(const json& v) {
  if (v.is_number_integer()) {
    std::int64_t m = v.get<std::int64_t>();
    // Integers stop at 0777 so that the usual mistake, 644 meaning 0644, is an error rather
    // than mode 01204; special bits need the string form.
    if (m < 0 || m > 0777) {
      return InvalidArgumentError(
          "'mode' {} is outside 0..511 (0777); an integer mode is its numeric value (420 is "
          "0644): write octal modes as strings, e.g. \"0644\"",
          Describe(v));
    }
    return static_cast<std::uint32_t>(m);
  }
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    std::string digits = s.starts_with("0o") ? s.substr(2) : s;
    bool ok =
        !digits.empty() && digits.size() <= 5 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; });
    if (ok) {
      std::uint32_t m = std::stoul(digits, nullptr, 8);
      if (m <= 07777) return m;
    }
    return InvalidArgumentError("'mode' must be an octal string such as \"0644\", got {}",
                                Quote(s));
  }
  return InvalidArgumentError(
      "'mode' must be an octal string such as \"0644\" or an integer, got {}", Describe(v));
}

class FileModeVerifier : public Verifier {
 public:
  FileModeVerifier(std::string path, std::uint32_t mode) : path_(std::move(path)), mode_(mode) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    Lookup l = StatPath(ctx, path_);
    if (l.failure) return *l.failure;
    if (!l.stat) return Result(false, fmt::format("{} does not exist", Quote(path_)));
    if (l.stat->type == FileEntry::Type::kSymlink) {
      return Result(false, fmt::format("{} is a symlink; its mode does not count", Quote(path_)));
    }
    std::uint32_t got = l.stat->mode & 07777;
    if (got == mode_) return Result(true, fmt::format("{} has mode {:04o}", Quote(path_), got));
    return Result(false,
                  fmt::format("{} has mode {:04o}, expected {:04o}", Quote(path_), got, mode_));
  }

 private:
  std::string path_;
  std::uint32_t mode_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildFileMode(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, GetPath(spec));
  TG_ASSIGN_OR_RETURN(std::uint32_t mode, ParseMode(spec["mode"]));
  return std::shared_ptr<const Verifier>(std::make_shared<FileModeVerifier>(std::move(path), mode));
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  TG_CHECK(EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) == 1);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

class FileSha256Verifier : public Verifier {
 public:
  FileSha256Verifier(std::string path, std::string sha256)
      : path_(std::move(path)), sha256_(std::move(sha256)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    Contents c = ReadRegularFile(ctx, path_, kMaxSha256Bytes);
    if (c.failure) return *c.failure;
    std::string got = Sha256Hex(c.data);
    if (got == sha256_) return Result(true, fmt::format("{} has SHA-256 {}", Quote(path_), got));
    return Result(false, fmt::format("{} ({} bytes) has SHA-256 {}, expected {}", Quote(path_),
                                     c.data.size(), got, sha256_));
  }

 private:
  std::string path_;
  std::string sha256_;  // lowercase hex
};

StatusOr<std::shared_ptr<const Verifier>> BuildFileSha256(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, GetPath(spec));
  TG_ASSIGN_OR_RETURN(std::string sha, internal::GetString(spec, "sha256"));
  bool ok = sha.size() == 64 && std::all_of(sha.begin(), sha.end(), [](char c) {
              return std::isxdigit(static_cast<unsigned char>(c));
            });
  if (!ok) {
    return InvalidArgumentError("'sha256' must be 64 hexadecimal digits, got {} ({} characters)",
                                Quote(sha), sha.size());
  }
  for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::shared_ptr<const Verifier>(
      std::make_shared<FileSha256Verifier>(std::move(path), std::move(sha)));
}

// ---------------------------------------------------------------------------------------------
// command, hidden_tests

constexpr const char* kNotFinal = "not evaluated before the episode ends";

class CommandVerifier : public Verifier {
 public:
  CommandVerifier(std::string command, double timeout_s, std::optional<std::string> expect_stdout)
      : command_(std::move(command)),
        timeout_s_(timeout_s),
        expect_stdout_(std::move(expect_stdout)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.final) return Result(false, kNotFinal);
    if (ctx.workspace == nullptr) return Result(false, "no workspace to run the command in");
    sandbox::Limits limits;
    limits.wall_time_s = timeout_s_;
    limits.cpu_time_s = timeout_s_;
    sandbox::RunResult r = ctx.workspace->Run(
        sandbox::RunOptions{.argv = {"/bin/bash", "-c", command_}, .limits = limits});
    VerifyResult result;
    result.verdicts.push_back(sandbox::VerdictName(r.verdict));
    if (!r.ok()) {
      std::string err = Trim(r.stderr_data);
      if (err.size() > 200) err = "..." + err.substr(err.size() - 200);
      result.detail = fmt::format("check command {} failed: {}{}", Quote(command_, 60), r.Summary(),
                                  err.empty() ? "" : "; stderr: " + Quote(err, 200));
      return result;
    }
    if (expect_stdout_ && Trim(r.stdout_data) != Trim(*expect_stdout_)) {
      result.detail = fmt::format("check command {} printed {}, expected {}", Quote(command_, 60),
                                  Quote(Trim(r.stdout_data)), Quote(Trim(*expect_stdout_)));
      return result;
    }
    result.passed = true;
    result.score = 1;
    result.detail = fmt::format("check command {} passed", Quote(command_, 60));
    return result;
  }
  bool RunsCommands() const override { return true; }

 private:
  std::string command_;
  double timeout_s_;
  std::optional<std::string> expect_stdout_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildCommand(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string command, internal::GetString(spec, "command"));
  TG_ASSIGN_OR_RETURN(double timeout_s,
                      internal::GetNumber(spec, "timeout_s", 10, 0, kMaxCommandSeconds));
  if (timeout_s <= 0) return InvalidArgumentError("'timeout_s' must be > 0, got 0");
  TG_ASSIGN_OR_RETURN(auto expect_stdout, internal::GetOptionalString(spec, "expect_stdout"));
  return std::shared_ptr<const Verifier>(
      std::make_shared<CommandVerifier>(std::move(command), timeout_s, std::move(expect_stdout)));
}

class HiddenTestsVerifier : public Verifier {
 public:
  explicit HiddenTestsVerifier(json tests) : tests_(std::move(tests)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.final) return Result(false, kNotFinal);
    if (ctx.workspace == nullptr) return Result(false, "no workspace to run the tests in");
    envs::TestReport report = envs::RunPythonTests(*ctx.workspace, tests_);
    VerifyResult r;
    r.score = report.fraction();
    r.passed = report.total > 0 && report.passed == report.total;
    r.detail = fmt::format("{}/{} hidden tests passed", report.passed, report.total);
    for (const auto& o : report.outcomes) {
      r.verdicts.push_back(o.verdict);
      if (!o.passed) r.detail += fmt::format("; FAIL {}: {}", o.name, o.message);
    }
    return r;
  }
  bool RunsCommands() const override { return true; }

 private:
  json tests_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildHiddenTests(const json& spec) {
  const json& tests = spec["tests"];
  if (!tests.is_array() || tests.empty()) {
    return InvalidArgumentError("'tests' must be a non-empty array of tests, got {}",
                                Describe(tests));
  }
  TG_RETURN_IF_ERROR(envs::ValidateTests(tests));
  return std::shared_ptr<const Verifier>(std::make_shared<HiddenTestsVerifier>(tests));
}

}  // namespace

void RegisterStateVerifiers(VerifierRegistry& r) {
  auto add = [&r](VerifierInfo info) { TG_CHECK(r.Register(std::move(info)).ok()); };
  add({"file_exists",
       "a file (or directory) exists at `path`; a symlink only if allowed",
       {"path", "kind", "allow_symlink"},
       {"path"},
       BuildFileExists});
  add({"file_absent",
       "nothing exists at `path`",
       {"path"},
       {"path"},
       [](const json& spec) -> StatusOr<std::shared_ptr<const Verifier>> {
         TG_ASSIGN_OR_RETURN(std::string path, GetPath(spec));
         return std::shared_ptr<const Verifier>(
             std::make_shared<FileAbsentVerifier>(std::move(path)));
       }});
  add({"file_equals",
       "the regular file at `path` holds exactly `content`",
       {"path", "content", "normalize"},
       {"path", "content"},
       BuildFileEquals});
  add({"file_contains",
       "the regular file at `path` contains `text`",
       {"path", "text", "normalize"},
       {"path", "text"},
       BuildFileContains});
  add({"file_mode",
       "the file or directory at `path` has permission bits `mode`",
       {"path", "mode"},
       {"path", "mode"},
       BuildFileMode});
  add({"file_sha256",
       "the regular file at `path` has SHA-256 `sha256`",
       {"path", "sha256"},
       {"path", "sha256"},
       BuildFileSha256});
  add({"command",
       "a check command run at the end of the episode exits 0",
       {"command", "timeout_s", "expect_stdout"},
       {"command"},
       BuildCommand});
  add({"hidden_tests",
       "Python tests run at the end of the episode; score = fraction passed",
       {"tests"},
       {"tests"},
       BuildHiddenTests});
}

}  // namespace toolgym::scenarios
