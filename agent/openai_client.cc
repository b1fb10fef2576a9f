#include "agent/openai_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "common/hash.h"

namespace toolgym::agent {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// base_url split into what a connection and a request target need.
struct Url {
  bool https = false;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string path;  // without a trailing slash: "/v1"
};

StatusOr<Url> ParseUrl(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.https = true;
    rest = url.substr(8);
  } else {
    return InvalidArgumentError(
        "base_url \"{}\" must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)",
        url.substr(0, 200));
  }
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  if (authority.find('@') != std::string::npos)
    return InvalidArgumentError(
        "base_url \"{}\" must not carry credentials; the API key comes from the environment",
        url.substr(0, 8));
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos)
      return InvalidArgumentError("base_url \"{}\": unclosed '[' in the host", url.substr(0, 200));
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      u.port = authority.substr(close + 2);
  } else {
    const std::size_t colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty())
    return InvalidArgumentError("base_url \"{}\" has no host", url.substr(0, 200));
  if (u.port.empty()) u.port = u.https ? "443" : "80";
  if (u.port.find_first_not_of("0123456789") != std::string::npos || u.port.size() > 5 ||
      std::stoi(u.port) < 1 || std::stoi(u.port) > 65535)
    return InvalidArgumentError("base_url \"{}\": port \"{}\" is not in 1..65535",
                                url.substr(0, 200), u.port);
  return u;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The text of a message's content: a string, null, or a list of {"type": "text", "text"} parts.
std::string ContentText(const json& message) {
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  std::string out;
  if (it->is_array())
    for (const json& part : *it)
      if (part.is_object() && part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
  return out;
}

// Retry-After (seconds) or retry-after-ms, as a wait; nullopt when absent or unreadable.
std::optional<double> RetryAfter(const http::response<http::string_body>& res) {
  try {
    if (auto it = res.find("retry-after-ms"); it != res.end())
      return std::stod(std::string(it->value())) / 1000.0;
    if (auto it = res.find(http::field::retry_after); it != res.end())
      return std::stod(std::string(it->value()));
  } catch (const std::exception&) {
    // An HTTP date or garbage: fall back to the backoff.
  }
  return std::nullopt;
}

}  // namespace

const char* ChatModeName(ChatMode m) { return m == ChatMode::kTools ? "tools" : "text"; }

StatusOr<ChatMode> ParseChatMode(const std::string& name) {
  if (name == "tools") return ChatMode::kTools;
  if (name == "text") return ChatMode::kText;
  return InvalidArgumentError("unknown chat mode \"{}\"; expected tools or text",
                              name.substr(0, 100));
}

nlohmann::json ToJson(const OpenAIOptions& o) {
  nlohmann::json j = {{"base_url", o.base_url},           {"model", o.model},
                      {"mode", ChatModeName(o.mode)},     {"stop", o.stop},
                      {"send_metadata", o.send_metadata}, {"continue_final", o.continue_final}};
  j["temperature"] = o.temperature ? nlohmann::json(*o.temperature) : nlohmann::json();
  j["top_p"] = o.top_p ? nlohmann::json(*o.top_p) : nlohmann::json();
  j["max_tokens"] = o.max_tokens ? nlohmann::json(*o.max_tokens) : nlohmann::json();
  j["seed"] = o.seed ? nlohmann::json(*o.seed) : nlohmann::json();
  return j;
}

