#include "kernel/conntrack/message.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace knet::kernel::conntrack {
namespace {

constexpr size_t kBufferSize = 512;  // a delete request is ~100 bytes

nlmsghdr* PutHeader(std::vector<uint8_t>& buf, uint16_t type, uint16_t flags, uint8_t family,
                    uint32_t seq) {
  buf.assign(kBufferSize, 0);
  nlmsghdr* h = mnl_nlmsg_put_header(buf.data());
  h->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | type);
  h->nlmsg_flags = flags;
  h->nlmsg_seq = seq;
  auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(nfgenmsg)));
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = 0;
  return h;
}

void PutTuple(nlmsghdr* h, uint16_t type, const Tuple& t) {
  nlattr* tuple = mnl_attr_nest_start(h, type);
  nlattr* ip = mnl_attr_nest_start(h, CTA_TUPLE_IP);
  if (t.src.is_v4()) {
    mnl_attr_put(h, CTA_IP_V4_SRC, 4, t.src.bytes().data());
    mnl_attr_put(h, CTA_IP_V4_DST, 4, t.dst.bytes().data());
  } else {
    mnl_attr_put(h, CTA_IP_V6_SRC, 16, t.src.bytes().data());
    mnl_attr_put(h, CTA_IP_V6_DST, 16, t.dst.bytes().data());
  }
  mnl_attr_nest_end(h, ip);
  nlattr* proto = mnl_attr_nest_start(h, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(h, CTA_PROTO_NUM, t.protocol);
  if (t.src_port != 0 || t.dst_port != 0) {
    mnl_attr_put_u16(h, CTA_PROTO_SRC_PORT, htons(t.src_port));
    mnl_attr_put_u16(h, CTA_PROTO_DST_PORT, htons(t.dst_port));
  }
  mnl_attr_nest_end(h, proto);
  mnl_attr_nest_end(h, tuple);
}

// Collects the attributes of one nesting level, indexed by type (unknown types ignored).
template <size_t N>
struct Table {
  std::array<const nlattr*, N> a{};
};

template <size_t N>
int Collect(const nlattr* attr, void* data) {
  auto* t = static_cast<Table<N>*>(data);
  uint16_t type = mnl_attr_get_type(attr);
  if (type < N) t->a[type] = attr;
  return MNL_CB_OK;
}

template <size_t N>
base::Status ParseNested(const nlattr* nest, Table<N>* out) {
  if (mnl_attr_parse_nested(nest, Collect<N>, out) < 0) {
    return base::InvalidArgumentError("conntrack message: malformed nested attribute");
  }
  return base::OkStatus();
}

base::StatusOr<base::IPAddress> Address(const nlattr* a, size_t len) {
  if (a == nullptr || mnl_attr_get_payload_len(a) != len) {
    return base::InvalidArgumentError("conntrack message: missing or short address");
  }
  return base::IPAddress::FromBytes(
      std::span<const uint8_t>(static_cast<const uint8_t*>(mnl_attr_get_payload(a)), len));
}

base::StatusOr<uint16_t> Port(const nlattr* a) {
  if (a == nullptr) return uint16_t{0};
  if (mnl_attr_get_payload_len(a) != 2) {
    return base::InvalidArgumentError("conntrack message: bad port attribute");
  }
  return ntohs(mnl_attr_get_u16(a));
}

base::StatusOr<Tuple> ParseTuple(const nlattr* nest) {
  if (nest == nullptr) return base::InvalidArgumentError("conntrack message: missing tuple");
  Table<CTA_TUPLE_MAX + 1> t;
  RETURN_IF_ERROR(ParseNested(nest, &t));
  if (t.a[CTA_TUPLE_IP] == nullptr || t.a[CTA_TUPLE_PROTO] == nullptr) {
    return base::InvalidArgumentError("conntrack message: tuple without addresses or protocol");
  }
  Table<CTA_IP_MAX + 1> ip;
  RETURN_IF_ERROR(ParseNested(t.a[CTA_TUPLE_IP], &ip));
  Tuple out;
  if (ip.a[CTA_IP_V4_SRC] != nullptr) {
    ASSIGN_OR_RETURN(out.src, Address(ip.a[CTA_IP_V4_SRC], 4));
    ASSIGN_OR_RETURN(out.dst, Address(ip.a[CTA_IP_V4_DST], 4));
  } else {
    ASSIGN_OR_RETURN(out.src, Address(ip.a[CTA_IP_V6_SRC], 16));
    ASSIGN_OR_RETURN(out.dst, Address(ip.a[CTA_IP_V6_DST], 16));
  }
  Table<CTA_PROTO_MAX + 1> proto;
  RETURN_IF_ERROR(ParseNested(t.a[CTA_TUPLE_PROTO], &proto));
  const nlattr* num = proto.a[CTA_PROTO_NUM];
  if (num == nullptr || mnl_attr_get_payload_len(num) != 1) {
    return base::InvalidArgumentError("conntrack message: tuple without protocol number");
  }
  out.protocol = mnl_attr_get_u8(num);
  ASSIGN_OR_RETURN(out.src_port, Port(proto.a[CTA_PROTO_SRC_PORT]));
  ASSIGN_OR_RETURN(out.dst_port, Port(proto.a[CTA_PROTO_DST_PORT]));
  return out;
}

}  // namespace

