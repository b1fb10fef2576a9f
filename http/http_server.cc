#include "http/http_server.h"

#include <fmt/format.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace toolgym::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

class Connection;

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Handler handler, ErrorResponder errors)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        errors_(std::move(errors)),
        acceptor_(io_) {}
  ~Impl() { Stop(); }

  Status Start();
  void Stop();

  // On the I/O thread, for each complete request: runs the handler on a worker and hands the
  // answer to `conn` on the I/O thread.
  void Dispatch(std::shared_ptr<Request> req, std::shared_ptr<Connection> conn);
  // The next piece of `conn`'s streamed body, from a worker, handed back on the I/O thread.
  void NextChunk(std::shared_ptr<Connection> conn);
  // A request or stream counted by Dispatch has been answered in full (or its client is gone).
  void EndWork() {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    if (--inflight_ == 0) inflight_cv_.notify_all();
  }
  Response Refusal(bhttp::status status, const std::string& message) {
    return errors_(status, message);
  }

  const HttpServerOptions& options() const { return options_; }
  void CountRequest() { ++requests_; }
  std::int64_t requests() const { return requests_; }
  int port() const { return port_; }
  // I/O thread only.
  void Track(std::weak_ptr<Connection> conn, tcp::socket* socket) {
    connections_[socket] = std::move(conn);
  }
  void Untrack(tcp::socket* socket) { connections_.erase(socket); }

 private:
  void Accept();

  HttpServerOptions options_;
  Handler handler_;
  ErrorResponder errors_;
  // Open connections (I/O thread only), closed by Stop(). Note: declared before io_, whose
  // destructor destroys pending handlers and with them connections that untrack themselves.
  std::map<tcp::socket*, std::weak_ptr<Connection>> connections_;
  asio::io_context io_;
  // Keeps io_.run() going while it has nothing to wait on (between the acceptor's close and the
  // last answers' writes in Stop()); Stop() ends it with io_.stop().
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  tcp::acceptor acceptor_;
  std::thread io_thread_;
  std::unique_ptr<asio::thread_pool> workers_;
  int port_ = 0;
  std::atomic<std::int64_t> requests_{0};

  std::mutex stop_mu_;  // started_, stopped_
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};

  // Handler calls and streams in flight, for Stop() to wait on.
  std::mutex inflight_mu_;
  std::condition_variable inflight_cv_;
  int inflight_ = 0;
};

