// The Store conformance suite (see conformance.h). Every assertion here holds on every backend.
#include "store/testing/conformance.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

namespace knet::store::testing {
namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

StoreOptions TestOptions() {
  StoreOptions o;
  o.compaction_interval = std::chrono::seconds(0);
  return o;
}

StatusOr<Event> NextEvent(Watcher& w) { return w.Next(steady_clock::now() + 20s); }

// Creates n keys "<prefix>NNNNNN" with `threads` writers at once (backends batch concurrent
// commits), returning the number created.
int64_t CreateMany(Store& store, const std::string& prefix, int n, int threads) {
  std::atomic<int> next{0};
  std::atomic<int64_t> created{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        char key[32];
        std::snprintf(key, sizeof key, "%06d", i);
        auto rev = store.Create(prefix + key, "v" + std::to_string(i));
        if (rev.ok())
          ++created;
        else
          ADD_FAILURE() << rev.status().ToString();
      }
    });
  }
  for (auto& w : workers) w.join();
  return created;
}

}  // namespace

void StoreConformanceTest::SetUp() {
  backend_ = GetParam().make();
  if (backend_ == nullptr)
    GTEST_SKIP() << "backend " << GetParam().name
                 << " is not available here (etcd: /usr/bin/etcd is missing; `make deps` "
                    "installs etcd-server)";
  auto s = backend_->Open(TestOptions());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();
}

void StoreConformanceTest::TearDown() {
  store_.reset();
  backend_.reset();
}

