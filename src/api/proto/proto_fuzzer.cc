// libFuzzer target for DecodeProtobuf: the bytes as a whole body (envelope parsing), and the bytes
// after the first as the raw object of one of the kinds (message parsing and conversion). Whatever
// decodes must be JSON that serializes (valid UTF-8) and that the typed decoder can take without
// crashing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/object.h"
#include "api/proto/proto.h"

namespace {

void Check(std::string_view body) {
  auto doc = knet::api::proto::DecodeProtobuf(body);
  if (!doc.ok()) return;
  (void)doc->dump();  // throws (and so aborts the fuzzer) on invalid UTF-8
  (void)knet::api::DecodeObject(*doc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr std::array<std::array<std::string_view, 2>, 15> kKinds = {{
      {"v1", "Namespace"},
      {"v1", "Node"},
      {"v1", "Pod"},
      {"v1", "Service"},
      {"v1", "Endpoints"},
      {"v1", "Event"},
      {"v1", "ConfigMap"},
      {"v1", "Binding"},
      {"discovery.k8s.io/v1", "EndpointSlice"},
      {"networking.k8s.io/v1", "NetworkPolicy"},
      {"apps/v1", "Deployment"},
      {"apps/v1", "ReplicaSet"},
      {"coordination.k8s.io/v1", "Lease"},
      {"autoscaling/v1", "Scale"},
      {"meta.k8s.io/v1", "DeleteOptions"},
  }};
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes);
  if (size > 0) {
    const auto& k = kKinds[data[0] % kKinds.size()];
    Check(knet::api::proto::WrapEnvelope(k[0], k[1], bytes.substr(1)));
  }
  return 0;
}
