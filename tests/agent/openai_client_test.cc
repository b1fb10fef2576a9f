// The OpenAI-compatible client (agent/openai_client.h) against real servers on loopback:
// toolgym's own serve-policy (agent/policy_server.h) for whole episodes, and small Beast stubs
// written here for what a policy server never does on its own (429 and 5xx, hanging, counting
// concurrent requests, TLS with a certificate made at test time).
#include "agent/openai_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/policy_server.h"
#include "agent/rollout.h"
#include "agent/strategies.h"
#include "scenarios/registry.h"
#include "server/client.h"

namespace toolgym::agent {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// --- Episodes through serve-policy ---------------------------------------------------------------

class ServePolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* spec : {"expert", "random"}) {
      auto srv = PolicyServer::FromSpec(spec, {});
      ASSERT_TRUE(srv.ok()) << srv.status().ToString();
      ASSERT_TRUE((*srv)->Start().ok());
      servers_[spec] = std::move(*srv);
    }
  }
  static void TearDownTestSuite() { servers_.clear(); }

  static OpenAIOptions Options(const std::string& model, ChatMode mode) {
    OpenAIOptions o;
    o.base_url = servers_[model]->base_url();
    o.model = model;
    o.mode = mode;
    o.send_metadata = true;
    o.timeout_s = 30;
    o.max_retries = 0;
    o.api_key_env = "TOOLGYM_TEST_NO_SUCH_KEY";
    return o;
  }

  static std::map<std::string, std::unique_ptr<PolicyServer>> servers_;
};
std::map<std::string, std::unique_ptr<PolicyServer>> ServePolicyTest::servers_;

struct EpisodeCase {
  const char* scenario;
  std::uint64_t seed;
};

TEST_F(ServePolicyTest, ExpertOverHttpSolvesEpisodesInToolsAndTextMode) {
  const std::vector<EpisodeCase> cases = {{"shell.find_by_name", 3},
                                          {"code.from_examples", 4},
                                          {"search.hop1", 5},
                                          {"web.shop_easy", 6}};
  for (ChatMode mode : {ChatMode::kTools, ChatMode::kText}) {
    auto factory = OpenAIPolicyFactory(Options("expert", mode));
    ASSERT_TRUE(factory.ok()) << factory.status().ToString();
    for (const EpisodeCase& c : cases) {
      SCOPED_TRACE(std::string(c.scenario) + " " + ChatModeName(mode));
      auto env = scenarios::Make(c.scenario);
      ASSERT_TRUE(env.ok()) << env.status().ToString();
      // The same episode in process, for the expected length.
      ExpertPolicy local;
      auto want = RunEpisode(**env, local, c.seed);
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      ASSERT_TRUE(want->success);

      auto policy = (*factory)(0);
      ASSERT_TRUE(policy.ok());
      EXPECT_EQ((*policy)->name(), "openai:expert");
      auto got = RunEpisode(**env, **policy, c.seed);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_TRUE(got->error.empty()) << got->error;
      EXPECT_TRUE(got->success) << got->end_reason;
      ASSERT_EQ(got->steps.size(), want->steps.size());
      for (std::size_t i = 0; i < got->steps.size(); ++i)
        EXPECT_EQ(json(got->steps[i].info["tool_calls"]).size(),
                  json(want->steps[i].info["tool_calls"]).size())
            << i;
      // Usage: one completion per step, tokens as serve-policy counted them (words).
      EXPECT_EQ(got->usage.calls, static_cast<std::int64_t>(got->steps.size()));
      EXPECT_TRUE(got->usage.tokens_reported);
      EXPECT_GT(got->usage.prompt_tokens, 10 * got->usage.calls);
      EXPECT_GT(got->usage.completion_tokens, 0);
      EXPECT_EQ(got->usage.retries, 0);
      EXPECT_GT(got->usage.wall_ms, 0);
    }
  }
}