// One keep-alive connection: read a request, hand it to the server, write the answer (whole or
// chunk by chunk), repeat. Everything here runs on the I/O thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Connection() { server_->Untrack(&stream_.socket()); }

  void Start() {
    server_->Track(weak_from_this(), &stream_.socket());
    Read();
  }
  bool writing() const { return writing_; }
  // Stop(): a connection writing an answer finishes writing it and then closes; any other
  // (waiting for a request, or for work that Stop() has already waited out) closes now.
  void Abort() {
    stopping_ = true;
    if (writing_) return;  // the write's handler calls Abort() again
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  // The handler's answer (from Dispatch).
  void Send(Answer answer) {
    if (answer.chunks) return StartStream(std::move(answer));
    Write(std::move(answer.response), keep_alive_);
  }
  // The next piece of a streamed body (from NextChunk); nullopt ends the body, and `failed`
  // (the source threw) closes the connection without ending it.
  void SendChunk(std::optional<std::string> chunk, bool failed) {
    if (failed) {
      server_->EndWork();
      return Finish(beast::error_code(asio::error::operation_aborted), false);
    }
    stream_.expires_after(server_->options().write_timeout);
    if (!chunk) {
      asio::async_write(stream_, bhttp::make_chunk_last(),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          self->server_->EndWork();
                          self->Finish(ec, self->stream_keep_alive_);
                        });
      return;
    }
    chunk_ = std::move(*chunk);
    asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk_)),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) {
                          self->server_->EndWork();
                          return self->Finish(ec, false);
                        }
                        self->server_->NextChunk(self);
                      });
  }
  ChunkSource& chunks() { return chunks_; }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options().max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->options().max_header_bytes));
    stream_.expires_after(server_->options().read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor || ec == asio::error::eof)
      return Close();
    server_->CountRequest();
    head_ = false;  // a refusal below answers with its body, whatever came before
    const HttpServerOptions& o = server_->options();
    if (ec == bhttp::error::body_limit)
      return Write(server_->Refusal(bhttp::status::payload_too_large,
                                    fmt::format("the request body is over the limit of {} bytes",
                                                o.max_body_bytes)),
                   false);
    if (ec == bhttp::error::header_limit)
      return Write(server_->Refusal(bhttp::status::bad_request,
                                    fmt::format("the request header is over the limit of {} bytes",
                                                o.max_header_bytes)),
                   false);
    if (ec)
      return Write(
          server_->Refusal(bhttp::status::bad_request, "malformed HTTP request: " + ec.message()),
          false);
    auto req = std::make_shared<Request>(parser_->release());
    keep_alive_ = req->keep_alive() && o.keep_alive;
    version_ = req->version();
    head_ = req->method() == bhttp::verb::head;
    stream_.expires_never();
    server_->Dispatch(std::move(req), shared_from_this());
  }

  // Sets what the layer owns in a response: version and keep-alive (kept only when `keep_alive`
  // and the handler did not ask to close).
  template <class Body>
  bool Prepare(bhttp::response<Body>& h, bool keep_alive) {
    keep_alive = keep_alive && h.keep_alive();  // h.version() is still the handler's (1.1)
    h.version(version_);
    h.keep_alive(keep_alive);
    return keep_alive;
  }

  void Write(Response r, bool keep_alive) {
    response_ = std::move(r);
    keep_alive = Prepare(response_, keep_alive);
    if (head_) {
      // HEAD: the headers GET would get, Content-Length included, and no body.
      response_.content_length(response_.body().size());
      response_.body().clear();
    } else {
      response_.prepare_payload();
    }
    stream_.expires_after(server_->options().write_timeout);
    writing_ = true;
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                         self->Finish(ec, keep_alive);
                       });
  }

  void StartStream(Answer answer) {
    chunks_ = std::move(answer.chunks);
    stream_head_.emplace(std::move(answer.response.base()));
    stream_keep_alive_ = Prepare(*stream_head_, keep_alive_);
    stream_head_->chunked(true);
    stream_sr_.emplace(*stream_head_);
    stream_.expires_after(server_->options().write_timeout);
    writing_ = true;
    bhttp::async_write_header(stream_, *stream_sr_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                // HEAD: the headers only, and the source is never called.
                                if (self->head_) return self->Finish(ec, self->stream_keep_alive_);
                                if (ec) {
                                  self->server_->EndWork();
                                  return self->Finish(ec, false);
                                }
                                self->server_->NextChunk(self);
                              });
  }

  // An answer is written (or failed): read the next request, or close.
  void Finish(beast::error_code ec, bool keep_alive) {
    writing_ = false;
    chunks_ = nullptr;
    stream_sr_.reset();
    stream_head_.reset();
    if (stopping_) return Abort();
    if (ec || !keep_alive) return Close();
    Read();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Response response_;
  // A streamed answer: its header, serializer, source and the piece being written.
  std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_sr_;
  ChunkSource chunks_;
  std::string chunk_;
  bool stream_keep_alive_ = false;
  HttpServer::Impl* server_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool head_ = false;
  bool writing_ = false;   // an answer is being written (I/O thread only, as is stopping_)
  bool stopping_ = false;  // Abort() was called
};

