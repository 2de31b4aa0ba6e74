// File: kernel/conntrack/message.h
//
// ctnetlink messages (NFNL_SUBSYS_CTNETLINK): the dump request for one family, the parse of one
// IPCTNL_MSG_CT_NEW reply message into an Entry, and the delete request for an entry's original
// tuple. Pure functions over bytes; LinuxConntrack sends them.
//
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernel/conntrack/conntrack.h"

namespace knet::kernel::conntrack {

// IPCTNL_MSG_CT_GET with NLM_F_DUMP for `family` (AF_INET or AF_INET6).
std::vector<uint8_t> BuildDumpRequest(uint8_t family, uint32_t seq);
// IPCTNL_MSG_CT_DELETE of `e` (by its original tuple and zone), with NLM_F_ACK.
std::vector<uint8_t> BuildDeleteRequest(const Entry& e, uint32_t seq);
// IPCTNL_MSG_CT_NEW creating `e` (both tuples) with this timeout, NLM_F_CREATE|NLM_F_EXCL|ACK
// (what `conntrack -I` sends; tests use it to make entries without traffic).
std::vector<uint8_t> BuildCreateRequest(const Entry& e, uint32_t timeout_seconds, uint32_t seq);
// One ctnetlink message (nlmsghdr + nfgenmsg + attributes) describing a conntrack entry.
base::StatusOr<Entry> ParseEntry(std::span<const uint8_t> message);

}  // namespace knet::kernel::conntrack