TEST_F(ServePolicyTest, ToolsModeSendsSchemasAndToolCallIdsMatchingTheResults) {
  auto env = scenarios::Make("shell.count_matches");
  ASSERT_TRUE(env.ok());
  ExpertPolicy local;
  auto t = RunEpisode(**env, local, 7);
  ASSERT_TRUE(t.ok() && t->success);
  auto factory = OpenAIPolicyFactory(Options("expert", ChatMode::kTools));
  ASSERT_TRUE(factory.ok());
  auto policy = (*factory)(0);
  ASSERT_TRUE(policy.ok());
  auto* p = static_cast<OpenAIPolicy*>(policy->get());
  ASSERT_TRUE(p->BeginEpisode(*(*env)->task(), (*env)->Tools(), 7).ok());
  const json req = p->BuildRequest(t->Conversation());
  EXPECT_EQ(req["model"], "expert");
  EXPECT_EQ(req["tools"], (*env)->OpenAITools());
  EXPECT_EQ(req["metadata"]["toolgym_scenario"], "shell.count_matches");
  EXPECT_EQ(req["metadata"]["toolgym_seed"], "7");
  EXPECT_EQ(req["metadata"]["toolgym_action_format"], "hermes");
  int tool_messages = 0;
  std::vector<std::string> open_ids;
  for (const json& m : req["messages"]) {
    if (m["role"] == "assistant") {
      open_ids.clear();
      ASSERT_TRUE(m.contains("tool_calls")) << m.dump();
      for (const json& tc : m["tool_calls"]) {
        open_ids.push_back(tc["id"]);
        EXPECT_TRUE(json::parse(tc["function"]["arguments"].get<std::string>()).is_object());
      }
    } else if (m["role"] == "tool") {
      ++tool_messages;
      EXPECT_NE(std::find(open_ids.begin(), open_ids.end(), m["tool_call_id"]), open_ids.end())
          << m.dump();
    }
  }
  EXPECT_EQ(tool_messages, t->tool_calls);

  // Text mode: no tools, no tool role, user and assistant turns alternate after the system.
  OpenAIOptions text = Options("expert", ChatMode::kText);
  OpenAIPolicy tp(text, std::make_shared<ConcurrencyLimiter>(1), "");
  ASSERT_TRUE(tp.BeginEpisode(*(*env)->task(), (*env)->Tools(), 7).ok());
  const json treq = tp.BuildRequest(t->Conversation());
  EXPECT_FALSE(treq.contains("tools"));
  std::string prev;
  for (const json& m : treq["messages"]) {
    EXPECT_NE(m["role"], "tool");
    EXPECT_NE(m["role"].get<std::string>(), prev) << treq.dump();
    prev = m["role"];
  }
}

TEST_F(ServePolicyTest, SamplingSeedMakesEpisodesReproducible) {
  // The first action of the random policy (over HTTP) on episodes 1..8 of web.forms: the server
  // rebuilds the policy per request from the request's seed, the client's sampling seed mixed
  // with the episode's.
  auto env = scenarios::Make("web.forms");
  ASSERT_TRUE(env.ok());
  auto first_actions = [&](std::optional<std::uint64_t> seed) {
    OpenAIOptions o = Options("random", ChatMode::kTools);
    o.seed = seed;
    auto factory = OpenAIPolicyFactory(o);
    EXPECT_TRUE(factory.ok());
    auto policy = (*factory)(0);
    std::vector<std::string> actions;
    for (std::uint64_t episode = 1; episode <= 8; ++episode) {
      auto reset = (*env)->Reset(episode);
      EXPECT_TRUE(reset.ok());
      EXPECT_TRUE((*policy)->BeginEpisode(*(*env)->task(), (*env)->Tools(), episode).ok());
      auto a = (*policy)->Act(reset->observation.messages);
      EXPECT_TRUE(a.ok()) << a.status().ToString();
      actions.push_back(a.ok() ? *a : "");
    }
    return actions;
  };
  const auto a = first_actions(11), b = first_actions(11), c = first_actions(12);
  EXPECT_EQ(a, b);  // same sampling seed, same episodes: the same actions
  EXPECT_NE(a, c);  // another sampling seed
  EXPECT_GE(std::set<std::string>(a.begin(), a.end()).size(), 3u);  // episodes differ too
}

