#include "kernel/netlink/parse.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace knet::kernel::netlink {
namespace {

using base::Status;
using base::StatusOr;
using Bytes = std::span<const uint8_t>;

Status Malformed(std::string_view what, std::string_view why) {
  return base::InvalidArgumentError("parsing " + std::string(what) +
                                    " message: " + std::string(why));
}

// Reads a fixed-size struct from the front of `bytes` (memcpy: the input may be unaligned).
template <typename T>
bool ReadStruct(Bytes bytes, T* out) {
  if (bytes.size() < sizeof(T)) return false;
  std::memcpy(out, bytes.data(), sizeof(T));
  return true;
}

// Calls fn(header, payload) for each message. Trailing bytes shorter than a header, or a length
// running past the end, are malformed.
template <typename F>
Status ForEachMessage(Bytes bytes, std::string_view what, F&& fn) {
  size_t off = 0;
  while (off < bytes.size()) {
    nlmsghdr h{};
    if (!ReadStruct(bytes.subspan(off), &h)) return Malformed(what, "truncated header");
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > bytes.size() - off) {
      return Malformed(what, "length " + std::to_string(h.nlmsg_len) + " out of bounds");
    }
    RETURN_IF_ERROR(fn(h, bytes.subspan(off + sizeof(nlmsghdr), h.nlmsg_len - sizeof(nlmsghdr))));
    off += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), bytes.size() - off);
  }
  return base::OkStatus();
}

// Calls fn(type, payload) for each attribute (type without NLA_F_NESTED / NLA_F_NET_BYTEORDER).
template <typename F>
Status ForEachAttr(Bytes bytes, std::string_view what, F&& fn) {
  size_t off = 0;
  while (bytes.size() - off >= sizeof(nlattr)) {
    nlattr a{};
    ReadStruct(bytes.subspan(off), &a);
    if (a.nla_len < sizeof(nlattr) || a.nla_len > bytes.size() - off) {
      return Malformed(what, "attribute " + std::to_string(a.nla_type & NLA_TYPE_MASK) +
                                 " length " + std::to_string(a.nla_len) + " out of bounds");
    }
    RETURN_IF_ERROR(fn(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK),
                       bytes.subspan(off + sizeof(nlattr), a.nla_len - sizeof(nlattr))));
    off += std::min<size_t>(NLA_ALIGN(a.nla_len), bytes.size() - off);
  }
  return base::OkStatus();
}

template <typename T>
Status ReadInt(Bytes data, std::string_view what, std::string_view attr, T* out) {
  if (data.size() != sizeof(T)) {
    return Malformed(what, std::string(attr) + " has " + std::to_string(data.size()) +
                               " bytes, want " + std::to_string(sizeof(T)));
  }
  std::memcpy(out, data.data(), sizeof(T));
  return base::OkStatus();
}

std::string ReadString(Bytes data) {
  std::string s(reinterpret_cast<const char*>(data.data()), data.size());
  if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  return s;
}

Status ReadIp(Bytes data, uint8_t family, std::string_view what, std::string_view attr,
              base::IPAddress* out) {
  size_t want = family == AF_INET ? 4 : 16;
  if (data.size() != want) {
    return Malformed(what, std::string(attr) + " has " + std::to_string(data.size()) +
                               " bytes, want " + std::to_string(want));
  }
  auto ip = base::IPAddress::FromBytes(data);
  if (!ip.ok()) return Malformed(what, ip.status().message());
  *out = *ip;
  return base::OkStatus();
}

bool InRange(uint16_t type, uint16_t first) { return type >= first && type < first + 4; }

// ---- links ----

constexpr std::string_view kLink = "link";

Status ParseVxlan(Bytes data, VxlanInfo* v) {
  return ForEachAttr(data, kLink, [&](uint16_t type, Bytes d) -> Status {
    switch (type) {
      case IFLA_VXLAN_ID:
        return ReadInt(d, kLink, "IFLA_VXLAN_ID", &v->vni);
      case IFLA_VXLAN_LOCAL:
      case IFLA_VXLAN_LOCAL6: {
        base::IPAddress ip;
        RETURN_IF_ERROR(ReadIp(d, type == IFLA_VXLAN_LOCAL ? AF_INET : AF_INET6, kLink,
                               "IFLA_VXLAN_LOCAL", &ip));
        v->local = ip;
        return base::OkStatus();
      }
      case IFLA_VXLAN_PORT: {
        uint16_t port = 0;
        RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_VXLAN_PORT", &port));
        v->port = ntohs(port);
        return base::OkStatus();
      }
      case IFLA_VXLAN_LEARNING: {
        uint8_t on = 0;
        RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_VXLAN_LEARNING", &on));
        v->learning = on != 0;
        return base::OkStatus();
      }
      case IFLA_VXLAN_LINK: {
        uint32_t link = 0;
        RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_VXLAN_LINK", &link));
        v->link_index = static_cast<int>(link);
        return base::OkStatus();
      }
      default:
        return base::OkStatus();
    }
  });
}