Status OpenAIOptions::Validate() const {
  TG_RETURN_IF_ERROR(ParseUrl(base_url).status());
  if (model.empty()) return InvalidArgumentError("model must be set (the server's model id)");
  if (temperature && (*temperature < 0 || *temperature > 2))
    return InvalidArgumentError("temperature must be in [0, 2], got {}", *temperature);
  if (top_p && (*top_p <= 0 || *top_p > 1))
    return InvalidArgumentError("top_p must be in (0, 1], got {}", *top_p);
  if (max_tokens && *max_tokens < 1)
    return InvalidArgumentError("max_tokens must be at least 1, got {}", *max_tokens);
  if (!(timeout_s > 0)) return InvalidArgumentError("timeout_s must be > 0, got {}", timeout_s);
  if (max_retries < 0 || max_retries > 100)
    return InvalidArgumentError("max_retries must be in 0..100, got {}", max_retries);
  if (backoff_base_s < 0 || backoff_max_s < backoff_base_s)
    return InvalidArgumentError(
        "backoff must satisfy 0 <= backoff_base_s <= backoff_max_s, got base {} and max {}",
        backoff_base_s, backoff_max_s);
  if (max_concurrency < 1)
    return InvalidArgumentError("max_concurrency must be at least 1, got {}", max_concurrency);
  if (!ca_file.empty() && !std::filesystem::is_regular_file(ca_file))
    return InvalidArgumentError("ca_file \"{}\" is not a readable file (expected a PEM bundle)",
                                ca_file);
  return OkStatus();
}

// --- ConcurrencyLimiter --------------------------------------------------------------------------

struct ConcurrencyLimiter::State {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
};

ConcurrencyLimiter::ConcurrencyLimiter(int limit)
    : limit_(std::max(1, limit)), state_(std::make_shared<State>()) {}

void ConcurrencyLimiter::Acquire() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [this] { return state_->in_flight < limit_; });
  ++state_->in_flight;
}

void ConcurrencyLimiter::Release() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    --state_->in_flight;
  }
  state_->cv.notify_one();
}

// --- ChatClient ----------------------------------------------------------------------------------

struct ChatClient::Conn {
  asio::io_context io;
  ssl::context tls_context{ssl::context::tls_client};
  Url url;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  bool open() const { return plain.has_value() || tls.has_value(); }
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
  void Drop() {
    beast::error_code ec;
    if (open()) lowest().socket().close(ec);
    plain.reset();
    tls.reset();
    buffer.clear();
  }

  // Runs one asynchronous operation started by `start(handler)` until it completes or
  // `deadline` passes; then `cancel` aborts it and the timeout is the result.
  template <class Start, class Cancel>
  beast::error_code Await(Clock::time_point deadline, Start start, Cancel cancel) {
    bool done = false;
    beast::error_code result;
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    io.restart();
    io.run_until(deadline);
    if (!done) {
      cancel();
      io.restart();
      io.run();  // the aborted operation's handler
      return beast::error::timeout;
    }
    return result;
  }
};

ChatClient::ChatClient(OpenAIOptions options, std::shared_ptr<ConcurrencyLimiter> limiter,
                       std::string api_key)
    : options_(std::move(options)),
      limiter_(std::move(limiter)),
      api_key_(std::move(api_key)),
      conn_(std::make_unique<Conn>()) {
  conn_->url = ParseUrl(options_.base_url).value();
  conn_->tls_context.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  conn_->tls_context.set_default_verify_paths(ec);
  if (!options_.ca_file.empty()) conn_->tls_context.load_verify_file(options_.ca_file, ec);
  // Errors here surface at the handshake as verification failures naming the server.
}

ChatClient::~ChatClient() { conn_->Drop(); }

namespace {

// The outcome of one attempt: a response, or a transport error (with its kind).
struct Attempt {
  std::optional<http::response<http::string_body>> response;
  Status error;             // transport errors (timeout: DeadlineExceeded; others: Unavailable)
  bool tls_verify = false;  // the error was a certificate verification failure: not retried
};

}  // namespace