Status HttpServer::Impl::Start() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (started_ || stopped_) return FailedPreconditionError("the server was already started");
  }
  if (options_.port < 0 || options_.port > 65535)
    return InvalidArgumentError("port must be in 0..65535, got {}", options_.port);
  if (options_.worker_threads < 1)
    return InvalidArgumentError("worker_threads must be at least 1, got {}",
                                options_.worker_threads);
  if (options_.max_body_bytes < 64)
    return InvalidArgumentError("max_body_bytes must be at least 64, got {}",
                                options_.max_body_bytes);
  if (options_.max_header_bytes < 256)
    return InvalidArgumentError("max_header_bytes must be at least 256, got {}",
                                options_.max_header_bytes);
  boost::system::error_code ec;
  const std::string host = options_.host == "localhost" ? "127.0.0.1" : options_.host;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgumentError("host '{}' is not an IP address: {}", host, ec.message());
  const tcp::endpoint endpoint(addr, static_cast<unsigned short>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return UnavailableError("cannot listen on {}:{}: {}", host, options_.port, ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  workers_ = std::make_unique<asio::thread_pool>(options_.worker_threads);
  Accept();
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    started_ = true;
  }
  io_thread_ = std::thread([this] { io_.run(); });
  return OkStatus();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (!ec && !stopping_) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket), this)->Start();
    }
    if (acceptor_.is_open() && !stopping_) Accept();
  });
}

void HttpServer::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    const bool running = started_ && !stopped_;
    stopped_ = true;
    if (!running) return;
  }
  stopping_ = true;
  asio::post(io_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  {
    std::unique_lock<std::mutex> lock(inflight_mu_);
    inflight_cv_.wait(lock, [this] { return inflight_ == 0; });
  }
  // Answers of the last requests are being written (each was posted to the I/O thread before its
  // work was counted done); then every connection is closed.
  std::promise<void> closed;
  asio::post(io_, [this, &closed] {
    for (auto& [socket, weak] : connections_)
      if (auto c = weak.lock()) c->Abort();
    closed.set_value();
  });
  closed.get_future().wait_for(std::chrono::seconds(5));
  // Answers being written finish (each connection closes itself after its write), for at most
  // a second; then the I/O thread stops.
  for (int i = 0; i < 100; ++i) {
    std::promise<bool> idle;
    asio::post(io_, [this, &idle] {
      bool any = false;
      for (auto& [socket, weak] : connections_)
        if (auto c = weak.lock()) any = any || c->writing();
      idle.set_value(!any);
    });
    if (idle.get_future().get()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  workers_->join();
}

void HttpServer::Impl::Dispatch(std::shared_ptr<Request> req, std::shared_ptr<Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    if (stopping_) {
      conn->Send(Refusal(bhttp::status::service_unavailable, "the server is stopping"));
      return;
    }
    ++inflight_;
  }
  asio::post(*workers_, [this, req = std::move(req), conn = std::move(conn)]() mutable {
    std::optional<Answer> answer;
    try {
      answer.emplace(handler_(*req));
      // HTTP/1.0 has no chunked encoding: the pieces go out as one body.
      if (answer->chunks && req->version() < 11) {
        std::string body;
        if (req->method() != bhttp::verb::head)
          while (auto piece = answer->chunks()) body += *piece;
        answer->response.body() = std::move(body);
        answer->chunks = nullptr;
      }
    } catch (const std::exception& e) {
      answer.emplace(Refusal(bhttp::status::internal_server_error, e.what()));
    }
    const bool streamed = answer->chunks && req->method() != bhttp::verb::head;
    asio::post(io_, [conn, a = std::move(*answer)]() mutable { conn->Send(std::move(a)); });
    // A stream stays in flight until its last piece (SendChunk ends it).
    if (!streamed) EndWork();
  });
}

void HttpServer::Impl::NextChunk(std::shared_ptr<Connection> conn) {
  asio::post(*workers_, [this, conn = std::move(conn)] {
    std::optional<std::string> piece;
    bool failed = false;
    try {
      do {
        piece = conn->chunks()();
      } while (piece && piece->empty());
    } catch (const std::exception&) {
      failed = true;
    }
    asio::post(io_, [conn, piece = std::move(piece), failed]() mutable {
      conn->SendChunk(std::move(piece), failed);
    });
  });
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler, ErrorResponder errors)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(errors))) {}
HttpServer::~HttpServer() { Stop(); }
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }
std::int64_t HttpServer::requests() const { return impl_->requests(); }

}  // namespace toolgym::http
