// libFuzzer target for the table printers: arbitrary bytes through the manifest reader, then
// every decoded object printed in all three includeObject modes. Checks that printing never
// crashes, that the Table is valid JSON, and that each row has one cell per column. The first
// line of the input also goes through ParseIncludeObject (the query parameter).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "api/manifest.h"
#include "api/object.h"
#include "apiserver/table/table.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "apiserver_table_fuzzer: %s\n  %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace knet;
  using apiserver::table::IncludeObject;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)apiserver::table::ParseIncludeObject(text.substr(0, text.find('\n')));

  std::vector<std::string> warnings;
  auto objects = api::DecodeManifest(text, "fuzz", {}, &warnings);
  if (!objects.ok()) return 0;
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1714557600));
  for (const api::Object& obj : *objects) {
    const std::string_view kind = api::KindOf(obj);
    const size_t columns = apiserver::table::ColumnDefinitions(kind).size();
    for (IncludeObject mode :
         {IncludeObject::kNone, IncludeObject::kMetadata, IncludeObject::kObject}) {
      const std::string body = apiserver::table::EncodeTable(kind, std::vector<api::Object>{obj},
                                                             {.resource_version = "1"},
                                                             {.include_object = mode, .now = now});
      auto doc = api::ParseJson(body);
      if (!doc.ok()) Fail("table is not valid JSON", body);
      const nlohmann::json& cells = (*doc)["rows"][0]["cells"];
      if (!cells.is_array() || cells.size() != columns) Fail("row width != column count", body);
    }
  }
  return 0;
}