TEST_F(ServePolicyTest, ErrorsAreNotRetriedAndTheServerKeepsServing) {
  OpenAIOptions o = Options("expert", ChatMode::kTools);
  o.max_retries = 3;
  ChatClient client(o, std::make_shared<ConcurrencyLimiter>(1), "");
  const json messages = json::array({{{"role", "user"}, {"content", "hi"}}});
  auto no_task = client.Complete({{"model", "expert"}, {"messages", messages}});
  ASSERT_FALSE(no_task.ok());
  EXPECT_EQ(no_task.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_task.status().message().find("HTTP 400: the expert policy needs the task"),
            std::string::npos)
      << no_task.status().message();
  EXPECT_EQ(client.attempts(), 1);
  auto wrong_model = client.Complete({{"model", "gpt-9"}, {"messages", messages}});
  EXPECT_EQ(wrong_model.status().code(), StatusCode::kNotFound);
  EXPECT_NE(wrong_model.status().message().find("The model `gpt-9` does not exist"),
            std::string::npos);
  auto bad_type = client.Complete({{"model", "expert"}, {"messages", {{{"role", 5}}}}});
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_type.status().message().find("messages[0].role must be a string"),
            std::string::npos)
      << bad_type.status().message();
  EXPECT_EQ(client.attempts(), 3);
  auto good = client.Complete(
      {{"model", "expert"},
       {"messages", messages},
       {"metadata", {{"toolgym_scenario", "shell.find_by_name"}, {"toolgym_seed", "3"}}}});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_NE(good->message["content"].get<std::string>().find("<tool_call>"), std::string::npos);
  EXPECT_EQ(good->retries, 0);
}

TEST_F(ServePolicyTest, RawProtocolStreamingAndBadRequests) {
  server::Client raw({"127.0.0.1", servers_["expert"]->port(), ""});
  const json request = {
      {"model", "expert"},
      {"messages", {{{"role", "user"}, {"content", "hi"}}}},
      {"metadata", {{"toolgym_scenario", "shell.find_by_name"}, {"toolgym_seed", "3"}}},
      {"stream", true},
      {"stream_options", {{"include_usage", true}}}};
  auto r = raw.Request("POST", "/v1/chat/completions", request.dump());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  // Server-sent events: "data: {chunk}" blocks, the last one [DONE], usage in the one before it.
  std::vector<std::string> events;
  for (std::size_t pos = 0; pos < r->raw.size();) {
    const std::size_t end = r->raw.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos) << r->raw;
    ASSERT_EQ(r->raw.compare(pos, 6, "data: "), 0) << r->raw.substr(pos, 50);
    events.push_back(r->raw.substr(pos + 6, end - pos - 6));
    pos = end + 2;
  }
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  const json usage = json::parse(events[events.size() - 2]);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 1);
  std::string content;
  for (std::size_t i = 0; i + 2 < events.size(); ++i) {
    const json c = json::parse(events[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    content += c["choices"][0]["delta"].value("content", "");
  }
  EXPECT_NE(content.find("<tool_call>"), std::string::npos) << content;

  // Wrong method, unknown URL, bad JSON, wrong types: OpenAI-shaped errors naming the field.
  auto get = raw.Request("GET", "/v1/chat/completions");
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->body["error"]["code"], "method_not_allowed");
  auto nope = raw.Request("GET", "/v2/nothing");
  EXPECT_EQ(nope->status, 404);
  EXPECT_EQ(nope->body["error"]["code"], "unknown_url");
  auto bad = raw.Request("POST", "/v1/chat/completions", "{\"model\": ");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body["error"]["code"], "invalid_json");
  EXPECT_EQ(bad->body["error"]["type"], "invalid_request_error");
  json wrong = request;
  wrong["stream"] = "yes";
  auto typed = raw.Request("POST", "/v1/chat/completions", wrong.dump());
  EXPECT_EQ(typed->status, 400);
  EXPECT_EQ(typed->body["error"]["param"], "stream");
  wrong = request;
  wrong["metadata"]["toolgym_seed"] = "-1";
  auto seed = raw.Request("POST", "/v1/chat/completions", wrong.dump());
  EXPECT_EQ(seed->status, 400);
  EXPECT_EQ(seed->body["error"]["param"], "metadata.toolgym_seed");
  wrong = request;
  wrong["messages"][0]["role"] = "robot";
  auto role = raw.Request("POST", "/v1/chat/completions", wrong.dump());
  EXPECT_EQ(role->body["error"]["message"],
            "messages[0].role \"robot\" is not one of system, developer, user, assistant, tool");
  // The expert past its last step: the conversation has more assistant turns than it has steps.
  wrong = request;
  wrong.erase("stream");
  for (int i = 0; i < 6; ++i) {
    wrong["messages"].push_back({{"role", "assistant"}, {"content", "thinking"}});
    wrong["messages"].push_back({{"role", "user"}, {"content", "go on"}});
  }
  auto past = raw.Request("POST", "/v1/chat/completions", wrong.dump());
  EXPECT_EQ(past->status, 400);
  EXPECT_EQ(past->body["error"]["code"], "policy_error");
  EXPECT_NE(past->raw.find("has no step"), std::string::npos) << past->raw;
  // Still serving.
  EXPECT_EQ(raw.Request("GET", "/v1/models")->status, 200);
}

