// server_bench: what the HTTP environment server (server/server.h) costs per step, and how it
// holds up under many concurrent clients.
//
// Cases (run by scripts/bench server, which adds a wrk case when wrk is installed):
//   overhead: one scenario, seed and action sequence stepped in this process directly on an env
//   made by the registry (the baseline) and over HTTP through an in-process Server on 127.0.0.1:0
//   and a Client (one keep-alive connection), in alternating blocks of one short episode each so
//   that drift in the machine's load hits both; a cheap web env (where the overhead shows) and a
//   shell env (real sandboxed commands). The two sides must give identical observations. Also
//   what the answer's JSON costs alone, and the round-trip floor (GET /health).
//   batch: POST /step with 1, 8 and 32 web sessions per request against stepping as many
//   in-process envs one after another (per-step cost).
//   load: C concurrent clients (one thread, one Client, one session each) stepping a web env for
//   a fixed time against one in-process loop over the same env: throughput and latency p50/p99.
// Every answer is checked (HTTP 200, one tool call that ran, the episode going on). Exit status:
// 0 when every case ran correctly (targets never change it), 2 when a step failed or the two
// sides disagreed, 1 on bad options.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "common/status.h"
#include "envs/env.h"
#include "scenarios/registry.h"
#include "server/client.h"
#include "server/server.h"

namespace toolgym::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Call(const std::string& tool, const json& args) {
  return fmt::format("<tool_call>{}</tool_call>", json{{"name", tool}, {"arguments", args}}.dump());
}

// Episodes never end by themselves here; every case resets them itself.
const json kEnvOptions = {{"max_turns", 100000}};

// A step must show one tool call that ran (verdict "ok" for sandboxed tools), the episode going
// on. `step` is the answer as JSON (the server's, or an in-process StepResult converted).
Status CheckStep(const json& step, const std::string& what) {
  if (!step.is_object() || !step.contains("observation") || !step.contains("info"))
    return InternalError("{}: malformed step answer: {}", what, step.dump().substr(0, 300));
  if (step.value("terminated", true) || step.value("truncated", true))
    return InternalError("{}: the episode ended: {}", what, step["info"].dump().substr(0, 300));
  const json& calls = step["info"].value("tool_calls", json::array());
  if (calls.size() != 1 ||
      (!calls[0].value("verdict", "").empty() && calls[0].value("verdict", "") != "ok"))
    return InternalError("{}: the tool call did not run: {}", what,
                         step["info"].dump().substr(0, 300));
  return OkStatus();
}

json StepJson(const envs::StepResult& r) {
  return {{"observation", r.observation},
          {"reward", r.reward},
          {"terminated", r.terminated},
          {"truncated", r.truncated},
          {"info", r.info}};
}

// --- overhead -------------------------------------------------------------------------------

struct Overhead {
  std::string label, scenario;
  std::vector<std::string> actions;  // one block: reset, then these steps
  std::vector<double> inproc, http;  // seconds per step
  // What the answer's JSON costs alone, in process: StepResult -> json -> text (the server) ->
  // json (the client); and its size. Part of the HTTP side's time.
  std::vector<double> json_cost;
  std::size_t answer_bytes = 0;
};

