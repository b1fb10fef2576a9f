// A toolgym policy behind the OpenAI chat-completions protocol (`toolgym serve-policy`), over
// HTTP/1.1 keep-alive (http/http_server.h): any OpenAI client -- toolgym's own OpenAIPolicy, the
// official SDKs -- can drive the expert, the random policy or a replay. docs/policies.md is the
// user's guide.
//
//   GET  /v1/models                 {"object": "list", "data": [{"id": MODEL, ...}]}
//   GET  /v1/models/{id}            the model, or 404
//   POST /v1/chat/completions       a chat.completion; with "stream": true the same answer as
//                                   server-sent `chat.completion.chunk` events (one HTTP chunk
//                                   each, chunked transfer encoding) ending with
//                                   `data: [DONE]` (usage in a last chunk when
//                                   stream_options.include_usage)
//
// Stateless: every request rebuilds the policy and the task. The task comes from the request's
// metadata {"toolgym_scenario", "toolgym_seed", "toolgym_action_format"?} through the scenario
// registry; the policy's state is rebuilt by replaying the conversation: Act on the prefix before
// each earlier assistant turn, then on the whole conversation, so the answer to a conversation is
// always the same. The random policy needs no task (and then writes Hermes actions); the expert
// and replay do, and answer 400 without one. With `tools` in the request the policy's action is
// parsed with the task's action format and returned as `tool_calls`; otherwise as text content.
// The request's `seed` seeds a sampling policy (random, noisy-expert, thinker). A text-mode
// request sends no tools; the policy then gets the tools the task's env shows.
//
// Generation (policies that can continue a message, such as the thinker; Policy::Continue):
// `max_tokens` and `stop` are honoured, and vLLM's "continue_final_message": true (with
// "add_generation_prompt" not true) continues the last message, which must be the assistant's;
// finish_reason is "length" when max_tokens cut the answer. Earlier assistant turns are replayed
// from their recorded <think> block, so an answer follows from what was thought even when a
// budget-forcing client cut or extended it.
//
// Token usage counts whitespace-separated words: prompt_tokens over the messages' text and tool
// calls, completion_tokens over the answer's content and tool calls.
//
// Errors are OpenAI-shaped: {"error": {"message", "type", "param", "code"}} with 400 (bad JSON, a
// missing or mistyped field: `param` names it, e.g. "messages[2].content"), 401 (token), 404
// (unknown model or URL), 405, 413, 500. A bad request never stops the server.
//
// Threads: the HTTP layer (http/http_server.h) runs every socket on one I/O thread and the
// policies on its pool of worker threads. All public methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "agent/policy.h"
#include "common/status.h"

namespace toolgym::agent {

struct PolicyServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;       // 0 picks a free port; port() tells which
  std::string token;  // required as "Authorization: Bearer T" when set; off loopback it must be
  std::size_t max_body_bytes = 16 << 20;
  int worker_threads = 4;
};

class PolicyServer {
 public:
  // `spec` is a PolicyFactoryFromSpec spec ("expert", "random", "replay:FILE",
  // "noisy-expert:EPS", "thinker"); the model id is its kind ("expert", "random", "replay",
  // "noisy-expert", "thinker").
  static StatusOr<std::unique_ptr<PolicyServer>> FromSpec(const std::string& spec,
                                                          PolicyServerOptions options);
  PolicyServer(PolicyFactory factory, std::string model, bool needs_task,
               PolicyServerOptions options);
  ~PolicyServer();  // Stop()
  PolicyServer(const PolicyServer&) = delete;
  PolicyServer& operator=(const PolicyServer&) = delete;

  // Binds and serves on background threads. InvalidArgument for a bad option or a host other than
  // loopback without a token; Unavailable when the port cannot be bound.
  Status Start();
  // Stops accepting, lets requests in flight finish, closes every connection. Idempotent.
  void Stop();
  int port() const;
  std::string address() const;   // "http://HOST:PORT"
  std::string base_url() const;  // "http://HOST:PORT/v1", what OpenAIOptions::base_url takes
  const std::string& model() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toolgym::agent