Status ParseBridgePort(Bytes data, std::optional<bool>* hairpin) {
  return ForEachAttr(data, kLink, [&](uint16_t type, Bytes d) -> Status {
    if (type != IFLA_BRPORT_MODE) return base::OkStatus();
    uint8_t mode = 0;
    RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_BRPORT_MODE", &mode));
    *hairpin = mode != 0;
    return base::OkStatus();
  });
}

// `body` is an ifinfomsg followed by attributes; depth limits VETH_INFO_PEER nesting.
Status ParseLinkBody(Bytes body, int depth, LinkMessage* m);

Status ParseLinkInfo(Bytes data, int depth, LinkMessage* m) {
  Bytes info_data, slave_data;
  std::string slave_kind;
  if (Status walk = ForEachAttr(data, kLink,
                                [&](uint16_t type, Bytes d) -> Status {
                                  if (type == IFLA_INFO_KIND) m->link.kind = ReadString(d);
                                  if (type == IFLA_INFO_DATA) info_data = d;
                                  if (type == IFLA_INFO_SLAVE_KIND) slave_kind = ReadString(d);
                                  if (type == IFLA_INFO_SLAVE_DATA) slave_data = d;
                                  return base::OkStatus();
                                });
      !walk.ok())
    return walk;
  if (m->link.kind == "vxlan" && !info_data.empty()) {
    VxlanInfo v;
    RETURN_IF_ERROR(ParseVxlan(info_data, &v));
    m->link.vxlan = v;
  }
  if (m->link.kind == "veth" && !info_data.empty()) {
    if (Status walk = ForEachAttr(info_data, kLink,
                                  [&](uint16_t type, Bytes d) -> Status {
                                    if (type != VETH_INFO_PEER) return base::OkStatus();
                                    if (depth > 0) return Malformed(kLink, "nested VETH_INFO_PEER");
                                    LinkMessage peer;
                                    RETURN_IF_ERROR(ParseLinkBody(d, depth + 1, &peer));
                                    m->veth_peer.clear();
                                    m->veth_peer.push_back(std::move(peer));
                                    return base::OkStatus();
                                  });
        !walk.ok())
      return walk;
  }
  if (slave_kind == "bridge" && !slave_data.empty()) {
    std::optional<bool> hairpin;
    RETURN_IF_ERROR(ParseBridgePort(slave_data, &hairpin));
    if (hairpin) m->link.hairpin = *hairpin;
  }
  return base::OkStatus();
}

Status ParseLinkBody(Bytes body, int depth, LinkMessage* m) {
  ifinfomsg ifi{};
  if (!ReadStruct(body, &ifi)) return Malformed(kLink, "truncated ifinfomsg");
  m->family = ifi.ifi_family;
  m->change = ifi.ifi_change;
  m->link.index = ifi.ifi_index;
  m->link.flags = ifi.ifi_flags;
  return ForEachAttr(body.subspan(NLMSG_ALIGN(sizeof(ifinfomsg))), kLink,
                     [&](uint16_t type, Bytes d) -> Status {
                       uint32_t u = 0;
                       switch (type) {
                         case IFLA_IFNAME:
                           m->link.name = ReadString(d);
                           return base::OkStatus();
                         case IFLA_MTU:
                           return ReadInt(d, kLink, "IFLA_MTU", &m->link.mtu);
                         case IFLA_ADDRESS:
                           // Only Ethernet-like addresses; tunnels carry 4- or 16-byte ones.
                           if (d.size() == base::MacAddress::kBytes) {
                             m->link.mac = *base::MacAddress::FromBytes(d);
                             m->mac = m->link.mac;
                           }
                           return base::OkStatus();
                         case IFLA_MASTER:
                           RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_MASTER", &u));
                           m->link.master_index = static_cast<int>(u);
                           m->master = m->link.master_index;
                           return base::OkStatus();
                         case IFLA_LINK:
                           RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_LINK", &u));
                           m->link.peer_index = static_cast<int>(u);
                           return base::OkStatus();
                         case IFLA_NET_NS_FD:
                           RETURN_IF_ERROR(ReadInt(d, kLink, "IFLA_NET_NS_FD", &u));
                           m->netns_fd = static_cast<int>(u);
                           return base::OkStatus();
                         case IFLA_LINKINFO:
                           return ParseLinkInfo(d, depth, m);
                         case IFLA_PROTINFO:
                           // Only AF_BRIDGE messages carry bridge port attributes here.
                           if (m->family != AF_BRIDGE) return base::OkStatus();
                           RETURN_IF_ERROR(ParseBridgePort(d, &m->hairpin));
                           if (m->hairpin) m->link.hairpin = *m->hairpin;
                           return base::OkStatus();
                         default:
                           return base::OkStatus();
                       }
                     });
}

