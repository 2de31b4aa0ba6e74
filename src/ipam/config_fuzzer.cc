// libFuzzer target for ParseIpamConfig and RequestedIps (shared/style.md section 7: fuzz every
// parser of untrusted input; the ipam section comes from the CNI configuration on stdin). The
// input is a JSON network configuration; its "ipam" object is parsed. Checks, for any input:
//   - no crash, no exception escapes, no sanitizer report;
//   - an accepted configuration satisfies the Range invariants config.h documents;
//   - the allocator finds a first address in every range set of an accepted configuration (every
//     range holds at least one address besides the gateway, or the walk says so without hanging);
//   - a reservation file (the same bytes) that parses formats back to bytes that parse the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ipam/config.h"
#include "ipam/internal/allocator.h"
#include "ipam/internal/reservation.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzReservation(std::string_view text) {
  const knet::base::IPAddress ip = knet::base::IPAddress::FromV4(0x0a000001);
  auto r = knet::ipam::ipam_internal::ParseReservation(ip, text);
  if (!r.ok()) return;
  const bool single_line = r->attachment.container_id.find('\n') == std::string::npos &&
                           r->attachment.ifname.find('\n') == std::string::npos &&
                           r->boot_id.find('\n') == std::string::npos &&
                           r->pid_ns.find('\n') == std::string::npos;
  if (!single_line) return;
  auto again = knet::ipam::ipam_internal::ParseReservation(
      ip, knet::ipam::ipam_internal::FormatReservation(*r));
  Check(again.ok());
  Check(again->attachment == r->attachment && again->state == r->state && again->pid == r->pid &&
        again->start_time == r->start_time && again->boot_id == r->boot_id &&
        again->pid_ns == r->pid_ns);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzReservation(text);
  nlohmann::json netconf = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (netconf.is_discarded()) return 0;
  (void)knet::ipam::RequestedIps(netconf, text.substr(0, 64));
  const nlohmann::json ipam =
      netconf.is_object() && netconf.contains("ipam") ? netconf["ipam"] : netconf;
  auto cfg = knet::ipam::ParseIpamConfig(ipam, "fuzz");
  if (!cfg.ok()) return 0;
  Check(!cfg->range_sets.empty());
  for (const knet::ipam::RangeSet& set : cfg->range_sets) {
    Check(!set.ranges.empty());
    for (const knet::ipam::Range& r : set.ranges) {
      Check(r.subnet.family() == set.family());
      Check(r.subnet.Contains(r.range_start) && r.subnet.Contains(r.range_end));
      Check(r.subnet.Contains(r.gateway));
      Check(r.range_start <= r.range_end);
      Check(r.range_start != r.subnet.network());
      Check(!r.subnet.is_v4() || r.range_end != r.subnet.last());
      Check(set.RangeFor(r.range_start) == &r);
    }
    // Nothing taken: a first address exists unless the set is only gateways and exclusions.
    auto ip = knet::ipam::ipam_internal::NextFree(
        *cfg, set, std::nullopt, [](const knet::base::IPAddress&) { return false; });
    if (ip) {
      Check(set.RangeFor(*ip) != nullptr);
      Check(!cfg->IsExcluded(*ip));
      Check(*ip != set.RangeFor(*ip)->gateway);
    }
  }
  return 0;
}
