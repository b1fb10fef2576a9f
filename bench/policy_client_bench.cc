// policy_client_bench: what a policy costs per call when it sits behind the OpenAI protocol --
// OpenAIPolicy (agent/openai_client.h) against an in-process `serve-policy` (PolicyServer on
// 127.0.0.1:0, one keep-alive connection) -- against the same expert called in this process.
//
// The conversations are recorded expert episodes (web, search and shell scenarios); every step's
// conversation is asked for its next action three ways, interleaved call by call so that drift in
// the machine's load hits all three:
//   in-process   the i-th Act of an ExpertPolicy that played the episode's earlier steps (the
//                cost a stateful in-process caller pays);
//   rebuild      BeginEpisode, then Act on each earlier prefix, then the timed Act: what
//                serve-policy computes per request, since it is stateless;
//   http         OpenAIPolicy::Act over loopback in tools mode (request JSON, HTTP, the server's
//                validation, rebuild and answer, parsing the tool_calls back into the action).
// The overhead per call is http - in-process; http - rebuild is the protocol and transport alone.
// Every HTTP action must equal the in-process one. Exit status: 0 when every call ran and agreed,
// 2 when one failed or differed, 1 on bad options.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent/openai_client.h"
#include "agent/policy_server.h"
#include "agent/rollout.h"
#include "bench/bench_util.h"
#include "scenarios/registry.h"

namespace toolgym::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Episode {
  std::unique_ptr<envs::Env> env;  // keeps the task alive
  agent::Trajectory trajectory;
  std::vector<envs::ToolSpec> tools;
};

