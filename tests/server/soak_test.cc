// Soak test of the HTTP environment server: the real `toolgym serve` binary as a child process,
// driven over real HTTP by several client threads across shell (real sandboxed processes), code,
// search and web scenarios, with episodes that end and are reset, forks, batched steps, normal
// DELETEs and clients that vanish mid-episode (dropped connections whose sessions the idle timeout
// must reap, steps whose socket is closed before the answer). After a warm-up round and after every
// later round the server's open fds, descendant processes, threads and RSS are sampled once the
// sessions are gone; fds and processes must return to the warm baseline and RSS must not grow
// beyond allocator noise. It ends with SIGTERM (and, in a second test, SIGINT as Ctrl-C sends it)
// while sessions are open and a step is in flight: exit status 0 within seconds, no descendant
// process left. Every figure is printed ("[soak]" lines).
//
// Environment: TOOLGYM_SOAK_ROUNDS=N runs N rounds instead of 5 (to watch the RSS trend over a
// longer run); TOOLGYM_SOAK_BIN=PATH soaks another toolgym binary than this tree's.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/client.h"

#ifndef TOOLGYM_BIN
#error "TOOLGYM_BIN must name the toolgym executable (set by tests/server/CMakeLists.txt)"
#endif

namespace toolgym::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---------------------------------------------------------------------------------------------
// /proc sampling.

struct ProcInfo {
  pid_t pid = 0, ppid = 0;
  char state = '?';
  unsigned long long start = 0;  // start time in clock ticks: (pid, start) names one process
  std::string comm;
};

std::vector<ProcInfo> AllProcs() {
  std::vector<ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string s;
    if (!std::getline(f, s)) continue;  // gone meanwhile
    const auto open = s.find('('), close = s.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    ProcInfo p;
    p.pid = std::atoi(e->d_name);
    p.comm = s.substr(open + 1, close - open - 1);
    std::istringstream rest(s.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string tok; rest >> tok;) fields.push_back(tok);
    if (fields.size() < 20) continue;
    p.state = fields[0][0];
    p.ppid = std::atoi(fields[1].c_str());
    p.start = std::stoull(fields[19]);
    out.push_back(p);
  }
  ::closedir(d);
  return out;
}

// Every process below `root` (children, grandchildren...), zombies included.
std::vector<ProcInfo> Descendants(pid_t root) {
  const auto all = AllProcs();
  std::multimap<pid_t, const ProcInfo*> children;
  for (const auto& p : all) children.emplace(p.ppid, &p);
  std::vector<ProcInfo> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    auto [b, e] = children.equal_range(p);
    for (auto it = b; it != e; ++it) {
      out.push_back(*it->second);
      todo.push_back(it->second->pid);
    }
  }
  return out;
}

std::string Describe(const std::vector<ProcInfo>& procs) {
  std::string s;
  for (const auto& p : procs)
    s += std::to_string(p.pid) + "(" + p.comm + "," + p.state + ",ppid " + std::to_string(p.ppid) +
         ") ";
  return s;
}

int CountFds(pid_t pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

long StatusField(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.starts_with(key + ":")) return std::atol(line.c_str() + key.size() + 1);
  return -1;
}

struct Sample {
  std::string label;
  int fds = 0, procs = 0;
  long threads = 0, rss_kb = 0;
};

Sample Take(pid_t pid, const std::string& label) {
  Sample s;
  s.label = label;
  s.fds = CountFds(pid);
  s.procs = static_cast<int>(Descendants(pid).size());
  s.threads = StatusField(pid, "Threads");
  s.rss_kb = StatusField(pid, "VmRSS");
  return s;
}

std::string Show(const Sample& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-22s fds %4d  procs %3d  threads %3ld  rss %7.1f MiB",
                s.label.c_str(), s.fds, s.procs, s.threads, s.rss_kb / 1024.0);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// The server as a child process.

