// store_bench: the issue-3 figures for the sqlite and etcd backends side by side, in one run, plus
// the measurement behind the etcd client choice (gRPC vs etcd's JSON gateway). Prints markdown.
//
//   build/store-rel/bench/store/store_bench [--quick]
//
// etcd is a real single member (/usr/bin/etcd, fsync on) on loopback with its data in /tmp, the
// same disk as the sqlite file. Results are recorded in bench/results/store.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "store/testing/etcd_process.h"

namespace knet::store {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

template <typename T>
T Must(StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "store_bench: %s: %s\n", what, v.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(v).value();
}

struct Figures {
  double seq_ops = 0, conc_ops = 0, list_ms = 0, paged_ms = 0, p50_ms = 0, p99_ms = 0;
};

std::string Key(const char* prefix, int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%07d", prefix, i);
  return buf;
}

double CreateThroughput(Store& s, const char* prefix, int n, int threads) {
  std::atomic<int> next{0};
  auto t0 = Clock::now();
  std::vector<std::thread> ws;
  for (int t = 0; t < threads; ++t) {
    ws.emplace_back([&] {
      for (int i = next++; i < n; i = next++)
        Must(s.Create(Key(prefix, i), std::string(256, 'v')), "create");
    });
  }
  for (auto& w : ws) w.join();
  return n / Seconds(Clock::now() - t0);
}

Figures Run(Store& s, bool quick) {
  Figures f;
  f.seq_ops = CreateThroughput(s, "seq/", quick ? 500 : 3000, 1);
  f.conc_ops = CreateThroughput(s, "conc/", quick ? 2000 : 16000, 16);

  const int kList = quick ? 20000 : 100000;
  CreateThroughput(s, "list/", kList, 32);
  std::vector<double> runs;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    auto l = Must(s.List("list/", {}), "list");
    runs.push_back(Ms(Clock::now() - t0));
    if (static_cast<int>(l.items.size()) != kList) std::exit(2);
  }
  std::sort(runs.begin(), runs.end());
  f.list_ms = runs[1];
  // The same keys in pages of 500 (kubectl's chunk size), all at one revision.
  auto t0 = Clock::now();
  ListOptions page_opts{.limit = 500};
  size_t paged = 0;
  for (;;) {
    auto page = Must(s.List("list/", page_opts), "list page");
    paged += page.items.size();
    if (page.continue_token.empty()) break;
    page_opts.continue_token = page.continue_token;
  }
  f.paged_ms = Ms(Clock::now() - t0);
  if (static_cast<int>(paged) != kList) std::exit(2);

  // Watch delivery: 100 watchers on one prefix; each write carries its send time.
  constexpr int kWatchers = 100;
  const int writes = quick ? 100 : 500;
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < kWatchers; ++i) watchers.push_back(Must(s.Watch("lat/", 0), "watch"));
  std::vector<std::vector<double>> lat(kWatchers);
  std::vector<std::thread> readers;
  for (int i = 0; i < kWatchers; ++i) {
    readers.emplace_back([&, i] {
      for (int n = 0; n < writes; ++n) {
        auto e = Must(watchers[static_cast<size_t>(i)]->Next(Clock::now() + 30s), "watch next");
        auto sent = std::stoll(e.kv.value);
        lat[static_cast<size_t>(i)].push_back(
            Ms(Clock::now().time_since_epoch() - std::chrono::nanoseconds(sent)));
      }
    });
  }
  for (int n = 0; n < writes; ++n) {
    Must(s.Create(Key("lat/", n), std::to_string(Clock::now().time_since_epoch().count())),
         "create");
    std::this_thread::sleep_for(2ms);
  }
  for (auto& r : readers) r.join();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  f.p50_ms = all[all.size() / 2];
  f.p99_ms = all[all.size() * 99 / 100];
  watchers.clear();
  return f;
}

// --- etcd's JSON gateway, over one keep-alive HTTP/1.1 connection ---------------------------