StatusOr<ChatResponse> ChatClient::Complete(const json& request) {
  const Url& url = conn_->url;
  const std::string target = url.path + "/chat/completions";
  const std::string where = fmt::format("POST {}/chat/completions", options_.base_url);
  http::request<http::string_body> req{http::verb::post, target, 11};
  const bool default_port = url.port == (url.https ? "443" : "80");
  const std::string host_header =
      (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) +
      (default_port ? "" : ":" + url.port);
  req.set(http::field::host, host_header);
  req.set(http::field::user_agent, "toolgym-openai-client");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json");
  if (!api_key_.empty()) req.set(http::field::authorization, "Bearer " + api_key_);
  req.body() = request.dump(-1, ' ', false, json::error_handler_t::replace);
  req.keep_alive(true);
  req.prepare_payload();

  // One attempt on the open connection (or a new one). A reused connection that the server closed
  // meanwhile fails before any answer: that is retried once at once on a fresh connection.
  auto attempt_once = [&]() -> Attempt {
    Conn& c = *conn_;
    for (int round = 0; round < 2; ++round) {
      const auto deadline = Clock::now() + std::chrono::microseconds(
                                               static_cast<std::int64_t>(options_.timeout_s * 1e6));
      const bool fresh = !c.open();
      beast::error_code ec;
      if (fresh) {
        tcp::resolver resolver(c.io);
        tcp::resolver::results_type endpoints;
        ec = c.Await(
            deadline,
            [&](auto handler) {
              resolver.async_resolve(url.host, url.port,
                                     [&endpoints, handler](beast::error_code e,
                                                           tcp::resolver::results_type r) mutable {
                                       endpoints = std::move(r);
                                       handler(e);
                                     });
            },
            [&] { resolver.cancel(); });
        if (ec == beast::error::timeout)
          return {std::nullopt, Status(StatusCode::kDeadlineExceeded,
                                       fmt::format("{}: resolving {} timed out after {} s", where,
                                                   url.host, options_.timeout_s))};
        if (ec)
          return {std::nullopt,
                  UnavailableError("{}: cannot resolve {}: {}", where, url.host, ec.message())};
        if (url.https) {
          c.tls.emplace(c.io, c.tls_context);
        } else {
          c.plain.emplace(c.io);
        }
        c.buffer.clear();
        ec = c.Await(
            deadline,
            [&](auto handler) {
              c.lowest().async_connect(
                  endpoints,
                  [handler](beast::error_code e, const tcp::endpoint&) mutable { handler(e); });
            },
            [&] { c.Drop(); });
        if (ec) {
          c.Drop();
          if (ec == beast::error::timeout)
            return {std::nullopt, Status(StatusCode::kDeadlineExceeded,
                                         fmt::format("{}: connecting timed out after {} s", where,
                                                     options_.timeout_s))};
          return {std::nullopt, UnavailableError("{}: cannot connect to {}:{}: {}", where, url.host,
                                                 url.port, ec.message())};
        }
        if (url.https) {
          SSL* ssl_handle = c.tls->native_handle();
          if (IsIpAddress(url.host)) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url.host.c_str());
          } else {
            // SNI, and the certificate must name this host.
            SSL_set_tlsext_host_name(ssl_handle, url.host.c_str());
            SSL_set1_host(ssl_handle, url.host.c_str());
          }
          ec = c.Await(
              deadline,
              [&](auto handler) {
                c.tls->async_handshake(ssl::stream_base::client,
                                       [handler](beast::error_code e) mutable { handler(e); });
              },
              [&] { c.lowest().socket().close(); });
          if (ec) {
            const long verify = SSL_get_verify_result(ssl_handle);
            c.Drop();
            if (ec == beast::error::timeout)
              return {std::nullopt, Status(StatusCode::kDeadlineExceeded,
                                           fmt::format("{}: the TLS handshake timed out after {} s",
                                                       where, options_.timeout_s))};
            if (verify != X509_V_OK)
              return {std::nullopt,
                      FailedPreconditionError(
                          "{}: the server's certificate failed verification: {} (trusted: the "
                          "system's CA store{})",
                          where, X509_verify_cert_error_string(verify),
                          options_.ca_file.empty() ? "" : " and " + options_.ca_file),
                      true};
            return {std::nullopt,
                    UnavailableError("{}: TLS handshake failed: {}", where, ec.message())};
          }
        }
      }
      c.lowest().expires_never();
      ec = c.Await(
          deadline,
          [&](auto handler) {
            if (c.tls)
              http::async_write(*c.tls, req, handler);
            else
              http::async_write(*c.plain, req, handler);
          },
          [&] { c.lowest().socket().close(); });
      http::response_parser<http::string_body> parser;
      parser.body_limit(options_.max_response_bytes);
      if (!ec)
        ec = c.Await(
            deadline,
            [&](auto handler) {
              if (c.tls)
                http::async_read(*c.tls, c.buffer, parser, handler);
              else
                http::async_read(*c.plain, c.buffer, parser, handler);
            },
            [&] { c.lowest().socket().close(); });
      if (ec) {
        const bool got_nothing = !parser.got_some();
        c.Drop();
        if (ec == beast::error::timeout)
          return {std::nullopt, Status(StatusCode::kDeadlineExceeded,
                                       fmt::format("{}: no complete answer within {} s", where,
                                                   options_.timeout_s))};
        if (!fresh && got_nothing && ec != http::error::body_limit) continue;
        if (ec == http::error::body_limit)
          return {std::nullopt, InvalidArgumentError("{}: the answer is larger than {} bytes",
                                                     where, options_.max_response_bytes)};
        return {std::nullopt, UnavailableError("{}: {}", where, ec.message())};
      }
      auto res = parser.release();
      if (!res.keep_alive()) c.Drop();
      return {std::move(res), OkStatus()};
    }
    return {std::nullopt, UnavailableError("{}: the connection failed twice", where)};
  };

  thread_local std::mt19937_64 jitter_rng{std::random_device{}()};
  ChatResponse out;
  for (int attempt = 0;; ++attempt) {
    ++attempts_;
    limiter_->Acquire();
    Attempt a = attempt_once();
    limiter_->Release();
    Status error;
    std::optional<double> retry_after;
    bool transient = false;
    if (!a.response) {
      error = a.error;
      transient = !a.tls_verify && error.code() != StatusCode::kInvalidArgument;
    } else {
      const auto& res = *a.response;
      const int status = static_cast<int>(res.result_int());
      if (status >= 200 && status < 300) {
        json body = json::parse(res.body(), nullptr, false);
        if (body.is_discarded() || !body.is_object())
          return InternalError("{}: the answer (HTTP {}) is not a JSON object: {}", where, status,
                               res.body().substr(0, 300));
        if (!body.contains("choices") || !body["choices"].is_array() || body["choices"].empty() ||
            !body["choices"][0].is_object() || !body["choices"][0].contains("message") ||
            !body["choices"][0]["message"].is_object())
          return InternalError("{}: the answer has no choices[0].message: {}", where,
                               res.body().substr(0, 300));
        out.message = body["choices"][0]["message"];
        const json& fr = body["choices"][0].value("finish_reason", json());
        out.finish_reason = fr.is_string() ? fr.get<std::string>() : "";
        if (body.contains("usage") && body["usage"].is_object()) {
          const json& u = body["usage"];
          if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer())
            out.prompt_tokens = u["prompt_tokens"].get<std::int64_t>();
          if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
            out.completion_tokens = u["completion_tokens"].get<std::int64_t>();
        }
        out.retries = attempt;
        return out;
      }
      // The server's own words: {"error": {"message"}} (OpenAI, vLLM), {"error": "..."}, or text.
      std::string message = res.body().substr(0, 500);
      json body = json::parse(res.body(), nullptr, false);
      if (body.is_object() && body.contains("error")) {
        const json& e = body["error"];
        if (e.is_string()) message = e.get<std::string>();
        if (e.is_object() && e.contains("message") && e["message"].is_string())
          message = e["message"].get<std::string>();
      } else if (body.is_object() && body.contains("message") && body["message"].is_string()) {
        message = body["message"].get<std::string>();
      }
      const std::string text = fmt::format("{}: HTTP {}: {}", where, status, message);
      transient = status == 429 || status >= 500;
      StatusCode code = StatusCode::kInternal;
      if (status == 400 || status == 413 || status == 422) code = StatusCode::kInvalidArgument;
      if (status == 401 || status == 403) code = StatusCode::kFailedPrecondition;
      if (status == 404) code = StatusCode::kNotFound;
      if (status == 429) code = StatusCode::kResourceExhausted;
      if (status >= 500) code = StatusCode::kUnavailable;
      error = Status(code, text);
      retry_after = RetryAfter(res);
    }
    if (!transient || attempt >= options_.max_retries) {
      if (attempt > 0) return error.WithContext(fmt::format("after {} attempts", attempt + 1));
      return error;
    }
    double wait =
        std::min(options_.backoff_max_s, options_.backoff_base_s * std::ldexp(1.0, attempt));
    wait *= std::uniform_real_distribution<double>(0.5, 1.0)(jitter_rng);
    // The server knows best when it can take the request again (capped at 10 minutes).
    if (retry_after) wait = std::clamp(*retry_after, 0.0, 600.0);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(wait * 1e6)));
  }
}

