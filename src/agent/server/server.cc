#include "agent/server/server.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/server/cri_log.h"
#include "agent/server/exec_session.h"
#include "agent/server/websocket.h"
#include "apiserver/auth/pki.h"
#include "apiserver/http/server.h"
#include "apiserver/http/target.h"

namespace knet::agent::server {

namespace http = apiserver::http;

namespace {

constexpr size_t kMaxQueuedLog = 1024 * 1024;  // log bytes queued for a client before we wait

bool ParseBool(const std::optional<std::string>& v) {
  return v && (*v == "true" || *v == "1" || *v == "t" || *v == "T" || *v == "TRUE" || *v == "True");
}

// A metav1.Status error response, as kubelet's errors reach the API server.
http::Response StatusResponse(int code, std::string_view reason, const std::string& message) {
  nlohmann::json j = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  return {code, {{"Content-Type", "application/json"}}, j.dump()};
}

http::Response ErrorFor(const base::Status& st) {
  switch (st.code()) {
    case base::StatusCode::kNotFound:
      return StatusResponse(404, "NotFound", std::string(st.message()));
    case base::StatusCode::kInvalidArgument:
    case base::StatusCode::kFailedPrecondition:
      return StatusResponse(400, "BadRequest", std::string(st.message()));
    default:
      return StatusResponse(500, "InternalError", std::string(st.message()));
  }
}

base::StatusOr<std::optional<int64_t>> IntParam(const http::Request& req, std::string_view name) {
  auto v = req.QueryParam(name);
  if (!v || v->empty()) return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) {
    return base::InvalidArgumentError(std::string(name) + " \"" + *v + "\" is not an integer");
  }
  return std::optional<int64_t>(n);
}

bool HeaderHasToken(const http::Request& req, std::string_view name, std::string_view token) {
  for (const auto& [k, v] : req.headers) {
    if (k != name) continue;
    std::string lower = v;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find(token) != std::string::npos) return true;
  }
  return false;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class AgentServer::Impl {
 public:
  PodLookup* pods = nullptr;
  std::atomic<bool> stopping{false};
  std::unique_ptr<http::Server> http;

  void Handle(const http::Request& req, http::Exchange& ex) {
    if (req.method != "GET" && req.method != "HEAD") {
      return ex.Respond(StatusResponse(405, "MethodNotAllowed",
                                       "method " + req.method + " is not allowed on " + req.path));
    }
    if (req.path == "/healthz") {
      return ex.Respond({200, {{"Content-Type", "text/plain; charset=utf-8"}}, "ok"});
    }
    std::vector<std::string_view> view = http::PathSegments(req.path);
    std::vector<std::string> parts(view.begin(), view.end());
    if (parts.size() == 4 && parts[0] == "containerLogs") {
      return Logs(req, parts[1], parts[2], parts[3], ex);
    }
    if (parts.size() == 4 && parts[0] == "exec") return Exec(req, parts[1], parts[2], parts[3], ex);
    ex.Respond(StatusResponse(404, "NotFound", "the path " + req.path + " is not served here"));
  }

  void Logs(const http::Request& req, const std::string& ns, const std::string& pod,
            const std::string& container, http::Exchange& ex) {
    auto ref = pods->Find(ns, pod, container);
    if (!ref.ok()) return ex.Respond(ErrorFor(ref.status()));
    LogOptions o;
    bool previous = ParseBool(req.QueryParam("previous"));
    o.follow = ParseBool(req.QueryParam("follow")) && !previous;
    o.timestamps = ParseBool(req.QueryParam("timestamps"));
    auto tail = IntParam(req, "tailLines");
    auto since = IntParam(req, "sinceSeconds");
    auto limit = IntParam(req, "limitBytes");
    for (const auto* p : {&tail, &since, &limit}) {
      if (!p->ok()) return ex.Respond(ErrorFor(p->status()));
    }
    const std::optional<int64_t>& tail_lines = *tail;
    const std::optional<int64_t>& limit_bytes = *limit;
    const std::optional<int64_t>& since_seconds = *since;
    if (tail_lines && *tail_lines >= 0) o.tail_lines = tail_lines;
    if (limit_bytes && *limit_bytes > 0) o.limit_bytes = limit_bytes;
    if (since_seconds && *since_seconds > 0) {
      o.since_ns = NowNanos() - *since_seconds * 1'000'000'000;
    }
    if (auto t = req.QueryParam("sinceTime"); t && !t->empty()) {
      auto ts = ParseRfc3339Nano(*t);
      if (!ts.ok()) return ex.Respond(ErrorFor(ts.status()));
      o.since_ns = *ts;
    }
    std::string path = previous ? ref->previous_log_path : ref->log_path;
    if (path.empty() || ::access(path.c_str(), F_OK) != 0) {
      if (previous) {
        return ex.Respond(StatusResponse(400, "BadRequest",
                                         "previous terminated container \"" + container +
                                             "\" in pod \"" + pod + "\" not found"));
      }
      return ex.Respond(StatusResponse(
          400, "BadRequest",
          "container \"" + container + "\" in pod \"" + pod + "\" is waiting to start"));
    }
    auto stream = ex.StartStream(200, {{"Content-Type", "text/plain"}});
    Detach([this, stream, o, path, ns, pod, container] {
      auto write = [&](std::string_view bytes) {
        // Backpressure: wait for a slow reader rather than queue the whole file.
        return stream->WaitForRoom(kMaxQueuedLog) &&
               stream->Write(std::make_shared<const std::string>(bytes));
      };
      // Follow while the same attempt of the container runs and the client is there.
      auto keep_following = [&] {
        if (stream->IsClosed() || stopping) return false;
        auto now = pods->Find(ns, pod, container);
        return now.ok() && now->pid != 0 && now->log_path == path;
      };
      base::Status st = ReadLog(path, o, write, keep_following);
      if (!st.ok()) write("\nerror reading the log: " + std::string(st.message()) + "\n");
      stream->Close();
    });
  }

  void Exec(const http::Request& req, const std::string& ns, const std::string& pod,
            const std::string& container, http::Exchange& ex) {
    auto ref = pods->Find(ns, pod, container);
    if (!ref.ok()) return ex.Respond(ErrorFor(ref.status()));
    auto request = ParseExecRequest(req);
    if (!request.ok()) return ex.Respond(ErrorFor(request.status()));
    if (ref->pid == 0) {
      return ex.Respond(
          StatusResponse(400, "BadRequest",
                         "container \"" + container + "\" in pod \"" + pod + "\" is not running"));
    }
    if (!HeaderHasToken(req, "upgrade", "websocket") ||
        !HeaderHasToken(req, "connection", "upgrade")) {
      return ex.Respond(StatusResponse(
          400, "BadRequest",
          "exec needs a WebSocket upgrade (Upgrade: websocket, subprotocol v5.channel.k8s.io or "
          "v4.channel.k8s.io); SPDY is not supported"));
    }
    std::string key(req.Header("sec-websocket-key"));
    if (key.empty() || req.Header("sec-websocket-version") != "13") {
      return ex.Respond(StatusResponse(
          400, "BadRequest", "a WebSocket upgrade needs Sec-WebSocket-Key and version 13"));
    }
    std::string protocol = SelectExecProtocol(req);
    if (protocol.empty()) {
      return ex.Respond(StatusResponse(
          400, "BadRequest",
          "none of the offered WebSocket subprotocols (" +
              std::string(req.Header("sec-websocket-protocol")) +
              ") is supported; this agent speaks v5.channel.k8s.io and v4.channel.k8s.io"));
    }
    auto tunnel = ex.Upgrade(101, {{"Upgrade", "websocket"},
                                   {"Connection", "Upgrade"},
                                   {"Sec-WebSocket-Accept", AcceptKey(key)},
                                   {"Sec-WebSocket-Protocol", protocol}});
    Detach([tunnel, protocol, request = *request, ref = *ref] {
      RunExecSession(tunnel, protocol, request, ref);
    });
  }

  // Runs `fn` on a thread of its own: a log follow or exec session lasts as long as the user
  // wants and must not hold one of the handler threads. WaitIdle waits for all of them.
  void Detach(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++active;
    }
    std::thread([this, fn = std::move(fn)]() mutable {
      fn();
      fn = nullptr;
      std::lock_guard<std::mutex> lock(mu);
      if (--active == 0) idle.notify_all();
    }).detach();
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu);
    idle.wait(lock, [this] { return active == 0; });
  }

  std::mutex mu;
  std::condition_variable idle;
  int active = 0;  // detached sessions still running
};