// ---- addresses ----

constexpr std::string_view kAddress = "address";

Status ParseAddressBody(Bytes body, std::optional<Address>* out) {
  ifaddrmsg ifa{};
  if (!ReadStruct(body, &ifa)) return Malformed(kAddress, "truncated ifaddrmsg");
  if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6) return base::OkStatus();
  if (ifa.ifa_prefixlen > (ifa.ifa_family == AF_INET ? 32 : 128)) {
    return Malformed(kAddress, "prefix length " + std::to_string(ifa.ifa_prefixlen));
  }
  Address a;
  a.link_index = static_cast<int>(ifa.ifa_index);
  a.prefix_len = ifa.ifa_prefixlen;
  a.scope = ifa.ifa_scope;
  uint32_t flags = ifa.ifa_flags;
  std::optional<base::IPAddress> local, address;
  if (Status walk = ForEachAttr(body.subspan(NLMSG_ALIGN(sizeof(ifaddrmsg))), kAddress,
                                [&](uint16_t type, Bytes d) -> Status {
                                  base::IPAddress ip;
                                  switch (type) {
                                    case IFA_LOCAL:
                                    case IFA_ADDRESS:
                                      RETURN_IF_ERROR(
                                          ReadIp(d, ifa.ifa_family, kAddress, "IFA_ADDRESS", &ip));
                                      (type == IFA_LOCAL ? local : address) = ip;
                                      return base::OkStatus();
                                    case IFA_FLAGS:
                                      return ReadInt(d, kAddress, "IFA_FLAGS", &flags);
                                    default:
                                      return base::OkStatus();
                                  }
                                });
      !walk.ok())
    return walk;
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS differs only on point-to-point links.
  if (!local) local = address;
  if (!local) return base::OkStatus();
  a.ip = *local;
  a.nodad = (flags & IFA_F_NODAD) != 0;
  *out = a;
  return base::OkStatus();
}

// ---- routes ----

constexpr std::string_view kRoute = "route";

Status ParseRouteBody(Bytes body, std::optional<Route>* out) {
  rtmsg rtm{};
  if (!ReadStruct(body, &rtm)) return Malformed(kRoute, "truncated rtmsg");
  if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6) return base::OkStatus();
  if ((rtm.rtm_flags & RTM_F_CLONED) != 0) return base::OkStatus();
  Route r;
  r.scope = rtm.rtm_scope;
  r.table = rtm.rtm_table;
  r.protocol = rtm.rtm_protocol;
  r.type = rtm.rtm_type;
  r.onlink = (rtm.rtm_flags & RTNH_F_ONLINK) != 0;
  base::IPAddress dst = rtm.rtm_family == AF_INET
                            ? base::IPAddress()
                            : base::IPAddress::FromV6(std::array<uint8_t, 16>{});
  if (Status walk =
          ForEachAttr(body.subspan(NLMSG_ALIGN(sizeof(rtmsg))), kRoute,
                      [&](uint16_t type, Bytes d) -> Status {
                        base::IPAddress ip;
                        uint32_t u = 0;
                        switch (type) {
                          case RTA_DST:
                            return ReadIp(d, rtm.rtm_family, kRoute, "RTA_DST", &dst);
                          case RTA_GATEWAY:
                            RETURN_IF_ERROR(ReadIp(d, rtm.rtm_family, kRoute, "RTA_GATEWAY", &ip));
                            r.gateway = ip;
                            return base::OkStatus();
                          case RTA_PREFSRC:
                            RETURN_IF_ERROR(ReadIp(d, rtm.rtm_family, kRoute, "RTA_PREFSRC", &ip));
                            r.src = ip;
                            return base::OkStatus();
                          case RTA_OIF:
                            RETURN_IF_ERROR(ReadInt(d, kRoute, "RTA_OIF", &u));
                            r.link_index = static_cast<int>(u);
                            return base::OkStatus();
                          case RTA_TABLE:
                            return ReadInt(d, kRoute, "RTA_TABLE", &r.table);
                          case RTA_PRIORITY:
                            return ReadInt(d, kRoute, "RTA_PRIORITY", &r.metric);
                          default:
                            return base::OkStatus();
                        }
                      });
      !walk.ok())
    return walk;
  auto cidr = base::Cidr::MakeMasked(dst, rtm.rtm_dst_len);
  if (!cidr.ok()) return Malformed(kRoute, cidr.status().message());
  r.dst = *cidr;
  *out = r;
  return base::OkStatus();
}

