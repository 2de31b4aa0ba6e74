#include "apiserver/watch_cache.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/codec.h"
#include "apiserver/registry.h"

namespace knet::apiserver {
namespace {

using namespace std::chrono_literals;

const ResourceInfo& Pods() { return *FindResource("", "v1", "pods"); }

std::string PodJson(const std::string& name, const std::string& app) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.labels["app"] = app;
  return EncodeForStore(p);
}

// Collects what a watcher is sent, as (type, name) lines.
struct Sink {
  std::mutex mu;
  std::vector<std::string> lines;
  bool closed = false;
  WatchRequest Request(WatchFilter f, int64_t from) {
    WatchRequest r;
    r.filter = std::move(f);
    r.from_revision = from;
    r.write = [this](std::shared_ptr<const std::string> chunk) {
      auto j = nlohmann::json::parse(*chunk);
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(j["type"].get<std::string>() + " " +
                      j["object"]["metadata"]["name"].get<std::string>());
      return true;
    };
    r.close = [this] {
      std::lock_guard<std::mutex> lock(mu);
      closed = true;
    };
    return r;
  }
  std::vector<std::string> Wait(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (lines.size() >= n) return lines;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard<std::mutex> lock(mu);
    return lines;
  }
};

class WatchCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *store::OpenStore("memory://");
    ASSERT_TRUE(store_->Create("pods/default/a", PodJson("a", "web")).ok());
  }
  std::unique_ptr<store::Store> store_;
};

TEST_F(WatchCacheTest, ListsWhatIsStoredAndFollowsWrites) {
  WatchCache cache(store_.get());
  ASSERT_TRUE(cache.Start().ok());
  auto rev = store_->Create("pods/default/b", PodJson("b", "db"));
  ASSERT_TRUE(rev.ok());
  ASSERT_TRUE(cache.WaitForRevision(*rev, 5s).ok());
  WatchFilter all;
  all.resource = &Pods();
  Snapshot snap = cache.List(all);
  ASSERT_EQ(snap.items.size(), 2u);
  EXPECT_EQ(snap.revision, *rev);
  EXPECT_EQ(api::MetaOf(snap.items[1]->object).resource_version, std::to_string(*rev));
  WatchFilter web = all;
  web.labels = *api::Selector::Parse("app=web");
  EXPECT_EQ(cache.List(web).items.size(), 1u);
  WatchFilter other_ns = all;
  other_ns.namespace_ = "kube-system";
  EXPECT_TRUE(cache.List(other_ns).items.empty());
}

TEST_F(WatchCacheTest, WatchersSeeStateThenChangesInOrderThroughTheirFilter) {
  WatchCache cache(store_.get());
  ASSERT_TRUE(cache.Start().ok());
  Sink everything;
  Sink web_only;
  WatchFilter all;
  all.resource = &Pods();
  WatchFilter web = all;
  web.labels = *api::Selector::Parse("app=web");
  ASSERT_TRUE(cache.AddWatcher(everything.Request(all, 0)).ok());
  ASSERT_TRUE(cache.AddWatcher(web_only.Request(web, 0)).ok());
  auto a = *store_->Get("pods/default/a");
  ASSERT_TRUE(store_->Create("pods/default/b", PodJson("b", "web")).ok());
  // a stops matching app=web: the filtered watcher sees it go.
  ASSERT_TRUE(store_->Update("pods/default/a", PodJson("a", "db"), a.mod_revision).ok());
  ASSERT_TRUE(store_->Delete("pods/default/b", 0).ok());
  EXPECT_EQ(everything.Wait(4),
            (std::vector<std::string>{"ADDED a", "ADDED b", "MODIFIED a", "DELETED b"}));
  EXPECT_EQ(web_only.Wait(4),
            (std::vector<std::string>{"ADDED a", "ADDED b", "DELETED a", "DELETED b"}));
}

TEST_F(WatchCacheTest, ResumesFromARevisionAndAnswersGoneOutsideTheWindow) {
  WatchCache::Options opts;
  opts.event_window = 2;
  WatchCache cache(store_.get(), opts);
  ASSERT_TRUE(cache.Start().ok());
  int64_t start = cache.Revision();
  int64_t last = 0;
  for (const char* n : {"b", "c", "d"})
    last = *store_->Create(std::string("pods/default/") + n, PodJson(n, "x"));
  ASSERT_TRUE(cache.WaitForRevision(last, 5s).ok());
  WatchFilter all;
  all.resource = &Pods();
  Sink resumed;
  ASSERT_TRUE(cache.AddWatcher(resumed.Request(all, last - 1)).ok());
  EXPECT_EQ(resumed.Wait(1), std::vector<std::string>{"ADDED d"});
  Sink too_old;
  auto gone = cache.AddWatcher(too_old.Request(all, start));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, 410);
  EXPECT_EQ(gone.error().reason, "Expired");
}

TEST_F(WatchCacheTest, PagesWalkTheCollectionAtOneRevisionOrStepAside) {
  WatchCache cache(store_.get());
  ASSERT_TRUE(cache.Start().ok());
  int64_t last = 0;
  for (const char* n : {"b", "c", "d", "e"}) {
    last = *store_->Create(std::string("pods/default/") + n, PodJson(n, n[0] == 'c' ? "x" : "web"));
  }
  ASSERT_TRUE(cache.WaitForRevision(last, 5s).ok());
  WatchFilter all;
  all.resource = &Pods();
  auto first = cache.ListPage(all, "", 2, 0);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->last_key, "pods/default/b");
  EXPECT_EQ(first->remaining, 3);
  auto second = cache.ListPage(all, first->last_key, 2, first->revision);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->items[0]->key, "pods/default/c");
  auto third = cache.ListPage(all, second->last_key, 2, first->revision);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->items.size(), 1u);
  EXPECT_FALSE(third->more);
  // A selector fills the page with matches (a, b, d; c does not match), then says more follow.
  WatchFilter web = all;
  web.labels = *api::Selector::Parse("app=web");
  auto sel = cache.ListPage(web, "", 3, 0);
  ASSERT_EQ(sel->items.size(), 3u);
  EXPECT_EQ(sel->items[2]->key, "pods/default/d");
  EXPECT_TRUE(sel->more);
  auto rest = cache.ListPage(web, sel->last_key, 3, sel->revision);
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_FALSE(rest->more);
  // Once the cache moves past the first page's revision, later pages are the store's job.
  ASSERT_TRUE(cache.WaitForRevision(*store_->Create("pods/default/f", PodJson("f", "x")), 5s).ok());
  EXPECT_FALSE(cache.ListPage(all, first->last_key, 2, first->revision).has_value());
  EXPECT_FALSE(cache.ListPage(all, "services/default/x", 2, 0).has_value());
}

TEST_F(WatchCacheTest, DeadlineClosesTheWatchAndStopClosesTheRest) {
  WatchCache cache(store_.get());
  ASSERT_TRUE(cache.Start().ok());
  WatchFilter all;
  all.resource = &Pods();
  Sink short_lived;
  WatchRequest r = short_lived.Request(all, cache.Revision());
  r.deadline = std::chrono::steady_clock::now() + 100ms;
  ASSERT_TRUE(cache.AddWatcher(std::move(r)).ok());
  Sink long_lived;
  ASSERT_TRUE(cache.AddWatcher(long_lived.Request(all, cache.Revision())).ok());
  for (int i = 0; i < 200 && cache.WatcherCount() > 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(cache.WatcherCount(), 1u);
  EXPECT_TRUE(short_lived.closed);
  cache.Stop();
  EXPECT_TRUE(long_lived.closed);
}

}  // namespace
}  // namespace knet::apiserver
