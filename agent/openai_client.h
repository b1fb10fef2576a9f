// A policy backed by any server that speaks the OpenAI chat-completions protocol
// (POST {base_url}/chat/completions): vLLM, llama.cpp's server, hosted APIs, and toolgym's own
// `serve-policy` (agent/policy_server.h). docs/policies.md is the user's guide.
//
//   ChatClient     one keep-alive HTTP or HTTPS connection; retries with backoff; timeouts
//   OpenAIPolicy   the conversation as OpenAI messages in, the next action text out
//   OpenAIPolicyFactory  policies that share one concurrency limiter
//
// Two modes. kTools: the env's tools go out as `tools` (function schemas), earlier actions as
// assistant messages with `tool_calls`, and the answer's `tool_calls` come back rendered in the
// task's action format (envs::RenderAction). kText: every message goes out as text and the
// answer's content is the action as is, for toolgym's parser to read.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "common/status.h"
#include "envs/env.h"

namespace toolgym::agent {

enum class ChatMode { kTools, kText };
const char* ChatModeName(ChatMode m);  // "tools", "text"
StatusOr<ChatMode> ParseChatMode(const std::string& name);

struct OpenAIOptions {
  // "http://127.0.0.1:8000/v1" or "https://api.example.com/v1": requests go to
  // base_url + "/chat/completions".
  std::string base_url = "http://127.0.0.1:8000/v1";
  std::string model;
  // The API key is read from this environment variable (sent as "Authorization: Bearer KEY");
  // unset or empty sends none. The key is never taken from a flag and never logged.
  std::string api_key_env = "OPENAI_API_KEY";
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> max_tokens;
  std::vector<std::string> stop;
  // The sampling seed sent as `seed`: this value mixed with the episode's seed, so the samples
  // of different episodes differ and each is reproducible where the server honours seeds.
  // Absent: no `seed` is sent.
  std::optional<std::uint64_t> seed;
  ChatMode mode = ChatMode::kTools;
  double timeout_s = 120;       // per attempt: connect, send and the whole answer
  int max_retries = 4;          // after connection errors, timeouts, 429 and 5xx
  double backoff_base_s = 0.5;  // attempt k waits base * 2^k, times a jitter in [0.5, 1]
  double backoff_max_s = 30;    // the cap of that wait; a server's Retry-After wins over both
  int max_concurrency = 16;     // requests in flight at once over every policy of a factory
  // An extra CA bundle (PEM) trusted besides the system's store: for servers with their own CA.
  std::string ca_file;
  // Sends "metadata": {"toolgym_scenario", "toolgym_seed", "toolgym_action_format"} so that a
  // toolgym serve-policy can rebuild the task. Other servers ignore metadata or, some, reject
  // unknown fields: switch it off for those.
  bool send_metadata = false;
  // Continue partial assistant messages (Policy::Continue, for budget forcing): the prefix goes
  // as a last assistant message with vLLM's "continue_final_message": true and
  // "add_generation_prompt": false, which vLLM and toolgym serve-policy honour. Text mode only.
  bool continue_final = false;
  std::size_t max_response_bytes = 64 << 20;

  Status Validate() const;  // InvalidArgument naming the bad option
};

// The options that shape the answers (server, model, sampling, mode, stop sequences, metadata,
// continuation), for a run's manifest, which a resume must match. Transport settings (timeouts,
// retries, concurrency, CA file, the key's variable) are left out: a resume may change them.
nlohmann::json ToJson(const OpenAIOptions& o);

// Bounds the requests in flight at once; shared by the policies of one factory.
// Thread-safe.
class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int limit);
  void Acquire();
  void Release();

 private:
  struct State;
  int limit_;
  std::shared_ptr<State> state_;
};

// What one chat-completions call returned, parsed.
struct ChatResponse {
  nlohmann::json message;  // choices[0].message
  std::string finish_reason;
  std::optional<std::int64_t> prompt_tokens, completion_tokens;  // from `usage`, when present
  int retries = 0;  // attempts repeated before this answer
};