// --- Messages ------------------------------------------------------------------------------------

json ToOpenAIMessages(const std::vector<envs::Message>& conversation, ChatMode mode,
                      const envs::ActionParser& parser) {
  json out = json::array();
  if (mode == ChatMode::kText) {
    // Each step's observation becomes one user message in the env's own text rendering
    // (Observation::Text: "[tool NAME]" and "[user]" headers), so that user and assistant turns
    // alternate, as many chat templates require.
    envs::Observation block;
    auto flush = [&] {
      if (block.messages.empty()) return;
      out.push_back({{"role", "user"}, {"content", block.Text()}});
      block.messages.clear();
    };
    bool after_assistant = false;
    for (const envs::Message& m : conversation) {
      if (m.role == "assistant") {
        flush();
        out.push_back({{"role", "assistant"}, {"content", m.content}});
        after_assistant = true;
      } else if (m.role == "system" && !after_assistant) {
        out.push_back({{"role", "system"}, {"content", m.content}});
      } else {
        block.messages.push_back(m);
      }
    }
    flush();
    return out;
  }
  int calls_so_far = 0;  // the env numbers calls over the episode (ParsedAction ids)
  for (std::size_t i = 0; i < conversation.size(); ++i) {
    const envs::Message& m = conversation[i];
    if (m.role != "assistant") {
      json msg = {{"role", m.role}, {"content", m.content}};
      if (m.role == "tool") {
        // A tool result not matched to a call of the message before it (cannot happen with an
        // env's conversation): as text, which every server accepts.
        msg = {{"role", "user"}, {"content", fmt::format("[tool {}]\n{}", m.name, m.content)}};
      }
      out.push_back(std::move(msg));
      continue;
    }
    // The step's observation: the messages up to the next assistant message. Tool results go
    // first: the protocol wants them right after the assistant message that called them.
    std::size_t end = i + 1;
    while (end < conversation.size() && conversation[end].role != "assistant") ++end;
    std::vector<const envs::Message*> results, others;
    for (std::size_t k = i + 1; k < end; ++k)
      (conversation[k].role == "tool" ? results : others).push_back(&conversation[k]);
    const envs::ParsedAction parsed = parser.Parse(m.content, calls_so_far);
    calls_so_far += static_cast<int>(parsed.calls.size());
    json msg = {{"role", "assistant"}};
    if (parsed.calls.empty()) {
      msg["content"] = m.content;  // what the model wrote, malformed or not
    } else {
      // The env runs the calls in order up to a submit: the results are a prefix of the calls.
      std::string text = parsed.content;
      if (parsed.think)
        text = "<think>" + *parsed.think + "</think>" + (text.empty() ? "" : "\n") + text;
      if (parsed.answer)
        text += (text.empty() ? "" : "\n") + ("<answer>" + *parsed.answer + "</answer>");
      msg["content"] = text.empty() ? json(nullptr) : json(text);
      json calls = json::array();
      const std::size_t n = results.empty() && end == conversation.size()
                                ? parsed.calls.size()
                                : std::min(parsed.calls.size(), results.size());
      for (std::size_t k = 0; k < n; ++k) {
        const envs::ToolCall& call = parsed.calls[k];
        calls.push_back(
            {{"id", k < results.size() ? results[k]->tool_call_id : call.id},
             {"type", "function"},
             {"function", {{"name", call.name}, {"arguments", call.arguments.dump()}}}});
      }
      if (!calls.empty()) msg["tool_calls"] = std::move(calls);
      if (calls.empty() && msg["content"].is_null()) msg["content"] = m.content;
    }
    const std::size_t n_matched = msg.contains("tool_calls") ? msg["tool_calls"].size() : 0;
    out.push_back(std::move(msg));
    for (std::size_t k = 0; k < results.size(); ++k) {
      const envs::Message& r = *results[k];
      if (k < n_matched)
        out.push_back({{"role", "tool"}, {"tool_call_id", r.tool_call_id}, {"content", r.content}});
      else
        out.push_back(
            {{"role", "user"}, {"content", fmt::format("[tool {}]\n{}", r.name, r.content)}});
    }
    for (const envs::Message* o : others)
      out.push_back({{"role", o->role}, {"content", o->content}});
    i = end - 1;
  }
  return out;
}

