#include "envs/python_tests.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string_view>

namespace toolgym::envs {
namespace {

using nlohmann::json;

// Evaluates one call in the solution module; see python_tests.h for the protocol. Everything
// the harness needs is bound before the solution runs; a solution that rebinds the harness's
// globals can only change how its own value is reported, never learn the expected one.
constexpr const char* kCallHarness = R"PY(
import sys, os, json, importlib.util
_write = os.write
_exit = os._exit

def _emit(line):
    data = ("\n" + line + "\n").encode("utf-8", "backslashreplace")
    while data:
        data = data[_write(1, data):]

def _conv(x, depth=0):
    if depth > 100:
        raise ValueError("the result is nested more than 100 deep")
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")):
            return {"__repr__": repr(x)}
        return float(x)
    if isinstance(x, (list, tuple)):
        return [_conv(v, depth + 1) for v in x]
    if isinstance(x, (set, frozenset)):
        items = [_conv(v, depth + 1) for v in x]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if isinstance(k, str):
                key = k
            elif k is None or isinstance(k, (bool, int, float)):
                key = json.dumps(k)
            else:
                key = repr(k)
            out[key] = _conv(v, depth + 1)
        return out
    return {"__repr__": repr(x)}

def _main():
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    nonce = req["nonce"]
    try:
        sys.stdout = sys.stderr
        sys.dont_write_bytecode = True
        sys.pycache_prefix = "/proc/toolgym-no-bytecode"
        path = req["module"]
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None:
            raise ImportError("cannot load " + path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        result = eval(compile(req["call"], "<test>", "eval"), mod.__dict__)
        line = nonce + " " + json.dumps(_conv(result), ensure_ascii=True, allow_nan=False)
    except BaseException as e:
        try:
            msg = type(e).__name__ + ": " + str(e)
        except BaseException:
            msg = type(e).__name__
        line = nonce + "!ERR " + json.dumps(msg[:2000], ensure_ascii=True)
    try:
        sys.stderr.flush()
    except BaseException:
        pass
    _emit(line)
    _exit(0)

_main()
)PY";

// Runs a program as __main__ with its directory on sys.path (which -I leaves out).
//
// Note: both set sys.pycache_prefix to a directory that cannot exist (nothing can be created in
// /proc), so no module of the workspace is ever loaded from bytecode: a __pycache__ the agent's
// interpreter wrote for an older source of the same size and mtime would otherwise run instead
// of the current source (and the agent could plant one that does not match its source).
constexpr const char* kProgramRunner = R"PY(
import sys, os, runpy
p = sys.argv[1]
sys.argv = [p]
sys.dont_write_bytecode = True
sys.pycache_prefix = "/proc/toolgym-no-bytecode"
sys.path.insert(0, os.path.dirname(os.path.abspath(p)))
runpy.run_path(p, run_name="__main__")
)PY";

constexpr std::uint64_t kStdoutCaptureBytes = 1 << 20;
constexpr std::uint64_t kStderrCaptureBytes = 64 << 10;
constexpr std::uint64_t kOutputKillBytes = 8 << 20;
constexpr int kMaxResultNesting = 200;
constexpr std::size_t kShownBytes = 200;

struct TestSpec {
  std::string name;
  std::optional<std::string> call;
  std::optional<std::string> program;
  json expect;
  std::string stdin_data;
  std::string expect_stdout;
  std::string module = "solution.py";
  double timeout_s = 5;
  int memory_mb = 256;
  double tolerance = 1e-9;
  std::optional<std::string> hint;
};

std::string Describe(const json& v, std::size_t max = kShownBytes) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

std::string Quote(std::string_view s, std::size_t max = kShownBytes) {
  bool cut = s.size() > max;
  std::string q = json(std::string(s.substr(0, cut ? max : s.size())))
                      .dump(-1, ' ', false, json::error_handler_t::replace);
  return cut ? q + "..." : q;
}

Status CheckRelativePath(const json& v, const std::string& where, bool python_file) {
  if (!v.is_string() || v.get<std::string>().empty()) {
    return InvalidArgumentError("{} must be a non-empty relative path, got {}", where,
                                Describe(v, 80));
  }
  std::string path = v.get<std::string>();
  Status s = sandbox::ValidateRelativePath(path);
  if (!s.ok()) return InvalidArgumentError("{} {}: {}", where, Quote(path, 80), s.message());
  if (python_file && !path.ends_with(".py")) {
    return InvalidArgumentError("{} must name a .py file, got {}", where, Quote(path, 80));
  }
  return OkStatus();
}

StatusOr<std::vector<TestSpec>> ParseTests(const json& tests) {
  static const std::vector<std::string> kFields = {
      "name",   "call",      "expect",    "program", "stdin",    "expect_stdout",
      "module", "timeout_s", "memory_mb", "hint",    "tolerance"};
  if (!tests.is_array()) {
    return InvalidArgumentError("tests must be an array of test objects, got {}",
                                Describe(tests, 80));
  }
  std::vector<TestSpec> out;
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < tests.size(); ++i) {
    const json& t = tests[i];
    std::string at = fmt::format("tests[{}]", i);
    if (!t.is_object()) {
      return InvalidArgumentError("{} must be an object, got {}", at, Describe(t, 80));
    }
    for (const auto& [key, value] : t.items()) {
      if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
        return InvalidArgumentError("{}: unknown field {}; accepted fields: {}", at, Quote(key, 40),
                                    fmt::join(kFields, ", "));
      }
    }
    TestSpec spec;
    spec.name = fmt::format("test{}", i + 1);
    if (t.contains("name")) {
      if (!t["name"].is_string() || t["name"].get<std::string>().empty()) {
        return InvalidArgumentError("{}.name must be a non-empty string, got {}", at,
                                    Describe(t["name"], 80));
      }
      spec.name = t["name"].get<std::string>();
    }
    if (auto [it, fresh] = names.emplace(spec.name, i); !fresh) {
      return InvalidArgumentError("{}.name {} is already used by tests[{}]", at,
                                  Quote(spec.name, 40), it->second);
    }
    bool has_call = t.contains("call"), has_program = t.contains("program");
    if (has_call == has_program) {
      return InvalidArgumentError(
          "{}: give exactly one of \"call\" (a call test) or \"program\" "
          "(a program test), got {}",
          at, has_call ? "both" : "neither");
    }
    auto only = [&](const char* field, const char* kind) -> Status {
      if (t.contains(field)) {
        return InvalidArgumentError("{}.{} applies to {} tests only", at, field, kind);
      }
      return OkStatus();
    };
    if (has_call) {
      const json& c = t["call"];
      if (!c.is_string() || c.get<std::string>().empty()) {
        return InvalidArgumentError("{}.call must be a non-empty Python expression string, got {}",
                                    at, Describe(c, 80));
      }
      spec.call = c.get<std::string>();
      if (!t.contains("expect")) {
        return InvalidArgumentError(
            "{}.expect is missing (a call test compares the call's "
            "result with it)",
            at);
      }
      spec.expect = t["expect"];
      TG_RETURN_IF_ERROR(only("expect_stdout", "program"));
      TG_RETURN_IF_ERROR(only("stdin", "program"));
      if (t.contains("module")) {
        TG_RETURN_IF_ERROR(CheckRelativePath(t["module"], at + ".module", true));
        spec.module = t["module"].get<std::string>();
      }
      if (t.contains("tolerance")) {
        const json& v = t["tolerance"];
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
          return InvalidArgumentError("{}.tolerance must be a number >= 0, got {}", at,
                                      Describe(v, 80));
        }
        spec.tolerance = v.get<double>();
      }
    } else {
      TG_RETURN_IF_ERROR(CheckRelativePath(t["program"], at + ".program", false));
      spec.program = t["program"].get<std::string>();
      if (!t.contains("expect_stdout")) {
        return InvalidArgumentError(
            "{}.expect_stdout is missing (a program test compares the "
            "program's stdout with it)",
            at);
      }
      if (!t["expect_stdout"].is_string()) {
        return InvalidArgumentError("{}.expect_stdout must be a string, got {}", at,
                                    Describe(t["expect_stdout"], 80));
      }
      spec.expect_stdout = t["expect_stdout"].get<std::string>();
      if (t.contains("stdin")) {
        if (!t["stdin"].is_string()) {
          return InvalidArgumentError("{}.stdin must be a string, got {}", at,
                                      Describe(t["stdin"], 80));
        }
        spec.stdin_data = t["stdin"].get<std::string>();
      }
      TG_RETURN_IF_ERROR(only("expect", "call"));
      TG_RETURN_IF_ERROR(only("module", "call"));
      TG_RETURN_IF_ERROR(only("tolerance", "call"));
    }
    if (t.contains("timeout_s")) {
      const json& v = t["timeout_s"];
      if (!v.is_number() || !(v.get<double>() > 0) || v.get<double>() > 60) {
        return InvalidArgumentError("{}.timeout_s must be a number in (0, 60], got {}", at,
                                    Describe(v, 80));
      }
      spec.timeout_s = v.get<double>();
    }
    if (t.contains("memory_mb")) {
      const json& v = t["memory_mb"];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 32 || v.get<std::int64_t>() > 4096) {
        return InvalidArgumentError("{}.memory_mb must be an integer in [32, 4096], got {}", at,
                                    Describe(v, 80));
      }
      spec.memory_mb = static_cast<int>(v.get<std::int64_t>());
    }
    if (t.contains("hint")) {
      if (!t["hint"].is_string()) {
        return InvalidArgumentError("{}.hint must be a string, got {}", at,
                                    Describe(t["hint"], 80));
      }
      spec.hint = t["hint"].get<std::string>();
    }
    out.push_back(std::move(spec));
  }
  return out;
}

