#include "apiserver/pod_proxy.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "apiserver/body.h"
#include "apiserver/http/target.h"

namespace knet::apiserver {

namespace {

constexpr uint16_t kDefaultKubeletPort = 10250;
constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxQueuedLog = 1024 * 1024;  // log bytes queued for a client before we wait

std::string Names(const std::vector<api::Container>& cs) {
  std::string out = "[";
  for (size_t i = 0; i < cs.size(); ++i) {
    if (i > 0) out += ' ';
    out += cs[i].name;
  }
  return out + "]";
}

ApiError Make(int code, std::string reason, std::string message) {
  ApiError e;
  e.status = "Failure";
  e.code = code;
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}

// The agent's refusal as the API server's answer: its code, and its Status message (or text).
ApiError FromAgent(int code, const std::string& body) {
  try {
    nlohmann::json j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      std::string reason = j.value("reason", std::string());
      return Make(code, reason, j["message"].get<std::string>());
    }
  } catch (const std::exception&) {
    // Not JSON: the body is the message.
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) text = "the node agent answered " + std::to_string(code);
  return Make(code, code == 404 ? "NotFound" : code == 400 ? "BadRequest" : "", text);
}

// Reads a (bounded) whole body.
std::string ReadWholeBody(http::ResponseReader& r) {
  std::string body;
  while (body.size() < kMaxErrorBody) {
    auto piece = r.ReadBody();
    if (!piece.ok() || piece->empty()) break;
    body += *piece;
  }
  return body;
}

// Copies bytes from `from` to `to` until either side ends.
void Pump(http::Tunnel& from, http::Tunnel& to) {
  char buf[32768];
  while (true) {
    size_t n = from.Read(buf, sizeof(buf));
    if (n == 0 || !to.Write(std::string_view(buf, n))) break;
  }
}

}  // namespace

std::optional<PodSubresource> ParsePodSubresource(std::string_view method, std::string_view path) {
  std::vector<std::string_view> p = http::PathSegments(path);
  if (p.size() != 7 || p[0] != "api" || p[1] != "v1" || p[2] != "namespaces" || p[4] != "pods") {
    return std::nullopt;
  }
  if (p[6] != "log" && p[6] != "exec" && p[6] != "attach") return std::nullopt;
  PodSubresource s;
  s.namespace_ = std::string(p[3]);
  s.name = std::string(p[5]);
  s.subresource = std::string(p[6]);
  // Exec and attach are GET (WebSocket) or POST (SPDY) upstream; either needs create.
  s.verb = s.subresource == "log" ? "get" : "create";
  if (s.subresource == "log" && method != "GET" && method != "HEAD") s.verb = "";
  if (s.subresource != "log" && method != "GET" && method != "POST") s.verb = "";
  return s;
}

Result<std::string> ResolveContainer(const api::Pod& pod, const std::string& requested) {
  const std::string& name = pod.metadata.name;
  const auto& cs = pod.spec.containers;
  if (requested.empty()) {
    if (cs.size() == 1) return cs[0].name;
    if (cs.empty()) {
      return BadRequest("a container name must be specified for pod " + name);
    }
    std::string msg =
        "a container name must be specified for pod " + name + ", choose one of: " + Names(cs);
    if (!pod.spec.init_containers.empty()) {
      msg += " or one of the init containers: " + Names(pod.spec.init_containers);
    }
    return BadRequest(msg);
  }
  for (const auto* list : {&cs, &pod.spec.init_containers}) {
    for (const api::Container& c : *list) {
      if (c.name == requested) return requested;
    }
  }
  return BadRequest("container " + requested + " is not valid for pod " + name);
}

Result<std::pair<std::string, uint16_t>> AgentAddress(const api::Node& node) {
  std::string ip;
  for (const char* type : {"InternalIP", "ExternalIP"}) {
    for (const api::NodeAddress& a : node.status.addresses) {
      if (a.type == type && ip.empty()) ip = a.address;
    }
  }
  if (ip.empty()) {
    std::string known = "[";
    for (const api::NodeAddress& a : node.status.addresses) {
      if (known.size() > 1) known += ' ';
      known += a.type + ":" + a.address;
    }
    return BadRequest("no preferred addresses found for node " + node.metadata.name +
                      "; known addresses: " + known + "]");
  }
  int32_t port = node.status.daemon_endpoints.kubelet_endpoint.port;
  if (port <= 0 || port > 65535) port = kDefaultKubeletPort;
  return std::make_pair(ip, static_cast<uint16_t>(port));
}

