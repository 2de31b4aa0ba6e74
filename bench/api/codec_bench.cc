// Encode/decode throughput of the API codec for a realistic Pod and Service (objects/s).
// The reference in the same run is nlohmann::json's own parse + dump of the same documents:
// the generic DOM round trip every typed decoder has to beat or match.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "api/codec.h"
#include "api/manifest.h"
#include "api/object.h"

namespace {

using namespace knet::api;

std::string ReadTestdata(const std::string& name) {
  for (const char* dir : {"tests/testdata/manifests/", "../../tests/testdata/manifests/",
                          "../../../tests/testdata/manifests/"}) {
    std::ifstream in(std::string(dir) + name);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    }
  }
  std::fprintf(stderr,
               "codec_bench: cannot find tests/testdata/manifests/%s (run from the repo root)\n",
               name.c_str());
  std::exit(2);
}

const Pod& RealisticPod() {
  static const Pod pod = [] {
    auto objs = DecodeManifest(ReadTestdata("pod-running.json"), "pod-running.json");
    if (!objs.ok()) std::abort();
    return std::get<Pod>(objs->at(0));
  }();
  return pod;
}

const Service& RealisticService() {
  static const Service svc = [] {
    auto objs = DecodeManifest(ReadTestdata("services.yaml"), "services.yaml");
    if (!objs.ok()) std::abort();
    return std::get<Service>(objs->at(2));  // the LoadBalancer: most fields set
  }();
  return svc;
}

template <class T>
void BM_Encode(benchmark::State& state, const T& obj) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = EncodeJson(obj);
    bytes += s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

template <class T>
void BM_Decode(benchmark::State& state, const T& obj) {
  const std::string json = EncodeJson(obj);
  for (auto _ : state) {
    auto r = DecodeJson<T>(std::string_view(json));
    if (!r.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}

// Reference: untyped nlohmann::json parse and dump of the same bytes.
template <class T>
void BM_NlohmannParse(benchmark::State& state, const T& obj) {
  const std::string json = EncodeJson(obj);
  for (auto _ : state) {
    auto j = nlohmann::json::parse(json);
    benchmark::DoNotOptimize(j);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

template <class T>
void BM_NlohmannDump(benchmark::State& state, const T& obj) {
  const auto j = nlohmann::json::parse(EncodeJson(obj));
  for (auto _ : state) {
    std::string s = j.dump();
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_EncodePod(benchmark::State& s) { BM_Encode(s, RealisticPod()); }
void BM_DecodePod(benchmark::State& s) { BM_Decode(s, RealisticPod()); }
void BM_EncodeService(benchmark::State& s) { BM_Encode(s, RealisticService()); }
void BM_DecodeService(benchmark::State& s) { BM_Decode(s, RealisticService()); }
void BM_RefNlohmannParsePod(benchmark::State& s) { BM_NlohmannParse(s, RealisticPod()); }
void BM_RefNlohmannDumpPod(benchmark::State& s) { BM_NlohmannDump(s, RealisticPod()); }
void BM_RefNlohmannParseService(benchmark::State& s) { BM_NlohmannParse(s, RealisticService()); }
void BM_RefNlohmannDumpService(benchmark::State& s) { BM_NlohmannDump(s, RealisticService()); }

BENCHMARK(BM_EncodePod);
BENCHMARK(BM_DecodePod);
BENCHMARK(BM_RefNlohmannDumpPod);
BENCHMARK(BM_RefNlohmannParsePod);
BENCHMARK(BM_EncodeService);
BENCHMARK(BM_DecodeService);
BENCHMARK(BM_RefNlohmannDumpService);
BENCHMARK(BM_RefNlohmannParseService);

}  // namespace

BENCHMARK_MAIN();
