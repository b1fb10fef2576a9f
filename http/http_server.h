// The HTTP/1.1 server under `toolgym serve` (server/server.cc), `toolgym serve-policy`
// (agent/policy_server.cc) and `toolgym serve-site` (apps/serve_site_cmd.cc), on Boost.Beast: it
// listens, keeps connections alive, enforces the header and body limits and the timeouts, streams
// bodies and stops gracefully. What a request means and what every answer looks like -- headers,
// JSON or HTML, error bodies -- belongs to the program: its Handler answers requests, its
// ErrorResponder words the answers the layer gives by itself.
//
// The layer's own answers (each through the ErrorResponder, with the message shown):
//   400  a malformed request ("malformed HTTP request: ..."), a header over max_header_bytes
//   413  a body over max_body_bytes ("the request body is over the limit of N bytes")
//   500  the handler threw (the exception's what())
//   503  a request that arrives while Stop() drains ("the server is stopping")
// 400 and 413 close the connection after the answer; the others keep it.
//
// The layer sets a response's version, Content-Length (or chunked encoding) and keep-alive: a
// connection stays open when the request asks for it, the options allow it and the handler did
// not set "Connection: close". A HEAD request gets the response's headers, Content-Length
// included, and no body, whatever the handler put in it.
//
// Threads: one I/O thread runs every socket; handlers and chunk sources run on a pool of worker
// threads, never on the I/O thread, so a slow answer does not stall other connections
// (worker_threads = 1 makes handler calls one at a time, in order of arrival). All public
// methods are thread-safe.
#pragma once

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace toolgym::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// The next piece of a streamed body, or nullopt at its end. Called on a worker thread, the next
// call only after the previous piece was written to the socket, so a slow client slows the
// producer rather than piling up memory. Empty pieces are skipped. If it throws, the connection
// is closed without the last chunk, so the client sees a cut-off body rather than a complete one.
using ChunkSource = std::function<std::optional<std::string>()>;

// A handler's answer: a response, and optionally a body produced as it is sent.
struct Answer {
  Answer(Response r) : response(std::move(r)) {}  // NOLINT: implicit, most answers are whole
  Answer(Response r, ChunkSource c) : response(std::move(r)), chunks(std::move(c)) {}

  Response response;  // status and headers; and the body unless `chunks` is set
  // When set, the body is these pieces in chunked transfer encoding (HTTP/1.1; an HTTP/1.0
  // client gets them joined into one body once the source ends).
  ChunkSource chunks;
};

// Called on a worker thread for every complete request.
using Handler = std::function<Answer(const Request&)>;
// Words the layer's own answers (see above) in the program's format. Called on the I/O thread
// or a worker thread; it must be thread-safe and must not block.
using ErrorResponder =
    std::function<Response(boost::beast::http::status status, const std::string& message)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IP address, or "localhost"
  int port = 0;                    // 0 picks a free port; port() tells which
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 8 << 10;  // request line and headers
  int worker_threads = 4;
  // How long a connection may take to send (the rest of) a request, the wait for the next one on
  // a kept-alive connection included; a connection past it is closed without an answer.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(60);
  // How long one write of an answer (or of one chunk) may take before the connection is closed.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
  bool keep_alive = true;  // false: every answer closes its connection
};

// "localhost" or a loopback IP address: where a server may listen without a token.
bool IsLoopback(const std::string& host);

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler, ErrorResponder errors);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on background threads. InvalidArgument for a bad option (port,
  // worker_threads, max_body_bytes < 64, a host that is not an IP address), FailedPrecondition
  // when already started, Unavailable when the address cannot be bound.
  Status Start();
  // Stops accepting; requests in flight (streams included) run to their end and are answered,
  // while new requests on open connections get 503; then every connection is closed, an answer
  // being written first finishing (for up to a second). Idempotent; a no-op before Start().
  // Must not be called from a handler.
  void Stop();
  int port() const;  // the bound port, after Start()
  // Requests read so far, malformed and refused ones included.
  std::int64_t requests() const;

  class Impl;  // opaque; public only so that the .cc's connection class can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace toolgym::http
