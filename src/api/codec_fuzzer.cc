// libFuzzer target for the decoders: arbitrary bytes through the manifest reader (JSON and YAML
// paths), then the invariant that whatever decodes re-encodes and decodes to the same object.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "api/json.h"
#include "api/manifest.h"
#include "api/object.h"

[[noreturn]] void Fail(const char* what, const std::string& encoded, const std::string& detail) {
  std::fprintf(stderr, "api_codec_fuzzer: %s\n  encoded: %s\n  detail: %s\n", what, encoded.c_str(),
               detail.c_str());
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knet::api;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  auto objects = DecodeManifest(text, "fuzz", {}, &warnings);
  if (objects.ok()) {
    for (const Object& obj : *objects) {
      const std::string encoded = EncodeObject(obj);
      auto doc = ParseJson(encoded);
      if (!doc.ok()) Fail("encoder wrote invalid JSON", encoded, doc.status().message());
      auto again = DecodeObject(*doc);
      if (!again.ok()) Fail("our own output does not decode", encoded, again.status().message());
      if (!(*again == obj)) Fail("decode(encode(x)) != x", encoded, EncodeObject(*again));
      if (EncodeObject(*again) != encoded) Fail("encoding is not stable", encoded, "");
      (void)EncodeYaml(obj);
    }
  }
  // The strict JSON path on its own (duplicate detection, depth limit).
  std::vector<std::string> dups;
  auto doc = ParseJson(text, &dups);
  if (doc.ok()) (void)DecodeObject(*doc, {.strict = true});
  return 0;
}