std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? '?' : '&';
    for (const std::string* s : {&k, &v}) {
      for (char ch : *s) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
          out += static_cast<char>(c);
        } else {
          out += '%';
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
      }
      if (s == &k) out += '=';
    }
  }
  return out;
}

PodProxy::PodProxy(Registry* registry, PodProxyOptions options)
    : registry_(registry), options_(std::move(options)) {}

Result<PodProxy::Target> PodProxy::Locate(const http::Request& req, const PodSubresource& sub) {
  const ResourceInfo* pods = FindResource("", "v1", "pods");
  const ResourceInfo* nodes = FindResource("", "v1", "nodes");
  Result<Stored> stored = registry_->Get(*pods, sub.namespace_, sub.name);
  if (!stored.ok()) return stored.error();
  const auto* pod = std::get_if<api::Pod>(&stored->object);
  if (pod == nullptr) return InternalError("pods/" + sub.name + " is not a Pod");
  Result<std::string> container = ResolveContainer(*pod, req.QueryParam("container").value_or(""));
  if (!container.ok()) return container.error();
  if (pod->spec.node_name.empty()) {
    return BadRequest("pod " + sub.name + " does not have a host assigned");
  }
  Result<Stored> node_stored = registry_->Get(*nodes, "", pod->spec.node_name);
  if (!node_stored.ok()) return node_stored.error();
  const auto* node = std::get_if<api::Node>(&node_stored->object);
  if (node == nullptr) return InternalError("nodes/" + pod->spec.node_name + " is not a Node");
  Result<std::pair<std::string, uint16_t>> addr = AgentAddress(*node);
  if (!addr.ok()) return addr.error();
  return Target{*container, addr->first, addr->second};
}

base::StatusOr<std::shared_ptr<http::Tunnel>> PodProxy::Send(const Target& t,
                                                             const std::string& head) {
  http::DialOptions o;
  o.cert_file = options_.client_cert_file;
  o.key_file = options_.client_key_file;
  auto conn = dialer_.Dial(t.host, t.port, o);
  if (!conn.ok()) return conn.status();
  std::shared_ptr<http::Tunnel> tunnel(std::move(*conn));
  if (!tunnel->Write(head)) {
    return base::UnavailableError("sending the request to " + t.host + ":" +
                                  std::to_string(t.port) + " failed");
  }
  return tunnel;
}

void PodProxy::Handle(const http::Request& req, const PodSubresource& sub, http::Exchange& ex) {
  if (sub.verb.empty()) {
    return ex.Respond(ErrorResponse(
        MethodNotSupported(req.method + " is not supported on pods/" + sub.subresource)));
  }
  if (sub.subresource == "attach") {
    return ex.Respond(ErrorResponse(
        BadRequest("pods/attach is not supported by knet: containers have no attachable "
                   "terminal; use kubectl logs -f or kubectl exec")));
  }
  Result<Target> t = Locate(req, sub);
  if (!t.ok()) return ex.Respond(ErrorResponse(t.error()));
  if (sub.subresource == "log") return Logs(req, sub, *t, ex);
  Exec(req, sub, *t, ex);
}

void PodProxy::Logs(const http::Request& req, const PodSubresource& sub, const Target& t,
                    http::Exchange& ex) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const char* name : {"follow", "previous", "timestamps", "tailLines", "sinceSeconds",
                           "sinceTime", "limitBytes"}) {
    if (auto v = req.QueryParam(name)) params.emplace_back(name, *v);
  }
  std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  std::string head = "GET /containerLogs/" + sub.namespace_ + "/" + sub.name + "/" + t.container +
                     EncodeQuery(params) + " HTTP/1.1\r\nHost: " + host + ":" +
                     std::to_string(t.port) +
                     "\r\nUser-Agent: knet-apiserver\r\nConnection: close\r\n\r\n";
  auto backend = Send(t, head);
  if (!backend.ok()) {
    return ex.Respond(ErrorResponse(
        Make(502, "", "error dialing backend: " + std::string(backend.status().message()))));
  }
  std::shared_ptr<http::Tunnel> b = *backend;
  auto reader = std::make_shared<http::ResponseReader>(b.get());
  auto resp = reader->ReadHead();
  if (!resp.ok()) {
    b->Close();
    return ex.Respond(ErrorResponse(
        Make(502, "", "reading the node agent's answer: " + std::string(resp.status().message()))));
  }
  if (resp->status != 200) {
    std::string body = ReadWholeBody(*reader);
    b->Close();
    return ex.Respond(ErrorResponse(FromAgent(resp->status, body)));
  }
  std::string content_type(resp->Header("content-type"));
  if (content_type.empty()) content_type = "text/plain";
  auto stream = ex.StartStream(200, {{"Content-Type", content_type}});
  // The client going away (or the server stopping) ends the backend read at once.
  stream->OnClose([b] { b->Close(); });
  Detach([stream, b, reader] {
    while (true) {
      auto piece = reader->ReadBody();
      if (!piece.ok() || piece->empty()) break;
      // Backpressure: a slow client slows the read from the agent instead of filling the queue.
      if (!stream->WaitForRoom(kMaxQueuedLog) ||
          !stream->Write(std::make_shared<const std::string>(std::move(*piece)))) {
        break;
      }
    }
    stream->Close();
    b->Close();
  });
}