Status RunOverhead(Overhead& c, server::Client& client, int blocks, std::uint64_t seed) {
  TG_ASSIGN_OR_RETURN(auto env, scenarios::Make(c.scenario, kEnvOptions));
  TG_ASSIGN_OR_RETURN(json created, client.CreateSession(c.scenario, seed, kEnvOptions));
  const std::string id = created["session_id"];
  std::vector<json> in_obs(c.actions.size()), http_obs(c.actions.size());
  auto inproc_block = [&](bool record) -> Status {
    auto reset = env->Reset(seed);
    if (!reset.ok()) return reset.status().WithContext("in-process Reset");
    for (std::size_t k = 0; k < c.actions.size(); ++k) {
      const auto t0 = Clock::now();
      auto r = env->Step(c.actions[k]);
      const double s = Seconds(Clock::now() - t0);
      if (!r.ok()) return r.status().WithContext("in-process Step");
      // Untimed for the baseline (the env's own step); timed apart as the JSON share. The server
      // leaves the task's parameters out of step answers; so does this.
      r->info.task.params = nullptr;
      const auto t1 = Clock::now();
      json j = StepJson(*r);
      const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
      j = json::parse(text);
      const double js = Seconds(Clock::now() - t1);
      c.answer_bytes = text.size();
      TG_RETURN_IF_ERROR(CheckStep(j, c.label + " in-process"));
      in_obs[k] = std::move(j["observation"]);
      if (record) {
        c.inproc.push_back(s);
        c.json_cost.push_back(js);
      }
    }
    return OkStatus();
  };
  auto http_block = [&](bool record) -> Status {
    TG_RETURN_IF_ERROR(client.Reset(id, seed).status().WithContext("HTTP reset"));
    for (std::size_t k = 0; k < c.actions.size(); ++k) {
      const auto t0 = Clock::now();
      auto r = client.Step(id, c.actions[k]);
      const double s = Seconds(Clock::now() - t0);
      if (!r.ok()) return r.status().WithContext("HTTP step");
      TG_RETURN_IF_ERROR(CheckStep(*r, c.label + " HTTP"));
      http_obs[k] = std::move((*r)["observation"]);
      if (record) c.http.push_back(s);
    }
    return OkStatus();
  };
  // One untimed block of each first (a shell starts, a site is compiled, a connection opens).
  TG_RETURN_IF_ERROR(inproc_block(false));
  TG_RETURN_IF_ERROR(http_block(false));
  for (int b = 0; b < blocks; ++b) {
    // Which side goes first alternates too.
    if (b % 2 == 0) {
      TG_RETURN_IF_ERROR(inproc_block(true));
      TG_RETURN_IF_ERROR(http_block(true));
    } else {
      TG_RETURN_IF_ERROR(http_block(true));
      TG_RETURN_IF_ERROR(inproc_block(true));
    }
    for (std::size_t k = 0; k < c.actions.size(); ++k)
      if (in_obs[k] != http_obs[k])
        return InternalError("{}: step {} differs: in process {} / over HTTP {}", c.label, k,
                             in_obs[k].dump().substr(0, 200), http_obs[k].dump().substr(0, 200));
  }
  return client.Close(id);
}

// --- batch ----------------------------------------------------------------------------------

struct Batch {
  int sessions = 0;
  std::vector<double> inproc, http;  // seconds per step (a round's time / sessions)
};

