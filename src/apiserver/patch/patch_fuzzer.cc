// Fuzzes the three patch functions. Input: "<kind>\n<document JSON>\n<patch JSON>" split at the
// first two newlines; inputs that are not valid JSON are rejected by the parser, not by us.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "apiserver/patch/patch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t first = in.find('\n');
  if (first == std::string_view::npos) return 0;
  size_t second = in.find('\n', first + 1);
  if (second == std::string_view::npos) return 0;
  std::string_view kind = in.substr(0, first);
  json doc = json::parse(in.substr(first + 1, second - first - 1), nullptr, false);
  json patch = json::parse(in.substr(second + 1), nullptr, false);
  if (doc.is_discarded() || patch.is_discarded()) return 0;
  (void)knet::apiserver::patch::ApplyJsonPatch(doc, patch);
  (void)knet::apiserver::patch::ApplyMergePatch(doc, patch);
  (void)knet::apiserver::patch::ApplyStrategicMergePatch(doc, patch, kind);
  return 0;
}