std::string ActionFromMessage(const json& message, ChatMode mode, envs::ActionFormat format,
                              const std::vector<envs::ToolSpec>& tools) {
  const std::string content = ContentText(message);
  if (mode == ChatMode::kText) return content;
  const json* tool_calls = nullptr;
  if (auto it = message.find("tool_calls"); it != message.end() && it->is_array() && !it->empty())
    tool_calls = &*it;
  if (tool_calls == nullptr) return content;
  if (format == envs::ActionFormat::kOpenAI || format == envs::ActionFormat::kAuto) {
    json m = {{"role", "assistant"},
              {"content", message.value("content", json())},
              {"tool_calls", *tool_calls}};
    return m.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::vector<envs::ToolCall> calls;
  std::string raw;  // calls whose arguments are not a JSON object, as the model wrote them
  for (const json& tc : *tool_calls) {
    const json fn = tc.is_object() ? tc.value("function", json::object()) : json::object();
    const std::string name = fn.is_object() ? fn.value("name", std::string()) : std::string();
    const json args_in = fn.is_object() ? fn.value("arguments", json("")) : json("");
    json args = args_in;
    if (args_in.is_string())
      args = args_in.get<std::string>().empty()
                 ? json::object()
                 : json::parse(args_in.get<std::string>(), nullptr, false);
    if (args.is_object()) {
      envs::ToolCall call;
      call.id = tc.is_object() ? tc.value("id", std::string()) : std::string();
      call.name = name;
      call.arguments = std::move(args);
      calls.push_back(std::move(call));
      continue;
    }
    const std::string text = args_in.is_string() ? args_in.get<std::string>() : args_in.dump();
    raw += format == envs::ActionFormat::kCompact
               ? fmt::format("\n{}[{}]", name, text)
               : fmt::format("\n<tool_call>{{\"name\": {}, \"arguments\": {}}}</tool_call>",
                             json(name).dump(), text);
  }
  std::string action = content;
  if (!calls.empty()) {
    if (!action.empty()) action += "\n";
    action += envs::RenderAction(format, calls, std::nullopt, std::nullopt, tools);
  }
  action += raw;
  return action;
}

// --- OpenAIPolicy --------------------------------------------------------------------------------

OpenAIPolicy::OpenAIPolicy(OpenAIOptions options, std::shared_ptr<ConcurrencyLimiter> limiter,
                           std::string api_key)
    : options_(options), client_(std::move(options), std::move(limiter), std::move(api_key)) {}

Status OpenAIPolicy::BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                                  std::uint64_t seed) {
  task_ = &task;
  tools_ = tools;
  parser_.emplace(task.action_format, tools);
  episode_seed_ = seed;
  usage_ = {};
  return OkStatus();
}

