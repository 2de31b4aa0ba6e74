#include "ipam/config.h"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

namespace knet::ipam {
namespace {

using base::Cidr;
using base::InvalidArgumentError;
using base::IPAddress;
using base::Status;
using base::StatusOr;

using json = nlohmann::json;

// Reads an optional string field; InvalidArgument if present and not a string.
StatusOr<std::optional<std::string>> OptString(const json& obj, const char* key,
                                               const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return InvalidArgumentError(path + "." + key + ": must be a string, got " +
                                std::string(it->type_name()));
  }
  return std::optional<std::string>(it->get<std::string>());
}

StatusOr<std::optional<IPAddress>> OptIP(const json& obj, const char* key,
                                         const std::string& path) {
  ASSIGN_OR_RETURN(std::optional<std::string> text, OptString(obj, key, path));
  if (!text) return std::optional<IPAddress>();
  StatusOr<IPAddress> ip = IPAddress::Parse(*text);
  if (!ip.ok()) return ip.status().WithContext(path + "." + key);
  return std::optional<IPAddress>(*ip);
}

// Parses one range object, canonicalising it as host-local's Range.Canonicalize does.
StatusOr<Range> ParseRange(const json& obj, const std::string& path) {
  if (!obj.is_object()) {
    return InvalidArgumentError(path + ": must be an object, got " + std::string(obj.type_name()));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> subnet_text, OptString(obj, "subnet", path));
  if (!subnet_text) return InvalidArgumentError(path + ".subnet: missing");
  StatusOr<Cidr> subnet = Cidr::Parse(*subnet_text);
  if (!subnet.ok()) return subnet.status().WithContext(path + ".subnet");
  if (subnet->HostBits() < 2) {
    return InvalidArgumentError(path + ".subnet: " + subnet->ToString() +
                                " is too small to allocate from (it needs at least 4 addresses)");
  }
  Range r;
  r.subnet = *subnet;
  const IPAddress network = subnet->network();
  // HostBits() >= 2, so these cannot fail.
  const IPAddress first_host = *network.Next();
  IPAddress last_host = subnet->last();
  if (subnet->is_v4()) last_host = *last_host.Prev();

  auto check_in_subnet = [&](const char* key, const IPAddress& ip) -> Status {
    if (!subnet->Contains(ip)) {
      return InvalidArgumentError(path + "." + key + ": " + ip.ToString() + " is not in subnet " +
                                  subnet->ToString());
    }
    return Status();
  };
  auto check_host = [&](const char* key, const IPAddress& ip) -> Status {
    RETURN_IF_ERROR(check_in_subnet(key, ip));
    if (ip == network) {
      return InvalidArgumentError(path + "." + key + ": " + ip.ToString() +
                                  " is the network address of " + subnet->ToString());
    }
    if (subnet->is_v4() && ip == subnet->last()) {
      return InvalidArgumentError(path + "." + key + ": " + ip.ToString() +
                                  " is the broadcast address of " + subnet->ToString());
    }
    return Status();
  };

  ASSIGN_OR_RETURN(std::optional<IPAddress> start, OptIP(obj, "rangeStart", path));
  ASSIGN_OR_RETURN(std::optional<IPAddress> end, OptIP(obj, "rangeEnd", path));
  ASSIGN_OR_RETURN(std::optional<IPAddress> gateway, OptIP(obj, "gateway", path));
  if (start) RETURN_IF_ERROR(check_host("rangeStart", *start));
  if (end) RETURN_IF_ERROR(check_host("rangeEnd", *end));
  if (gateway) RETURN_IF_ERROR(check_host("gateway", *gateway));
  r.range_start = start.value_or(first_host);
  r.range_end = end.value_or(last_host);
  r.gateway = gateway.value_or(first_host);
  if (r.range_start > r.range_end) {
    return InvalidArgumentError(path + ": rangeStart " + r.range_start.ToString() +
                                " is after rangeEnd " + r.range_end.ToString());
  }
  return r;
}

bool RangesOverlap(const Range& a, const Range& b) {
  return a.subnet.family() == b.subnet.family() && a.range_start <= b.range_end &&
         b.range_start <= a.range_end;
}

Status CheckNetworkName(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("network name: must not be empty");
  if (name.size() > 255) return InvalidArgumentError("network name: longer than 255 bytes");
  if (name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("network name \"" + std::string(name) +
                                "\": not usable as a directory name");
  }
  return Status();
}

// Parses "ip" or "ip/prefix" (the prefix ignored) from `source`.
StatusOr<IPAddress> ParseRequested(std::string_view text, const std::string& source) {
  std::string_view addr = text.substr(0, text.find('/'));
  StatusOr<IPAddress> ip = IPAddress::Parse(addr);
  if (!ip.ok()) return ip.status().WithContext(source);
  if (addr.size() != text.size()) {
    StatusOr<Cidr> cidr = Cidr::ParseLoose(text);
    if (!cidr.ok()) return cidr.status().WithContext(source);
  }
  return *ip;
}

Status AddRequestedFromJson(const json& root, std::initializer_list<const char*> keys,
                            const std::string& source, std::vector<IPAddress>* out) {
  const json* node = &root;
  for (const char* key : keys) {
    if (!node->is_object()) return Status();
    auto it = node->find(key);
    if (it == node->end() || it->is_null()) return Status();
    node = &*it;
  }
  if (!node->is_array()) {
    return InvalidArgumentError(source + ": must be a list of strings, got " +
                                std::string(node->type_name()));
  }
  for (size_t i = 0; i < node->size(); ++i) {
    const json& entry = (*node)[i];
    const std::string where = source + "[" + std::to_string(i) + "]";
    if (!entry.is_string()) return InvalidArgumentError(where + ": must be a string");
    ASSIGN_OR_RETURN(IPAddress ip, ParseRequested(entry.get_ref<const std::string&>(), where));
    out->push_back(ip);
  }
  return Status();
}

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

bool Range::Contains(const IPAddress& ip) const {
  return ip.family() == range_start.family() && range_start <= ip && ip <= range_end;
}

std::string Range::ToString() const {
  return subnet.ToString() + " (" + range_start.ToString() + "-" + range_end.ToString() +
         ", gateway " + gateway.ToString() + ")";
}

const Range* RangeSet::RangeFor(const IPAddress& ip) const {
  for (const Range& r : ranges) {
    if (r.Contains(ip)) return &r;
  }
  return nullptr;
}

std::string RangeSet::ToString() const {
  std::string out;
  for (const Range& r : ranges) {
    if (!out.empty()) out += ", ";
    out += r.ToString();
  }
  return out;
}

std::string IpamConfig::StoreDir() const {
  std::string dir = data_dir;
  if (dir.empty() || dir.back() != '/') dir += '/';
  return dir + network_name;
}

bool IpamConfig::IsExcluded(const IPAddress& ip) const {
  for (const Cidr& c : excluded) {
    if (c.Contains(ip)) return true;
  }
  return false;
}

StatusOr<IpamConfig> ParseIpamConfig(const nlohmann::json& ipam, std::string_view network_name) {
  RETURN_IF_ERROR(CheckNetworkName(network_name));
  if (!ipam.is_object()) {
    return InvalidArgumentError("ipam: must be an object, got " + std::string(ipam.type_name()));
  }
  IpamConfig cfg;
  cfg.network_name = std::string(network_name);
  ASSIGN_OR_RETURN(std::optional<std::string> type, OptString(ipam, "type", "ipam"));
  if (!type || type->empty()) return InvalidArgumentError("ipam.type: missing");
  cfg.type = *type;

  // The legacy single range, placed first (host-local's backwards compatibility).
  const bool has_legacy = ipam.contains("subnet") && !ipam["subnet"].is_null();
  if (has_legacy) {
    ASSIGN_OR_RETURN(Range r, ParseRange(ipam, "ipam"));
    cfg.range_sets.push_back(RangeSet{{r}});
  } else {
    for (const char* key : {"rangeStart", "rangeEnd", "gateway"}) {
      if (ipam.contains(key) && !ipam[key].is_null()) {
        return InvalidArgumentError(std::string("ipam.") + key + ": set without ipam.subnet");
      }
    }
  }
  if (auto it = ipam.find("ranges"); it != ipam.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgumentError("ipam.ranges: must be a list of range sets");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& set = (*it)[i];
      const std::string set_path = "ipam.ranges[" + std::to_string(i) + "]";
      if (!set.is_array()) {
        return InvalidArgumentError(set_path + ": must be a list of ranges, got " +
                                    std::string(set.type_name()));
      }
      if (set.empty()) return InvalidArgumentError(set_path + ": empty range set");
      RangeSet rs;
      for (size_t j = 0; j < set.size(); ++j) {
        const std::string path = set_path + "[" + std::to_string(j) + "]";
        ASSIGN_OR_RETURN(Range r, ParseRange(set[j], path));
        if (!rs.ranges.empty() && r.subnet.family() != rs.family()) {
          std::string msg = path;
          msg += ".subnet: " + r.subnet.ToString();
          msg += " mixes address families within range set " + set_path;
          return InvalidArgumentError(std::move(msg));
        }
        rs.ranges.push_back(r);
      }
      cfg.range_sets.push_back(std::move(rs));
    }
  }
  if (cfg.range_sets.empty()) {
    return InvalidArgumentError("ipam: no IP ranges specified (set ipam.ranges or ipam.subnet)");
  }
  // No range may overlap another, in the same range set or in another.
  for (size_t a = 0; a < cfg.range_sets.size(); ++a) {
    for (size_t i = 0; i < cfg.range_sets[a].ranges.size(); ++i) {
      for (size_t b = a; b < cfg.range_sets.size(); ++b) {
        for (size_t j = (b == a ? i + 1 : 0); j < cfg.range_sets[b].ranges.size(); ++j) {
          const Range& x = cfg.range_sets[a].ranges[i];
          const Range& y = cfg.range_sets[b].ranges[j];
          if (RangesOverlap(x, y)) {
            return InvalidArgumentError("ipam.ranges: range " + x.ToString() + " overlaps " +
                                        y.ToString() + " (range sets " + std::to_string(a) +
                                        " and " + std::to_string(b) + ")");
          }
        }
      }
    }
  }

