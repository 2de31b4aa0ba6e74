// Fuzzes what knet-cni reads from untrusted stdin: the network configuration (every command),
// the prevResult inside it, the VERSION request and the error-version lookup.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cni/config.h"
#include "cni/result.h"
#include "cni/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using knet::cni::Command;
  for (Command c :
       {Command::kAdd, Command::kDel, Command::kCheck, Command::kStatus, Command::kGc}) {
    knet::cni::Outcome<knet::cni::NetConf> conf = knet::cni::ParseNetConf(in, c);
    if (conf.ok()) {
      auto prev = knet::cni::ParseResult(conf.value().prev_result);
      if (prev.ok()) (void)knet::cni::RenderResult(prev.value(), conf.value().cni_version);
    } else {
      (void)knet::cni::ErrorJson(conf.error(), knet::cni::ResponseVersion(in));
    }
  }
  (void)knet::cni::HandleVersion(in);
  return 0;
}
