#include "agent/node/cni_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file.h"
#include "base/ip.h"

namespace knet::agent::node {

base::StatusOr<std::string> RenderCniConfig(const CniConfigOptions& opts,
                                            const std::vector<std::string>& pod_cidrs) {
  if (pod_cidrs.empty()) return base::InvalidArgumentError("rendering the CNI config: no podCIDR");
  nlohmann::json ranges = nlohmann::json::array();
  bool have_v4 = false, have_v6 = false;
  for (const std::string& cidr : pod_cidrs) {
    base::StatusOr<base::Cidr> p = base::Cidr::ParseLoose(cidr);
    if (!p.ok()) return p.status().WithContext("rendering the CNI config for podCIDR " + cidr);
    bool& seen = p->is_v4() ? have_v4 : have_v6;
    if (seen) {
      return base::InvalidArgumentError("rendering the CNI config: podCIDRs " +
                                        nlohmann::json(pod_cidrs).dump() +
                                        " hold two ranges of one family");
    }
    seen = true;
    ranges.push_back(nlohmann::json::array({{{"subnet", p->ToString()}}}));
  }
  nlohmann::json ipam = {{"type", "host-local"}, {"ranges", ranges}};
  if (!opts.ipam_data_dir.empty()) ipam["dataDir"] = opts.ipam_data_dir;
  nlohmann::json bridge = {
      {"type", "knet-cni"},
      {"bridge", opts.bridge},
      {"isGateway", opts.is_gateway},
      {"isDefaultGateway", opts.is_default_gateway},
      {"hairpinMode", opts.hairpin_mode},
      {"ipMasq", opts.ip_masq},
  };
  if (opts.mtu != 0) bridge["mtu"] = opts.mtu;
  bridge["ipam"] = ipam;
  nlohmann::json plugins = nlohmann::json::array({bridge});
  if (opts.portmap) {
    plugins.push_back(
        {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}});
  }
  nlohmann::json list = {{"cniVersion", "1.1.0"}, {"name", kCniNetworkName}, {"plugins", plugins}};
  return list.dump(2) + "\n";
}

base::StatusOr<bool> WriteCniConfig(const CniConfigOptions& opts,
                                    const std::vector<std::string>& pod_cidrs) {
  ASSIGN_OR_RETURN(std::string text, RenderCniConfig(opts, pod_cidrs));
  const std::string path = opts.conf_dir + "/" + kCniConfFileName;
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream cur;
      cur << in.rdbuf();
      if (cur.str() == text) return false;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(opts.conf_dir, ec);
  if (ec)
    return base::InternalError("creating CNI conf dir " + opts.conf_dir + ": " + ec.message());
  // The temp name does not end in .conflist/.conf/.json, so a runtime scanning the dir ignores it.
  RETURN_IF_ERROR(
      base::WriteFileAtomic(path, text, 0644, opts.conf_dir + "/." + kCniConfFileName + ".tmp"));
  return true;
}

}  // namespace knet::agent::node