// POST {base_url}/chat/completions over one keep-alive connection, reopened when the server
// closed it. Connection errors, timeouts, 429 and 5xx are retried (options.max_retries times);
// other 4xx answers are returned at once as a Status carrying the server's error message:
// 400 -> InvalidArgument, 401/403 -> FailedPrecondition, 404 -> NotFound, 413 ->
// InvalidArgument; a timeout is DeadlineExceeded; exhausted retries keep the last error's code
// (429 -> ResourceExhausted, 5xx and connection errors -> Unavailable).
//
// Thread-safety: one thread at a time; the limiter may be shared.
class ChatClient {
 public:
  // options.Validate() must hold (OpenAIPolicyFactory checks it).
  ChatClient(OpenAIOptions options, std::shared_ptr<ConcurrencyLimiter> limiter,
             std::string api_key);
  ~ChatClient();
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;

  StatusOr<ChatResponse> Complete(const nlohmann::json& request);
  // Requests sent so far, retries included (tests and benchmarks).
  std::int64_t attempts() const { return attempts_; }

 private:
  struct Conn;
  OpenAIOptions options_;
  std::shared_ptr<ConcurrencyLimiter> limiter_;
  std::string api_key_;
  std::unique_ptr<Conn> conn_;
  std::int64_t attempts_ = 0;
};

// The conversation as OpenAI chat messages. In kTools mode an assistant message is the parse of
// its action text (`parser`, the task's format and tools): content plus `tool_calls` whose ids
// are those of the tool results that follow it; in kText mode every message is text: each step's
// observation is one user message rendered as envs::Observation::Text() ("[tool NAME]" headers
// before tool results), since servers without tool support reject the "tool" role.
nlohmann::json ToOpenAIMessages(const std::vector<envs::Message>& conversation, ChatMode mode,
                                const envs::ActionParser& parser);

// The action text for an answer's message: in kTools mode its content followed by its tool calls
// rendered in `format` (kOpenAI keeps the message as JSON, ids included); a call whose arguments
// are not valid JSON is rendered as the text it was, so the env reports it to the agent. In
// kText mode the content.
std::string ActionFromMessage(const nlohmann::json& message, ChatMode mode,
                              envs::ActionFormat format, const std::vector<envs::ToolSpec>& tools);

class OpenAIPolicy : public Policy {
 public:
  OpenAIPolicy(OpenAIOptions options, std::shared_ptr<ConcurrencyLimiter> limiter,
               std::string api_key);
  std::string name() const override { return "openai:" + options_.model; }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;
  bool can_continue() const override {
    return options_.continue_final && options_.mode == ChatMode::kText;
  }
  // With options.continue_final in text mode; FailedPrecondition naming the option otherwise.
  // Tokens are the server's usage.completion_tokens (reported = false when it sends none).
  StatusOr<Completion> Continue(const std::vector<envs::Message>& conversation,
                                const CompletionRequest& request) override;
  // The request body Act would send for `conversation` (tests, debugging).
  nlohmann::json BuildRequest(const std::vector<envs::Message>& conversation) const;

 private:
  OpenAIOptions options_;
  ChatClient client_;
  const envs::Task* task_ = nullptr;
  std::vector<envs::ToolSpec> tools_;
  std::optional<envs::ActionParser> parser_;
  std::uint64_t episode_seed_ = 0;
  // Sends `req`, counting the call, retries, time and tokens in usage_.
  StatusOr<ChatResponse> Send(const nlohmann::json& req);
};

// Policies sharing one limiter of options.max_concurrency and the API key read once from
// options.api_key_env. InvalidArgument for bad options.
StatusOr<PolicyFactory> OpenAIPolicyFactory(OpenAIOptions options);

}  // namespace toolgym::agent
