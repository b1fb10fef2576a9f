// The HTTP environment server: the scenario registry's envs as sessions behind a JSON protocol
// over HTTP/1.1 (keep-alive), on Boost.Asio/Beast.
//
//   GET    /health                  {"status": "ok", "sessions": N}
//   GET    /metrics                 sessions open, requests, steps, errors by code
//   GET    /scenarios               {"scenarios": [{"id", "title", "env_kind", "tags"}]}
//   GET    /openapi.json            this protocol as an OpenAPI 3.0 document: docs/openapi.json,
//                                   embedded at build time and served byte-for-byte
//   POST   /sessions                {"scenario", "seed"?, "options"?} -> 201 {"session_id",
//                                   "observation", "info", "tools"}
//   POST   /sessions/{id}/reset     {"seed"?, "options"?} -> {"observation", "info", "tools"}
//   POST   /sessions/{id}/step      {"action"} -> {"observation", "reward", "terminated",
//                                   "truncated", "info"}
//   POST   /sessions/{id}/fork      -> 201 a new session mid-episode {"session_id", "tools"}
//   GET    /sessions/{id}/tools     the current task's tools as OpenAI function schemas
//   DELETE /sessions/{id}           closes the session (its env and sandbox are destroyed)
//   POST   /step                    {"steps": [{"session_id", "action"}, ...]} -> {"results":
//                                   [...]} in request order, run in parallel; each result is a
//                                   step's answer or {"error": {...}} of its own
//
// GET routes answer HEAD too (same headers, no body); another method on a known path is 405 with
// an Allow header listing the path's methods. Empty path segments count ("/sessions//step" asks
// for the session ""), a trailing slash and a query string are ignored.
//
// Errors are always JSON: {"error": {"code", "message", "path"?}} with the matching status:
// bad_request 400 (malformed JSON, an unknown field, a wrong type: "path" is the JSON pointer of
// the bad value), unauthorized 401, not_found 404, method_not_allowed 405, conflict 409 (the
// session is busy with another request -- requests are not queued -- or its episode has ended),
// payload_too_large 413, too_many_sessions 429, internal 500, unavailable 503 (stopping).
//
// Threads: the HTTP layer (http/http_server.h) runs every socket on one I/O thread; env work
// (make, reset, step, fork, destroy) runs on its pool of worker threads, never on the I/O thread,
// one operation at a time per session; idle sessions are closed on a reaper thread. All public
// methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace toolgym::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 picks a free port; port() tells which
  int max_sessions = 64;
  double idle_timeout_s = 600;  // a session untouched this long is closed; <= 0: never
  std::string token;            // required on every request as "Authorization: Bearer T" if set
  std::size_t max_body_bytes = 1 << 20;
  int worker_threads = 4;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads. Refuses a host other than loopback without a
  // token, and a bad option, with InvalidArgument; a bind failure is Unavailable.
  Status Start();
  // The bound port (after Start).
  int port() const;
  std::string address() const;  // "http://HOST:PORT"
  // Stops accepting, lets in-flight env work finish (new requests meanwhile get 503), closes
  // every connection and every session (destroying their envs and sandboxes). Idempotent.
  void Stop();
  // Sessions open now.
  int num_sessions() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toolgym::server
