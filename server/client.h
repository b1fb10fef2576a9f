// A small synchronous client of the HTTP environment server (server.h), over one keep-alive
// connection that is reopened when the server closed it. Used by the tests and by drivers that
// run envs in another process.
//
// Thread-safety: a Client is used by one thread at a time; use one client per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace toolgym::server {

struct ClientOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;  // sent as "Authorization: Bearer T" when set
};

// An answer as it came: HTTP status and the JSON body (null when the body was not JSON).
struct HttpResponse {
  int status = 0;
  nlohmann::json body;
  std::string raw;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Any request; `body` is sent as is (empty: none). Fails only on transport errors.
  StatusOr<HttpResponse> Request(const std::string& method, const std::string& target,
                                 const std::string& body = "");

  // The endpoints. A non-2xx answer becomes a Status with the server's code and message
  // (not_found -> NotFound, bad_request -> InvalidArgument, too_many_sessions ->
  // ResourceExhausted, conflict -> FailedPrecondition, others -> Internal/Unavailable).
  StatusOr<nlohmann::json> Health();
  StatusOr<nlohmann::json> Metrics();
  StatusOr<nlohmann::json> Scenarios();
  // -> {"session_id", "observation", "info", "tools"}
  StatusOr<nlohmann::json> CreateSession(const std::string& scenario,
                                         std::optional<std::uint64_t> seed = std::nullopt,
                                         const nlohmann::json& options = nlohmann::json());
  StatusOr<nlohmann::json> Reset(const std::string& session_id,
                                 std::optional<std::uint64_t> seed = std::nullopt,
                                 const nlohmann::json& options = nlohmann::json());
  StatusOr<nlohmann::json> Step(const std::string& session_id, const std::string& action);
  StatusOr<nlohmann::json> Fork(const std::string& session_id);   // -> {"session_id", "tools"}
  StatusOr<nlohmann::json> Tools(const std::string& session_id);  // -> the OpenAI tool array
  Status Close(const std::string& session_id);
  // steps: (session id, action) pairs -> the "results" array, one entry per step in order.
  StatusOr<nlohmann::json> StepBatch(const std::vector<std::pair<std::string, std::string>>& steps);

 private:
  StatusOr<nlohmann::json> Call(const std::string& method, const std::string& target,
                                const nlohmann::json* body, int want_status);
  struct Conn;
  ClientOptions options_;
  std::unique_ptr<Conn> conn_;
};

// A non-2xx answer as a Status (see Client).
Status StatusFromResponse(const HttpResponse& r);

}  // namespace toolgym::server
