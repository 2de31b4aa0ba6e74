// knet-cni: the CNI plugin that runtimes exec once per pod (CNI 1.1, bridge mode with built-in
// host-local IPAM). Kept lean: it links only src/cni and what that needs, because process start-up
// is most of a CNI call's cost. This file only builds the real kernel seams and runs cni::Run.
#include <sys/socket.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cmd/version.h"
#include "cni/plugin.h"
#include "cni/spec.h"
#include "kernel/netlink/linux_netlink.h"
#include "kernel/netns/netns.h"
#include "kernel/nft/linux_nft.h"
#include "kernel/sysctl/sysctl.h"

namespace {

using knet::kernel::netlink::LinuxNetlink;
using knet::kernel::nft::LinuxNftables;
namespace netns = knet::kernel::netns;

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

std::optional<std::string> GetEnv(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// A pod namespace held open with a netlink socket bound inside it.
struct OpenPod {
  netns::Netns ns;
  std::unique_ptr<LinuxNetlink> netlink;
};

// The host namespace's sockets: rtnetlink, and nfnetlink for ipMasq (opening it is one socket and
// one bind; it sends nothing unless ipMasq is set). A kernel without nfnetlink still serves
// networks without ipMasq: nft stays null and only ipMasq reports it.
struct Host {
  std::unique_ptr<LinuxNetlink> netlink;
  std::unique_ptr<LinuxNftables> nft;
};

knet::base::StatusOr<knet::cni::KernelHandle> MakeLinuxKernel() {
  auto owner = std::make_shared<Host>();
  ASSIGN_OR_RETURN(owner->netlink, LinuxNetlink::Open());
  if (auto nft = LinuxNftables::Open(); nft.ok()) owner->nft = std::move(nft).value();
  knet::cni::KernelHandle handle;
  handle.kernel.host = owner->netlink.get();
  handle.kernel.nft = owner->nft.get();  // null when unavailable
  handle.kernel.open_netns =
      [](const std::string& path) -> knet::base::StatusOr<knet::cni::PodNetns> {
    auto pod = std::make_shared<OpenPod>();
    ASSIGN_OR_RETURN(pod->ns, netns::Netns::Open(path));
    ASSIGN_OR_RETURN(pod->netlink, LinuxNetlink::Open(pod->ns));
    return knet::cni::PodNetns{pod->ns.fd(), pod->netlink.get(), pod};
  };
  handle.kernel.enable_forwarding = [](int family) -> knet::base::Status {
    return knet::kernel::sysctl::Set(
        family == AF_INET ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding", "1");
  };
  handle.owner = owner;
  return handle;
}

}  // namespace

int main() {
  if (GetEnv("CNI_COMMAND").value_or("").empty()) {
    // Run by hand: say what this is, as the reference plugins do.
    std::cerr << "knet-cni v" << knet::cmd::kVersion << " (" << knet::cmd::kGitVersion
              << "): the knet CNI plugin\nCNI protocol versions supported:";
    for (auto v : knet::cni::SupportedVersions()) std::cerr << " " << v;
    std::cerr << "\n";
    return 0;
  }
  knet::cni::Response r = knet::cni::Run(GetEnv, ReadStdin(), MakeLinuxKernel);
  std::cout << r.out << std::flush;
  return r.exit_code;
}