// Budget forcing through the protocol: the client continues partial messages
// (continue_final_message) on serve-policy's thinker, and the episodes equal the in-process ones
// action for action, tokens included.
TEST(ContinueFinalTest, BudgetForcingOverHttpEqualsInProcess) {
  auto srv = PolicyServer::FromSpec("thinker", {});
  ASSERT_TRUE(srv.ok()) << srv.status().ToString();
  ASSERT_TRUE((*srv)->Start().ok());
  OpenAIOptions o;
  o.base_url = (*srv)->base_url();
  o.model = "thinker";
  o.mode = ChatMode::kText;
  o.send_metadata = true;
  o.continue_final = true;
  o.max_retries = 0;
  o.api_key_env = "TOOLGYM_TEST_NO_SUCH_KEY";
  auto remote = OpenAIPolicyFactory(o);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  auto local = PolicyFactoryFromSpec("thinker");
  ASSERT_TRUE(local.ok());
  int compared = 0;
  for (const char* strategy : {"budget:cap=64", "budget:waits=1", "budget:min=150,cap=400"}) {
    auto parsed = ParseStrategy(strategy);
    ASSERT_TRUE(parsed.ok());
    const EpisodeRunner run = MakeStrategyRunner(*parsed);
    for (const char* id : {"search.hop1", "shell.count_matches", "web.info"}) {
      SCOPED_TRACE(std::string(strategy) + " " + id);
      auto env = scenarios::Make(id);
      ASSERT_TRUE(env.ok());
      const std::uint64_t seed =
          scenarios::ScenarioRegistry::Default().Find(id)->test_seeds().begin;
      // No "seed" is sent, so serve-policy's thinker is made with seed 0: so is the local one.
      const EpisodeSpec spec{id, seed, 0, 0, 100};
      auto want = run(**env, *local, spec);
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      auto got = run(**env, *remote, spec);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_TRUE(got->trajectory.error.empty()) << got->trajectory.error;
      ASSERT_EQ(got->trajectory.steps.size(), want->trajectory.steps.size());
      for (std::size_t i = 0; i < got->trajectory.steps.size(); ++i)
        EXPECT_EQ(got->trajectory.steps[i].action, want->trajectory.steps[i].action) << i;
      EXPECT_EQ(got->trajectory.success, want->trajectory.success);
      EXPECT_EQ(got->strategy, want->strategy);
      EXPECT_EQ(got->compute.policy_calls, want->compute.policy_calls);
      EXPECT_EQ(got->compute.completion_tokens, want->compute.completion_tokens);
      ++compared;
    }
  }
  EXPECT_EQ(compared, 9);
  // Without --continue-final the client says what it needs.
  o.continue_final = false;
  auto plain = OpenAIPolicyFactory(o);
  auto p = (*plain)(0);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->can_continue());
  // A raw request that asks to continue a message that is not the assistant's is refused.
  server::Client client({"127.0.0.1", (*srv)->port(), ""});
  const json bad = {{"model", "thinker"},
                    {"continue_final_message", true},
                    {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  auto r = client.Request("POST", "/v1/chat/completions", bad.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->raw.find("the last message must be an assistant message"), std::string::npos)
      << r->raw;
}

TEST(OpenAIOptionsTest, BadOptionsAreNamed) {
  OpenAIOptions o;
  o.model = "m";
  EXPECT_TRUE(o.Validate().ok());
  o.base_url = "ftp://x/v1";
  EXPECT_NE(o.Validate().message().find("must start with http:// or https://"), std::string::npos);
  o.base_url = "http://127.0.0.1:99999/v1";
  EXPECT_NE(o.Validate().message().find("port \"99999\""), std::string::npos);
  o.base_url = "http://127.0.0.1:8000/v1";
  o.temperature = 3;
  EXPECT_NE(o.Validate().message().find("temperature must be in [0, 2], got 3"), std::string::npos);
  o.temperature.reset();
  o.max_concurrency = 0;
  EXPECT_NE(o.Validate().message().find("max_concurrency must be at least 1"), std::string::npos);
  o.max_concurrency = 1;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(o.Validate().message().find("ca_file \"/nonexistent/ca.pem\""), std::string::npos);
  EXPECT_FALSE(OpenAIPolicyFactory(o).ok());
}

// --- A stub server ------------------------------------------------------------------------------

struct StubAnswer {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  double delay_s = 0;
  bool hang = false;  // never answer (until the stub stops)
};

const std::string kOkBody =
    R"({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": )"
    R"("assistant", "content": "done"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": )"
    R"(7, "completion_tokens": 2, "total_tokens": 9}})";