AgentServer::AgentServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AgentServer::~AgentServer() { Stop(); }

uint16_t AgentServer::port() const { return impl_->http->port(); }

void AgentServer::Stop() {
  impl_->stopping = true;
  // Ends every stream and tunnel: the sessions then end (exec commands are killed).
  if (impl_->http) impl_->http->Stop();
  impl_->WaitIdle();
}

base::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(AgentServerOptions options,
                                                                PodLookup* pods) {
  if (pods == nullptr) return base::InvalidArgumentError("agent server: no pod lookup");
  if (options.cert_dir.empty()) return base::InvalidArgumentError("agent server: no cert_dir");
  std::vector<std::string> hosts = {"localhost", "127.0.0.1"};
  char hostname[256] = {0};
  if (::gethostname(hostname, sizeof(hostname) - 1) == 0 && hostname[0] != '\0') {
    hosts.emplace_back(hostname);
  }
  for (const std::string& h : options.hosts) hosts.push_back(h);
  auto pair = apiserver::auth::EnsureSelfSignedCert(options.cert_dir, "agent", hosts);
  if (!pair.ok()) return pair.status().WithContext("agent server: serving certificate");

  http::ServerOptions o;
  o.listen = options.listen;
  o.cert_file = pair->cert;
  o.key_file = pair->key;
  o.handler_threads = options.handler_threads;
  o.idle_timeout = std::chrono::seconds(120);
  if (!options.client_ca_pem.empty()) {
    o.client_ca_file = options.cert_dir + "/client-ca.crt";
    std::string tmp = o.client_ca_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << options.client_ca_pem;
      if (!out.good()) {
        return base::InternalError("agent server: writing the client CA to " + tmp);
      }
    }
    if (std::rename(tmp.c_str(), o.client_ca_file.c_str()) != 0) {
      return base::ErrnoError(errno, "agent server: writing the client CA " + o.client_ca_file);
    }
    o.require_client_cert = true;
  }
  auto impl = std::make_unique<Impl>();
  impl->pods = pods;
  Impl* raw = impl.get();
  auto srv = http::Server::Start(
      o, [raw](const http::Request& req, http::Exchange& ex) { raw->Handle(req, ex); });
  if (!srv.ok()) return srv.status().WithContext("agent server");
  impl->http = std::move(*srv);
  return std::unique_ptr<AgentServer>(new AgentServer(std::move(impl)));
}

}  // namespace knet::agent::server
