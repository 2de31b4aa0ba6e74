// File: client/rest_client.cc
#include "client/rest_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <deque>
#include <limits>
#include <mutex>

#include "api/json.h"
#include "apiserver/auth/kubeconfig.h"
#include "apiserver/resources.h"

namespace knet::client {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kHttpPrefix = "HTTP ";

base::StatusCode CodeForHttp(int http, std::string_view reason) {
  switch (http) {
    case 400:
    case 422:
      return base::StatusCode::kInvalidArgument;
    case 401:
      return base::StatusCode::kUnauthenticated;
    case 403:
      return base::StatusCode::kPermissionDenied;
    case 404:
      return base::StatusCode::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? base::StatusCode::kAlreadyExists
                                       : base::StatusCode::kAborted;
    case 410:
      return base::StatusCode::kOutOfRange;
    case 429:
      return base::StatusCode::kResourceExhausted;
    default:
      return http >= 500 ? base::StatusCode::kUnavailable : base::StatusCode::kUnknown;
  }
}

// The error for a non-2xx reply: the Status document's reason and message when the body is one.
// The HTTP prefix stays first so HttpCodeOf can read it; `where` ("GET /api/v1/...") goes last.
base::Status ErrorFromReply(int http, std::string_view body, std::string_view where) {
  std::string reason, message;
  base::StatusOr<nlohmann::json> doc = api::ParseJson(body);
  if (doc.ok() && doc->is_object()) {
    if (auto it = doc->find("reason"); it != doc->end() && it->is_string()) reason = *it;
    if (auto it = doc->find("message"); it != doc->end() && it->is_string()) message = *it;
  }
  if (message.empty()) message = std::string(body.substr(0, 512));
  if (reason.empty()) reason = "Unknown";
  return base::Status(CodeForHttp(http, reason), std::string(kHttpPrefix) + std::to_string(http) +
                                                     " " + reason + ": " + message + " (" +
                                                     std::string(where) + ")");
}

std::string Escape(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct Query {
  std::string s;
  void Add(std::string_view k, std::string_view v) {
    if (v.empty()) return;
    s += s.empty() ? '?' : '&';
    s += k;
    s += '=';
    s += Escape(v);
  }
};

std::string ObjectPath(const ResourcePath& r, std::string_view ns, std::string_view name,
                       std::string_view sub = "") {
  std::string p = r.prefix;
  if (r.namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += Escape(ns);
  }
  p += "/";
  p += r.resource;
  if (!name.empty()) {
    p += "/";
    p += Escape(name);
  }
  if (!sub.empty()) {
    p += "/";
    p += sub;
  }
  return p;
}

beast::string_view Bsv(std::string_view s) { return beast::string_view(s.data(), s.size()); }
std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

int HttpCodeOf(const base::Status& s) {
  std::string_view m = s.message();
  if (s.ok() || !m.starts_with(kHttpPrefix)) return 0;
  m.remove_prefix(kHttpPrefix.size());
  int code = 0;
  auto [p, ec] = std::from_chars(m.data(), m.data() + m.size(), code);
  if (ec != std::errc() || p == m.data() + m.size() || *p != ' ') return 0;
  return code;
}

std::string ReasonOf(const base::Status& s) {
  if (HttpCodeOf(s) == 0) return "";
  std::string_view m = s.message();
  size_t a = m.find(' ', kHttpPrefix.size());
  size_t b = m.find(':', a);
  if (a == std::string_view::npos || b == std::string_view::npos) return "";
  return std::string(m.substr(a + 1, b - a - 1));
}

bool IsNotFound(const base::Status& s) { return HttpCodeOf(s) == 404; }
bool IsAlreadyExists(const base::Status& s) {
  return HttpCodeOf(s) == 409 && s.code() == base::StatusCode::kAlreadyExists;
}
bool IsConflict(const base::Status& s) {
  return HttpCodeOf(s) == 409 && s.code() == base::StatusCode::kAborted;
}
bool IsGone(const base::Status& s) { return HttpCodeOf(s) == 410; }
bool IsInvalid(const base::Status& s) { return HttpCodeOf(s) == 422; }

base::StatusOr<ResourcePath> PathForKind(std::string_view api_version, std::string_view kind) {
  std::string_view group, version = api_version;
  if (size_t slash = api_version.find('/'); slash != std::string_view::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  const apiserver::ResourceInfo* info = apiserver::FindResourceByKind(group, version, kind);
  if (info == nullptr) {
    return base::InvalidArgumentError("no resource for kind \"" + std::string(kind) +
                                      "\" in version \"" + std::string(api_version) + "\"");
  }
  return ResourcePath{info->PathPrefix(), info->resource, info->namespaced};
}

// One TLS (or plain http) connection with its own io_context, so every operation can be run
// with a deadline and checked for cancellation without a shared event loop.
struct Connection {
  net::io_context ioc;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::flat_buffer buf;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Runs the operation started by `start` (which must call its handler exactly once) until it
  // completes, `deadline` passes or `cancel` is set; the connection is closed on the latter two.
  template <class Start>
  base::Status Run(Start&& start, Clock::time_point deadline, const WatchCanceller* cancel,
                   std::string_view what) {
    bool done = false;
    boost::system::error_code ec;
    start([&](boost::system::error_code e, auto&&...) {
      done = true;
      ec = e;
    });
    ioc.restart();
    while (!done) {
      ioc.run_one_for(std::chrono::milliseconds(50));
      if (done) break;
      bool timed_out = Clock::now() >= deadline;
      bool cancelled = cancel != nullptr && cancel->cancelled();
      if (timed_out || cancelled) {
        boost::system::error_code ignored;
        lowest().socket().close(ignored);
        ioc.restart();
        while (!done) ioc.run_one();
        return cancelled
                   ? base::Status(base::StatusCode::kCancelled, std::string(what) + ": cancelled")
                   : base::DeadlineExceededError(std::string(what) + ": timed out");
      }
    }
    if (ec) return base::UnavailableError(std::string(what) + ": " + ec.message());
    return base::OkStatus();
  }
};

struct RestClient::Impl {
  ClientConfig cfg;
  bool use_tls = true;
  std::string host, port, host_header;
  net::ssl::context ssl_ctx{net::ssl::context::tls_client};
  std::mutex mu;
  std::deque<std::unique_ptr<Connection>> idle;

  base::Status Init() {
    std::string_view s = cfg.server;
    if (s.starts_with("https://")) {
      s.remove_prefix(8);
    } else if (s.starts_with("http://")) {
      s.remove_prefix(7);
      use_tls = false;
    } else {
      return base::InvalidArgumentError("server URL \"" + cfg.server +
                                        "\" must start with https:// or http://");
    }
    if (size_t slash = s.find('/'); slash != std::string_view::npos) s = s.substr(0, slash);
    host_header = std::string(s);
    if (s.starts_with("[")) {
      size_t close = s.find(']');
      if (close == std::string_view::npos) {
        return base::InvalidArgumentError("server URL \"" + cfg.server + "\": bad IPv6 host");
      }
      host = std::string(s.substr(1, close - 1));
      s.remove_prefix(close + 1);
      port = s.starts_with(":") ? std::string(s.substr(1)) : "";
    } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
      host = std::string(s.substr(0, colon));
      port = std::string(s.substr(colon + 1));
    } else {
      host = std::string(s);
    }
    if (port.empty()) port = use_tls ? "443" : "80";
    if (host.empty()) {
      return base::InvalidArgumentError("server URL \"" + cfg.server + "\" has no host");
    }
    if (!use_tls) return base::OkStatus();
    boost::system::error_code ec;
    if (cfg.insecure_skip_tls_verify) {
      ssl_ctx.set_verify_mode(net::ssl::verify_none);
      return base::OkStatus();
    }
    ssl_ctx.set_verify_mode(net::ssl::verify_peer);
    if (cfg.ca_pem.empty()) {
      ssl_ctx.set_default_verify_paths(ec);
    } else {
      ssl_ctx.add_certificate_authority(net::buffer(cfg.ca_pem), ec);
    }
    if (ec) return base::InvalidArgumentError("loading the CA certificate: " + ec.message());
    return base::OkStatus();
  }

  base::StatusOr<std::unique_ptr<Connection>> Connect(Clock::time_point deadline,
                                                      const WatchCanceller* cancel) {
    auto c = std::make_unique<Connection>();
    std::string what = "connecting to " + cfg.server;
    tcp::resolver resolver(c->ioc);
    boost::system::error_code ec;
    tcp::resolver::results_type eps = resolver.resolve(host, port, ec);
    if (ec) return base::UnavailableError(what + ": resolving " + host + ": " + ec.message());
    if (use_tls) {
      c->tls.emplace(c->ioc, ssl_ctx);
      SSL* ssl = c->tls->native_handle();
      if (!cfg.insecure_skip_tls_verify) {
        if (IsIpLiteral(host)) {
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
        } else {
          SSL_set_tlsext_host_name(ssl, host.c_str());
          SSL_set1_host(ssl, host.c_str());
        }
      }
    } else {
      c->plain.emplace(c->ioc);
    }
    RETURN_IF_ERROR(c->Run(
        [&](auto handler) {
          // Every resolved address in turn ("localhost" may give ::1 before 127.0.0.1).
          net::async_connect(c->lowest().socket(), eps, handler);
        },
        deadline, cancel, what));
    c->lowest().socket().set_option(tcp::no_delay(true), ec);
    if (use_tls) {
      RETURN_IF_ERROR(c->Run(
          [&](auto handler) { c->tls->async_handshake(net::ssl::stream_base::client, handler); },
          deadline, cancel, what + ": TLS handshake"));
    }
    return c;
  }

  std::unique_ptr<Connection> TakeIdle() {
    std::lock_guard<std::mutex> l(mu);
    if (idle.empty()) return nullptr;
    std::unique_ptr<Connection> c = std::move(idle.back());
    idle.pop_back();
    return c;
  }

  void GiveBack(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> l(mu);
    if (idle.size() < cfg.max_idle_connections) idle.push_back(std::move(c));
  }

  bhttp::request<bhttp::string_body> MakeRequest(std::string_view method, std::string_view path,
                                                 std::string_view body,
                                                 std::string_view content_type) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(Bsv(method));
    req.target(Bsv(path));
    req.version(11);
    req.set(bhttp::field::host, host_header);
    req.set(bhttp::field::user_agent, "knet-client");
    req.set(bhttp::field::accept, "application/json");
    if (!cfg.token.empty()) req.set(bhttp::field::authorization, "Bearer " + cfg.token);
    if (!body.empty()) {
      req.set(bhttp::field::content_type, Bsv(content_type));
      req.body() = std::string(body);
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  template <class Fn>
  base::Status Write(Connection& c, const bhttp::request<bhttp::string_body>& req,
                     Clock::time_point deadline, const WatchCanceller* cancel,
                     std::string_view what) {
    return c.Run(
        [&](auto handler) {
          if (c.tls) {
            bhttp::async_write(*c.tls, req, handler);
          } else {
            bhttp::async_write(*c.plain, req, handler);
          }
        },
        deadline, cancel, what);
  }

  template <class Parser>
  base::Status ReadHeader(Connection& c, Parser& p, Clock::time_point deadline,
                          const WatchCanceller* cancel, std::string_view what) {
    return c.Run(
        [&](auto handler) {
          if (c.tls) {
            bhttp::async_read_header(*c.tls, c.buf, p, handler);
          } else {
            bhttp::async_read_header(*c.plain, c.buf, p, handler);
          }
        },
        deadline, cancel, what);
  }

  template <class Parser>
  base::Status ReadSome(Connection& c, Parser& p, Clock::time_point deadline,
                        const WatchCanceller* cancel, std::string_view what) {
    return c.Run(
        [&](auto handler) {
          if (c.tls) {
            bhttp::async_read_some(*c.tls, c.buf, p, handler);
          } else {
            bhttp::async_read_some(*c.plain, c.buf, p, handler);
          }
        },
        deadline, cancel, what);
  }

  template <class Parser>
  base::Status ReadAll(Connection& c, Parser& p, Clock::time_point deadline,
                       std::string_view what) {
    return c.Run(
        [&](auto handler) {
          if (c.tls) {
            bhttp::async_read(*c.tls, c.buf, p, handler);
          } else {
            bhttp::async_read(*c.plain, c.buf, p, handler);
          }
        },
        deadline, nullptr, what);
  }

  // Gets a pooled or new connection and sends `req`; `reused` says which.
  base::StatusOr<std::unique_ptr<Connection>> Send(const bhttp::request<bhttp::string_body>& req,
                                                   Clock::time_point deadline,
                                                   const WatchCanceller* cancel, bool allow_reuse,
                                                   bool* reused, std::string_view what) {
    std::unique_ptr<Connection> c = allow_reuse ? TakeIdle() : nullptr;
    *reused = c != nullptr;
    if (c == nullptr) {
      ASSIGN_OR_RETURN(c, Connect(deadline, cancel));
    }
    RETURN_IF_ERROR(Write<void>(*c, req, deadline, cancel, what));
    return c;
  }

  base::StatusOr<Response> DoOnce(const bhttp::request<bhttp::string_body>& req, bool allow_reuse,
                                  bool* reused_and_early_failure) {
    *reused_and_early_failure = false;
    Clock::time_point deadline = Clock::now() + cfg.timeout;
    std::string what = Str(req.method_string()) + " " + Str(req.target());
    bool reused = false;
    base::StatusOr<std::unique_ptr<Connection>> sent =
        Send(req, deadline, nullptr, allow_reuse, &reused, what);
    if (!sent.ok()) {
      *reused_and_early_failure = reused && sent.status().code() == base::StatusCode::kUnavailable;
      return sent.status();
    }
    std::unique_ptr<Connection> c = std::move(*sent);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256u << 20);
    base::Status s = ReadAll(*c, parser, deadline, what);
    if (!s.ok()) {
      *reused_and_early_failure =
          reused && s.code() == base::StatusCode::kUnavailable && !parser.got_some();
      return s;
    }
    bhttp::response<bhttp::string_body> res = parser.release();
    Response out{static_cast<int>(res.result_int()), std::move(res.body())};
    if (res.keep_alive()) GiveBack(std::move(c));
    return out;
  }
};

RestClient::RestClient(ClientConfig config, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), impl_(std::move(impl)) {}
RestClient::~RestClient() = default;

base::StatusOr<std::unique_ptr<RestClient>> RestClient::Create(ClientConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<RestClient>(new RestClient(std::move(config), std::move(impl)));
}

base::StatusOr<std::unique_ptr<RestClient>> RestClient::FromKubeconfig(const std::string& path,
                                                                       std::string_view context) {
  ASSIGN_OR_RETURN(apiserver::auth::Kubeconfig kc, apiserver::auth::LoadKubeconfig(path, context));
  ClientConfig cfg;
  cfg.server = kc.server;
  cfg.ca_pem = kc.ca_pem;
  cfg.token = kc.token;
  cfg.insecure_skip_tls_verify = kc.insecure_skip_tls_verify;
  return Create(std::move(cfg));
}

base::StatusOr<RestClient::Response> RestClient::Do(std::string_view method, std::string_view path,
                                                    std::string_view body,
                                                    std::string_view content_type) {
  bhttp::request<bhttp::string_body> req = impl_->MakeRequest(method, path, body, content_type);
  bool retry = false;
  base::StatusOr<Response> r = impl_->DoOnce(req, /*allow_reuse=*/true, &retry);
  if (!r.ok() && retry) r = impl_->DoOnce(req, /*allow_reuse=*/false, &retry);
  return r;
}

base::StatusOr<std::string> RestClient::Call(std::string_view method, std::string_view path,
                                             std::string_view body, std::string_view content_type) {
  ASSIGN_OR_RETURN(Response r, Do(method, path, body, content_type));
  if (r.status < 200 || r.status > 299) {
    return ErrorFromReply(r.status, r.body, std::string(method) + " " + std::string(path));
  }
  return std::move(r.body);
}

namespace {
base::StatusOr<nlohmann::json> ParseBody(base::StatusOr<std::string> body) {
  if (!body.ok()) return body.status();
  return api::ParseJson(*body);
}
}  // namespace

base::StatusOr<nlohmann::json> RestClient::GetJson(const ResourcePath& r, std::string_view ns,
                                                   std::string_view name) {
  return ParseBody(Call("GET", ObjectPath(r, ns, name)));
}

base::StatusOr<nlohmann::json> RestClient::ListJson(const ResourcePath& r, std::string_view ns,
                                                    const ListOptions& opts) {
  Query q;
  q.Add("labelSelector", opts.label_selector);
  q.Add("fieldSelector", opts.field_selector);
  if (opts.limit > 0) q.Add("limit", std::to_string(opts.limit));
  q.Add("continue", opts.continue_token);
  q.Add("resourceVersion", opts.resource_version);
  return ParseBody(Call("GET", ObjectPath(r, ns, "") + q.s));
}

base::StatusOr<nlohmann::json> RestClient::CreateJson(const ResourcePath& r, std::string_view ns,
                                                      std::string_view body) {
  return ParseBody(Call("POST", ObjectPath(r, ns, ""), body));
}

base::StatusOr<nlohmann::json> RestClient::UpdateJson(const ResourcePath& r, std::string_view ns,
                                                      std::string_view name, std::string_view body,
                                                      std::string_view subresource) {
  return ParseBody(Call("PUT", ObjectPath(r, ns, name, subresource), body));
}

base::StatusOr<nlohmann::json> RestClient::PatchJson(const ResourcePath& r, std::string_view ns,
                                                     std::string_view name, PatchType type,
                                                     std::string_view patch,
                                                     std::string_view subresource) {
  std::string_view ct = type == PatchType::kMerge ? "application/merge-patch+json"
                        : type == PatchType::kStrategicMerge
                            ? "application/strategic-merge-patch+json"
                            : "application/json-patch+json";
  return ParseBody(Call("PATCH", ObjectPath(r, ns, name, subresource), patch, ct));
}

base::Status RestClient::DeleteJson(const ResourcePath& r, std::string_view ns,
                                    std::string_view name, const DeleteOptions& opts) {
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!opts.propagation_policy.empty()) body["propagationPolicy"] = opts.propagation_policy;
  if (opts.grace_period_seconds) body["gracePeriodSeconds"] = *opts.grace_period_seconds;
  if (!opts.precondition_resource_version.empty()) {
    body["preconditions"] = {{"resourceVersion", opts.precondition_resource_version}};
  }
  return Call("DELETE", ObjectPath(r, ns, name), body.dump()).status();
}

base::Status RestClient::WatchJson(const ResourcePath& r, std::string_view ns,
                                   const WatchOptions& opts,
                                   const std::function<bool(const RawWatchEvent&)>& on_event,
                                   const WatchCanceller* cancel) {
  Query q;
  q.Add("watch", "true");
  q.Add("labelSelector", opts.label_selector);
  q.Add("fieldSelector", opts.field_selector);
  q.Add("resourceVersion", opts.resource_version);
  if (opts.allow_bookmarks) q.Add("allowWatchBookmarks", "true");
  if (opts.timeout_seconds > 0) q.Add("timeoutSeconds", std::to_string(opts.timeout_seconds));
  std::string path = ObjectPath(r, ns, "") + q.s;
  std::string what = "watch " + path;
  bhttp::request<bhttp::string_body> req = impl_->MakeRequest("GET", path, "", "");
  req.keep_alive(false);  // a watch connection is never reused
  Clock::time_point connect_deadline = Clock::now() + config_.timeout;
  Clock::time_point stream_deadline =
      opts.max_duration.count() > 0 ? Clock::now() + opts.max_duration : Clock::time_point::max();
  bool reused = false;
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> c,
                   impl_->Send(req, connect_deadline, cancel, false, &reused, what));
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  RETURN_IF_ERROR(impl_->ReadHeader(*c, parser, connect_deadline, cancel, what));
  int status = static_cast<int>(parser.get().result_int());
  if (status < 200 || status > 299) {
    // Read the (small) error body.
    std::string body;
    char chunk[4096];
    while (!parser.is_done() && body.size() < (1u << 20)) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof(chunk);
      base::Status s = impl_->ReadSome(*c, parser, connect_deadline, cancel, what);
      body.append(chunk, sizeof(chunk) - parser.get().body().size);
      if (!s.ok()) break;
    }
    return ErrorFromReply(status, body, what);
  }
  std::string pending;
  char chunk[16384];
  while (true) {
    // Deliver every complete line.
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      base::StatusOr<nlohmann::json> doc = api::ParseJson(line);
      if (!doc.ok()) return doc.status().WithContext(what + ": bad event");
      if (!doc->is_object() || !(*doc)["type"].is_string() || !(*doc)["object"].is_object()) {
        return base::InvalidArgumentError(what + ": event without type or object");
      }
      RawWatchEvent ev;
      ev.type = (*doc)["type"].get<std::string>();
      ev.object = std::move((*doc)["object"]);
      if (ev.type == "ERROR") {
        int code = ev.object.value("code", 500);
        ev.status_error = ErrorFromReply(code, ev.object.dump(), what);
      }
      if (!on_event(ev)) return base::OkStatus();
    }
    if (parser.is_done()) return base::OkStatus();
    if (Clock::now() >= stream_deadline) return base::OkStatus();
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    base::Status s = impl_->ReadSome(*c, parser, stream_deadline, cancel, what);
    pending.append(chunk, sizeof(chunk) - parser.get().body().size);
    if (s.code() == base::StatusCode::kDeadlineExceeded) return base::OkStatus();
    if (!s.ok()) {
      // need_buffer is normal for buffer_body (the chunk filled up).
      if (s.message().find("need buffer") != std::string::npos) continue;
      if (parser.is_done() || s.message().find("end of stream") != std::string::npos) {
        if (!pending.empty()) continue;
        return base::OkStatus();
      }
      return s;
    }
  }
}

}  // namespace knet::client