std::string MakeNonce() {
  std::random_device rd;
  std::string nonce = "TGR";
  for (int i = 0; i < 4; ++i) nonce += fmt::format("{:08x}", static_cast<std::uint32_t>(rd()));
  return nonce;
}

__int128 IntegerValue(const json& v) {
  return v.is_number_unsigned() ? static_cast<__int128>(v.get<std::uint64_t>())
                                : static_cast<__int128>(v.get<std::int64_t>());
}

// Deep equality; numbers compare within `tol` (relative or absolute) when either is a float,
// exactly when both are integers. A boolean is not a number.
bool JsonEqual(const json& a, const json& b, double tol, int depth = 0) {
  if (depth > kMaxResultNesting) return false;
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) {
      double x = a.get<double>(), y = b.get<double>();
      if (x == y) return true;
      double d = std::fabs(x - y);
      return d <= tol || d <= tol * std::max(std::fabs(x), std::fabs(y));
    }
    return IntegerValue(a) == IntegerValue(b);
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!JsonEqual(a[i], b[i], tol, depth + 1)) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto jt = b.find(it.key());
      if (jt == b.end() || !JsonEqual(it.value(), *jt, tol, depth + 1)) return false;
    }
    return true;
  }
  return a == b;
}

// Nesting depth of brackets outside strings: checked before parsing a result so a forged deep
// value cannot exhaust the stack of the recursive comparisons and dumps.
int JsonNesting(std::string_view s) {
  int depth = 0, max = 0;
  bool in_string = false, escape = false;
  for (char c : s) {
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max = std::max(max, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

std::string LastLine(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::size_t nl = text.rfind('\n');
  std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
  if (line.size() > kShownBytes) line = line.substr(0, kShownBytes);
  return std::string(line);
}

// stdout compared as lines with trailing whitespace removed and trailing blank lines dropped.
std::vector<std::string> OutputLines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    lines.emplace_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

sandbox::Limits LimitsFor(const TestSpec& spec) {
  sandbox::Limits l;
  l.wall_time_s = spec.timeout_s;
  // One second more CPU than wall time: a busy loop then ends on the wall clock, the same
  // verdict as a sleeping one, while a multi-threaded burner is still stopped.
  l.cpu_time_s = spec.timeout_s + 1;
  l.memory_bytes = static_cast<std::uint64_t>(spec.memory_mb) << 20;
  l.stdout_bytes = kStdoutCaptureBytes;
  l.stderr_bytes = kStderrCaptureBytes;
  l.output_kill_bytes = kOutputKillBytes;
  return l;
}

// A failure caused by how the run ended rather than by what it produced, or nullopt when the
// run exited on its own (status 0 or not).
std::optional<std::string> RunFailure(const sandbox::RunResult& r, const TestSpec& spec) {
  using sandbox::Verdict;
  std::string name = sandbox::VerdictName(r.verdict);
  switch (r.verdict) {
    case Verdict::kOk:
    case Verdict::kNonzeroExit:
      return std::nullopt;
    case Verdict::kWallTimeLimit:
      return fmt::format("timed out after {} s ({})", spec.timeout_s, name);
    case Verdict::kCpuTimeLimit:
      return fmt::format("used more than {} s of CPU time ({})", spec.timeout_s + 1, name);
    case Verdict::kMemoryLimit:
      return fmt::format("used more than {} MiB of memory ({})", spec.memory_mb, name);
    case Verdict::kOutputLimit:
      return fmt::format("wrote more than {} bytes of output ({})", kOutputKillBytes, name);
    case Verdict::kSignaled:
      return fmt::format("killed by signal {} ({})", r.term_signal, name);
    case Verdict::kSeccompViolation:
      return fmt::format("made a forbidden system call {} ({})", r.violation_syscall, name);
    case Verdict::kSandboxError:
      return fmt::format("sandbox error: {} ({})", r.error, name);
  }
  return name;
}

void Fail(TestOutcome& o, std::string message, std::string hidden) {
  o.passed = false;
  o.message = std::move(message);
  o.hidden_message = std::move(hidden);
}

TestOutcome RunCallTest(WorkspaceView& ws, const TestSpec& spec) {
  TestOutcome o;
  o.name = spec.name;
  const std::string nonce = MakeNonce();
  json request = {{"nonce", nonce}, {"module", spec.module}, {"call", *spec.call}};
  sandbox::RunResult r = ws.Run(sandbox::RunOptions{
      .argv = {kPythonPath, "-I", "-S", "-B", "-c", kCallHarness},
      .stdin_data = request.dump(-1, ' ', false, json::error_handler_t::replace),
      .limits = LimitsFor(spec)});
  o.verdict = sandbox::VerdictName(r.verdict);
  if (auto failure = RunFailure(r, spec)) {
    Fail(o, *failure, o.verdict);
    return o;
  }
  if (r.stdout_truncated) {
    Fail(o, fmt::format("stdout passed the {} byte capture limit", kStdoutCaptureBytes),
         "output too large");
    return o;
  }
  // The last line that starts with the nonce: whatever the solution printed cannot carry it.
  std::optional<std::string_view> line;
  std::string_view out = r.stdout_data;
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t nl = out.find('\n', pos);
    std::string_view l = out.substr(pos, nl == std::string_view::npos ? out.npos : nl - pos);
    if (l.starts_with(nonce)) line = l;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (!line) {
    std::string tail = LastLine(r.stderr_data);
    Fail(o,
         fmt::format("no result: the process exited with status {} before the harness reported{}",
                     r.exit_code, tail.empty() ? "" : " (stderr: " + tail + ")"),
         "no result");
    return o;
  }
  if (r.verdict != sandbox::Verdict::kOk) {
    Fail(o, fmt::format("the process exited with status {} after reporting", r.exit_code),
         o.verdict);
    return o;
  }
  std::string_view rest = line->substr(nonce.size());
  if (rest.starts_with("!ERR ")) {
    json msg = json::parse(rest.substr(5), nullptr, false);
    std::string text = msg.is_string() ? msg.get<std::string>() : std::string(rest.substr(5));
    if (text.size() > kShownBytes) text = text.substr(0, kShownBytes) + "...";
    std::string type = text.substr(0, text.find(':'));
    Fail(o, text, "raised " + type);
    return o;
  }
  if (!rest.starts_with(" ") || JsonNesting(rest) > kMaxResultNesting) {
    Fail(o, "unreadable result from the harness", "no result");
    return o;
  }
  json got = json::parse(rest.substr(1), nullptr, false);
  if (got.is_discarded()) {
    Fail(o, "unreadable result from the harness", "no result");
    return o;
  }
  if (!JsonEqual(got, spec.expect, spec.tolerance)) {
    Fail(o, fmt::format("expected {}, got {}", Describe(spec.expect), Describe(got)),
         "wrong result");
    return o;
  }
  o.passed = true;
  return o;
}

TestOutcome RunProgramTest(WorkspaceView& ws, const TestSpec& spec) {
  TestOutcome o;
  o.name = spec.name;
  sandbox::RunResult r = ws.Run(sandbox::RunOptions{
      .argv = {kPythonPath, "-I", "-S", "-B", "-c", kProgramRunner, *spec.program},
      .stdin_data = spec.stdin_data,
      .limits = LimitsFor(spec)});
  o.verdict = sandbox::VerdictName(r.verdict);
  if (auto failure = RunFailure(r, spec)) {
    Fail(o, *failure, o.verdict);
    return o;
  }
  if (r.verdict == sandbox::Verdict::kNonzeroExit) {
    std::string tail = LastLine(r.stderr_data);
    Fail(o, fmt::format("exited with status {}{}", r.exit_code, tail.empty() ? "" : ": " + tail),
         fmt::format("exited with status {}", r.exit_code));
    return o;
  }
  if (r.stdout_truncated) {
    Fail(o, fmt::format("stdout passed the {} byte capture limit", kStdoutCaptureBytes),
         "output too large");
    return o;
  }
  std::vector<std::string> got = OutputLines(r.stdout_data);
  std::vector<std::string> want = OutputLines(spec.expect_stdout);
  for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    if (i >= got.size()) {
      Fail(o,
           fmt::format("expected {} lines, got {}; line {} missing: expected {}", want.size(),
                       got.size(), i + 1, Quote(want[i])),
           "wrong output");
      return o;
    }
    if (i >= want.size()) {
      Fail(o,
           fmt::format("expected {} lines, got {}; extra line {}: {}", want.size(), got.size(),
                       i + 1, Quote(got[i])),
           "wrong output");
      return o;
    }
    if (got[i] != want[i]) {
      Fail(o, fmt::format("line {}: expected {}, got {}", i + 1, Quote(want[i]), Quote(got[i])),
           "wrong output");
      return o;
    }
  }
  o.passed = true;
  return o;
}

}  // namespace

std::string TestReport::Render(bool show_expected) const {
  std::string out;
  for (const auto& o : outcomes) {
    if (o.passed) {
      out += fmt::format("PASS {}\n", o.name);
    } else {
      out += fmt::format("FAIL {}: {}\n", o.name, show_expected ? o.message : o.hidden_message);
    }
  }
  out += fmt::format("passed {}/{}", passed, total);
  return out;
}

Status ValidateTests(const json& tests) { return ParseTests(tests).status(); }

TestReport RunPythonTests(WorkspaceView& workspace, const json& tests) {
  TestReport report;
  auto specs = ParseTests(tests);
  if (!specs.ok()) {
    TestOutcome o;
    o.name = "tests";
    o.message = specs.status().message();
    o.hidden_message = "invalid test specification";
    report.outcomes.push_back(std::move(o));
    report.total = 1;
    return report;
  }
  for (const TestSpec& spec : *specs) {
    TestOutcome o = spec.call ? RunCallTest(workspace, spec) : RunProgramTest(workspace, spec);
    if (!o.passed && spec.hint) o.hidden_message = *spec.hint;
    report.passed += o.passed;
    report.outcomes.push_back(std::move(o));
  }
  report.total = static_cast<int>(report.outcomes.size());
  return report;
}

}  // namespace toolgym::envs