void StoreConformanceTest::Reopen(const StoreOptions& options) {
  store_.reset();
  auto s = backend_->Open(options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(s).value();
}

TEST_P(StoreConformanceTest, CreateGetUpdateDelete) {
  auto r0 = store_->CurrentRevision();
  ASSERT_TRUE(r0.ok());
  auto r1 = store_->Create("pods/default/a", "one");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_GT(*r1, *r0);
  auto kv = store_->Get("pods/default/a");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(*kv, (KeyValue{"pods/default/a", "one", *r1, *r1}));

  auto r2 = store_->Update("pods/default/a", "two", *r1);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(*r2, *r1 + 1);
  EXPECT_EQ(*store_->Get("pods/default/a"), (KeyValue{"pods/default/a", "two", *r1, *r2}));
  EXPECT_EQ(*store_->CurrentRevision(), *r2);

  auto d = store_->Delete("pods/default/a", *r2);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->deleted, (KeyValue{"pods/default/a", "two", *r1, *r2}));
  EXPECT_EQ(d->revision, *r2 + 1);
  EXPECT_EQ(store_->Get("pods/default/a").status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(store_->Update("pods/default/a", "x", 0).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("pods/default/a", 0).status().code(), base::StatusCode::kNotFound);
  // A failed write does not use a revision; re-creating starts a new incarnation.
  auto r3 = store_->Create("pods/default/a", "three");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(*r3, d->revision + 1);
  EXPECT_EQ(store_->Get("pods/default/a")->create_revision, *r3);
  EXPECT_EQ(store_->Create("", "x").status().code(), base::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, CreateOfExistingKeyFails) {
  ASSERT_TRUE(store_->Create("k", "1").ok());
  auto again = store_->Create("k", "2");
  EXPECT_EQ(again.status().code(), base::StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("k"), std::string::npos);
  EXPECT_EQ(store_->Get("k")->value, "1");
}

TEST_P(StoreConformanceTest, CompareAndSwapConflicts) {
  int64_t r1 = *store_->Create("svc/a", "1");
  int64_t r2 = *store_->Update("svc/a", "2", r1);
  auto stale = store_->Update("svc/a", "3", r1);
  ASSERT_EQ(stale.status().code(), base::StatusCode::kAborted);
  const std::string msg = stale.status().message();
  EXPECT_NE(msg.find("svc/a"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(r1)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(r2)), std::string::npos) << msg;
  EXPECT_EQ(store_->Delete("svc/a", r1).status().code(), base::StatusCode::kAborted);
  EXPECT_EQ(store_->Get("svc/a")->value, "2");
  EXPECT_TRUE(store_->Update("svc/a", "any", 0).ok());  // 0: unconditional

  // Concurrent read-modify-write: every increment that succeeded is counted exactly once.
  int64_t rev = *store_->Create("counter", "0");
  (void)rev;
  std::atomic<int> successes{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        for (;;) {
          auto kv = store_->Get("counter");
          ASSERT_TRUE(kv.ok());
          auto u =
              store_->Update("counter", std::to_string(std::stoi(kv->value) + 1), kv->mod_revision);
          if (u.ok()) {
            ++successes;
            break;
          }
          ASSERT_EQ(u.status().code(), base::StatusCode::kAborted) << u.status().ToString();
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(successes, 100);
  EXPECT_EQ(store_->Get("counter")->value, "100");
}

TEST_P(StoreConformanceTest, ListByPrefixWithPages) {
  for (const char* k : {"a/1", "a/2", "a/3", "ab/1", "b/1"}) ASSERT_TRUE(store_->Create(k, k).ok());
  auto all = store_->List("a/", {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].key, "a/1");
  EXPECT_EQ(all->items[2].key, "a/3");
  EXPECT_EQ(all->remaining_count, 0);
  EXPECT_TRUE(all->continue_token.empty());
  EXPECT_EQ(all->revision, *store_->CurrentRevision());
  EXPECT_EQ(store_->List("", {})->items.size(), 5u);

  auto p1 = store_->List("a/", {.limit = 2});
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->items.size(), 2u);
  EXPECT_EQ(p1->remaining_count, 1);
  ASSERT_FALSE(p1->continue_token.empty());
  auto p2 = store_->List("a/", {.continue_token = p1->continue_token});
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  ASSERT_EQ(p2->items.size(), 1u);
  EXPECT_EQ(p2->items[0].key, "a/3");
  EXPECT_TRUE(p2->continue_token.empty());

  EXPECT_EQ(store_->List("b/", {.continue_token = p1->continue_token}).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List("a/", {.continue_token = "garbage"}).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List("a/", {.revision = *store_->CurrentRevision() + 100}).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ListAtPastRevision) {
  int64_t r1 = *store_->Create("x/1", "a");
  int64_t r2 = *store_->Update("x/1", "b", r1);
  ASSERT_TRUE(store_->Create("x/2", "c").ok());
  ASSERT_TRUE(store_->Delete("x/1", r2).ok());
  auto at1 = store_->List("x/", {.revision = r1});
  ASSERT_TRUE(at1.ok());
  ASSERT_EQ(at1->items.size(), 1u);
  EXPECT_EQ(at1->items[0], (KeyValue{"x/1", "a", r1, r1}));
  EXPECT_EQ(at1->revision, r1);
  auto now = store_->List("x/", {});
  ASSERT_EQ(now->items.size(), 1u);
  EXPECT_EQ(now->items[0].key, "x/2");
}

TEST_P(StoreConformanceTest, PaginationIsConsistentUnderConcurrentWrites) {
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 60; ++i) {
    std::string k = "p/" + std::to_string(100 + i);
    ASSERT_TRUE(store_->Create(k, "v0").ok());
    expected[k] = "v0";
  }
  auto first = store_->List("p/", {.limit = 7});
  ASSERT_TRUE(first.ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 200; ++i) {
      std::string k = "p/" + std::to_string(100 + i % 60);
      if (i % 3 == 0) {
        (void)store_->Delete(k, 0);
      } else if (i % 3 == 1) {
        (void)store_->Create(k, "new");
        (void)store_->Create("p/0" + std::to_string(i), "inserted-before");
      } else {
        (void)store_->Update(k, "v" + std::to_string(i), 0);
      }
    }
  });
  std::map<std::string, std::string> seen;
  for (const auto& kv : first->items) seen[kv.key] = kv.value;
  std::string token = first->continue_token;
  int64_t remaining = first->remaining_count;
  while (!token.empty()) {
    auto page = store_->List("p/", {.limit = 7, .continue_token = token});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->revision, first->revision);
    EXPECT_EQ(static_cast<int64_t>(page->items.size()) + page->remaining_count, remaining);
    remaining = page->remaining_count;
    for (const auto& kv : page->items) EXPECT_TRUE(seen.emplace(kv.key, kv.value).second);
    token = page->continue_token;
    std::this_thread::sleep_for(1ms);
  }
  stop = true;
  writer.join();
  EXPECT_EQ(seen, expected);
}

