// File: apiserver/pod_proxy.h
//
// The pods/log, pods/exec and pods/attach subresources: kube-apiserver's LogLocation and
// ExecLocation checks (pod exists, is bound to a node, the container is valid), then a proxy to
// the agent on that node (its InternalIP and status.daemonEndpoints.kubeletEndpoint.Port, TLS
// with the API server's kubelet client certificate; the agent's self-signed serving certificate
// is not verified, as kube-apiserver does without --kubelet-certificate-authority):
//
//   GET .../pods/NAME/log?container=&follow=&tailLines=&timestamps=&previous=&sinceSeconds=
//       &sinceTime=&limitBytes=   ->  GET /containerLogs/NS/NAME/C?...   streamed back (chunked)
//   GET .../pods/NAME/exec?command=..&container=&stdin=&stdout=&stderr=&tty=  (Upgrade: websocket)
//                                 ->  GET /exec/NS/NAME/C?...   101 relayed, then bytes spliced
//
//   PodProxy proxy(&registry, {pki.kubelet_client_cert, pki.kubelet_client_key});
//   if (auto sub = ParsePodSubresource(req.method, req.path)) {
//     // authorize sub->verb ...
//     return proxy.Handle(req, *sub, ex);
//   }
//
// Errors are metav1.Status: 404 for a missing pod or node, 400 for an unscheduled pod or a bad
// container, 502 "error dialing backend: ..." when the agent cannot be reached, and the agent's
// own answer (code and message) when it refuses. Once a log stream or an exec session is set up
// it runs on a thread of its own, not on the API server's handler pool. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/node.h"
#include "api/pod.h"
#include "apiserver/errors.h"
#include "apiserver/http/client.h"
#include "apiserver/http/server.h"
#include "apiserver/registry.h"

namespace knet::apiserver {

struct PodSubresource {
  std::string namespace_;
  std::string name;
  std::string subresource;  // log, exec, attach
  std::string verb;         // for authorization: get (log), create (exec, attach: upstream
                            // requires create for the WebSocket upgrade)
};

// Matches /api/v1/namespaces/NS/pods/NAME/{log,exec,attach}; nullopt for any other path.
std::optional<PodSubresource> ParsePodSubresource(std::string_view method, std::string_view path);

// The container a request means: `requested`, or the pod's only container; errors as upstream
// ("a container name must be specified for pod web, choose one of: [a b]", "container x is not
// valid for pod web").
Result<std::string> ResolveContainer(const api::Pod& pod, const std::string& requested);

// The agent's address for `node`: its InternalIP and kubelet port (10250 when unset).
Result<std::pair<std::string, uint16_t>> AgentAddress(const api::Node& node);

// Builds "?k=v&k=v" with the values percent-encoded ("" when `params` is empty).
std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params);

struct PodProxyOptions {
  std::string client_cert_file, client_key_file;  // the kubelet client pair from the PKI
};

class PodProxy {
 public:
  PodProxy(Registry* registry, PodProxyOptions options);
  // Waits for the log streams and exec sessions still running. REQUIRES: the HTTP server was
  // stopped (that ends them).
  ~PodProxy();

  void Handle(const http::Request& req, const PodSubresource& sub, http::Exchange& ex);

 private:
  // Looks the pod and its node up; fills the container, the agent's address; or an error.
  struct Target {
    std::string container;
    std::string host;
    uint16_t port = 0;
  };
  Result<Target> Locate(const http::Request& req, const PodSubresource& sub);
  void Logs(const http::Request& req, const PodSubresource& sub, const Target& t,
            http::Exchange& ex);
  void Exec(const http::Request& req, const PodSubresource& sub, const Target& t,
            http::Exchange& ex);
  // Dials the agent, sends `head`; on success returns the connection.
  base::StatusOr<std::shared_ptr<http::Tunnel>> Send(const Target& t, const std::string& head);

  // Runs `fn` on a thread of its own: a log stream or exec session lasts as long as the user
  // wants and must not hold one of the API server's handler threads.
  void Detach(std::function<void()> fn);

  Registry* registry_;
  PodProxyOptions options_;
  http::Dialer dialer_;
  std::mutex mu_;
  std::condition_variable idle_;
  int active_ = 0;  // detached sessions still running
};

}  // namespace knet::apiserver