std::vector<uint8_t> BuildDumpRequest(uint8_t family, uint32_t seq) {
  std::vector<uint8_t> buf;
  nlmsghdr* h = PutHeader(buf, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, family, seq);
  buf.resize(h->nlmsg_len);
  return buf;
}

std::vector<uint8_t> BuildDeleteRequest(const Entry& e, uint32_t seq) {
  std::vector<uint8_t> buf;
  uint8_t family = e.orig.src.is_v4() ? AF_INET : AF_INET6;
  nlmsghdr* h = PutHeader(buf, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, family, seq);
  PutTuple(h, CTA_TUPLE_ORIG, e.orig);
  if (e.zone != 0) mnl_attr_put_u16(h, CTA_ZONE, htons(e.zone));
  buf.resize(h->nlmsg_len);
  return buf;
}

std::vector<uint8_t> BuildCreateRequest(const Entry& e, uint32_t timeout_seconds, uint32_t seq) {
  std::vector<uint8_t> buf;
  uint8_t family = e.orig.src.is_v4() ? AF_INET : AF_INET6;
  nlmsghdr* h = PutHeader(buf, IPCTNL_MSG_CT_NEW,
                          NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, family, seq);
  PutTuple(h, CTA_TUPLE_ORIG, e.orig);
  PutTuple(h, CTA_TUPLE_REPLY, e.reply);
  mnl_attr_put_u32(h, CTA_TIMEOUT, htonl(timeout_seconds));
  if (e.zone != 0) mnl_attr_put_u16(h, CTA_ZONE, htons(e.zone));
  buf.resize(h->nlmsg_len);
  return buf;
}

base::StatusOr<Entry> ParseEntry(std::span<const uint8_t> message) {
  if (message.size() < NLMSG_HDRLEN + sizeof(nfgenmsg)) {
    return base::InvalidArgumentError("conntrack message: too short");
  }
  nlmsghdr hdr;
  std::memcpy(&hdr, message.data(), sizeof(hdr));
  if (hdr.nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg) || hdr.nlmsg_len > message.size()) {
    return base::InvalidArgumentError("conntrack message: bad length");
  }
  if ((hdr.nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK) {
    return base::InvalidArgumentError("conntrack message: not a ctnetlink message");
  }
  // libmnl reads in place; copy to an aligned buffer so attribute access is aligned.
  std::vector<uint32_t> aligned((hdr.nlmsg_len + 3) / 4);
  std::memcpy(aligned.data(), message.data(), hdr.nlmsg_len);
  const auto* h = reinterpret_cast<const nlmsghdr*>(aligned.data());
  Table<CTA_MAX + 1> top;
  if (mnl_attr_parse(h, sizeof(nfgenmsg), Collect<CTA_MAX + 1>, &top) < 0) {
    return base::InvalidArgumentError("conntrack message: malformed attributes");
  }
  Entry e;
  ASSIGN_OR_RETURN(e.orig, ParseTuple(top.a[CTA_TUPLE_ORIG]));
  ASSIGN_OR_RETURN(e.reply, ParseTuple(top.a[CTA_TUPLE_REPLY]));
  if (const nlattr* z = top.a[CTA_ZONE]; z != nullptr && mnl_attr_get_payload_len(z) == 2) {
    e.zone = ntohs(mnl_attr_get_u16(z));
  }
  return e;
}

bool Filter::Matches(const Entry& e) const {
  if (e.orig.protocol != protocol) return false;
  if (orig_dst && e.orig.dst != *orig_dst) return false;
  if (orig_dst_port != 0 && e.orig.dst_port != orig_dst_port) return false;
  if (reply_src && e.reply.src != *reply_src) return false;
  return true;
}

uint8_t Filter::Family() const {
  if (orig_dst) return orig_dst->is_v4() ? AF_INET : AF_INET6;
  if (reply_src) return reply_src->is_v4() ? AF_INET : AF_INET6;
  return family;
}

std::string Filter::String() const {
  std::string s = protocol == 17  ? "udp"
                  : protocol == 6 ? "tcp"
                                  : "proto " + std::to_string(protocol);
  if (!orig_dst && !reply_src) s += family == AF_INET6 ? " ipv6" : " ipv4";
  if (orig_dst) s += " orig-dst " + orig_dst->ToString();
  if (orig_dst_port != 0) s += " port " + std::to_string(orig_dst_port);
  if (reply_src) s += " reply-src " + reply_src->ToString();
  return s;
}

base::Status Filter::Validate() const {
  if (!orig_dst && !reply_src) {
    if (orig_dst_port == 0) {
      return base::InvalidArgumentError(
          "conntrack filter " + String() +
          ": needs an original destination, its port or a reply source");
    }
    if (family != AF_INET && family != AF_INET6) {
      return base::InvalidArgumentError("conntrack filter " + String() +
                                        ": a port-only filter needs a family");
    }
  }
  if (orig_dst && reply_src && orig_dst->family() != reply_src->family()) {
    return base::InvalidArgumentError("conntrack filter " + String() + ": mixed address families");
  }
  return base::OkStatus();
}

}  // namespace knet::kernel::conntrack