int Run(int reps, bool quick) {
  const Machine m = DescribeMachine();
  std::vector<std::pair<std::string, std::uint64_t>> cases = {
      {"web.shop_easy", 1}, {"search.hop2", 2}, {"shell.multi_step", 3}, {"web.forms", 4}};
  if (quick) cases.resize(2);
  std::vector<Episode> episodes;
  for (const auto& [scenario, seed] : cases) {
    auto env = scenarios::Make(scenario);
    if (!env.ok()) {
      std::fprintf(stderr, "policy_client_bench: %s\n", env.status().ToString().c_str());
      return 2;
    }
    agent::ExpertPolicy expert;
    auto t = agent::RunEpisode(**env, expert, seed);
    if (!t.ok() || !t->success) {
      std::fprintf(stderr, "policy_client_bench: the expert did not solve %s seed %llu\n",
                   scenario.c_str(), static_cast<unsigned long long>(seed));
      return 2;
    }
    episodes.push_back({std::move(*env), std::move(*t), {}});
    // RunEpisode left the env at the end of the episode; the tools are the task's.
    episodes.back().tools = episodes.back().env->Tools();
  }

  auto server = agent::PolicyServer::FromSpec("expert", {});
  if (!server.ok() || !(*server)->Start().ok()) {
    std::fprintf(stderr, "policy_client_bench: cannot start serve-policy\n");
    return 2;
  }
  agent::OpenAIOptions o;
  o.base_url = (*server)->base_url();
  o.model = "expert";
  o.send_metadata = true;
  o.max_retries = 0;
  o.api_key_env.clear();
  auto factory = agent::OpenAIPolicyFactory(o);
  if (!factory.ok()) return 2;
  auto http_policy = (*factory)(0);

  std::vector<double> in_process, rebuild, http;
  std::vector<std::int64_t> request_bytes;
  int calls_per_rep = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (Episode& e : episodes) {
      const envs::Task& task = *e.env->task();
      const std::vector<envs::Message> full = e.trajectory.Conversation();
      // The conversation before each step: up to (not including) the i-th assistant message.
      std::vector<std::size_t> cuts;
      for (std::size_t k = 0; k < full.size(); ++k)
        if (full[k].role == "assistant") cuts.push_back(k);
      agent::ExpertPolicy stateful;
      if (!stateful.BeginEpisode(task, e.tools, task.seed).ok()) return 2;
      if (!(*http_policy)->BeginEpisode(task, e.tools, task.seed).ok()) return 2;
      for (std::size_t i = 0; i < cuts.size(); ++i) {
        const std::vector<envs::Message> conv(full.begin(),
                                              full.begin() + static_cast<std::ptrdiff_t>(cuts[i]));
        auto t0 = Clock::now();
        auto a = stateful.Act(conv);
        in_process.push_back(Ms(Clock::now() - t0));

        agent::ExpertPolicy fresh;
        t0 = Clock::now();
        bool ok = fresh.BeginEpisode(task, e.tools, task.seed).ok();
        for (std::size_t k = 0; k < i && ok; ++k)
          ok = fresh
                   .Act(std::vector<envs::Message>(
                       full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cuts[k])))
                   .ok();
        auto b = fresh.Act(conv);
        rebuild.push_back(Ms(Clock::now() - t0));

        t0 = Clock::now();
        auto c = (*http_policy)->Act(conv);
        http.push_back(Ms(Clock::now() - t0));
        if (!a.ok() || !b.ok() || !c.ok() || !ok) {
          std::fprintf(stderr, "policy_client_bench: %s step %zu failed: %s\n",
                       task.scenario_id.c_str(), i,
                       (!c.ok()   ? c.status()
                        : !a.ok() ? a.status()
                                  : b.status())
                           .ToString()
                           .c_str());
          return 2;
        }
        if (*a != *c || *a != *b || *a != e.trajectory.steps[i].action) {
          std::fprintf(stderr,
                       "policy_client_bench: %s step %zu: the actions differ\n  in process: %s\n"
                       "  over HTTP:  %s\n",
                       task.scenario_id.c_str(), i, a->c_str(), c->c_str());
          return 2;
        }
        if (rep == 0) {
          auto* p = static_cast<agent::OpenAIPolicy*>(http_policy->get());
          request_bytes.push_back(static_cast<std::int64_t>(p->BuildRequest(conv).dump().size()));
          ++calls_per_rep;
        }
      }
    }
  }
  (*server)->Stop();

  const Stats a = Summarize(in_process), b = Summarize(rebuild), c = Summarize(http);
  std::vector<double> bytes(request_bytes.begin(), request_bytes.end());
  const Stats rb = Summarize(bytes);
  std::printf("## Policy client\n\nMachine: %s, %d of %ld CPUs usable, %s, %.1f GiB; load %s\n\n",
              m.cpu_model.c_str(), m.cpus_allowed, m.cpus_online, m.kernel.c_str(), m.memory_gib,
              LoadAverage().c_str());
  std::printf(
      "Expert over the OpenAI protocol (OpenAIPolicy -> serve-policy on 127.0.0.1, one keep-alive "
      "connection, tools mode) against the expert in process: %zu episodes (",
      episodes.size());
  for (std::size_t i = 0; i < episodes.size(); ++i)
    std::printf("%s%s", i ? ", " : "", episodes[i].trajectory.scenario.c_str());
  std::printf(
      "), %d calls per round, %d rounds, interleaved call by call; request bodies %.0f "
      "bytes median, %.0f max.\n\n",
      calls_per_rep, reps, rb.median, rb.max);
  std::printf("| per call | n | median ms | p10 ms | p90 ms | p99 ms | max ms |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  auto row = [](const char* name, const Stats& s) {
    std::printf("| %s | %zu | %.3f | %.3f | %.3f | %.3f | %.3f |\n", name, s.n, s.median, s.p10,
                s.p90, s.p99, s.max);
  };
  row("in-process Act (stateful)", a);
  row("in-process rebuild (what serve-policy computes)", b);
  row("OpenAIPolicy over HTTP", c);
  std::printf(
      "\nOverhead per call (medians): %.3f ms over the in-process call (x%.1f); %.3f ms of "
      "it is protocol and transport (HTTP minus rebuild).\n",
      c.median - a.median, a.median > 0 ? c.median / a.median : 0.0, c.median - b.median);
  return 0;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) {
  CLI::App app{"policy_client_bench: OpenAI-protocol policy client overhead on loopback"};
  int reps = 30;
  bool quick = false;
  app.add_option("--reps", reps, "rounds over every recorded conversation (default 30)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--quick", quick, "two episodes, three rounds: a smoke test");
  CLI11_PARSE(app, argc, argv);
  if (quick) reps = 3;
  return toolgym::bench::Run(reps, quick);
}