std::string B64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int k = 18; k >= 0; k -= 6) out.push_back(t[(v >> k) & 63]);
  }
  if (i < in.size()) {
    unsigned v =
        (unsigned char)in[i] << 16 | (i + 1 < in.size() ? (unsigned char)in[i + 1] << 8 : 0u);
    out.push_back(t[(v >> 18) & 63]);
    out.push_back(t[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? t[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string UnB64(std::string_view in) {
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    int d = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (d < 0) continue;
    v = v << 6 | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((v >> bits) & 0xff));
    }
  }
  return out;
}

class Gateway {
 public:
  explicit Gateway(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::exit(3);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Gateway() { close(fd_); }
  nlohmann::json Post(const std::string& path, const nlohmann::json& body) {
    std::string b = body.dump();
    std::string req = "POST " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      "application/json\r\nContent-Length: " +
                      std::to_string(b.size()) + "\r\n\r\n" + b;
    if (write(fd_, req.data(), req.size()) < 0) std::exit(3);
    // Headers, then Content-Length bytes (grpc-gateway answers with a length or chunked).
    std::string resp;
    size_t hdr_end;
    while ((hdr_end = resp.find("\r\n\r\n")) == std::string::npos) ReadMore(resp);
    std::string headers = resp.substr(0, hdr_end);
    std::string rest = resp.substr(hdr_end + 4);
    std::string lower = headers;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    size_t cl = lower.find("content-length:");
    std::string payload;
    if (cl != std::string::npos) {
      size_t len = std::stoul(headers.substr(cl + 15));
      while (rest.size() < len) ReadMore(rest);
      payload = rest.substr(0, len);
    } else {  // chunked
      for (;;) {
        size_t eol;
        while ((eol = rest.find("\r\n")) == std::string::npos) ReadMore(rest);
        size_t n = std::stoul(rest.substr(0, eol), nullptr, 16);
        while (rest.size() < eol + 2 + n + 2) ReadMore(rest);
        if (n == 0) break;
        payload += rest.substr(eol + 2, n);
        rest = rest.substr(eol + 2 + n + 2);
      }
    }
    return nlohmann::json::parse(payload);
  }

 private:
  void ReadMore(std::string& into) {
    char buf[1 << 16];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) std::exit(4);
    into.append(buf, static_cast<size_t>(n));
  }
  int fd_;
};

struct ClientFigures {
  double put_ops = 0, list_ms = 0;
};

ClientFigures RunGrpc(Store& s, int puts, int list_keys) {
  ClientFigures f;
  auto t0 = Clock::now();
  for (int i = 0; i < puts; ++i) Must(s.Create(Key("cmpput/", i), std::string(256, 'v')), "put");
  f.put_ops = puts / Seconds(Clock::now() - t0);
  CreateThroughput(s, "cmplist/", list_keys, 32);
  t0 = Clock::now();
  auto l = Must(s.List("cmplist/", {}), "list");
  f.list_ms = Ms(Clock::now() - t0);
  if (static_cast<int>(l.items.size()) != list_keys) std::exit(2);
  return f;
}

ClientFigures RunJson(int port, const std::string& prefix, int puts, int list_keys) {
  Gateway gw(port);
  ClientFigures f;
  auto t0 = Clock::now();
  for (int i = 0; i < puts; ++i) {
    // The same compare-and-create Txn EtcdStore::Create sends over gRPC.
    std::string key = B64(prefix + Key("jsonput/", i));
    nlohmann::json txn = {
        {"compare",
         {{{"key", key}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
        {"success", {{{"request_put", {{"key", key}, {"value", B64(std::string(256, 'v'))}}}}}},
        {"failure", {{{"request_range", {{"key", key}}}}}}};
    auto r = gw.Post("/v3/kv/txn", txn);
    if (!r.value("succeeded", false)) std::exit(6);
  }
  f.put_ops = puts / Seconds(Clock::now() - t0);
  // Same keys as the gRPC list (the gRPC run created them).
  std::string from = prefix + "cmplist/", to = prefix + "cmplist0";
  t0 = Clock::now();
  auto j = gw.Post("/v3/kv/range", {{"key", B64(from)}, {"range_end", B64(to)}});
  std::vector<KeyValue> items;
  for (const auto& kv : j["kvs"]) {
    items.push_back(KeyValue{UnB64(kv["key"].get<std::string>()),
                             UnB64(kv.value("value", std::string())),
                             std::stoll(kv["create_revision"].get<std::string>()),
                             std::stoll(kv["mod_revision"].get<std::string>())});
  }
  f.list_ms = Ms(Clock::now() - t0);
  if (static_cast<int>(items.size()) != list_keys) std::exit(5);
  return f;
}

}  // namespace
}  // namespace knet::store

int main(int argc, char** argv) {
  using namespace knet::store;
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  StoreOptions opts;
  opts.compaction_interval = std::chrono::seconds(0);

  char tmpl[] = "/tmp/knet-store-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Figures sq;
  {
    auto s = Must(OpenStore("sqlite://" + dir + "/state.db", opts), "open sqlite");
    sq = Run(*s, quick);
  }
  std::filesystem::remove_all(dir);

  auto etcd = Must(testing::EtcdCluster::Start(1, "bench"), "start etcd");
  std::string url = etcd->Url("/registry/");
  Figures et;
  ClientFigures grpc_f, json_f;
  {
    auto s = Must(OpenStore(url, opts), "open etcd");
    et = Run(*s, quick);
    int puts = quick ? 300 : 2000, list_keys = quick ? 2000 : 10000;
    grpc_f = RunGrpc(*s, puts, list_keys);
    std::string ep = etcd->Endpoints()[0];
    json_f = RunJson(std::stoi(ep.substr(ep.rfind(':') + 1)), "/registry/", puts, list_keys);
  }

  std::printf("| figure | sqlite | etcd |\n|---|---:|---:|\n");
  std::printf("| sequential create (ops/s) | %.0f | %.0f |\n", sq.seq_ops, et.seq_ops);
  std::printf("| 16-way concurrent create (ops/s) | %.0f | %.0f |\n", sq.conc_ops, et.conc_ops);
  std::printf("| list of %s keys (ms, median of 3) | %.1f | %.1f |\n", quick ? "20k" : "100k",
              sq.list_ms, et.list_ms);
  std::printf("| list of %s keys in pages of 500 (ms, all pages) | %.1f | %.1f |\n",
              quick ? "20k" : "100k", sq.paged_ms, et.paged_ms);
  std::printf("| watch delivery to 100 watchers, p50 (ms) | %.3f | %.3f |\n", sq.p50_ms, et.p50_ms);
  std::printf("| watch delivery to 100 watchers, p99 (ms) | %.3f | %.3f |\n", sq.p99_ms, et.p99_ms);
  std::printf(
      "\n| etcd client | sequential compare-and-create Txn (ops/s) | range of %s keys, decoded "
      "(ms) |\n",
      quick ? "2k" : "10k");
  std::printf("|---|---:|---:|\n");
  std::printf("| gRPC (knet's EtcdStore) | %.0f | %.1f |\n", grpc_f.put_ops, grpc_f.list_ms);
  std::printf("| JSON gateway (HTTP/1.1 keep-alive, base64) | %.0f | %.1f |\n", json_f.put_ops,
              json_f.list_ms);
  return 0;
}