Status RunBatch(Batch& c, server::Client& client, const std::string& scenario,
                const std::vector<std::string>& actions, int blocks) {
  std::vector<std::unique_ptr<envs::Env>> envs;
  std::vector<std::string> ids;
  for (int i = 0; i < c.sessions; ++i) {
    TG_ASSIGN_OR_RETURN(auto env, scenarios::Make(scenario, kEnvOptions));
    envs.push_back(std::move(env));
    TG_ASSIGN_OR_RETURN(json created, client.CreateSession(scenario, i + 1, kEnvOptions));
    ids.push_back(created["session_id"]);
  }
  const double n = c.sessions;
  auto inproc_block = [&](bool record) -> Status {
    for (int i = 0; i < c.sessions; ++i)
      TG_RETURN_IF_ERROR(envs[i]->Reset(i + 1).status().WithContext("in-process Reset"));
    for (const auto& action : actions) {
      std::vector<envs::StepResult> results;
      const auto t0 = Clock::now();
      for (auto& env : envs) {
        auto r = env->Step(action);
        if (!r.ok()) return r.status().WithContext("in-process Step");
        results.push_back(std::move(*r));
      }
      const double s = Seconds(Clock::now() - t0);
      for (const auto& r : results) TG_RETURN_IF_ERROR(CheckStep(StepJson(r), "batch in-process"));
      if (record) c.inproc.push_back(s / n);
    }
    return OkStatus();
  };
  auto http_block = [&](bool record) -> Status {
    for (int i = 0; i < c.sessions; ++i)
      TG_RETURN_IF_ERROR(client.Reset(ids[i], i + 1).status().WithContext("HTTP reset"));
    for (const auto& action : actions) {
      std::vector<std::pair<std::string, std::string>> steps;
      for (const auto& id : ids) steps.emplace_back(id, action);
      const auto t0 = Clock::now();
      auto r = client.StepBatch(steps);
      const double s = Seconds(Clock::now() - t0);
      if (!r.ok()) return r.status().WithContext("POST /step");
      if (r->size() != ids.size())
        return InternalError("POST /step: {} results for {} steps", r->size(), ids.size());
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if ((*r)[i].value("status", 0) != 200 || (*r)[i].value("session_id", "") != ids[i])
          return InternalError("POST /step: result {}: {}", i, (*r)[i].dump().substr(0, 300));
        TG_RETURN_IF_ERROR(CheckStep((*r)[i], "batch HTTP"));
      }
      if (record) c.http.push_back(s / n);
    }
    return OkStatus();
  };
  TG_RETURN_IF_ERROR(inproc_block(false));
  TG_RETURN_IF_ERROR(http_block(false));
  for (int b = 0; b < blocks; ++b) {
    if (b % 2 == 0) {
      TG_RETURN_IF_ERROR(inproc_block(true));
      TG_RETURN_IF_ERROR(http_block(true));
    } else {
      TG_RETURN_IF_ERROR(http_block(true));
      TG_RETURN_IF_ERROR(inproc_block(true));
    }
  }
  for (const auto& id : ids) TG_RETURN_IF_ERROR(client.Close(id));
  return OkStatus();
}

// --- load -----------------------------------------------------------------------------------

struct Load {
  int clients = 0;
  long steps = 0;
  double seconds = 0;
  std::vector<double> latency;  // seconds per step request
  double rate() const { return seconds > 0 ? steps / seconds : 0; }
};

constexpr int kLoadEpisodeSteps = 20;  // every client resets its episode this often (untimed)

// One in-process loop over the same env for `seconds`: the baseline steps/s.
StatusOr<Load> RunInProcessLoop(const std::string& scenario,
                                const std::vector<std::string>& actions, double seconds) {
  TG_ASSIGN_OR_RETURN(auto env, scenarios::Make(scenario, kEnvOptions));
  Load l;
  l.clients = 1;
  const auto start = Clock::now();
  for (int k = 0; Seconds(Clock::now() - start) < seconds; ++k) {
    if (k % kLoadEpisodeSteps == 0)
      TG_RETURN_IF_ERROR(env->Reset(1).status().WithContext("in-process Reset"));
    const auto t0 = Clock::now();
    auto r = env->Step(actions[k % actions.size()]);
    l.latency.push_back(Seconds(Clock::now() - t0));
    if (!r.ok()) return r.status().WithContext("in-process Step");
    if (r->terminated || r->truncated) return InternalError("in-process loop: the episode ended");
    ++l.steps;
  }
  l.seconds = Seconds(Clock::now() - start);
  return l;
}

StatusOr<Load> RunLoad(int port, int clients, const std::string& scenario,
                       const std::vector<std::string>& actions, double seconds) {
  Load l;
  l.clients = clients;
  std::mutex mu;
  Status failure = OkStatus();
  std::latch ready(clients + 1), go(1);
  std::atomic<long> steps{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<double>> latencies(clients);
  Clock::time_point start;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const Status& s) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.ok()) failure = s.WithContext(fmt::format("client {}", t));
      };
      server::Client client({"127.0.0.1", port, ""});
      auto created = client.CreateSession(scenario, t + 1, kEnvOptions);
      ready.count_down();
      if (!created.ok()) return fail(created.status());
      const std::string id = (*created)["session_id"];
      go.wait();
      auto& lat = latencies[t];
      for (int k = 0; Seconds(Clock::now() - start) < seconds; ++k) {
        if (k > 0 && k % kLoadEpisodeSteps == 0) {
          if (auto r = client.Reset(id, std::nullopt); !r.ok()) return fail(r.status());
        }
        const auto t0 = Clock::now();
        auto r = client.Step(id, actions[k % actions.size()]);
        lat.push_back(Seconds(Clock::now() - t0));
        if (!r.ok()) return fail(r.status());
        if (Status s = CheckStep(*r, "load"); !s.ok()) return fail(s);
        ++steps;
      }
      if (Status s = client.Close(id); !s.ok()) fail(s);
    });
  }
  ready.arrive_and_wait();
  start = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  l.seconds = Seconds(Clock::now() - start);
  if (!failure.ok()) return failure;
  l.steps = steps;
  for (const auto& v : latencies) l.latency.insert(l.latency.end(), v.begin(), v.end());
  return l;
}

