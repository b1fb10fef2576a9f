// toolgym serve-policy: a toolgym policy behind the OpenAI chat-completions protocol
// (agent/policy_server.h) in the foreground.
//
//   toolgym serve-policy --policy expert|random|replay:FILE|noisy-expert:EPS|thinker
//                        [--host 127.0.0.1] [--port P]
//                        [--token T] [--workers W]
//
// Prints "Serving policy MODEL at http://HOST:PORT/v1" once bound (port 0 picks a free one);
// SIGINT or SIGTERM stops it: requests in flight finish first.
// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "agent/policy_server.h"
#include "apps/commands.h"

namespace toolgym::apps {
namespace {

int ServePolicy(const std::string& spec, const agent::PolicyServerOptions& options) {
  auto srv = agent::PolicyServer::FromSpec(spec, options);
  if (!srv.ok()) {
    std::fprintf(stderr, "serve-policy: %s\n", srv.status().message().c_str());
    return 1;
  }
  // The handlers go in before Start(): a signal sent as soon as "Serving" is printed (or during
  // Start) must stop the server, not kill the process half-way (as in `toolgym serve`).
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  int signal = 0;
  signals.async_wait([&](const boost::system::error_code&, int sig) { signal = sig; });
  if (Status s = (*srv)->Start(); !s.ok()) {
    std::fprintf(stderr, "serve-policy: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("Serving policy %s at %s ; Ctrl-C stops\n", (*srv)->model().c_str(),
              (*srv)->base_url().c_str());
  std::fflush(stdout);
  io.run();
  signals.clear();  // a second signal ends the process at once
  std::fprintf(stderr, "serve-policy: signal %d, stopping\n", signal);
  (*srv)->Stop();
  std::fprintf(stderr, "serve-policy: stopped\n");
  return 0;
}

}  // namespace

void AddServePolicyCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve-policy",
                                 "serve a policy over the OpenAI chat-completions protocol (/v1)");
  static std::string spec;
  static agent::PolicyServerOptions options;
  cmd->add_option("--policy", spec,
                  "expert, random, replay:FILE, or a scripted stand-in: noisy-expert:EPS, thinker "
                  "(continues partial messages: continue_final_message)")
      ->required();
  cmd->add_option("--host", options.host,
                  "address to bind (default 127.0.0.1; anything but loopback needs --token)");
  cmd->add_option("--port", options.port, "TCP port (0 picks a free one; default 0)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option(
      "--token", options.token,
      "require \"Authorization: Bearer TOKEN\" (the client's API key) on every request");
  cmd->add_option("--workers", options.worker_threads, "threads running the policy (default 4)")
      ->check(CLI::PositiveNumber);
  cmd->callback([] { SetExitCode(ServePolicy(spec, options)); });
}

}  // namespace toolgym::apps