json OpenAIPolicy::BuildRequest(const std::vector<envs::Message>& conversation) const {
  json req = {{"model", options_.model},
              {"messages", ToOpenAIMessages(conversation, options_.mode, *parser_)}};
  if (options_.temperature) req["temperature"] = *options_.temperature;
  if (options_.top_p) req["top_p"] = *options_.top_p;
  if (options_.max_tokens) req["max_tokens"] = *options_.max_tokens;
  if (!options_.stop.empty()) req["stop"] = options_.stop;
  // 31 bits: some servers read the seed as a signed 32-bit integer.
  if (options_.seed)
    req["seed"] = static_cast<std::int64_t>(SplitMix64(*options_.seed ^ SplitMix64(episode_seed_)) &
                                            0x7fffffff);
  if (options_.mode == ChatMode::kTools && !tools_.empty()) {
    json tools = json::array();
    for (const envs::ToolSpec& t : tools_) tools.push_back(t.OpenAIFunction());
    req["tools"] = std::move(tools);
  }
  if (options_.send_metadata && task_ != nullptr)
    req["metadata"] = {{"toolgym_scenario", task_->scenario_id},
                       {"toolgym_seed", std::to_string(task_->seed)},
                       {"toolgym_action_format", envs::ActionFormatName(task_->action_format)}};
  return req;
}