void PodProxy::Exec(const http::Request& req, const PodSubresource& sub, const Target& t,
                    http::Exchange& ex) {
  std::string upgrade(req.Header("upgrade"));
  if (upgrade.empty()) {
    return ex.Respond(ErrorResponse(BadRequest("Upgrade request required")));
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : req.query) {
    if (k == "command" || k == "stdin" || k == "stdout" || k == "stderr" || k == "tty") {
      params.emplace_back(k, v);
    }
  }
  std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  std::string head = "GET /exec/" + sub.namespace_ + "/" + sub.name + "/" + t.container +
                     EncodeQuery(params) + " HTTP/1.1\r\nHost: " + host + ":" +
                     std::to_string(t.port) + "\r\nUser-Agent: knet-apiserver\r\n" +
                     "Connection: Upgrade\r\nUpgrade: " + upgrade + "\r\n";
  for (const auto& [k, v] : req.headers) {
    if (k.rfind("sec-websocket-", 0) == 0 || k == "x-stream-protocol-version") {
      head += k + ": " + v + "\r\n";
    }
  }
  head += "\r\n";
  auto backend = Send(t, head);
  if (!backend.ok()) {
    return ex.Respond(ErrorResponse(
        Make(502, "", "error dialing backend: " + std::string(backend.status().message()))));
  }
  std::shared_ptr<http::Tunnel> b = *backend;
  http::ResponseReader reader(b.get());
  auto resp = reader.ReadHead();
  if (!resp.ok()) {
    b->Close();
    return ex.Respond(ErrorResponse(
        Make(502, "", "reading the node agent's answer: " + std::string(resp.status().message()))));
  }
  if (resp->status != 101) {
    std::string body = ReadWholeBody(reader);
    b->Close();
    return ex.Respond(ErrorResponse(FromAgent(resp->status, body)));
  }
  http::HeaderList headers;
  for (const auto& [k, v] : resp->headers) {
    if (k == "upgrade") headers.emplace_back("Upgrade", v);
    if (k == "connection") headers.emplace_back("Connection", v);
    if (k == "sec-websocket-accept") headers.emplace_back("Sec-WebSocket-Accept", v);
    if (k == "sec-websocket-protocol") headers.emplace_back("Sec-WebSocket-Protocol", v);
    if (k == "x-stream-protocol-version") headers.emplace_back("X-Stream-Protocol-Version", v);
  }
  std::shared_ptr<http::Tunnel> client = ex.Upgrade(101, std::move(headers));
  std::string early = reader.TakeBuffered();
  if (!early.empty() && !client->Write(early)) {
    client->Close();
    b->Close();
    return;
  }
  // Splice both ways; whichever side ends first ends the other.
  Detach([client, b] {
    std::thread up([client, b] {
      Pump(*client, *b);
      b->Close();
      client->Close();
    });
    Pump(*b, *client);
    client->Close();
    b->Close();
    up.join();
  });
}

void PodProxy::Detach(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++active_;
  }
  std::thread([this, fn = std::move(fn)]() mutable {
    fn();
    fn = nullptr;  // its tunnels go now, while the Dialer surely exists
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) idle_.notify_all();
  }).detach();
}

PodProxy::~PodProxy() {
  // The server stopped first: every client connection is gone, so every session is ending.
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return active_ == 0; });
}

}  // namespace knet::apiserver
