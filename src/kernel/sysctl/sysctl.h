// File: kernel/sysctl/sysctl.h
//
// Network sysctls of the calling thread's network namespace, through /proc/sys (what
// `sysctl -w` does, without running it). Set writes only when the value differs, so a hot path
// (a CNI ADD) pays one read when the setting is already right.
//
//   RETURN_IF_ERROR(sysctl::Set("net/ipv4/ip_forward", "1"));
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::kernel::sysctl {

// The value of /proc/sys/<key> without its trailing newline. NotFound if there is no such key.
base::StatusOr<std::string> Get(std::string_view key);

// Writes `value` to /proc/sys/<key> unless it already holds it. Errors name the key
// ("setting net/ipv4/ip_forward to 1: Permission denied").
base::Status Set(std::string_view key, std::string_view value);

}  // namespace knet::kernel::sysctl