  if (auto it = ipam.find("routes"); it != ipam.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgumentError("ipam.routes: must be a list");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& r = (*it)[i];
      const std::string path = "ipam.routes[" + std::to_string(i) + "]";
      if (!r.is_object()) return InvalidArgumentError(path + ": must be an object");
      ASSIGN_OR_RETURN(std::optional<std::string> dst, OptString(r, "dst", path));
      if (!dst) return InvalidArgumentError(path + ".dst: missing");
      StatusOr<Cidr> cidr = Cidr::ParseLoose(*dst);
      if (!cidr.ok()) return cidr.status().WithContext(path + ".dst");
      ASSIGN_OR_RETURN(std::optional<IPAddress> gw, OptIP(r, "gw", path));
      if (gw && gw->family() != cidr->family()) {
        return InvalidArgumentError(path + ".gw: " + gw->ToString() + " is not of the family of " +
                                    cidr->ToString());
      }
      cfg.routes.push_back(Route{*cidr, gw});
    }
  }

  ASSIGN_OR_RETURN(std::optional<std::string> data_dir, OptString(ipam, "dataDir", "ipam"));
  if (data_dir && !data_dir->empty()) {
    if (data_dir->find('\0') != std::string::npos) {
      return InvalidArgumentError("ipam.dataDir: contains a NUL byte");
    }
    cfg.data_dir = *data_dir;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> resolv, OptString(ipam, "resolvConf", "ipam"));
  if (resolv) cfg.resolv_conf = *resolv;

  if (auto it = ipam.find("exclude"); it != ipam.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgumentError("ipam.exclude: must be a list of strings");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& e = (*it)[i];
      const std::string path = "ipam.exclude[" + std::to_string(i) + "]";
      if (!e.is_string()) return InvalidArgumentError(path + ": must be a string");
      const std::string& text = e.get_ref<const std::string&>();
      if (text.find('/') != std::string::npos) {
        StatusOr<Cidr> c = Cidr::Parse(text);
        if (!c.ok()) return c.status().WithContext(path);
        cfg.excluded.push_back(*c);
      } else {
        StatusOr<IPAddress> ip = IPAddress::Parse(text);
        if (!ip.ok()) return ip.status().WithContext(path);
        cfg.excluded.push_back(Cidr::HostPrefix(*ip));
      }
    }
  }
  return cfg;
}

