// Crash test: a child process creates keys as fast as it can and reports every acknowledged
// revision; it is SIGKILLed at a random moment. After reopening, every acknowledged write must be
// there, and the revisions must run 1..N with no gap and no repeat. 20 rounds on one database.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "store/store.h"
#include "tool_runner.h"

namespace knet::store {
namespace {

using namespace std::chrono_literals;
using testing::Child;

TEST(StoreCrashTest, AcknowledgedWritesSurviveSigkill) {
  char tmpl[] = "/tmp/knet-crash-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string url = "sqlite://" + dir + "/state.db";
  unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::map<std::string, int64_t> acked;  // every acknowledged write, all rounds

  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    Child child = testing::SpawnTool({url, "write-loop", "r" + std::to_string(round), "4"});
    ASSERT_GT(child.pid, 0);
    std::string out;
    // Wait for the first acknowledgement, then let it run a random 0-150 ms more.
    while (out.find('\n') == std::string::npos) {
      ASSERT_TRUE(testing::ReadSome(child.out_fd, out, 10000))
          << "writer exited early: " << testing::ReadAll(child.err_fd);
    }
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 150)(rng));
    while (std::chrono::steady_clock::now() < until) testing::ReadSome(child.out_fd, out, 5);
    EXPECT_EQ(testing::Reap(child, SIGKILL), 128 + SIGKILL);
    out += testing::ReadAll(child.out_fd);  // whatever it reported before dying
    close(child.out_fd);
    close(child.err_fd);

    int lines = 0;
    std::istringstream in(out.substr(0, out.rfind('\n') + 1));  // a torn last line is not an ack
    for (std::string key; in >> key;) {
      int64_t rev = 0;
      in >> rev;
      ASSERT_TRUE(acked.emplace(key, rev).second) << "acknowledged twice: " << key;
      ++lines;
    }
    ASSERT_GT(lines, 0);

    auto store = OpenStore(url, {.compaction_interval = 0s});
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().ToString();
    for (const auto& [key, rev] : acked) {
      auto kv = (*store)->Get(key);
      ASSERT_TRUE(kv.ok()) << "round " << round << ": acknowledged " << key << " at " << rev
                           << " is lost: " << kv.status().ToString();
      ASSERT_EQ(kv->mod_revision, rev) << key;
      ASSERT_EQ(kv->value, "value-" + key);
    }
    auto all = (*store)->List("", {});
    ASSERT_TRUE(all.ok());
    int64_t current = *(*store)->CurrentRevision();
    std::set<int64_t> revs;
    for (const auto& kv : all->items) ASSERT_TRUE(revs.insert(kv.mod_revision).second);
    // Only creates: each revision is exactly one key, so 1..current must all be present.
    ASSERT_EQ(static_cast<int64_t>(revs.size()), current) << "round " << round;
    ASSERT_EQ(*revs.begin(), 1);
    ASSERT_EQ(*revs.rbegin(), current);
  }
  std::filesystem::remove_all(dir);
  RecordProperty("acknowledged_writes", static_cast<int>(acked.size()));
}

}  // namespace
}  // namespace knet::store