// ---- neighbours ----

constexpr std::string_view kNeighbor = "neighbour";

Status ParseNeighborBody(Bytes body, std::optional<Neighbor>* out) {
  ndmsg ndm{};
  if (!ReadStruct(body, &ndm)) return Malformed(kNeighbor, "truncated ndmsg");
  Neighbor n;
  if (ndm.ndm_family == AF_BRIDGE) {
    n.kind = NeighborKind::kFdb;
  } else if (ndm.ndm_family != AF_INET && ndm.ndm_family != AF_INET6) {
    return base::OkStatus();
  }
  n.link_index = ndm.ndm_ifindex;
  n.state = ndm.ndm_state;
  n.flags = ndm.ndm_flags;
  if (Status walk =
          ForEachAttr(body.subspan(NLMSG_ALIGN(sizeof(ndmsg))), kNeighbor,
                      [&](uint16_t type, Bytes d) -> Status {
                        if (type == NDA_DST) {
                          // FDB entries of a vxlan device name the remote VTEP in either family.
                          uint8_t family = ndm.ndm_family;
                          if (family == AF_BRIDGE) family = d.size() == 4 ? AF_INET : AF_INET6;
                          base::IPAddress ip;
                          RETURN_IF_ERROR(ReadIp(d, family, kNeighbor, "NDA_DST", &ip));
                          n.ip = ip;
                        } else if (type == NDA_LLADDR && d.size() == base::MacAddress::kBytes) {
                          n.mac = *base::MacAddress::FromBytes(d);
                        }
                        return base::OkStatus();
                      });
      !walk.ok())
    return walk;
  *out = n;
  return base::OkStatus();
}

template <typename T, typename F>
StatusOr<std::vector<Parsed<T>>> ParseAll(Bytes bytes, uint16_t first_type, std::string_view what,
                                          F&& parse_body) {
  std::vector<Parsed<T>> out;
  if (Status walk = ForEachMessage(
          bytes, what,
          [&](const nlmsghdr& h, Bytes body) -> Status {
            if (!InRange(h.nlmsg_type, first_type)) return base::OkStatus();
            std::optional<T> value;
            RETURN_IF_ERROR(parse_body(body, &value));
            if (value) out.push_back(Parsed<T>{h.nlmsg_type, h.nlmsg_flags, std::move(*value)});
            return base::OkStatus();
          });
      !walk.ok())
    return walk;
  return out;
}

template <typename T>
std::vector<T> Values(std::vector<Parsed<T>>&& parsed) {
  std::vector<T> out;
  out.reserve(parsed.size());
  for (auto& p : parsed) out.push_back(std::move(p.value));
  return out;
}

}  // namespace

StatusOr<std::vector<LinkMessage>> ParseLinkMessages(Bytes bytes) {
  std::vector<LinkMessage> out;
  if (Status walk = ForEachMessage(bytes, kLink,
                                   [&](const nlmsghdr& h, Bytes body) -> Status {
                                     if (!InRange(h.nlmsg_type, RTM_NEWLINK))
                                       return base::OkStatus();
                                     LinkMessage m;
                                     m.type = h.nlmsg_type;
                                     m.flags = h.nlmsg_flags;
                                     RETURN_IF_ERROR(ParseLinkBody(body, 0, &m));
                                     out.push_back(std::move(m));
                                     return base::OkStatus();
                                   });
      !walk.ok())
    return walk;
  return out;
}

StatusOr<std::vector<Parsed<Address>>> ParseAddressMessages(Bytes bytes) {
  return ParseAll<Address>(bytes, RTM_NEWADDR, kAddress, ParseAddressBody);
}
StatusOr<std::vector<Parsed<Route>>> ParseRouteMessages(Bytes bytes) {
  return ParseAll<Route>(bytes, RTM_NEWROUTE, kRoute, ParseRouteBody);
}
StatusOr<std::vector<Parsed<Neighbor>>> ParseNeighborMessages(Bytes bytes) {
  return ParseAll<Neighbor>(bytes, RTM_NEWNEIGH, kNeighbor, ParseNeighborBody);
}