TEST_P(StoreConformanceTest, WatchDeliversEventsInOrderWithPrevKv) {
  int64_t start = *store_->CurrentRevision() + 1;
  auto w = store_->Watch("pods/", start);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  int64_t r1 = *store_->Create("pods/a", "1");
  ASSERT_TRUE(store_->Create("other/a", "x").ok());  // not under the prefix
  int64_t r2 = *store_->Update("pods/a", "2", r1);
  auto del = store_->Delete("pods/a", r2);
  ASSERT_TRUE(del.ok());

  auto e1 = NextEvent(**w);
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  EXPECT_EQ(e1->type, EventType::kAdded);
  EXPECT_EQ(e1->kv, (KeyValue{"pods/a", "1", r1, r1}));
  EXPECT_EQ(e1->revision, r1);
  EXPECT_FALSE(e1->prev_kv.has_value());
  auto e2 = NextEvent(**w);
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->type, EventType::kModified);
  EXPECT_EQ(e2->kv, (KeyValue{"pods/a", "2", r1, r2}));
  ASSERT_TRUE(e2->prev_kv.has_value());
  EXPECT_EQ(*e2->prev_kv, (KeyValue{"pods/a", "1", r1, r1}));
  auto e3 = NextEvent(**w);
  ASSERT_TRUE(e3.ok());
  EXPECT_EQ(e3->type, EventType::kDeleted);
  EXPECT_EQ(e3->kv.key, "pods/a");
  EXPECT_EQ(e3->revision, del->revision);
  ASSERT_TRUE(e3->prev_kv.has_value());
  EXPECT_EQ(*e3->prev_kv, (KeyValue{"pods/a", "2", r1, r2}));
  EXPECT_EQ((*w)->TryNext().status().code(), base::StatusCode::kDeadlineExceeded);
  (*w)->Cancel();
  EXPECT_EQ((*w)->Next(steady_clock::now() + 1s).status().code(), base::StatusCode::kCancelled);
}

TEST_P(StoreConformanceTest, WatchFromZeroSeesOnlyLaterWrites) {
  ASSERT_TRUE(store_->Create("w/old", "1").ok());
  auto w = store_->Watch("w/", 0);
  ASSERT_TRUE(w.ok());
  int64_t r = *store_->Create("w/new", "2");
  auto e = NextEvent(**w);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kv.key, "w/new");
  EXPECT_EQ(e->revision, r);
}

TEST_P(StoreConformanceTest, WatchReplaysHistoryAndResumesWithoutGapsOrDuplicates) {
  int64_t base_rev = *store_->CurrentRevision();
  // Writers run while the watch replays history and switches to live events.
  constexpr int kThreads = 4, kPerThread = 150;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->Create("r/pre" + std::to_string(i), "x").ok());
  auto w = store_->Watch("r/", base_rev + 1);
  ASSERT_TRUE(w.ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string k = "r/" + std::to_string(t) + "/" + std::to_string(i % 10);
        if (i < 10) {
          ASSERT_TRUE(store_->Create(k, "c").ok());
        } else {
          ASSERT_TRUE(store_->Update(k, std::to_string(i), 0).ok());
        }
      }
    });
  }
  const int total = 50 + kThreads * kPerThread;
  std::vector<int64_t> revs;
  // Read half, cancel, and resume from the revision after the last one received.
  while (static_cast<int>(revs.size()) < total / 2) {
    auto e = NextEvent(**w);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    revs.push_back(e->revision);
  }
  (*w)->Cancel();
  w = store_->Watch("r/", revs.back() + 1);
  ASSERT_TRUE(w.ok());
  while (static_cast<int>(revs.size()) < total) {
    auto e = NextEvent(**w);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    revs.push_back(e->revision);
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ((*w)->Next(steady_clock::now() + 200ms).status().code(),
            base::StatusCode::kDeadlineExceeded);
  // Only this test writes under r/ since base_rev: revisions are exactly base_rev+1..base_rev+total
  // when nothing else writes to the store (true for the local backends and for a private etcd).
  for (size_t i = 1; i < revs.size(); ++i) ASSERT_LT(revs[i - 1], revs[i]) << "at " << i;
  EXPECT_EQ(revs.front(), base_rev + 1);
  EXPECT_EQ(revs.back(), base_rev + total);
}

