// File: cni/config.h
//
// The inputs of one CNI call: the CNI_* environment and the network configuration on stdin, parsed
// and validated. Every problem is a cni::Error with the spec's code and a message naming the
// variable or field (code 4 for the environment, 6 for bytes that are not JSON, 7 for an invalid
// configuration, 1 for an unsupported cniVersion).
//
//   Outcome<Environment> env = ParseEnvironment([](std::string_view k) { ... getenv ... });
//   Outcome<NetConf> conf = ParseNetConf(stdin_bytes, env.value().command);
//
// Free functions and value types: thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/spec.h"

namespace knet::cni {

enum class Command { kAdd, kDel, kCheck, kVersion, kStatus, kGc };
std::string_view CommandName(Command command);

// The CNI_* variables (spec section "Parameters").
struct Environment {
  Command command = Command::kVersion;
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS (a path)
  std::string ifname;        // CNI_IFNAME
  std::string args;          // CNI_ARGS ("K1=V1;K2=V2")
  std::string path;          // CNI_PATH (knet-cni execs nothing; kept for completeness)
};

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Reads CNI_COMMAND and the variables that command needs: CNI_CONTAINERID and CNI_IFNAME for ADD,
// DEL and CHECK; CNI_NETNS for ADD and CHECK (DEL may omit it, as the spec allows). A container
// ID is non-empty and made of letters, digits, '_', '.' and '-' (starting with a letter or digit);
// an interface name is 1-15 bytes without '/', ':' or whitespace and not "." or "..".
// Errors: code 4 naming the variable.
Outcome<Environment> ParseEnvironment(const EnvLookup& lookup);

// One attachment a runtime names in a GC request.
struct GcAttachment {
  std::string container_id;
  std::string ifname;
};

// The bridge plugin's network configuration.
struct NetConf {
  std::string cni_version;
  std::string name;
  std::string type;
  std::string bridge = "cni0";
  bool is_gateway = false;
  bool is_default_gateway = false;  // implies is_gateway
  bool force_address = false;
  bool hairpin_mode = false;
  bool ip_masq = false;           // masquerade pod traffic leaving the subnet (nftables, masq.h)
  uint32_t mtu = 0;               // 0: the kernel's default
  nlohmann::json ipam;            // the "ipam" object (null when absent)
  nlohmann::json prev_result;     // null when absent
  nlohmann::json runtime_config;  // null when absent
  nlohmann::json args;            // null when absent
  nlohmann::json raw;             // the whole configuration (RequestedIps reads it)
  // GC: "cni.dev/valid-attachments" (current spec) or "cni.dev/attachments" (1.1.0 tag).
  std::vector<GcAttachment> valid_attachments;
};

// Parses the configuration on stdin for `command` (not VERSION). Checks types of every known field,
// the cniVersion (1.1.0 for STATUS and GC, which older versions do not have), that "ipam" is an
// object (required for ADD, DEL, CHECK, STATUS, GC), the bridge name, the mtu range
// (68..65535, or 0), and the GC attachment list. Unknown fields are ignored, as the spec allows.
Outcome<NetConf> ParseNetConf(std::string_view stdin_bytes, Command command);

// The cniVersion the error JSON should carry for these stdin bytes: the configuration's own
// cniVersion when it is a supported one, else kCurrentVersion.
std::string ResponseVersion(std::string_view stdin_bytes);

}  // namespace knet::cni
