#include "proxy/types.h"

#include <netinet/in.h>

namespace knet::proxy {

std::string ServicePortName::String() const {
  std::string out = namespace_ + "/" + name;
  if (!port.empty()) out += ":" + port;
  out += protocol == IPPROTO_UDP ? "/udp" : protocol == IPPROTO_SCTP ? "/sctp" : "/tcp";
  return out;
}

std::vector<EndpointInfo> UsableEndpoints(const std::vector<EndpointInfo>& all, bool local_only) {
  std::vector<EndpointInfo> ready;
  std::vector<EndpointInfo> terminating;
  for (const EndpointInfo& ep : all) {
    if (local_only && !ep.is_local) continue;
    if (ep.ready) {
      ready.push_back(ep);
    } else if (ep.serving && ep.terminating) {
      terminating.push_back(ep);
    }
  }
  return ready.empty() ? terminating : ready;
}

}  // namespace knet::proxy