StatusOr<ChatResponse> OpenAIPolicy::Send(const json& req) {
  const auto start = Clock::now();
  const std::int64_t attempts_before = client_.attempts();
  auto response = client_.Complete(req);
  ++usage_.calls;
  usage_.retries += std::max<std::int64_t>(0, client_.attempts() - attempts_before - 1);
  usage_.wall_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!response.ok()) return response.status();
  if (response->prompt_tokens || response->completion_tokens) {
    usage_.tokens_reported = true;
    usage_.prompt_tokens += response->prompt_tokens.value_or(0);
    usage_.completion_tokens += response->completion_tokens.value_or(0);
  }
  return response;
}

StatusOr<std::string> OpenAIPolicy::Act(const std::vector<envs::Message>& conversation) {
  if (task_ == nullptr) return FailedPreconditionError("openai: BeginEpisode was not called");
  TG_ASSIGN_OR_RETURN(ChatResponse response, Send(BuildRequest(conversation)));
  return ActionFromMessage(response.message, options_.mode, task_->action_format, tools_);
}

StatusOr<Completion> OpenAIPolicy::Continue(const std::vector<envs::Message>& conversation,
                                            const CompletionRequest& request) {
  if (task_ == nullptr) return FailedPreconditionError("openai: BeginEpisode was not called");
  if (!can_continue())
    return FailedPreconditionError(
        "openai:{} cannot continue a partial message: it needs --continue-final (a server that "
        "honours continue_final_message, as vLLM and toolgym serve-policy do) and --chat-mode "
        "text",
        options_.model);
  json req = BuildRequest(conversation);
  if (!request.prefix.empty()) {
    req["messages"].push_back({{"role", "assistant"}, {"content", request.prefix}});
    req["continue_final_message"] = true;
    req["add_generation_prompt"] = false;
  }
  if (request.max_tokens > 0)
    req["max_tokens"] = options_.max_tokens
                            ? std::min<std::int64_t>(request.max_tokens, *options_.max_tokens)
                            : request.max_tokens;
  if (!request.stop.empty()) {
    json stop = json::array();
    for (const std::string& s : options_.stop) stop.push_back(s);
    for (const std::string& s : request.stop) stop.push_back(s);
    req["stop"] = std::move(stop);
  }
  TG_ASSIGN_OR_RETURN(ChatResponse response, Send(req));
  Completion out;
  out.text = ContentText(response.message);
  out.finish_reason = response.finish_reason == "length" ? "length" : "stop";
  out.tokens_reported = response.completion_tokens.has_value();
  out.tokens = response.completion_tokens.value_or(0);
  return out;
}

StatusOr<PolicyFactory> OpenAIPolicyFactory(OpenAIOptions options) {
  TG_RETURN_IF_ERROR(options.Validate());
  const char* key =
      options.api_key_env.empty() ? nullptr : std::getenv(options.api_key_env.c_str());
  auto limiter = std::make_shared<ConcurrencyLimiter>(options.max_concurrency);
  return PolicyFactory(
      [options = std::move(options), limiter,
       api_key = std::string(key ? key : "")](std::uint64_t) -> StatusOr<std::unique_ptr<Policy>> {
        return std::unique_ptr<Policy>(new OpenAIPolicy(options, limiter, api_key));
      });
}

}  // namespace toolgym::agent
