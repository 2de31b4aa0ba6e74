// Fuzzes the rtnetlink reply parsers: every byte string is either parsed or rejected with a
// Status, never a crash, an out-of-bounds read or a leak.
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/netlink/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knet::kernel::netlink;
  std::span<const uint8_t> bytes(data, size);
  (void)ParseLinkMessages(bytes);
  (void)ParseAddresses(bytes);
  (void)ParseRoutes(bytes);
  (void)ParseNeighbors(bytes);
  auto messages = SplitMessages(bytes);
  if (messages.ok()) {
    for (auto m : *messages) (void)ParseAck(m);
  }
  return 0;
}
