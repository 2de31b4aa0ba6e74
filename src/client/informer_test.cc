// Informer<T> against a real in-process ApiServer.
#include "client/informer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/pod.h"
#include "client/internal/test_server.h"

namespace knet::client {
namespace {

// Records every delivery as "ADD ns/name", "UPDATE name old->new tier", "DELETE name".
struct Recorder {
  std::mutex mu;
  std::vector<std::string> log;
  InformerHandlers<api::Pod> Handlers() {
    return {.on_add =
                [this](const api::Pod& p) {
                  std::lock_guard<std::mutex> l(mu);
                  log.push_back("ADD " + p.metadata.name);
                },
            .on_update =
                [this](const api::Pod& o, const api::Pod& n) {
                  std::lock_guard<std::mutex> l(mu);
                  log.push_back("UPDATE " + n.metadata.name + " " + Tier(o) + "->" + Tier(n));
                },
            .on_delete =
                [this](const api::Pod& p) {
                  std::lock_guard<std::mutex> l(mu);
                  log.push_back("DELETE " + p.metadata.name);
                }};
  }
  static std::string Tier(const api::Pod& p) {
    auto it = p.metadata.labels.find("tier");
    return it == p.metadata.labels.end() ? "" : it->second;
  }
  std::vector<std::string> Snapshot() {
    std::lock_guard<std::mutex> l(mu);
    return log;
  }
  // Waits until the log has at least n entries.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (Snapshot().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

std::vector<std::string> Names(const std::vector<api::Pod>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(p.metadata.name);
  return out;
}

TEST_F(ServerFixture, InformerSyncsSeesChangesInOrderAndKeepsIndexes) {
  api::Pod a = MakePod("a");
  a.spec.node_name = "n1";
  ASSERT_TRUE(client_->Create(a).ok());
  ASSERT_TRUE(client_->Create(MakePod("b", "db")).ok());

  Informer<api::Pod> inf(client_.get(), "default");
  inf.AddIndex("node",
               [](const api::Pod& p) { return std::vector<std::string>{p.spec.node_name}; });
  inf.AddLabelIndex("app");
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  EXPECT_FALSE(inf.HasSynced());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(10)));
  EXPECT_TRUE(inf.HasSynced());
  ASSERT_TRUE(rec.WaitFor(2));
  EXPECT_EQ(rec.Snapshot(), (std::vector<std::string>{"ADD a", "ADD b"}));
  EXPECT_EQ(Names(inf.ByIndex("node", "n1")), std::vector<std::string>{"a"});
  EXPECT_EQ(Names(inf.ByIndex(Informer<api::Pod>::LabelIndexName("app"), "db")),
            std::vector<std::string>{"b"});
  EXPECT_EQ(inf.ByIndex(Informer<api::Pod>::kNamespaceIndex, "default").size(), 2u);