// Answers each request with handler(request number from 0, body) on a thread per connection;
// plain HTTP, or TLS with `tls` (a server context). Counts requests and the most in flight.
class Stub {
 public:
  using Handler = std::function<StubAnswer(int, const std::string&)>;
  explicit Stub(Handler handler, ssl::context* tls = nullptr)
      : handler_(std::move(handler)),
        tls_(tls),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~Stub() {
    stop_ = true;
    {  // wake the blocking accept
      beast::error_code ec;
      tcp::socket s(io_);
      s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)}, ec);
    }
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& s : sockets_) {
        beast::error_code ec;
        s->shutdown(tcp::socket::shutdown_both, ec);
      }
    }
    for (auto& t : threads_) t.join();
  }
  std::string base_url(const char* scheme = "http") const {
    return fmt::format("{}://127.0.0.1:{}/v1", scheme, port_);
  }
  int requests() const { return requests_; }
  int max_in_flight() const { return max_in_flight_; }
  std::vector<double> arrival_s() const {
    std::lock_guard<std::mutex> lock(mu_);
    return arrivals_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      auto socket = std::make_shared<tcp::socket>(io_);
      beast::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stop_) break;
      std::lock_guard<std::mutex> lock(mu_);
      sockets_.push_back(socket);
      threads_.emplace_back([this, socket] {
        if (tls_ == nullptr) {
          Serve(*socket);
          return;
        }
        beast::ssl_stream<tcp::socket&> stream(*socket, *tls_);
        beast::error_code hec;
        stream.handshake(ssl::stream_base::server, hec);
        if (!hec) Serve(stream);
      });
    }
  }

  template <class Stream>
  void Serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(stream, buffer, req, ec);
      if (ec) return;
      const int index = requests_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        arrivals_.push_back(SecondsSince(start_));
      }
      const int now = ++in_flight_;
      for (int m = max_in_flight_; now > m && !max_in_flight_.compare_exchange_weak(m, now);) {
      }
      StubAnswer a = handler_(index, req.body());
      if (a.hang) {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        --in_flight_;
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int>(a.delay_s * 1e6)));
      --in_flight_;
      http::response<http::string_body> res{static_cast<http::status>(a.status), 11};
      res.set(http::field::content_type, "application/json");
      for (const auto& [k, v] : a.headers) res.set(k, v);
      res.body() = a.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec) return;
    }
  }

  Handler handler_;
  ssl::context* tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> threads_;
  std::vector<double> arrivals_;
  Clock::time_point start_ = Clock::now();
  std::atomic<int> requests_{0}, in_flight_{0}, max_in_flight_{0};
};