TEST_P(StoreConformanceTest, ManyWatchersEachSeeEveryEvent) {
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < 10; ++i) {
    auto w = store_->Watch("m/", 0);
    ASSERT_TRUE(w.ok());
    watchers.push_back(std::move(w).value());
  }
  std::vector<int64_t> written;
  for (int i = 0; i < 30; ++i) written.push_back(*store_->Create("m/" + std::to_string(i), "v"));
  for (auto& w : watchers) {
    for (int64_t rev : written) {
      auto e = NextEvent(*w);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      EXPECT_EQ(e->revision, rev);
    }
  }
}

TEST_P(StoreConformanceTest, SlowWatcherIsDroppedWithAClearError) {
  StoreOptions o = TestOptions();
  o.watch_buffer_events = 10;
  Reopen(o);
  auto w = store_->Watch("s/", 0);
  ASSERT_TRUE(w.ok());
  auto fast = store_->Watch("s/", 0);
  ASSERT_TRUE(fast.ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->Create("s/" + std::to_string(i), "v").ok());
    ASSERT_TRUE((*fast)->Next(steady_clock::now() + 20s).ok());  // keeps up: never dropped
  }
  base::Status end;
  int received = 0;
  for (;;) {
    auto e = NextEvent(**w);
    if (!e.ok()) {
      end = e.status();
      break;
    }
    ++received;
  }
  EXPECT_EQ(end.code(), base::StatusCode::kResourceExhausted) << end.ToString();
  EXPECT_NE(end.message().find("re-watch"), std::string::npos) << end.ToString();
  EXPECT_LT(received, 50);
}

TEST_P(StoreConformanceTest, SlowWatcherReplayingHistoryResumesFromTheNamedRevision) {
  StoreOptions o = TestOptions();
  o.watch_buffer_events = 10;
  Reopen(o);
  int64_t first = *store_->CurrentRevision() + 1;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->Create("h/" + std::to_string(i), "v").ok());
  auto w = store_->Watch("h/", first);
  ASSERT_TRUE(w.ok());
  for (int i = 50; i < 80; ++i) ASSERT_TRUE(store_->Create("h/" + std::to_string(i), "v").ok());
  std::this_thread::sleep_for(200ms);  // let a remote backend deliver into the small buffer
  std::vector<int64_t> revs;
  base::Status end;
  for (;;) {
    auto e = NextEvent(**w);
    if (!e.ok()) {
      end = e.status();
      break;
    }
    revs.push_back(e->revision);
  }
  ASSERT_EQ(end.code(), base::StatusCode::kResourceExhausted) << end.ToString();
  const std::string marker = "re-watch from revision ";
  size_t at = end.message().find(marker);
  ASSERT_NE(at, std::string::npos) << end.ToString();
  int64_t resume = std::stoll(end.message().substr(at + marker.size()));
  EXPECT_EQ(resume, revs.empty() ? first : revs.back() + 1) << end.ToString();
  w->reset();
  // A roomier buffer for the rest (the memory backend keeps its data only while open; its replay
  // is not bounded by the buffer anyway).
  if (GetParam().name != "memory") Reopen(TestOptions());
  auto again = store_->Watch("h/", resume);
  ASSERT_TRUE(again.ok());
  while (revs.size() < 80) {
    auto e = NextEvent(**again);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    revs.push_back(e->revision);
  }
  for (size_t i = 0; i < revs.size(); ++i) ASSERT_EQ(revs[i], first + static_cast<int64_t>(i));
}

