#include "server/client.h"

#include <fmt/format.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>

namespace toolgym::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

struct Client::Conn {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), conn_(std::make_unique<Conn>()) {}
Client::~Client() {
  if (conn_->stream) {
    beast::error_code ec;
    conn_->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
  }
}

StatusOr<HttpResponse> Client::Request(const std::string& method, const std::string& target,
                                       const std::string& body) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, fmt::format("{}:{}", options_.host, options_.port));
  req.set(http::field::user_agent, "toolgym-client");
  if (!options_.token.empty()) req.set(http::field::authorization, "Bearer " + options_.token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(true);
  req.prepare_payload();
  // A reused connection the server has closed in the meantime fails on first use: retry once on
  // a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !conn_->stream.has_value();
    beast::error_code ec;
    if (fresh) {
      conn_->stream.emplace(conn_->io);
      conn_->buffer.clear();
      tcp::endpoint ep(asio::ip::make_address(options_.host, ec),
                       static_cast<unsigned short>(options_.port));
      if (ec) return InvalidArgumentError("bad host '{}': {}", options_.host, ec.message());
      conn_->stream->socket().connect(ep, ec);
      if (ec) {
        conn_->stream.reset();
        return UnavailableError("cannot connect to {}:{}: {}", options_.host, options_.port,
                                ec.message());
      }
    }
    http::write(conn_->stream->socket(), req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 << 20);
    if (!ec) http::read(conn_->stream->socket(), conn_->buffer, parser, ec);
    if (ec) {
      conn_->stream.reset();
      if (!fresh) continue;
      return UnavailableError("{} {}: {}", method, target, ec.message());
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.raw = res.body();
    out.body = json::parse(out.raw, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    if (!res.keep_alive()) conn_->stream.reset();
    return out;
  }
  return UnavailableError("{} {}: the connection failed twice", method, target);
}

Status StatusFromResponse(const HttpResponse& r) {
  if (r.status >= 200 && r.status < 300) return OkStatus();
  std::string code = "internal", message = r.raw.substr(0, 500);
  if (r.body.is_object() && r.body.contains("error") && r.body["error"].is_object()) {
    code = r.body["error"].value("code", code);
    message = r.body["error"].value("message", message);
    if (r.body["error"].contains("path"))
      message += fmt::format(" (at {})", r.body["error"]["path"].get<std::string>());
  }
  const std::string text = fmt::format("HTTP {} {}: {}", r.status, code, message);
  StatusCode sc = StatusCode::kInternal;
  if (code == "not_found") sc = StatusCode::kNotFound;
  if (code == "bad_request" || code == "payload_too_large") sc = StatusCode::kInvalidArgument;
  if (code == "too_many_sessions") sc = StatusCode::kResourceExhausted;
  if (code == "conflict") sc = StatusCode::kFailedPrecondition;
  if (code == "unauthorized" || code == "unavailable") sc = StatusCode::kUnavailable;
  return Status(sc, text);
}

StatusOr<json> Client::Call(const std::string& method, const std::string& target, const json* body,
                            int want_status) {
  TG_ASSIGN_OR_RETURN(HttpResponse r, Request(method, target, body ? body->dump() : ""));
  if (r.status != want_status) {
    Status s = StatusFromResponse(r);
    if (s.ok())
      s = InternalError("{} {}: expected HTTP {}, got {}", method, target, want_status, r.status);
    return s;
  }
  return r.body;
}

StatusOr<json> Client::Health() { return Call("GET", "/health", nullptr, 200); }
StatusOr<json> Client::Metrics() { return Call("GET", "/metrics", nullptr, 200); }
StatusOr<json> Client::Scenarios() {
  TG_ASSIGN_OR_RETURN(json j, Call("GET", "/scenarios", nullptr, 200));
  return j["scenarios"];
}

StatusOr<json> Client::CreateSession(const std::string& scenario, std::optional<std::uint64_t> seed,
                                     const json& options) {
  json body = {{"scenario", scenario}};
  if (seed) body["seed"] = *seed;
  if (!options.is_null()) body["options"] = options;
  return Call("POST", "/sessions", &body, 201);
}

StatusOr<json> Client::Reset(const std::string& session_id, std::optional<std::uint64_t> seed,
                             const json& options) {
  json body = json::object();
  if (seed) body["seed"] = *seed;
  if (!options.is_null()) body["options"] = options;
  return Call("POST", "/sessions/" + session_id + "/reset", &body, 200);
}

StatusOr<json> Client::Step(const std::string& session_id, const std::string& action) {
  json body = {{"action", action}};
  return Call("POST", "/sessions/" + session_id + "/step", &body, 200);
}

StatusOr<json> Client::Fork(const std::string& session_id) {
  return Call("POST", "/sessions/" + session_id + "/fork", nullptr, 201);
}

StatusOr<json> Client::Tools(const std::string& session_id) {
  TG_ASSIGN_OR_RETURN(json j, Call("GET", "/sessions/" + session_id + "/tools", nullptr, 200));
  return j["tools"];
}

Status Client::Close(const std::string& session_id) {
  return Call("DELETE", "/sessions/" + session_id, nullptr, 200).status();
}

StatusOr<json> Client::StepBatch(const std::vector<std::pair<std::string, std::string>>& steps) {
  json body = {{"steps", json::array()}};
  for (const auto& [id, action] : steps)
    body["steps"].push_back({{"session_id", id}, {"action", action}});
  TG_ASSIGN_OR_RETURN(json j, Call("POST", "/step", &body, 200));
  return j["results"];
}

}  // namespace toolgym::server
