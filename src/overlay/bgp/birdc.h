// File: overlay/bgp/birdc.h
//
// Talking to a running bird through its control socket with `birdc -v -s <socket> <command>`:
// reconfiguring (`configure`) and reading the protocols' states (`show protocols`). The reply
// codes of birdc's verbose mode decide success; BIRD's own message is kept in errors.
//
//   Birdc birdc("/usr/sbin/birdc", "/var/lib/knet/agent/bgp/bird.ctl");
//   RETURN_IF_ERROR(birdc.Configure());
//   ASSIGN_OR_RETURN(std::vector<BirdProtocol> ps, birdc.ShowProtocols());
//
// Thread-safe (each call runs its own birdc process).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace knet::overlay::bgp {

// One line of `show protocols`.
struct BirdProtocol {
  std::string name;   // "Mesh_10_0_0_2"
  std::string proto;  // "BGP", "Kernel", "Static", "Device"
  std::string table;  // "---" or "master4"
  std::string state;  // "up", "down", "start"
  std::string since;  // "02:01:03.123"
  std::string info;   // "Established", "Active", "Connect", "Passive", ... ("" if none)
  bool operator==(const BirdProtocol&) const = default;
};

// Parses the output of `birdc -v show protocols` (lines with BIRD's 4-digit reply codes).
// InvalidArgument on a reply that is not a protocol table, with BIRD's message.
base::StatusOr<std::vector<BirdProtocol>> ParseShowProtocols(std::string_view output);

// Checks the output of `birdc -v configure` (or any command): OK for success codes, else an error
// carrying BIRD's message ("/x/bird.conf:12:3 syntax error, unexpected ..."). Unavailable when
// bird could not be reached (no socket, connection refused).
base::Status CheckReply(std::string_view command, std::string_view output);

class Birdc {
 public:
  Birdc(std::string birdc_path, std::string socket_path)
      : birdc_path_(std::move(birdc_path)), socket_path_(std::move(socket_path)) {}

  // `configure`: bird re-reads its configuration file (the -c path it was started with).
  base::Status Configure() const;
  base::StatusOr<std::vector<BirdProtocol>> ShowProtocols() const;
  // Any command's verbose output, checked with CheckReply.
  base::StatusOr<std::string> Run(const std::string& command) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string birdc_path_;
  std::string socket_path_;
};

}  // namespace knet::overlay::bgp