TEST_P(StoreConformanceTest, CompactionMakesOldRevisionsGone) {
  int64_t r1 = *store_->Create("c/a", "1");
  int64_t r2 = *store_->Update("c/a", "2", r1);
  int64_t r3 = *store_->Create("c/b", "3");
  auto d = store_->Delete("c/b", r3);
  ASSERT_TRUE(d.ok());
  int64_t r5 = *store_->Update("c/a", "5", r2);
  ASSERT_TRUE(store_->Compact(r3).ok());
  ASSERT_TRUE(store_->Compact(r3).ok());  // again: fine
  ASSERT_TRUE(store_->Compact(r2).ok());  // older: fine, changes nothing

  auto old_list = store_->List("c/", {.revision = r2});
  EXPECT_TRUE(IsCompacted(old_list.status())) << old_list.status().ToString();
  auto old_watch = store_->Watch("c/", r1);
  EXPECT_TRUE(IsCompacted(old_watch.status())) << old_watch.status().ToString();
  EXPECT_FALSE(IsCompacted(base::NotFoundError("x")));

  // At and after the compacted revision everything is still there.
  auto at3 = store_->List("c/", {.revision = r3});
  ASSERT_TRUE(at3.ok()) << at3.status().ToString();
  ASSERT_EQ(at3->items.size(), 2u);
  EXPECT_EQ(at3->items[0], (KeyValue{"c/a", "2", r1, r2}));
  EXPECT_EQ(at3->items[1], (KeyValue{"c/b", "3", r3, r3}));
  auto w = store_->Watch("c/", r3 + 1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto e = NextEvent(**w);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, EventType::kDeleted);
  EXPECT_EQ(e->prev_kv->value, "3");
  e = NextEvent(**w);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->revision, r5);
  EXPECT_EQ(e->prev_kv->value, "2");
  EXPECT_EQ(*store_->Get("c/a"), (KeyValue{"c/a", "5", r1, r5}));
  EXPECT_EQ(store_->Compact(r5 + 10).code(), base::StatusCode::kInvalidArgument);

  // Compacting everything keeps the live keys readable, and the next writes go on.
  ASSERT_TRUE(store_->Compact(r5).ok());
  EXPECT_EQ(store_->List("c/", {})->items.size(), 1u);
  EXPECT_EQ(*store_->Create("c/c", "6"), r5 + 1);
}

TEST_P(StoreConformanceTest, LargeValues) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  auto w = store_->Watch("big/", 0);
  ASSERT_TRUE(w.ok());
  auto r = store_->Create("big/one", big);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(store_->Get("big/one")->value, big);
  auto e = NextEvent(**w);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kv.value, big);
  big[7] = 'x';
  ASSERT_TRUE(store_->Update("big/one", big, *r).ok());
  auto list = store_->List("big/", {});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->items.at(0).value, big);
}

TEST_P(StoreConformanceTest, ManyKeys) {
  constexpr int kKeys = 100000;
  ASSERT_EQ(CreateMany(*store_, "many/", kKeys, 32), kKeys);
  auto all = store_->List("many/", {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->items.size(), static_cast<size_t>(kKeys));
  EXPECT_TRUE(std::is_sorted(all->items.begin(), all->items.end(),
                             [](const auto& a, const auto& b) { return a.key < b.key; }));
  // Paged, in pages of 10k, at one revision.
  ListOptions opts{.limit = 10000};
  size_t total = 0;
  for (;;) {
    auto page = store_->List("many/", opts);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    total += page->items.size();
    EXPECT_EQ(static_cast<int64_t>(total) + page->remaining_count, kKeys);
    if (page->continue_token.empty()) break;
    opts.continue_token = page->continue_token;
  }
  EXPECT_EQ(total, static_cast<size_t>(kKeys));
  // Every create got its own revision.
  std::set<int64_t> revs;
  for (const auto& kv : all->items) revs.insert(kv.mod_revision);
  EXPECT_EQ(revs.size(), static_cast<size_t>(kKeys));
}

TEST_P(StoreConformanceTest, SurvivesReopen) {
  int64_t r = *store_->Create("keep/a", "1");
  Reopen(TestOptions());
  auto kv = store_->Get("keep/a");
  if (GetParam().name == "memory") {
    GTEST_SKIP() << "the memory backend keeps nothing across reopen, by design";
  }
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(kv->mod_revision, r);
  EXPECT_EQ(*store_->Create("keep/b", "2"), r + 1);
}

}  // namespace knet::store::testing