StatusOr<std::vector<Link>> ParseLinks(Bytes bytes) {
  ASSIGN_OR_RETURN(std::vector<LinkMessage> messages, ParseLinkMessages(bytes));
  std::vector<Link> out;
  out.reserve(messages.size());
  for (auto& m : messages) out.push_back(std::move(m.link));
  return out;
}
StatusOr<std::vector<Address>> ParseAddresses(Bytes bytes) {
  ASSIGN_OR_RETURN(auto parsed, ParseAddressMessages(bytes));
  return Values(std::move(parsed));
}
StatusOr<std::vector<Route>> ParseRoutes(Bytes bytes) {
  ASSIGN_OR_RETURN(auto parsed, ParseRouteMessages(bytes));
  return Values(std::move(parsed));
}
StatusOr<std::vector<Neighbor>> ParseNeighbors(Bytes bytes) {
  ASSIGN_OR_RETURN(auto parsed, ParseNeighborMessages(bytes));
  return Values(std::move(parsed));
}

}  // namespace knet::kernel::netlink

namespace knet::kernel::netlink {

StatusOr<std::vector<Bytes>> SplitMessages(Bytes bytes) {
  std::vector<Bytes> out;
  size_t off = 0;
  if (Status walk = ForEachMessage(bytes, "netlink",
                                   [&](const nlmsghdr& h, Bytes) -> Status {
                                     out.push_back(bytes.subspan(off, h.nlmsg_len));
                                     off += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len),
                                                             bytes.size() - off);
                                     return base::OkStatus();
                                   });
      !walk.ok())
    return walk;
  return out;
}

StatusOr<Ack> ParseAck(Bytes message) {
  nlmsghdr h{};
  if (!ReadStruct(message, &h) || h.nlmsg_len > message.size()) {
    return Malformed("error", "truncated header");
  }
  Bytes payload = message.subspan(sizeof(nlmsghdr), h.nlmsg_len - sizeof(nlmsghdr));
  nlmsgerr err{};
  if (!ReadStruct(payload, &err)) return Malformed("error", "truncated nlmsgerr");
  Ack ack;
  ack.seq = err.msg.nlmsg_seq;
  ack.error = err.error;
  if ((h.nlmsg_flags & NLM_F_ACK_TLVS) == 0) return ack;
  // The TLVs follow the echoed request: its header only when NLM_F_CAPPED, else all of it.
  size_t offset = sizeof(nlmsgerr);
  if ((h.nlmsg_flags & NLM_F_CAPPED) == 0 && err.msg.nlmsg_len > sizeof(nlmsghdr)) {
    offset += NLMSG_ALIGN(err.msg.nlmsg_len - sizeof(nlmsghdr));
  }
  if (offset > payload.size()) return Malformed("error", "echoed request past the end");
  if (Status walk = ForEachAttr(payload.subspan(offset), "error",
                                [&](uint16_t type, Bytes d) {
                                  if (type == NLMSGERR_ATTR_MSG) ack.message = ReadString(d);
                                  return base::OkStatus();
                                });
      !walk.ok())
    return walk;
  return ack;
}

Status NetlinkError(int err, std::string_view what, std::string_view kernel_message) {
  base::StatusCode code = base::StatusCode::kInternal;
  switch (err) {
    case EEXIST:
      code = base::StatusCode::kAlreadyExists;
      break;
    case ENOENT:
    case ENODEV:
    case ESRCH:
    case EADDRNOTAVAIL:
      code = base::StatusCode::kNotFound;
      break;
    case EINVAL:
    case ERANGE:
    case EAFNOSUPPORT:
      code = base::StatusCode::kInvalidArgument;
      break;
    case EOPNOTSUPP:
      code = base::StatusCode::kUnimplemented;
      break;
    case EPERM:
    case EACCES:
      code = base::StatusCode::kPermissionDenied;
      break;
    case EBUSY:
    case ENETUNREACH:
    case ENETDOWN:
      code = base::StatusCode::kFailedPrecondition;
      break;
    case ENOBUFS:
    case ENOMEM:
    case ENOSPC:
      code = base::StatusCode::kResourceExhausted;
      break;
    case EAGAIN:
    case EINTR:
      code = base::StatusCode::kUnavailable;
      break;
    default:
      break;
  }
  std::string message = std::string(what) + ": " + std::strerror(err);
  if (!kernel_message.empty()) message += " (kernel: " + std::string(kernel_message) + ")";
  return base::Status(code, std::move(message)).set_sys_errno(err);
}

}  // namespace knet::kernel::netlink