OpenAIOptions StubOptions(const Stub& stub) {
  OpenAIOptions o;
  o.base_url = stub.base_url();
  o.model = "stub";
  o.timeout_s = 5;
  o.max_retries = 3;
  o.backoff_base_s = 0.01;
  o.backoff_max_s = 0.05;
  return o;
}

const json kRequest = {{"model", "stub"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};

TEST(ChatClientTest, RetriesOn429And5xxHonouringRetryAfter) {
  Stub stub([](int i, const std::string&) {
    if (i == 0)
      return StubAnswer{429, R"({"error": {"message": "slow down"}})", {{"Retry-After", "1"}}};
    if (i == 1) return StubAnswer{500, R"({"error": {"message": "oops"}})"};
    return StubAnswer{200, kOkBody};
  });
  ChatClient client(StubOptions(stub), std::make_shared<ConcurrencyLimiter>(4), "");
  const auto start = Clock::now();
  auto r = client.Complete(kRequest);
  const double took = SecondsSince(start);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->message["content"], "done");
  EXPECT_EQ(r->retries, 2);
  EXPECT_EQ(*r->prompt_tokens, 7);
  EXPECT_EQ(*r->completion_tokens, 2);
  EXPECT_EQ(stub.requests(), 3);
  EXPECT_EQ(client.attempts(), 3);
  // Retry-After: 1 is honoured: the second request came about a second after the first (the
  // backoff alone would be under 0.05 s).
  const auto arrivals = stub.arrival_s();
  ASSERT_EQ(arrivals.size(), 3u);
  EXPECT_GE(arrivals[1] - arrivals[0], 0.9);
  EXPECT_LT(arrivals[1] - arrivals[0], 2.0);
  EXPECT_LT(arrivals[2] - arrivals[1], 0.5);
  EXPECT_LT(took, 3.0);
}

TEST(ChatClientTest, GivesUpAfterMaxRetriesWithTheLastError) {
  Stub stub([](int, const std::string&) {
    return StubAnswer{503, R"({"error": {"message": "overloaded"}})"};
  });
  OpenAIOptions o = StubOptions(stub);
  o.max_retries = 2;
  ChatClient client(o, std::make_shared<ConcurrencyLimiter>(4), "");
  auto r = client.Complete(kRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("after 3 attempts"), std::string::npos);
  EXPECT_NE(r.status().message().find("HTTP 503: overloaded"), std::string::npos);
  EXPECT_EQ(stub.requests(), 3);
}

