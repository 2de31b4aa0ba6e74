// store_tool: drives a Store from a separate process for the crash and bad-input tests.
//
//   store_tool URL check [--dial-timeout-ms=N]   open, print "revision N", exit 0
//   store_tool URL hold                          open, print "ready", wait to be killed
//   store_tool URL write-loop PREFIX THREADS     create keys as fast as possible; print
//                                                "<key> <revision>" for each acknowledged write
// Exit status 2 (and the error on stderr) when the store cannot be opened or a write fails.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace {

int Fail(const knet::base::Status& s) {
  std::fprintf(stderr, "store_tool: %s\n", s.ToString().c_str());
  return 2;
}

void WriteLine(const std::string& line) {
  // One write(2) per line (< PIPE_BUF): lines from several threads never interleave.
  ssize_t n = write(1, line.data(), line.size());
  (void)n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: store_tool URL check|hold|write-loop ...\n");
    return 64;
  }
  std::string url = argv[1], cmd = argv[2];
  knet::store::StoreOptions options;
  options.compaction_interval = std::chrono::seconds(0);
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a.starts_with("--dial-timeout-ms=")) {
      options.etcd_dial_timeout = std::chrono::milliseconds(std::stoi(a.substr(18)));
    }
  }
  auto store = knet::store::OpenStore(url, options);
  if (!store.ok()) return Fail(store.status());
  if (cmd == "check") {
    auto rev = (*store)->CurrentRevision();
    if (!rev.ok()) return Fail(rev.status());
    std::printf("revision %lld\n", static_cast<long long>(*rev));
    return 0;
  }
  if (cmd == "hold") {
    WriteLine("ready\n");
    for (;;) pause();
  }
  if (cmd == "write-loop" && argc >= 5) {
    std::string prefix = argv[3];
    int threads = std::stoi(argv[4]);
    std::atomic<int> failed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; failed == 0; ++i) {
          std::string key = prefix + "/" + std::to_string(t) + "/" + std::to_string(i);
          auto rev = (*store)->Create(key, "value-" + key);
          if (!rev.ok()) {
            Fail(rev.status());
            failed = 1;
            return;
          }
          WriteLine(key + " " + std::to_string(*rev) + "\n");
        }
      });
    }
    for (auto& w : workers) w.join();
    return 2;
  }
  std::fprintf(stderr, "store_tool: unknown command %s\n", cmd.c_str());
  return 64;
}
