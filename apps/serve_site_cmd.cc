// toolgym serve-site: a web scenario's site as real HTML over HTTP on 127.0.0.1, so that a person
// can open it in a browser and compare what they see with what the agent sees.
//
//   toolgym serve-site SCENARIO [--seed N] [--port P]   the site of one task (a scenario id of
//                                                       the registry, or a scenario file)
//   toolgym serve-site --site FILE.json [--port P]      a site file directly
//
// One session, as an agent would have it. Routes (docs/sites.md, "Serving a site"):
//   GET  /        the current page as HTML; every control is a form that posts its action
//   POST /act     op=click|type|select|back|scroll with id, text, option, direction (form
//                 encoded): the same actions as the agent's tools; answers 303 to /, and the
//                 action's error, if any, shows on the next page
//   POST /reset   a new session at the start page
//   GET  /text    the page as the agent sees it (text/plain)
//   GET  /state   Browser::Snapshot() (application/json): what verifiers see
// A malformed request gets 400 with a message and the server keeps serving. Port 0 picks a free
// port; the address is printed on stdout ("Serving ... at http://127.0.0.1:PORT/").
//
// On the HTTP layer (http/http_server.h) with one worker thread: requests are handled one at a
// time in order of arrival (each answered with Connection: close), so the session needs no
// locking; a connection that sends nothing is dropped after a few seconds.
#include <fmt/format.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "apps/commands.h"
#include "envs/web_env.h"
#include "http/http_server.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "web/site.h"

namespace toolgym::apps {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;
using toolgym::http::Request;
using toolgym::http::Response;

constexpr std::size_t kMaxBodyBytes = 64 << 10;

struct Site {
  std::shared_ptr<const web::Site> site;
  std::string origin;  // "scenario web.shop_easy seed 3" or the site file
};

// The site of a scenario's task (an id of the registry or a scenario file) or of a site file.
StatusOr<Site> LoadSite(const std::string& scenario, std::uint64_t seed,
                        const std::string& site_file) {
  Site out;
  std::vector<envs::TaskError> errors;
  if (!site_file.empty()) {
    std::vector<web::SiteError> site_errors;
    out.site = web::Site::FromFile(site_file, &site_errors);
    out.origin = site_file;
    if (out.site == nullptr) {
      std::string msg;
      for (const auto& e : site_errors) msg += "\n  " + e.ToString();
      return InvalidArgumentError("the site does not load:{}", msg);
    }
    return out;
  }
  std::shared_ptr<const scenarios::Scenario> s;
  std::error_code ec;
  if (std::filesystem::is_regular_file(scenario, ec)) {
    std::vector<scenarios::LoadError> load_errors;
    s = scenarios::Scenario::FromFile(scenario, &load_errors);
    if (s == nullptr) {
      std::string msg;
      for (const auto& e : load_errors) msg += "\n  " + e.ToString();
      return InvalidArgumentError("the scenario does not load:{}", msg);
    }
  } else {
    s = scenarios::ScenarioRegistry::Default().Get(scenario);
    if (s == nullptr)
      return NotFoundError("no scenario '{}' in the registry (and no such file)", scenario);
  }
  if (s->env_kind() != "web")
    return InvalidArgumentError("scenario '{}' is a {} scenario; serve-site needs a web one",
                                s->id(), s->env_kind());
  TG_ASSIGN_OR_RETURN(envs::Task task, s->MakeTask(seed));
  out.site = envs::WebEnv::LoadSite(task, &errors);
  if (out.site == nullptr) {
    std::string msg;
    for (const auto& e : errors) msg += fmt::format("\n  {}: {}: {}", e.file, e.path, e.message);
    return InvalidArgumentError("the task's site does not load:{}", msg);
  }
  out.origin = fmt::format("scenario {} seed {}", s->id(), seed);
  return out;
}

// application/x-www-form-urlencoded -> fields; nullopt on a malformed escape.
std::optional<std::map<std::string, std::string>> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  const auto decode = [](const std::string& s) -> std::optional<std::string> {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        r += ' ';
      } else if (s[i] == '%') {
        if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
          return std::nullopt;
        r += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        r += s[i];
      }
    }
    return r;
  };
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t amp = body.find('&', start);
    if (amp == std::string::npos) amp = body.size();
    const std::string pair = body.substr(start, amp - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      auto k = decode(pair.substr(0, eq));
      auto v = decode(eq == std::string::npos ? "" : pair.substr(eq + 1));
      if (!k || !v) return std::nullopt;
      out[*k] = *v;
    }
    start = amp + 1;
  }
  return out;
}

