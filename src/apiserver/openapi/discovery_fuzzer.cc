// Fuzzes what discovery reads from a request: the Accept header (NegotiateDiscovery) and the
// group-version parts of /apis/<group>/<version> and /openapi/v3/<path>.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apiserver/openapi/discovery.h"
#include "apiserver/openapi/openapi.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knet::apiserver::openapi;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  DiscoveryForm form = NegotiateDiscovery(input);
  if (form != DiscoveryForm::kAggregatedV2 && form != DiscoveryForm::kAggregatedV2Beta1 &&
      form != DiscoveryForm::kLegacy) {
    std::abort();
  }
  if (DiscoveryContentType(form).empty()) std::abort();
  // An aggregated form is only chosen when the header names it.
  if (form != DiscoveryForm::kLegacy && input.find("apidiscovery.k8s.io") == input.npos) {
    std::abort();
  }
  size_t slash = input.find('/');
  std::string_view group = input.substr(0, slash);
  std::string_view version = slash == input.npos ? std::string_view() : input.substr(slash + 1);
  auto list = ApiResourceListJson(group, version);
  if (list.ok() && list->empty()) std::abort();
  auto doc = OpenApiV3DocumentJson(input);
  if (doc.ok() && doc->find("\"openapi\":\"3.0.0\"") == std::string::npos) std::abort();
  return 0;
}