// --- report ---------------------------------------------------------------------------------

double Ms(double s) { return s * 1e3; }

int Main(int argc, char** argv) {
  CLI::App app(
      "HTTP env server: per-step overhead against in-process stepping, batched steps, "
      "and a load test with many concurrent clients");
  bool quick = false;
  int web_blocks = 200, shell_blocks = 60, batch_blocks = 20, workers = 4;
  double load_seconds = 3;
  std::vector<int> load_clients = {1, 4, 16, 64};
  std::string web_scenario = "web.shop_easy", shell_scenario = "shell.count_matches";
  std::string json_path;
  app.add_flag("--quick", quick, "smoke run: few blocks, short load phases (numbers are rough)");
  app.add_option("--web-blocks", web_blocks, "episodes of 10 web steps per side")
      ->check(CLI::Range(1, 100000));
  app.add_option("--shell-blocks", shell_blocks, "episodes of 10 shell steps per side")
      ->check(CLI::Range(1, 100000));
  app.add_option("--batch-blocks", batch_blocks, "episodes of 10 batched steps per side and size")
      ->check(CLI::Range(1, 100000));
  app.add_option("--load-seconds", load_seconds, "seconds per load case")
      ->check(CLI::Range(0.05, 600.0));
  app.add_option("--load-clients", load_clients, "concurrent clients of the load cases")
      ->check(CLI::Range(1, 512));
  app.add_option("--workers", workers, "the server's worker threads (its default: 4)")
      ->check(CLI::Range(1, 256));
  app.add_option("--web-scenario", web_scenario, "the cheap scenario (web; scroll actions)");
  app.add_option("--shell-scenario", shell_scenario, "the shell scenario (bash actions)");
  app.add_option("--json", json_path, "also write the numbers to this file");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    web_blocks = 10;
    shell_blocks = 3;
    batch_blocks = 2;
    load_seconds = 0.3;
  }
  auto die = [](const std::string& what, const Status& st) {
    std::fprintf(stderr, "server_bench: %s: %s\n", what.c_str(), st.ToString().c_str());
    return 2;
  };

  const Machine m = DescribeMachine();
  std::fprintf(stderr, "server_bench: loading the scenario registry\n");
  (void)scenarios::ScenarioRegistry::Default();
  const int max_clients = *std::max_element(load_clients.begin(), load_clients.end());
  server::Server srv({.host = "127.0.0.1",
                      .port = 0,
                      .max_sessions = std::max(64, max_clients + 8),
                      .idle_timeout_s = 600,
                      .worker_threads = workers});
  if (Status s = srv.Start(); !s.ok()) return die("Server::Start", s);
  server::Client client({"127.0.0.1", srv.port(), ""});

  // A web episode scrolls down and up the start page; a shell one runs builtins and a command.
  const std::string down = Call("scroll", {{"direction", "down"}});
  const std::string up = Call("scroll", {{"direction", "up"}});
  std::vector<std::string> web_actions;
  for (int i = 0; i < 10; ++i) web_actions.push_back(i % 2 == 0 ? down : up);
  std::vector<std::string> shell_actions;
  for (int i = 0; i < 10; ++i)
    shell_actions.push_back(
        Call("bash", {{"command", i % 3 == 2 ? "ls /etc | head -5" : "echo hi"}}));

  std::vector<Overhead> overheads = {
      {"web `scroll`", web_scenario, web_actions, {}, {}},
      {"shell `echo hi` / `ls /etc \\| head -5`", shell_scenario, shell_actions, {}, {}},
  };
  for (auto& c : overheads) {
    std::fprintf(stderr, "server_bench: overhead, %s\n", c.label.c_str());
    const int blocks = &c == &overheads[0] ? web_blocks : shell_blocks;
    if (Status s = RunOverhead(c, client, blocks, 3); !s.ok()) return die(c.label, s);
  }
  // The floor of a round trip: GET /health does no env work (still a hop to a worker thread).
  std::vector<double> health;
  for (int i = 0; i < 10 * web_blocks; ++i) {
    const auto t0 = Clock::now();
    auto h = client.Health();
    const double s = Seconds(Clock::now() - t0);
    if (!h.ok() || (*h)["status"] != "ok") return die("GET /health", h.status());
    health.push_back(s);
  }
  std::vector<Batch> batches = {{1, {}, {}}, {8, {}, {}}, {32, {}, {}}};
  for (auto& b : batches) {
    std::fprintf(stderr, "server_bench: POST /step with %d sessions\n", b.sessions);
    if (Status s = RunBatch(b, client, web_scenario, web_actions, batch_blocks); !s.ok())
      return die(fmt::format("batch of {}", b.sessions), s);
  }
  std::fprintf(stderr, "server_bench: load, in-process loop\n");
  auto baseline = RunInProcessLoop(web_scenario, web_actions, load_seconds);
  if (!baseline.ok()) return die("in-process loop", baseline.status());
  std::vector<Load> loads;
  for (int c : load_clients) {
    std::fprintf(stderr, "server_bench: load, %d clients\n", c);
    auto l = RunLoad(srv.port(), c, web_scenario, web_actions, load_seconds);
    if (!l.ok()) return die(fmt::format("load with {} clients", c), l.status());
    loads.push_back(std::move(*l));
  }
  auto metrics = client.Metrics();
  if (!metrics.ok()) return die("GET /metrics", metrics.status());
  if ((*metrics)["sessions_open"] != 0 || !(*metrics)["errors"].empty())
    return die("GET /metrics",
               InternalError("sessions left or errors counted: {}", metrics->dump()));

  std::printf("## Env server\n\nMachine: %s, %d of %ld CPUs usable, %s, %.1f GiB; load %s\n\n",
              m.cpu_model.c_str(), m.cpus_allowed, m.cpus_online, m.kernel.c_str(), m.memory_gib,
              LoadAverage().c_str());
  std::printf(
      "Per-step latency in process (Env::Step on an env made by the registry) and over HTTP "
      "(Client::Step to an in-process Server on 127.0.0.1, %d workers, one keep-alive "
      "connection), same scenario, seed and actions, alternating blocks of 10 steps (ms):\n\n",
      workers);
  std::printf(
      "| case | steps | in-process median | p90 | p99 | HTTP median | p90 | p99 | HTTP - "
      "in-process (median) | HTTP / in-process | answer JSON alone (median) | answer bytes |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  json j = {{"workers", workers}, {"overhead", json::array()}};
  for (const auto& c : overheads) {
    const Stats a = Summarize(c.inproc), b = Summarize(c.http), js = Summarize(c.json_cost);
    std::printf(
        "| %s | %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2fx | %.3f | %zu |\n",
        c.label.c_str(), a.n, Ms(a.median), Ms(a.p90), Ms(a.p99), Ms(b.median), Ms(b.p90),
        Ms(b.p99), Ms(b.median - a.median), b.median / a.median, Ms(js.median), c.answer_bytes);
    j["overhead"].push_back(
        {{"case", c.label},
         {"scenario", c.scenario},
         {"steps", a.n},
         {"inproc_ms", {{"median", Ms(a.median)}, {"p90", Ms(a.p90)}, {"p99", Ms(a.p99)}}},
         {"http_ms", {{"median", Ms(b.median)}, {"p90", Ms(b.p90)}, {"p99", Ms(b.p99)}}},
         {"overhead_ms", Ms(b.median - a.median)},
         {"answer_json_ms", Ms(js.median)},
         {"answer_bytes", c.answer_bytes}});
  }
  std::printf(
      "\n\"Answer JSON alone\": StepResult to JSON, dumped and parsed again, in process (the "
      "server builds and dumps each answer, the client parses it); part of the HTTP side. Step "
      "answers leave out "
      "the task's parameters (info.task.params; a web task's generated site is about 10 KiB), "
      "which come with create and reset.\n");
  const Stats hs = Summarize(health);
  std::printf(
      "\nRound-trip floor, GET /health (no env work, %zu requests): median %.3f ms, p90 "
      "%.3f, p99 %.3f.\n",
      hs.n, Ms(hs.median), Ms(hs.p90), Ms(hs.p99));
  j["health_ms"] = {{"median", Ms(hs.median)}, {"p90", Ms(hs.p90)}, {"p99", Ms(hs.p99)}};
  std::printf(
      "\nBatched steps: POST /step with one step of each of N web sessions against N in-process "
      "envs stepped one after another; per-step cost = a round's time / N (ms):\n\n");
  std::printf(
      "| sessions per request | rounds | in-process median | HTTP median | p90 | p99 | "
      "HTTP - in-process | single-step HTTP median |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  const double single_http = Summarize(overheads[0].http).median;
  j["batch"] = json::array();
  for (const auto& b : batches) {
    const Stats a = Summarize(b.inproc), h = Summarize(b.http);
    std::printf("| %d | %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", b.sessions, h.n,
                Ms(a.median), Ms(h.median), Ms(h.p90), Ms(h.p99), Ms(h.median - a.median),
                Ms(single_http));
    j["batch"].push_back(
        {{"sessions", b.sessions},
         {"inproc_ms", Ms(a.median)},
         {"http_ms", {{"median", Ms(h.median)}, {"p90", Ms(h.p90)}, {"p99", Ms(h.p99)}}}});
  }
  const Stats base = Summarize(baseline->latency);
  std::printf(
      "\nLoad: C clients (one thread, one Client, one web session each) stepping for %.1f s; "
      "episodes reset every %d steps (the resets count in the time, not in the steps). Baseline: "
      "one in-process loop over the same env. Clients and server share this machine's CPUs.\n\n",
      load_seconds, kLoadEpisodeSteps);
  std::printf("| clients | steps | steps/s | vs in-process loop | p50 ms | p99 ms | max ms |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| in-process loop | %ld | %.0f | 1.00x | %.3f | %.3f | %.3f |\n", baseline->steps,
              baseline->rate(), Ms(base.median), Ms(base.p99), Ms(base.max));
  j["load"] = {
      {"seconds", load_seconds},
      {"inproc",
       {{"steps_per_s", baseline->rate()}, {"p50_ms", Ms(base.median)}, {"p99_ms", Ms(base.p99)}}},
      {"clients", json::array()}};
  for (const auto& l : loads) {
    const Stats s = Summarize(l.latency);
    std::printf("| %d | %ld | %.0f | %.2fx | %.3f | %.3f | %.3f |\n", l.clients, l.steps, l.rate(),
                l.rate() / baseline->rate(), Ms(s.median), Ms(s.p99), Ms(s.max));
    j["load"]["clients"].push_back({{"clients", l.clients},
                                    {"steps", l.steps},
                                    {"steps_per_s", l.rate()},
                                    {"p50_ms", Ms(s.median)},
                                    {"p99_ms", Ms(s.p99)},
                                    {"max_ms", Ms(s.max)}});
  }
  const double over =
      Ms(Summarize(overheads[0].http).median - Summarize(overheads[0].inproc).median);
  std::printf("\n- %s: HTTP adds under 0.3 ms median per step on loopback (%s: %.3f ms)\n",
              over < 0.3 ? "PASS" : "FAIL", overheads[0].label.c_str(), over);
  j["target_overhead_ms"] = 0.3;
  j["load_average"] = LoadAverage();
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) { return toolgym::bench::Main(argc, argv); }