// Every answer of serve-site: never cached.
Response Reply(http::status status, const std::string& type, std::string body) {
  Response res{status, 11};
  res.set(http::field::server, "toolgym serve-site");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

class Server {
 public:
  explicit Server(Site site) : site_(std::move(site)), browser_(site_.site) {}

  Response Handle(const Request& req) {
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (req.method() == http::verb::get || req.method() == http::verb::head) {
      if (path == "/") {
        auto r = Reply(http::status::ok, "text/html; charset=utf-8", browser_.RenderHtml(notice_));
        notice_.clear();
        return r;
      }
      if (path == "/text")
        return Reply(http::status::ok, "text/plain; charset=utf-8", browser_.Render());
      if (path == "/state")
        return Reply(http::status::ok, "application/json", browser_.Snapshot().dump(2));
      return Reply(http::status::not_found, "text/plain; charset=utf-8",
                   "not found: " + path.substr(0, 200) + "; pages are GET /, /text and /state\n");
    }
    if (req.method() != http::verb::post)
      return Reply(http::status::method_not_allowed, "text/plain; charset=utf-8",
                   "only GET and POST are served\n");
    if (path == "/reset") {
      browser_ = web::Browser(site_.site);
      notice_ = "A new session started.";
      return Redirect();
    }
    if (path != "/act")
      return Reply(http::status::not_found, "text/plain; charset=utf-8",
                   "not found: POST " + path.substr(0, 200) + "; actions go to POST /act\n");
    auto form = ParseForm(req.body());
    if (!form) return BadRequest("the form data is not valid URL encoding");
    auto field = [&](const char* k) -> const std::string* {
      auto it = form->find(k);
      return it == form->end() ? nullptr : &it->second;
    };
    const std::string* op = field("op");
    if (op == nullptr) return BadRequest("missing op (one of click, type, select, back, scroll)");
    int id = 0;
    if (*op == "click" || *op == "type" || *op == "select") {
      const std::string* s = field("id");
      if (s == nullptr || s->empty() || s->size() > 9 ||
          s->find_first_not_of("0123456789") != std::string::npos)
        return BadRequest(fmt::format("{} needs id, a positive integer", *op));
      id = std::stoi(*s);
    }
    web::ActionResult r;
    if (*op == "click") {
      r = browser_.Click(id);
    } else if (*op == "type") {
      const std::string* text = field("text");
      if (text == nullptr) return BadRequest("type needs text");
      r = browser_.Type(id, *text);
    } else if (*op == "select") {
      const std::string* option = field("option");
      if (option == nullptr) return BadRequest("select needs option");
      r = browser_.Select(id, *option);
    } else if (*op == "back") {
      r = browser_.Back();
    } else if (*op == "scroll") {
      const std::string* d = field("direction");
      if (d == nullptr) return BadRequest("scroll needs direction (up or down)");
      r = browser_.Scroll(*d);
    } else {
      return BadRequest(fmt::format(
          "unknown op \"{}\"; expected click, type, select, back or scroll", op->substr(0, 50)));
    }
    notice_ = r.ok ? "" : "Error: " + r.error;
    if (r.ended)
      notice_ = fmt::format("The session is over ({}). Restart to begin again.", r.end_reason);
    std::fprintf(stderr, "serve-site: %s %s -> %s\n", op->c_str(),
                 id ? std::to_string(id).c_str() : "",
                 r.ok ? browser_.page().c_str() : r.error.c_str());
    return Redirect();
  }

 private:
  static Response BadRequest(const std::string& why) {
    return Reply(http::status::bad_request, "text/plain; charset=utf-8",
                 "bad request: " + why + "\n");
  }
  static Response Redirect() {
    auto res = Reply(http::status::see_other, "text/plain; charset=utf-8", "see /\n");
    res.set(http::field::location, "/");
    return res;
  }

  Site site_;
  web::Browser browser_;
  std::string notice_;  // shown once on the next GET /
};

int Serve(const std::string& scenario, std::uint64_t seed, const std::string& site_file, int port) {
  if (scenario.empty() == site_file.empty()) {
    std::fprintf(stderr, "serve-site: give a SCENARIO (an id or a scenario file) or --site FILE\n");
    return 1;
  }
  auto site = LoadSite(scenario, seed, site_file);
  if (!site.ok()) {
    std::fprintf(stderr, "serve-site: %s\n", site.status().message().c_str());
    return 1;
  }
  Server server(*site);
  toolgym::http::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.max_body_bytes = kMaxBodyBytes;
  options.worker_threads = 1;  // one request at a time: the session is not locked
  options.read_timeout = std::chrono::seconds(5);
  options.write_timeout = std::chrono::seconds(5);
  options.keep_alive = false;
  toolgym::http::HttpServer http_server(
      options, [&server](const Request& req) { return server.Handle(req); },
      [](http::status status, const std::string& message) {
        std::string reason(http::obsolete_reason(status));
        for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return Reply(status, "text/plain; charset=utf-8", reason + ": " + message + "\n");
      });
  // Installed before Start(), so that a signal from then on stops the server.
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  if (Status s = http_server.Start(); !s.ok()) {
    std::fprintf(stderr, "serve-site: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("Serving \"%s\" (%s) at http://127.0.0.1:%d/ ; Ctrl-C stops\n",
              site->site->title().c_str(), site->origin.c_str(), http_server.port());
  std::fflush(stdout);
  io.run();  // until SIGINT or SIGTERM
  http_server.Stop();
  return 0;
}

}  // namespace

void AddServeSiteCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve-site", "serve a web scenario's site as HTML on 127.0.0.1, to see what the agent sees");
  static std::string scenario, site_file;
  static std::uint64_t seed = 0;
  static int port = 8000;
  cmd->add_option("scenario", scenario, "scenario id (of the registry) or scenario file");
  cmd->add_option("--seed", seed, "the task instance (default 0)");
  cmd->add_option("--site", site_file, "serve this site file instead of a scenario's site");
  cmd->add_option("--port", port, "TCP port on 127.0.0.1 (0 picks a free one; default 8000)")
      ->check(CLI::Range(0, 65535));
  cmd->callback([] { SetExitCode(Serve(scenario, seed, site_file, port)); });
}

}  // namespace toolgym::apps