  // Changes, in order.
  auto b = client_->Get<api::Pod>("default", "b");
  ASSERT_TRUE(b.ok());
  b->metadata.labels["tier"] = "t1";
  b->metadata.labels["app"] = "web";
  ASSERT_TRUE(client_->Update(*b).ok());
  ASSERT_TRUE(client_->Create(MakePod("c")).ok());
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "a", {.grace_period_seconds = 0}).ok());
  ASSERT_TRUE(rec.WaitFor(5));
  std::vector<std::string> want = {"ADD a", "ADD b", "UPDATE b ->t1", "ADD c", "DELETE a"};
  EXPECT_EQ(rec.Snapshot(), want);

  // The cache and indexes follow.
  EXPECT_FALSE(inf.Get("default", "a").has_value());
  ASSERT_TRUE(inf.Get("default", "b").has_value());
  EXPECT_EQ(inf.Get("default", "b")->metadata.labels.at("tier"), "t1");
  EXPECT_TRUE(inf.ByIndex("node", "n1").empty());
  EXPECT_TRUE(inf.ByIndex(Informer<api::Pod>::LabelIndexName("app"), "db").empty());
  EXPECT_EQ(Names(inf.ByIndex(Informer<api::Pod>::LabelIndexName("app"), "web")),
            (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(inf.List().size(), 2u);
  EXPECT_EQ(inf.relists(), 0);
  inf.Stop();
}

TEST_F(ServerFixture, InformerResyncRedeliversUpdates) {
  ASSERT_TRUE(client_->Create(MakePod("r")).ok());
  Informer<api::Pod> inf(client_.get(), "default",
                         {.resync_period = std::chrono::milliseconds(300)});
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  inf.Start();
  ASSERT_TRUE(rec.WaitFor(3));  // ADD, then at least two resyncs
  auto log = rec.Snapshot();
  EXPECT_EQ(log[0], "ADD r");
  EXPECT_EQ(log[1], "UPDATE r ->");
  EXPECT_EQ(log[2], "UPDATE r ->");
}

TEST_F(ServerFixture, InformerRewatchesFromItsRevisionAfterADroppedStream) {
  ASSERT_TRUE(client_->Create(MakePod("one")).ok());
  Informer<api::Pod> inf(client_.get(), "default");
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(10)));
  ASSERT_TRUE(rec.WaitFor(1));
  inf.PauseWatchForTesting();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(client_->Create(MakePod("two")).ok());
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "one", {.grace_period_seconds = 0}).ok());
  inf.ResumeWatchForTesting();
  ASSERT_TRUE(rec.WaitFor(3));
  EXPECT_EQ(rec.Snapshot(), (std::vector<std::string>{"ADD one", "ADD two", "DELETE one"}));
  EXPECT_EQ(inf.relists(), 0);  // the window still held the revision: no relist needed
  EXPECT_EQ(Names(inf.List()), std::vector<std::string>{"two"});
}

class SmallWindowInformerTest : public ServerFixture {
 protected:
  void SetUp() override { StartServer(/*window=*/5); }
};

TEST_F(SmallWindowInformerTest, RecoversFrom410ByRelistingAndDeliversTheDifference) {
  ASSERT_TRUE(client_->Create(MakePod("keep")).ok());
  ASSERT_TRUE(client_->Create(MakePod("change")).ok());
  ASSERT_TRUE(client_->Create(MakePod("vanish")).ok());
  Informer<api::Pod> inf(client_.get(), "default");
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(10)));
  ASSERT_TRUE(rec.WaitFor(3));
  std::string rv_before = inf.LastResourceVersion();

  // Disconnect, then write far more than the watch cache window keeps.
  inf.PauseWatchForTesting();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(client_->Create(MakePod("new" + std::to_string(i))).ok());
  auto ch = client_->Get<api::Pod>("default", "change");
  ASSERT_TRUE(ch.ok());
  ch->metadata.labels["tier"] = "x";
  ASSERT_TRUE(client_->Update(*ch).ok());
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "vanish", {.grace_period_seconds = 0}).ok());
  // Proof the informer's revision is now out of the window.
  base::Status gone = client_->Watch<api::Pod>(
      "default", {.resource_version = rv_before, .max_duration = std::chrono::seconds(5)},
      [](const WatchEvent<api::Pod>&) { return true; });
  ASSERT_TRUE(IsGone(gone)) << gone.ToString();

  inf.ResumeWatchForTesting();
  ASSERT_TRUE(rec.WaitFor(3 + 12));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<std::string> log = rec.Snapshot();
  ASSERT_EQ(log.size(), 15u);
  std::vector<std::string> tail(log.begin() + 3, log.end());
  std::sort(tail.begin(), tail.end());
  std::vector<std::string> want = {"ADD new0", "ADD new1", "ADD new2",      "ADD new3",
                                   "ADD new4", "ADD new5", "ADD new6",      "ADD new7",
                                   "ADD new8", "ADD new9", "DELETE vanish", "UPDATE change ->x"};
  EXPECT_EQ(tail, want);
  EXPECT_GE(inf.relists(), 1);
  EXPECT_FALSE(inf.Get("default", "vanish").has_value());
  EXPECT_EQ(inf.Get("default", "change")->metadata.labels.at("tier"), "x");
  EXPECT_EQ(inf.List().size(), 12u);

  // And it keeps watching after the relist.
  ASSERT_TRUE(client_->Create(MakePod("after")).ok());
  ASSERT_TRUE(rec.WaitFor(16));
  EXPECT_EQ(rec.Snapshot().back(), "ADD after");
}

}  // namespace
}  // namespace knet::client
