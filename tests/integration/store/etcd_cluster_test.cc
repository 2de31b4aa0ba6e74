// A 3-member etcd cluster loses its leader (SIGKILL) while a client writes and watches: writes go
// on through the survivors, and the watch delivers every write exactly once, in revision order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "store/store.h"
#include "store/testing/etcd_process.h"

namespace knet::store {
namespace {

using namespace std::chrono_literals;
using testing::EtcdCluster;

// The index of the member that is the raft leader, from each member's Maintenance.Status (asked
// over etcd's JSON gateway, which needs no client code), or -1.
int FindLeader(const EtcdCluster& cluster) {
  auto eps = cluster.Endpoints();
  for (size_t i = 0; i < eps.size(); ++i) {
    int port = std::stoi(eps[i].substr(eps[i].rfind(':') + 1));
    auto body = testing::HttpRequest(port, "POST", "/v3/maintenance/status", "{}");
    if (!body.ok()) continue;
    auto j = nlohmann::json::parse(*body, nullptr, false);
    if (j.is_discarded() || !j.contains("leader")) continue;
    if (j["header"]["member_id"] == j["leader"]) return static_cast<int>(i);
  }
  return -1;
}

TEST(EtcdClusterTest, WritesAndWatchesContinueWhenTheLeaderIsKilled) {
  if (!EtcdCluster::Available()) GTEST_SKIP() << EtcdCluster::kEtcdBinary << " is not installed";
  auto cluster = EtcdCluster::Start(3, "failover");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto store = OpenStore((*cluster)->Url("/failover/"), {.compaction_interval = 0s});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  int64_t start = *(*store)->CurrentRevision();
  auto watcher = (*store)->Watch("k/", start + 1);
  ASSERT_TRUE(watcher.ok()) << watcher.status().ToString();

  constexpr int kWrites = 300, kKillAt = 100;
  std::vector<int64_t> written(kWrites, 0);
  std::atomic<int> progress{0};
  int retries = 0;
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      std::string key = "k/" + std::to_string(1000 + i), value = "v" + std::to_string(i);
      auto deadline = std::chrono::steady_clock::now() + 60s;
      for (;;) {
        auto rev = (*store)->Create(key, value);
        if (rev.ok()) {
          written[static_cast<size_t>(i)] = *rev;
          break;
        }
        if (rev.status().code() == base::StatusCode::kAlreadyExists) {
          // An earlier attempt was applied though its reply was lost with the member.
          auto kv = (*store)->Get(key);
          ASSERT_TRUE(kv.ok()) << kv.status().ToString();
          ASSERT_EQ(kv->value, value);
          written[static_cast<size_t>(i)] = kv->mod_revision;
          break;
        }
        ASSERT_EQ(rev.status().code(), base::StatusCode::kUnavailable) << rev.status().ToString();
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << rev.status().ToString();
        ++retries;
        std::this_thread::sleep_for(50ms);
      }
      ++progress;
    }
  });

  while (progress < kKillAt) std::this_thread::sleep_for(1ms);
  int leader = FindLeader(**cluster);
  (*cluster)->Kill(leader >= 0 ? leader : 0);

  std::vector<int64_t> seen;
  std::set<std::string> keys;
  while (seen.size() < static_cast<size_t>(kWrites)) {
    auto e = (*watcher)->Next(std::chrono::steady_clock::now() + 60s);
    ASSERT_TRUE(e.ok()) << "after " << seen.size() << " events: " << e.status().ToString();
    EXPECT_EQ(e->type, EventType::kAdded);
    ASSERT_TRUE(seen.empty() || e->revision > seen.back()) << "out of order at " << seen.size();
    ASSERT_TRUE(keys.insert(e->kv.key).second) << "delivered twice: " << e->kv.key;
    seen.push_back(e->revision);
  }
  writer.join();
  EXPECT_EQ(seen, written);  // every write, in order, nothing else
  EXPECT_EQ((*watcher)->Next(std::chrono::steady_clock::now() + 300ms).status().code(),
            base::StatusCode::kDeadlineExceeded);
  auto list = (*store)->List("k/", {});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->items.size(), static_cast<size_t>(kWrites));
  RecordProperty("killed_leader", leader);
  RecordProperty("write_retries", retries);
  watcher->reset();
}

}  // namespace
}  // namespace knet::store