class ServerProcess {
 public:
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  // Runs `toolgym serve --port 0 ARGS` in a process group of its own (as a shell runs a job) and
  // waits for its "Serving toolgym envs at http://HOST:PORT/" line.
  // `ignore_sigint`: the child starts with SIGINT ignored, as a background job (`cmd &`) of a
  // non-interactive shell does.
  void Start(const std::vector<std::string>& args, bool ignore_sigint = false) {
    static std::atomic<int> n{0};
    log_path_ = ::testing::TempDir() + "toolgym_soak_server_" + std::to_string(::getpid()) + "_" +
                std::to_string(n++) + ".log";
    // $TOOLGYM_SOAK_BIN soaks another build (an installed one, a patched one); default: this
    // tree's.
    const char* bin = std::getenv("TOOLGYM_SOAK_BIN");
    std::vector<std::string> words = {bin != nullptr && *bin ? bin : TOOLGYM_BIN, "serve", "--port",
                                      "0"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(log_fd, 0) << log_path_;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a crashed test
      if (ignore_sigint) ::signal(SIGINT, SIG_IGN);
      ::dup2(out[1], 1);
      ::dup2(log_fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // either side may win the race; both ask for the same
    ::close(out[1]);
    ::close(log_fd);
    pid_ = pid;
    out_fd_ = out[0];
    std::string text;
    const auto t0 = Clock::now();
    const std::regex re(R"(Serving toolgym envs at http://([0-9.]+):([0-9]+)/)");
    std::smatch m;
    while (!std::regex_search(text, m, re)) {
      ASSERT_LT(Since(t0), 60) << "no 'Serving' line; stdout so far: " << text << Log();
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[512];
      const ssize_t k = ::read(out_fd_, buf, sizeof buf);
      ASSERT_GT(k, 0) << "the server closed its stdout: " << text << Log();
      text.append(buf, static_cast<std::size_t>(k));
    }
    host_ = m[1];
    port_ = std::stoi(m[2]);
  }

  // Waits up to `timeout_s` for the process to end; its wait status, or nullopt on timeout.
  std::optional<int> Wait(double timeout_s) {
    const auto t0 = Clock::now();
    while (Since(t0) < timeout_s) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  // The server's stderr (its log), for failure messages.
  std::string Log() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    if (s.size() > 4000) s = "..." + s.substr(s.size() - 4000);
    return "\n--- server log " + log_path_ + " ---\n" + s;
  }

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::unique_ptr<Client> MakeClient() const {
    return std::make_unique<Client>(ClientOptions{host_, port_, ""});
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string host_;
  int port_ = 0;
  std::string log_path_;
};

// Sends a request on a fresh socket and closes it without reading the answer: with `reset`, after
// a pause (the step is then in flight on the server) and with SO_LINGER 0, so the server sees a
// RST; otherwise at once with a FIN.
void SendAndVanish(int port, const std::string& target, const std::string& body, bool reset) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "POST " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  if (reset) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// The workload.

std::string ToolCall(const std::string& name, const json& args) {
  return "<tool_call>\n" + json{{"name", name}, {"arguments", args}}.dump() + "\n</tool_call>";
}

// One scenario of the mix and how to act in it.
struct Scenario {
  std::string id, kind;
};

std::string RandomAction(const std::string& kind, bool needs_answer, std::mt19937& rng) {
  const int r = static_cast<int>(rng() % 100);
  if (r < 3) return "Let me think about this first.";  // no tool call: a step all the same
  if (r < 5) return ToolCall("submit", needs_answer ? json{{"answer", "42"}} : json::object());
  if (kind == "shell") {
    static const char* cmds[] = {"echo hi", "ls -la", "printf abc > f.txt; wc -c f.txt",
                                 "cat /etc/hostname; true", "seq 1 50 | sort -r | head -3"};
    return ToolCall("bash", {{"command", cmds[rng() % 5]}});
  }
  if (kind == "code") {
    static const char* cells[] = {"x = 1", "print(sum(range(100)))", "s = 'ab' * 3\nprint(s)"};
    return ToolCall("python", {{"code", cells[rng() % 3]}});
  }
  if (kind == "search") {
    static const char* q[] = {"city river museum", "population", "founded year", "bridge"};
    return ToolCall("search", {{"query", q[rng() % 4]}});
  }
  static const char* dirs[] = {"down", "up"};
  if (r < 60) return ToolCall("scroll", {{"direction", dirs[rng() % 2]}});
  return ToolCall("back", json::object());
}

enum class Behaviour {
  kDelete,      // plays episodes (reset when one ends), then DELETE
  kBatch,       // the same, stepping through POST /step; then DELETE
  kFork,        // forks mid-episode, steps both in batches, DELETEs both
  kDrop,        // its own connection; drops it mid-episode without DELETE (idle timeout reaps)
  kAbortFin,    // sends a step and closes the socket at once (FIN) without reading the answer
  kAbortReset,  // sends a step, and closes with a RST while the step runs
};
const char* Name(Behaviour b) {
  switch (b) {
    case Behaviour::kDelete:
      return "delete";
    case Behaviour::kBatch:
      return "batch";
    case Behaviour::kFork:
      return "fork";
    case Behaviour::kDrop:
      return "drop";
    case Behaviour::kAbortFin:
      return "abort-fin";
    case Behaviour::kAbortReset:
      return "abort-rst";
  }
  return "?";
}

struct Tally {
  std::map<std::string, std::atomic<long>> kind_steps, kind_calls;  // keys fixed before the run
  std::atomic<long> steps{0}, sessions{0}, episodes_ended{0}, resets{0}, forks{0}, deletes{0},
      vanished{0}, aborted_steps{0}, batch_requests{0}, retries_429{0};
  std::mutex mu;
  std::vector<std::string> errors;
  void Error(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (errors.size() < 20) errors.push_back(e);
  }
  std::size_t num_errors() {
    std::lock_guard<std::mutex> lock(mu);
    return errors.size();
  }
};

constexpr int kMaxTurns = 12;  // episodes end (truncated) every 12 steps at most, then reset

class Driver {
 public:
  Driver(const ServerProcess& server, Tally& tally, std::uint32_t seed)
      : server_(server), tally_(tally), rng_(seed), client_(server.MakeClient()) {}

  void Run(const Scenario& sc, Behaviour b, int steps) {
    const std::string what = std::string(Name(b)) + " " + sc.id;
    std::unique_ptr<Client> own;  // kDrop: a connection of its own, to drop
    Client* c = client_.get();
    if (b == Behaviour::kDrop) {
      own = server_.MakeClient();
      c = own.get();
    }
    std::string id;
    if (!Create(c, sc, &id, what)) return;
    const bool needs_answer = needs_answer_;
    int done = 0;
    auto step_one = [&](Client* cl, const std::string& sid) -> bool {
      auto r = cl->Step(sid, RandomAction(sc.kind, needs_answer, rng_));
      if (!r.ok()) {
        tally_.Error(what + ": step: " + r.status().ToString());
        return false;
      }
      if (!CheckStep(*r, sc.kind, what)) return false;
      ++tally_.steps;
      if ((*r)["terminated"] || (*r)["truncated"]) return ResetEpisode(cl, sid, what);
      return true;
    };
    const int first = b == Behaviour::kFork ? steps / 2 : steps;
    for (; done < first; ++done) {
      if (b == Behaviour::kBatch) {
        if (!BatchStep({id}, sc, what)) return;
      } else if (!step_one(c, id)) {
        return;
      }
    }
    switch (b) {
      case Behaviour::kDelete:
      case Behaviour::kBatch:
        Delete(c, id, what);
        break;
      case Behaviour::kFork: {
        auto f = c->Fork(id);
        if (!f.ok()) {
          tally_.Error(what + ": fork: " + f.status().ToString());
          Delete(c, id, what);
          return;
        }
        ++tally_.forks;
        ++tally_.sessions;
        const std::string fid = (*f)["session_id"];
        for (; done < steps; done += 2)
          if (!BatchStep({id, fid}, sc, what)) break;
        Delete(c, fid, what);
        Delete(c, id, what);
        break;
      }
      case Behaviour::kDrop:
        own.reset();  // the connection goes, the session stays until the idle timeout
        ++tally_.vanished;
        break;
      case Behaviour::kAbortFin:
      case Behaviour::kAbortReset: {
        // A shell step that takes a while, so that with the RST it is in flight when the socket
        // goes; other kinds take any action.
        const std::string action = sc.kind == "shell"
                                       ? ToolCall("bash", {{"command", "sleep 0.1; echo late"}})
                                       : RandomAction(sc.kind, needs_answer, rng_);
        SendAndVanish(server_.port(), "/sessions/" + id + "/step", json{{"action", action}}.dump(),
                      b == Behaviour::kAbortReset);
        ++tally_.aborted_steps;
        ++tally_.vanished;
        break;
      }
    }
  }

 private:
  bool Create(Client* c, const Scenario& sc, std::string* id, const std::string& what) {
    const json options = {{"max_turns", kMaxTurns}};
    for (int attempt = 0;; ++attempt) {
      auto r = c->CreateSession(sc.id, rng_() % 1000, options);
      if (r.ok()) {
        *id = (*r)["session_id"];
        needs_answer_ = (*r)["tools"].dump().find("\"answer\"") != std::string::npos;
        ++tally_.sessions;
        return true;
      }
      // The session limit is shared with sessions that vanished and still await their timeout.
      if (r.status().code() == StatusCode::kResourceExhausted && attempt < 100) {
        ++tally_.retries_429;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      tally_.Error(what + ": create: " + r.status().ToString());
      return false;
    }
  }

  bool CheckStep(const json& r, const std::string& kind, const std::string& what) {
    auto has = [&](const char* key, json::value_t type) {
      return r.contains(key) &&
             (r[key].type() == type || (type == json::value_t::number_float && r[key].is_number()));
    };
    if (!r.is_object() || !has("observation", json::value_t::array) ||
        !has("reward", json::value_t::number_float) || !has("terminated", json::value_t::boolean) ||
        !has("truncated", json::value_t::boolean) || !has("info", json::value_t::object)) {
      tally_.Error(what + ": malformed step answer: " + r.dump().substr(0, 300));
      return false;
    }
    ++tally_.kind_steps.at(kind);
    // A tool call that ran: sandboxed ones with the verdict "ok".
    const json& calls = r["info"].value("tool_calls", json::array());
    if (calls.size() == 1 &&
        (calls[0].value("verdict", "").empty() || calls[0].value("verdict", "") == "ok"))
      ++tally_.kind_calls.at(kind);
    return true;
  }

  bool ResetEpisode(Client* c, const std::string& id, const std::string& what) {
    ++tally_.episodes_ended;
    auto r = c->Reset(id, rng_() % 1000);
    if (!r.ok() || !(*r)["observation"].is_array()) {
      tally_.Error(what +
                   ": reset: " + (r.ok() ? r->dump().substr(0, 200) : r.status().ToString()));
      return false;
    }
    ++tally_.resets;
    return true;
  }

  // One POST /step with one step of each session.
  bool BatchStep(const std::vector<std::string>& ids, const Scenario& sc, const std::string& what) {
    std::vector<std::pair<std::string, std::string>> steps;
    for (const auto& id : ids) steps.emplace_back(id, RandomAction(sc.kind, needs_answer_, rng_));
    auto r = client_->StepBatch(steps);
    ++tally_.batch_requests;
    if (!r.ok() || !r->is_array() || r->size() != ids.size()) {
      tally_.Error(what +
                   ": batch: " + (r.ok() ? r->dump().substr(0, 300) : r.status().ToString()));
      return false;
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const json& res = (*r)[i];
      if (res.value("status", 0) != 200 || res.value("session_id", "") != ids[i]) {
        tally_.Error(what + ": batch result: " + res.dump().substr(0, 300));
        return false;
      }
      if (!CheckStep(res, sc.kind, what)) return false;
      ++tally_.steps;
      if ((res["terminated"] || res["truncated"]) && !ResetEpisode(client_.get(), ids[i], what))
        return false;
    }
    return true;
  }

  void Delete(Client* c, const std::string& id, const std::string& what) {
    Status s = c->Close(id);
    if (!s.ok()) {
      tally_.Error(what + ": delete: " + s.ToString());
      return;
    }
    ++tally_.deletes;
  }

  const ServerProcess& server_;
  Tally& tally_;
  std::mt19937 rng_;
  std::unique_ptr<Client> client_;
  bool needs_answer_ = false;
};

// Two scenarios of each kind from GET /scenarios (sorted ids, so the mix is the same every run).
std::vector<Scenario> PickScenarios(Client& c) {
  auto list = c.Scenarios();
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  std::map<std::string, std::vector<std::string>> by_kind;
  if (list.ok())
    for (const auto& s : *list) by_kind[s["env_kind"]].push_back(s["id"]);
  std::vector<Scenario> out;
  for (const std::string kind : {"shell", "code", "search", "web"}) {
    auto& ids = by_kind[kind];
    std::sort(ids.begin(), ids.end());
    EXPECT_GE(ids.size(), 2u) << "no two " << kind << " scenarios shipped";
    for (std::size_t i = 0; i < std::min<std::size_t>(2, ids.size()); ++i)
      out.push_back({ids[i], kind});
  }
  return out;
}

// Waits until the server holds no session (vanished ones expire) and then until its descendant
// processes and fds settle: processes back to 0 and fds equal to `want_fds` (or, for the
// baseline, unchanged over half a second).
Sample Quiesce(const ServerProcess& server, Client& c, const std::string& label, int want_fds) {
  const auto t0 = Clock::now();
  while (Since(t0) < 30) {
    auto h = c.Health();
    if (h.ok() && (*h)["sessions"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto h = c.Health();
  EXPECT_TRUE(h.ok() && (*h)["sessions"] == 0)
      << label << ": sessions did not expire: " << (h.ok() ? h->dump() : h.status().ToString());
  // Expired sessions are destroyed on a worker after they leave the table, and connections
  // close asynchronously: give both a moment.
  Sample s = Take(server.pid(), label);
  Sample prev = s;
  const auto t1 = Clock::now();
  while (Since(t1) < 15) {
    std::this_thread::sleep_for(std::chrono::milliseconds(want_fds < 0 ? 500 : 100));
    s = Take(server.pid(), label);
    if (s.procs == 0 && (want_fds < 0 ? s.fds == prev.fds : s.fds == want_fds)) break;
    prev = s;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

class SoakTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Orphans of the server are re-parented to this process, so a sandbox process that survived
    // the server's exit would show up as our child instead of vanishing under init.
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }

  // Processes left (not zombies) that were below the server: re-parented to us after its exit.
  static std::vector<ProcInfo> Orphans() {
    std::vector<ProcInfo> out;
    for (const auto& p : Descendants(::getpid()))
      if (p.state != 'Z') out.push_back(p);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return out;
  }

  // The processes of `before` still alive (same pid and start time).
  static std::vector<ProcInfo> Survivors(const std::vector<ProcInfo>& before) {
    std::set<std::pair<pid_t, unsigned long long>> now;
    for (const auto& p : AllProcs())
      if (p.state != 'Z') now.insert({p.pid, p.start});
    std::vector<ProcInfo> out;
    for (const auto& p : before)
      if (now.count({p.pid, p.start})) out.push_back(p);
    return out;
  }

  // The processes of `before` and the orphans still alive after waiting up to `seconds` for them
  // to go (a killed sandbox's processes take a moment to be reaped).
  static std::vector<ProcInfo> LeftBehind(const std::vector<ProcInfo>& before, double seconds) {
    std::vector<ProcInfo> left;
    const auto t0 = Clock::now();
    do {
      left = Survivors(before);
      for (const auto& p : Orphans()) left.push_back(p);
      if (left.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (Since(t0) < seconds);
    return left;
  }

  // Sessions of every kind open, a shell one with a background-free command run, one step of
  // `sleep_s` in flight on another thread, an idle keep-alive connection and a half-sent request;
  // then `sig` to the server (`group`: to its process group, as Ctrl-C in a terminal does).
  // Expects exit status 0 within a few seconds and no process of the server's left.
  void StopWithSessionsOpen(ServerProcess& server, const std::vector<Scenario>& scenarios, int sig,
                            bool group, const std::string& label) {
    auto c = server.MakeClient();
    std::string shell_id;
    for (const auto& sc : scenarios) {
      auto r = c->CreateSession(sc.id, 1);
      ASSERT_TRUE(r.ok()) << sc.id << ": " << r.status().ToString() << server.Log();
      if (sc.kind == "shell" && shell_id.empty()) shell_id = (*r)["session_id"];
      if (sc.kind == "code") {
        auto s = c->Step((*r)["session_id"], ToolCall("python", {{"code", "x = 41 + 1"}}));
        ASSERT_TRUE(s.ok()) << s.status().ToString();  // its interpreter runs now
      }
    }
    auto busy = c->CreateSession(scenarios[0].id, 2);
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    const std::string busy_id = (*busy)["session_id"];
    ASSERT_TRUE(c->Step(shell_id, ToolCall("bash", {{"command", "echo ready"}})).ok());
    const int open_sessions = static_cast<int>(scenarios.size()) + 1;

    // An idle keep-alive connection (c's) and a connection with half a request on it.
    const int half = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(half, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string partial =
        "POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    ASSERT_GT(::send(half, partial.data(), partial.size(), MSG_NOSIGNAL), 0);

    // A step in flight when the signal comes: the server finishes it and answers.
    std::atomic<bool> answered{false};
    std::string inflight_result;
    std::thread inflight([&] {
      auto other = server.MakeClient();
      auto r = other->Step(busy_id, ToolCall("bash", {{"command", "sleep 1; echo finished"}}));
      inflight_result = r.ok() ? r->dump() : r.status().ToString();
      answered = r.ok() && r->dump().find("finished") != std::string::npos;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));

    const auto before = Descendants(server.pid());
    EXPECT_GT(before.size(), 0u) << "the open sessions should have sandbox processes";
    std::printf("[soak] %s: %d sessions open, one step in flight, %zu processes below the server\n",
                label.c_str(), open_sessions, before.size());
    const pid_t pid = server.pid();
    const auto t0 = Clock::now();
    ASSERT_EQ(group ? ::kill(-pid, sig) : ::kill(pid, sig), 0);
    auto status = server.Wait(15);
    const double took = Since(t0);
    inflight.join();
    ::close(half);
    ASSERT_TRUE(status.has_value())
        << label << ": the server did not exit within 15 s of signal " << sig << server.Log();
    std::printf("[soak] %s: exited after %.2f s, wait status %#x\n", label.c_str(), took, *status);
    EXPECT_TRUE(WIFEXITED(*status)) << label << ": wait status " << *status << server.Log();
    EXPECT_EQ(WEXITSTATUS(*status), 0) << label << server.Log();
    // The in-flight step takes 1 s; tearing down a handful of sandboxes takes well under one.
    EXPECT_LT(took, 6.0) << label << server.Log();
    EXPECT_TRUE(answered) << label << ": the step in flight got " << inflight_result;
    const std::string log = server.Log();
    EXPECT_NE(log.find("stopping (" + std::to_string(open_sessions) + " sessions open)"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("serve: stopped"), std::string::npos) << log;
    // Nothing of the server survives: not the processes seen before the signal, and nothing
    // re-parented to this process (the subreaper) since.
    const std::vector<ProcInfo> left = LeftBehind(before, 2);
    EXPECT_TRUE(left.empty()) << label << ": left behind: " << Describe(left);
  }
};

TEST_F(SoakTest, TenThousandStepsFiftySessionsNoGrowthThenSigterm) {
  const auto t_start = Clock::now();
  constexpr int kThreads = 4, kSessionsPerThread = 4;
  // Round 0 is the warm-up. TOOLGYM_SOAK_ROUNDS=N runs longer (to watch the RSS trend).
  const char* rounds_env = std::getenv("TOOLGYM_SOAK_ROUNDS");
  const int kRounds = rounds_env != nullptr ? std::max(3, std::atoi(rounds_env)) : 5;
  constexpr double kIdleTimeout = 2;
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(server.Start(
      {"--idle-timeout", std::to_string(kIdleTimeout), "--max-sessions", "24", "--workers", "4"}));
  auto probe = server.MakeClient();
  const std::vector<Scenario> scenarios = PickScenarios(*probe);
  ASSERT_EQ(scenarios.size(), 8u);
  std::printf("[soak] server pid %d on port %d; scenarios:", server.pid(), server.port());
  for (const auto& s : scenarios) std::printf(" %s", s.id.c_str());
  std::printf("\n");
  std::vector<Sample> samples = {Take(server.pid(), "cold (no session yet)")};

  // Each round: 16 sessions (4 threads x 4), every behaviour and every scenario twice, paired
  // differently from round to round.
  const std::vector<std::pair<Behaviour, int>> plan = {
      {Behaviour::kDelete, 160},   {Behaviour::kDrop, 100}, {Behaviour::kBatch, 160},
      {Behaviour::kAbortFin, 100}, {Behaviour::kFork, 160}, {Behaviour::kAbortReset, 100},
      {Behaviour::kDelete, 160},   {Behaviour::kDrop, 100}};
  Tally tally;
  for (const auto& sc : scenarios) {
    tally.kind_steps[sc.kind] = 0;
    tally.kind_calls[sc.kind] = 0;
  }
  int warm_fds = -1;
  for (int round = 0; round < kRounds; ++round) {
    const auto t0 = Clock::now();
    const long steps_before = tally.steps;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Driver d(server, tally, static_cast<std::uint32_t>(1000 * round + t));
        for (int j = 0; j < kSessionsPerThread; ++j) {
          const int slot = t * kSessionsPerThread + j;
          const auto& [b, steps] = plan[(t + kThreads * j) % plan.size()];
          d.Run(scenarios[(slot + round) % scenarios.size()], b, steps);
        }
      });
    }
    for (auto& th : threads) th.join();
    const double work_s = Since(t0);
    Sample s = Quiesce(server, *probe,
                       round == 0 ? "warm (after round 0)" : "after round " + std::to_string(round),
                       warm_fds);
    if (round == 0) warm_fds = s.fds;
    samples.push_back(s);
    std::printf("[soak] round %d: %ld steps in %.1f s, then %.1f s until quiet; %s\n", round,
                tally.steps - steps_before, work_s, Since(t0) - work_s, Show(s).c_str());
    std::fflush(stdout);
    ASSERT_EQ(tally.num_errors(), 0u) << "first error: " << tally.errors[0] << server.Log();
  }

  std::printf("[soak] samples of the server process (pid %d):\n", server.pid());
  for (const auto& s : samples) std::printf("[soak]   %s\n", Show(s).c_str());
  const Sample& warm = samples[1];
  for (std::size_t i = 2; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    EXPECT_EQ(s.procs, 0) << s.label << ": " << Describe(Descendants(server.pid()));
    EXPECT_EQ(s.fds, warm.fds) << s.label << ": fds differ from the warm baseline";
    EXPECT_LE(s.threads, warm.threads) << s.label;
  }
  EXPECT_EQ(warm.procs, 0);
  // RSS: the rounds after the warm-up repeat its work; what may still move is allocator noise --
  // glibc's per-thread arenas keep freed chunks (the worker pool and the threads of batched
  // steps), fragmentation of envs of different sizes -- a few MiB that do not grow with the number
  // of rounds. A leak of even 1 KiB per step would be 9 MiB over these rounds' steps; a sandbox or
  // env per session, far more. Bound: 8 MiB or 10% of the warm RSS, whichever is larger.
  const Sample& last = samples.back();
  const double growth_mib = (last.rss_kb - warm.rss_kb) / 1024.0;
  const double bound_mib = std::max(8.0, 0.10 * warm.rss_kb / 1024.0);
  std::printf("[soak] RSS warm %.1f MiB -> last %.1f MiB: %+.1f MiB (bound %.1f MiB)\n",
              warm.rss_kb / 1024.0, last.rss_kb / 1024.0, growth_mib, bound_mib);
  EXPECT_LT(growth_mib, bound_mib);

  auto m = probe->Metrics();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::printf(
      "[soak] drove %ld steps over %ld sessions (%ld forks) in %d rounds: %ld episodes ended and "
      "reset, %ld DELETEs, %ld vanished (%ld with a step cut off), %ld batch requests, %ld 429 "
      "retries; server metrics %s\n",
      tally.steps.load(), tally.sessions.load(), tally.forks.load(), kRounds,
      tally.episodes_ended.load(), tally.deletes.load(), tally.vanished.load(),
      tally.aborted_steps.load(), tally.batch_requests.load(), tally.retries_429.load(),
      m->dump().c_str());
  for (const auto& [kind, n] : tally.kind_steps) {
    const long calls = tally.kind_calls.at(kind);
    std::printf("[soak] %s: %ld steps, %ld with a tool call that ran\n", kind.c_str(), n.load(),
                calls);
    // About 95% of the actions are tool calls; almost all of them must run.
    EXPECT_GT(calls, n * 8 / 10) << kind;
  }
  EXPECT_GE(tally.steps, 10000);
  EXPECT_GE(tally.sessions, 50);
  EXPECT_EQ(tally.resets, tally.episodes_ended);
  EXPECT_GT(tally.episodes_ended, 0);
  EXPECT_EQ((*m)["sessions_created"], tally.sessions.load());
  EXPECT_EQ((*m)["sessions_expired"], tally.vanished.load()) << "the vanished sessions, no others";
  EXPECT_EQ((*m)["sessions_closed"], tally.deletes.load());
  EXPECT_EQ((*m)["sessions_open"], 0);
  // Steps whose socket was cut still ran (FIN: always; RST: unless it came before the request
  // was read).
  EXPECT_GE((*m)["steps"].get<long>(), tally.steps + tally.aborted_steps / 2);

  StopWithSessionsOpen(server, scenarios, SIGTERM, false, "SIGTERM");
  std::printf("[soak] total %.1f s\n", Since(t_start));
}

// SIGINT as a terminal's Ctrl-C sends it (to the whole foreground process group) and as `kill
// -INT` sends it (to the server alone), with sessions of every kind open and a step in flight.
TEST_F(SoakTest, SigintWithSessionsOpen) {
  for (const bool group : {true, false}) {
    ServerProcess server;
    ASSERT_NO_FATAL_FAILURE(server.Start({"--idle-timeout", "60"}));
    auto probe = server.MakeClient();
    const auto scenarios = PickScenarios(*probe);
    ASSERT_FALSE(scenarios.empty());
    // One scenario of each kind.
    std::vector<Scenario> one_each;
    for (std::size_t i = 0; i < scenarios.size(); i += 2) one_each.push_back(scenarios[i]);
    StopWithSessionsOpen(server, one_each, SIGINT, group,
                         group ? "SIGINT to the process group" : "SIGINT to the server");
  }
}

// SIGINT the moment the "Serving" line appears, to a server started as a background job of a
// non-interactive shell (SIGINT ignored until the server catches it): the signal must be caught,
// not lost -- a lost one leaves a server that never stops.
TEST_F(SoakTest, SigintRightAfterServingLine) {
  for (int i = 0; i < 3; ++i) {
    ServerProcess server;
    ASSERT_NO_FATAL_FAILURE(server.Start({}, /*ignore_sigint=*/true));
    ASSERT_EQ(::kill(server.pid(), SIGINT), 0);
    auto status = server.Wait(10);
    ASSERT_TRUE(status.has_value())
        << "SIGINT right after the Serving line was lost" << server.Log();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << server.Log();
  }
}

// The plainest case: sessions of every kind open, no client connected, Ctrl-C. (Stopping must not
// wait on a connection to be closed when there is none.)
TEST_F(SoakTest, SigintWithSessionsOpenAndNoConnection) {
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(server.Start({}));
  {
    auto c = server.MakeClient();
    const auto scenarios = PickScenarios(*c);
    for (std::size_t i = 0; i < scenarios.size(); i += 2) {
      auto r = c->CreateSession(scenarios[i].id, 1);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }  // the connection closes
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto before = Descendants(server.pid());
  EXPECT_GT(before.size(), 0u);
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(-server.pid(), SIGINT), 0);
  auto status = server.Wait(15);
  const double took = Since(t0);
  ASSERT_TRUE(status.has_value()) << server.Log();
  std::printf("[soak] SIGINT, no connection: exited after %.2f s, wait status %#x\n", took,
              *status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << server.Log();
  EXPECT_LT(took, 2.0) << "stopping an idle server should take a moment, not seconds"
                       << server.Log();
  const std::vector<ProcInfo> left = LeftBehind(before, 2);
  EXPECT_TRUE(left.empty()) << "left behind: " << Describe(left);
}

// Every connection has a request in flight when SIGTERM comes (no idle keep-alive connection,
// no half-read request): the answers must still be written before the connections close, and the
// server must not wait on anything beyond the steps themselves.
TEST_F(SoakTest, SigtermWithEveryConnectionBusyAnswersThem) {
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(server.Start({}));
  std::vector<std::string> ids;
  std::string shell;
  {
    auto c = server.MakeClient();
    const auto scenarios = PickScenarios(*c);
    ASSERT_FALSE(scenarios.empty());
    shell = scenarios[0].id;
    for (int i = 0; i < 3; ++i) {
      auto r = c->CreateSession(shell, i);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ids.push_back((*r)["session_id"]);
    }
  }  // its connection closes: from now on only the three below are open
  std::vector<std::string> results(ids.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < ids.size(); ++i)
    threads.emplace_back([&, i] {
      auto c = server.MakeClient();
      auto r = c->Step(ids[i], ToolCall("bash", {{"command", "sleep 1; echo finished"}}));
      results[i] = r.ok() ? r->dump() : r.status().ToString();
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  auto status = server.Wait(15);
  const double took = Since(t0);
  for (auto& t : threads) t.join();
  ASSERT_TRUE(status.has_value()) << server.Log();
  std::printf("[soak] every connection busy: exited after %.2f s, wait status %#x\n", took,
              *status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status << server.Log();
  for (std::size_t i = 0; i < results.size(); ++i)
    EXPECT_NE(results[i].find("finished"), std::string::npos)
        << "step " << i << " in flight at SIGTERM got: " << results[i] << server.Log();
  // The steps end about 0.7 s after the signal; closing three sandboxes takes a fraction of that.
  EXPECT_LT(took, 3.0) << server.Log();
}

// A second SIGINT while the graceful stop waits for a long step ends the process at once (as a
// second Ctrl-C should), and the sandboxes go with it.
TEST_F(SoakTest, SecondSigintExitsAtOnce) {
  ServerProcess server;
  ASSERT_NO_FATAL_FAILURE(server.Start({}));
  auto c = server.MakeClient();
  const auto scenarios = PickScenarios(*c);
  ASSERT_FALSE(scenarios.empty());
  auto a = c->CreateSession(scenarios[0].id, 1);
  auto b = c->CreateSession(scenarios[0].id, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string busy = (*b)["session_id"];
  std::thread slow([&] {
    auto other = server.MakeClient();
    (void)other->Step(busy, ToolCall("bash", {{"command", "sleep 8; echo finished"}}));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto before = Descendants(server.pid());
  EXPECT_GT(before.size(), 0u);
  ASSERT_EQ(::kill(-server.pid(), SIGINT), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Still stopping: the step has 7 s to go.
  EXPECT_FALSE(server.Wait(0.01).has_value()) << "the first SIGINT should wait for the step";
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(-server.pid(), SIGINT), 0);
  auto status = server.Wait(5);
  const double took = Since(t0);
  slow.join();
  ASSERT_TRUE(status.has_value()) << "a second SIGINT did not end the server" << server.Log();
  std::printf("[soak] second SIGINT: exited after %.2f s, wait status %#x\n", took, *status);
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGINT) << *status << server.Log();
  EXPECT_LT(took, 2.0);
  const std::vector<ProcInfo> left = LeftBehind(before, 5);
  EXPECT_TRUE(left.empty()) << "left behind: " << Describe(left);
}

}  // namespace
}  // namespace toolgym::server
