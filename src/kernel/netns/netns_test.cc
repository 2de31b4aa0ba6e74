#include "kernel/netns/netns.h"

#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace knet::kernel::netns {
namespace {

using base::StatusCode;

std::string UniqueName(std::string_view what) {
  static std::atomic<int> counter{0};
  return "knet-nstest-" + std::string(what) + "-" + std::to_string(getpid()) + "-" +
         std::to_string(counter++);
}

// Deletes the named namespace when the test ends, passed or failed.
struct NetnsGuard {
  std::string name;
  ~NetnsGuard() { (void)Delete(name); }
};

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
  }
};

// The inode of the namespace a descriptor refers to.
ino_t Inode(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0);
  return st.st_ino;
}

TEST_F(NetnsTest, CreateOpenRunDelete) {
  NetnsGuard guard{UniqueName("a")};
  auto ns = Create(guard.name);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->path(), "/run/netns/" + guard.name);

  auto again = Netns::Open(guard.name);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Inode(again->fd()), Inode(ns->fd()));

  auto current = Netns::Current();
  ASSERT_TRUE(current.ok());
  EXPECT_NE(Inode(current->fd()), Inode(ns->fd()));

  // Inside, the thread's namespace is the new one, and only lo exists; outside nothing changed.
  ino_t inside = 0;
  unsigned lo_index = 0;
  auto st = RunIn(*ns, [&]() -> base::Status {
    auto self = Netns::Current();
    if (!self.ok()) return self.status();
    inside = Inode(self->fd());
    lo_index = if_nametoindex("lo");
    return base::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(inside, Inode(ns->fd()));
  EXPECT_NE(lo_index, 0u);
  auto after = Netns::Current();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Inode(after->fd()), Inode(current->fd()));

  // fn's error comes back unchanged.
  auto failed = RunIn(*ns, [] { return base::NotFoundError("inner"); });
  EXPECT_EQ(failed.code(), StatusCode::kNotFound);
  EXPECT_EQ(failed.message(), "inner");

  ASSERT_TRUE(Delete(guard.name).ok());
  EXPECT_EQ(Netns::Open(guard.name).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Delete(guard.name).code(), StatusCode::kNotFound);
}

TEST_F(NetnsTest, CreateTwiceIsAlreadyExists) {
  NetnsGuard guard{UniqueName("dup")};
  auto first = Create(guard.name);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Create(guard.name);
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists) << second.status().ToString();
  EXPECT_NE(second.status().message().find(guard.name), std::string::npos);
  // The failed second Create did not disturb the first.
  EXPECT_TRUE(Netns::Open(guard.name).ok());
}

TEST_F(NetnsTest, BadNamesAndPaths) {
  EXPECT_EQ(Create("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create("..").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create("a/b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Delete("a/b").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Netns::Open("knet-no-such-netns-" + std::to_string(getpid())).status().code(),
            StatusCode::kNotFound);
  // A regular file is not a namespace.
  auto not_ns = Netns::Open("/proc/self/status");
  EXPECT_EQ(not_ns.status().code(), StatusCode::kInvalidArgument) << not_ns.status().ToString();
  EXPECT_EQ(Netns::Open("/proc/self/ns/net").status().code(), StatusCode::kOk);
}

TEST_F(NetnsTest, ConcurrentCreatesAndDeletes) {
  constexpr int kThreads = 8;
  std::vector<std::string> names;
  for (int i = 0; i < kThreads; ++i) names.push_back(UniqueName("par"));
  std::vector<NetnsGuard> guards;
  for (const auto& n : names) guards.push_back(NetnsGuard{n});
  std::vector<base::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto ns = Create(names[static_cast<size_t>(i)]);
      results[static_cast<size_t>(i)] = ns.status();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_TRUE(results[static_cast<size_t>(i)].ok()) << results[static_cast<size_t>(i)].ToString();
    EXPECT_TRUE(Netns::Open(names[static_cast<size_t>(i)]).ok());
    EXPECT_TRUE(Delete(names[static_cast<size_t>(i)]).ok());
  }
}

TEST(NetnsUnprivilegedTest, RunInClosedNamespaceFails) {
  Netns closed;
  EXPECT_EQ(RunIn(closed, [] { return base::OkStatus(); }).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace knet::kernel::netns
