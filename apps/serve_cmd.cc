// toolgym serve: the HTTP environment server (server/server.h) in the foreground.
//
//   toolgym serve [--host 127.0.0.1] [--port P] [--max-sessions N] [--idle-timeout S]
//                 [--token T] [--max-body-bytes B] [--workers W]
//
// Prints "Serving toolgym envs at http://HOST:PORT/" once bound (port 0 picks a free one);
// SIGINT or SIGTERM stops it gracefully: in-flight env work finishes and every session's env and
// sandbox is destroyed before the process exits; a second signal meanwhile ends it at once.
// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "apps/commands.h"
#include "server/server.h"

namespace toolgym::apps {
namespace {

int Serve(const server::ServerOptions& options) {
  // SIGINT and SIGTERM are caught before the server starts and before the "Serving" line that
  // tells a supervisor it may send them: one sent meanwhile would otherwise take its inherited
  // disposition -- kill the server half-way (default) or be lost for good (a background job of a
  // non-interactive shell starts with SIGINT ignored), leaving a server that never stops. A
  // signal caught during Start() stops the server right after it.
  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  int signal = 0;
  signals.async_wait([&](const boost::system::error_code&, int sig) { signal = sig; });
  server::Server srv(options);
  if (Status s = srv.Start(); !s.ok()) {
    std::fprintf(stderr, "serve: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("Serving toolgym envs at %s/ ; Ctrl-C stops\n", srv.address().c_str());
  std::fflush(stdout);
  io.run();
  // From here on a second SIGINT or SIGTERM takes its default action and ends the process at
  // once: a graceful stop waits for env work in flight (a tool call may run for its whole
  // timeout), and a Ctrl-C that is swallowed meanwhile looks like a server that will not stop.
  // The sandboxes still go: each init exits when its control socket closes with this process.
  signals.clear();
  std::fprintf(stderr,
               "serve: signal %d, stopping (%d sessions open); a second signal exits at once\n",
               signal, srv.num_sessions());
  srv.Stop();
  std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "serve environments over HTTP (JSON sessions API)");
  static server::ServerOptions options;
  cmd->add_option("--host", options.host,
                  "address to bind (default 127.0.0.1; anything but loopback needs --token)");
  cmd->add_option("--port", options.port, "TCP port (0 picks a free one; default 0)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--max-sessions", options.max_sessions, "open sessions at most (default 64)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--idle-timeout", options.idle_timeout_s,
                  "close sessions idle this many seconds (default 600; 0: never)");
  cmd->add_option("--token", options.token,
                  "require \"Authorization: Bearer TOKEN\" on every request");
  cmd->add_option("--max-body-bytes", options.max_body_bytes,
                  "largest request body (default 1 MiB)");
  cmd->add_option("--workers", options.worker_threads, "threads running env work (default 4)")
      ->check(CLI::PositiveNumber);
  cmd->callback([] { SetExitCode(Serve(options)); });
}

}  // namespace toolgym::apps