TEST(ChatClientTest, ClientErrorsAreNotRetriedAndCarryTheServersMessage) {
  Stub stub([](int, const std::string& body) {
    EXPECT_EQ(json::parse(body)["model"], "stub");
    return StubAnswer{400, R"({"error": {"message": "messages[0]: bad thing", "type": "x"}})"};
  });
  ChatClient client(StubOptions(stub), std::make_shared<ConcurrencyLimiter>(4), "");
  auto r = client.Complete(kRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "POST " + stub.base_url() + "/chat/completions: HTTP 400: messages[0]: bad thing");
  EXPECT_EQ(stub.requests(), 1);
}

TEST(ChatClientTest, SendsTheApiKeyFromTheEnvironmentOnly) {
  ::setenv("TOOLGYM_TEST_OPENAI_KEY", "sk-test-123", 1);
  OpenAIOptions o;
  o.api_key_env = "TOOLGYM_TEST_OPENAI_KEY";
  // The key reaches the server: serve-policy with a token accepts only the right one.
  PolicyServerOptions so;
  so.token = "sk-test-123";
  auto srv = PolicyServer::FromSpec("random", so);
  ASSERT_TRUE(srv.ok());
  ASSERT_TRUE((*srv)->Start().ok());
  o.base_url = (*srv)->base_url();
  o.model = "random";
  o.max_retries = 0;
  envs::Task task;
  task.scenario_id = "none";
  std::vector<envs::ToolSpec> tools = {envs::SubmitTool(true)};
  auto good = OpenAIPolicyFactory(o);
  ASSERT_TRUE(good.ok());
  auto p = (*good)(0);
  ASSERT_TRUE((*p)->BeginEpisode(task, tools, 1).ok());
  auto a = (*p)->Act({{"user", "hello", "", ""}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ::setenv("TOOLGYM_TEST_OPENAI_KEY", "sk-wrong", 1);
  auto bad = OpenAIPolicyFactory(o);
  auto q = (*bad)(0);
  ASSERT_TRUE((*q)->BeginEpisode(task, tools, 1).ok());
  auto denied = (*q)->Act({{"user", "hello", "", ""}});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(denied.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(denied.status().message().find("sk-wrong"), std::string::npos);  // never shown
  ::unsetenv("TOOLGYM_TEST_OPENAI_KEY");
}

TEST(ChatClientTest, TimesOutWhenTheServerNeverAnswers) {
  Stub stub([](int, const std::string&) { return StubAnswer{.hang = true}; });
  OpenAIOptions o = StubOptions(stub);
  o.timeout_s = 0.3;
  o.max_retries = 0;
  ChatClient client(o, std::make_shared<ConcurrencyLimiter>(4), "");
  const auto start = Clock::now();
  auto r = client.Complete(kRequest);
  const double took = SecondsSince(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_NE(r.status().message().find("no complete answer within 0.3 s"), std::string::npos);
  EXPECT_GE(took, 0.29);
  EXPECT_LT(took, 1.5);
  // A timeout counts as transient: with one retry the request is sent twice.
  o.max_retries = 1;
  ChatClient again(o, std::make_shared<ConcurrencyLimiter>(4), "");
  EXPECT_EQ(again.Complete(kRequest).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(stub.requests(), 3);
}

TEST(ChatClientTest, ConnectionRefusedIsUnavailable) {
  int port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  OpenAIOptions o;
  o.base_url = fmt::format("http://127.0.0.1:{}/v1", port);
  o.model = "m";
  o.max_retries = 1;
  o.backoff_base_s = 0.01;
  ChatClient client(o, std::make_shared<ConcurrencyLimiter>(1), "");
  auto r = client.Complete(kRequest);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect to 127.0.0.1"), std::string::npos);
  EXPECT_EQ(client.attempts(), 2);
}

TEST(ChatClientTest, PoliciesOfOneFactoryShareTheConcurrencyLimit) {
  Stub stub([](int, const std::string&) { return StubAnswer{200, kOkBody, {}, 0.05}; });
  OpenAIOptions o = StubOptions(stub);
  o.max_concurrency = 2;
  o.mode = ChatMode::kText;
  auto factory = OpenAIPolicyFactory(o);
  ASSERT_TRUE(factory.ok());
  envs::Task task;
  task.scenario_id = "stub";
  constexpr int kPolicies = 6, kCalls = 4;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kPolicies; ++i)
    threads.emplace_back([&] {
      auto p = (*factory)(0);
      if (!p.ok() || !(*p)->BeginEpisode(task, {}, 0).ok()) return;
      for (int k = 0; k < kCalls; ++k) {
        auto a = (*p)->Act({{"user", "go", "", ""}});
        if (a.ok() && *a == "done") ++ok;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kPolicies * kCalls);
  EXPECT_EQ(stub.requests(), kPolicies * kCalls);
  EXPECT_EQ(stub.max_in_flight(), 2);  // never more than the limit, and the limit was reached
  // A factory per limit: another factory's policies are not held back by this one's.
}

// --- TLS -----------------------------------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("toolgym_tls_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A self-signed certificate for `san` made with the openssl CLI; its key beside it.
  void MakeCert(const std::string& name, const std::string& san) {
    const std::string cmd = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=toolgym-test "
        "-addext subjectAltName={} -keyout {}/{}.key -out {}/{}.pem 2>/dev/null",
        san, dir_.string(), name, dir_.string(), name);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::unique_ptr<ssl::context> ServerContext(const std::string& name) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file((dir_ / (name + ".pem")).string());
    ctx->use_private_key_file((dir_ / (name + ".key")).string(), ssl::context::pem);
    return ctx;
  }
  fs::path dir_;
};

TEST_F(TlsTest, HttpsWithTheCaFileAndRejectedWithoutIt) {
  MakeCert("good", "IP:127.0.0.1,DNS:localhost");
  auto ctx = ServerContext("good");
  Stub stub([](int, const std::string&) { return StubAnswer{200, kOkBody}; }, ctx.get());
  OpenAIOptions o = StubOptions(stub);
  o.base_url = stub.base_url("https");
  o.ca_file = (dir_ / "good.pem").string();
  ChatClient trusted(o, std::make_shared<ConcurrencyLimiter>(1), "");
  for (int i = 0; i < 3; ++i) {  // the second and third reuse the connection
    auto r = trusted.Complete(kRequest);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->message["content"], "done");
  }
  EXPECT_EQ(stub.requests(), 3);
  // By name, too: SNI and the certificate's DNS name.
  o.base_url = "https://localhost:" + stub.base_url().substr(stub.base_url().rfind(':') + 1);
  ChatClient by_name(o, std::make_shared<ConcurrencyLimiter>(1), "");
  EXPECT_TRUE(by_name.Complete(kRequest).ok());

  o.ca_file.clear();
  o.base_url = stub.base_url("https");
  ChatClient untrusted(o, std::make_shared<ConcurrencyLimiter>(1), "");
  auto r = untrusted.Complete(kRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("failed verification: self-signed certificate"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(untrusted.attempts(), 1);  // a verification failure is not retried
  EXPECT_EQ(stub.requests(), 4);
}

TEST_F(TlsTest, TheCertificateMustNameTheHost) {
  MakeCert("other", "DNS:other.example");  // trusted, but for another name
  auto ctx = ServerContext("other");
  Stub stub([](int, const std::string&) { return StubAnswer{200, kOkBody}; }, ctx.get());
  OpenAIOptions o = StubOptions(stub);
  o.base_url = stub.base_url("https");
  o.ca_file = (dir_ / "other.pem").string();
  ChatClient client(o, std::make_shared<ConcurrencyLimiter>(1), "");
  auto r = client.Complete(kRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("mismatch"), std::string::npos) << r.status().message();
  EXPECT_EQ(stub.requests(), 0);
}

}  // namespace
}  // namespace toolgym::agent