StatusOr<std::vector<IPAddress>> RequestedIps(const nlohmann::json& netconf,
                                              std::string_view cni_args) {
  std::vector<IPAddress> ips;
  RETURN_IF_ERROR(
      AddRequestedFromJson(netconf, {"runtimeConfig", "ips"}, "runtimeConfig.ips", &ips));
  RETURN_IF_ERROR(AddRequestedFromJson(netconf, {"args", "cni", "ips"}, "args.cni.ips", &ips));
  while (!cni_args.empty()) {
    const size_t semi = cni_args.find(';');
    std::string_view pair = cni_args.substr(0, semi);
    cni_args = semi == std::string_view::npos ? std::string_view() : cni_args.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != "IP") continue;
    std::string_view list = pair.substr(eq + 1);
    while (true) {
      const size_t comma = list.find(',');
      std::string_view item = Trim(list.substr(0, comma));
      if (!item.empty()) {
        ASSIGN_OR_RETURN(IPAddress ip, ParseRequested(item, "CNI_ARGS IP"));
        ips.push_back(ip);
      }
      if (comma == std::string_view::npos) break;
      list = list.substr(comma + 1);
    }
  }
  std::vector<IPAddress> unique;
  for (const IPAddress& ip : ips) {
    bool seen = false;
    for (const IPAddress& u : unique) seen = seen || u == ip;
    if (!seen) unique.push_back(ip);
  }
  return unique;
}

Dns ParseResolvConf(std::string_view text) {
  Dns dns;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    std::istringstream words(line);
    std::string key;
    words >> key;
    std::vector<std::string> values;
    for (std::string w; words >> w;) values.push_back(w);
    if (values.empty()) continue;
    if (key == "nameserver") {
      dns.nameservers.push_back(values[0]);
    } else if (key == "domain") {
      dns.domain = values[0];
    } else if (key == "search") {
      dns.search = values;
    } else if (key == "options") {
      dns.options.insert(dns.options.end(), values.begin(), values.end());
    }
  }
  return dns;
}

StatusOr<Dns> ReadResolvConf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return base::ErrnoError(errno, "reading resolvConf " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseResolvConf(buf.str());
}

}  // namespace knet::ipam
