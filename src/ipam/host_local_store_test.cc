#include "ipam/host_local_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "ipam/internal/reservation.h"

namespace knet::ipam {
namespace {

using base::IPAddress;
using base::StatusCode;
using json = nlohmann::json;
using ::testing::HasSubstr;

IPAddress IP(const char* s) { return *IPAddress::Parse(s); }

// A fresh directory under TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "knet-ipam-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The pid of a child that has exited and been reaped.
pid_t DeadPid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

IpamConfig Config(const std::string& text) {
  auto cfg = ParseIpamConfig(json::parse(text), "testnet");
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return *cfg;
}

class HostLocalStoreTest : public ::testing::Test {
 protected:
  HostLocalStore Open(StoreOptions options = {}) {
    auto s = HostLocalStore::Open(dir_.path() + "/testnet", options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  std::string Alloc(HostLocalStore& store, const IpamConfig& cfg, const std::string& id,
                    std::vector<IPAddress> requested = {}) {
    auto a = store.Allocate(cfg, {id, "eth0"}, requested);
    if (!a.ok()) return a.status().ToString();
    std::string out;
    for (const AllocatedIp& ip : a->ips) out += (out.empty() ? "" : " ") + ip.ToString();
    return out;
  }
  TempDir dir_;
};

TEST_F(HostLocalStoreTest, AllocatesInOrderRotatesAndWraps) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/29"})");
  HostLocalStore store = Open();
  EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.2/29");
  EXPECT_EQ(Alloc(store, cfg, "b"), "10.0.0.3/29");
  ASSERT_TRUE(store.Release({"a", "eth0"}).ok());
  // host-local's rotation: a released address is not reused before the range wraps.
  EXPECT_EQ(Alloc(store, cfg, "c"), "10.0.0.4/29");
  EXPECT_EQ(Alloc(store, cfg, "d"), "10.0.0.5/29");
  EXPECT_EQ(Alloc(store, cfg, "e"), "10.0.0.6/29");
  EXPECT_EQ(Alloc(store, cfg, "f"), "10.0.0.2/29");  // wrapped
  // Full now (.1 is the gateway, .0 and .7 network and broadcast).
  auto full = store.Allocate(cfg, {"g", "eth0"}, {});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(full.status().message(), HasSubstr("no IP addresses available in range set 0"));
  EXPECT_THAT(full.status().message(), HasSubstr("10.0.0.0/29"));
  EXPECT_FALSE(*store.HasFreeAddress(cfg));
  ASSERT_TRUE(store.Release({"d", "eth0"}).ok());
  EXPECT_TRUE(*store.HasFreeAddress(cfg));
  EXPECT_EQ(Alloc(store, cfg, "g"), "10.0.0.5/29");
}

TEST_F(HostLocalStoreTest, RotationSurvivesReopening) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/24"})");
  {
    HostLocalStore store = Open();
    EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.2/24");
    ASSERT_TRUE(store.Release({"a", "eth0"}).ok());
  }
  HostLocalStore again = Open();
  EXPECT_EQ(Alloc(again, cfg, "b"), "10.0.0.3/24");
}

TEST_F(HostLocalStoreTest, AllocationCarriesGatewaysAndRoutes) {
  IpamConfig cfg = Config(R"({"type": "host-local",
      "ranges": [[{"subnet": "10.1.0.0/24", "gateway": "10.1.0.254"}], [{"subnet": "fd00:1::/64"}]],
      "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]})");
  HostLocalStore store = Open();
  auto a = store.Allocate(cfg, {"pod1", "eth0"}, {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->ips.size(), 2u);
  EXPECT_EQ(a->ips[0].address, IP("10.1.0.1"));  // the gateway is .254, so .1 is free
  EXPECT_EQ(a->ips[0].prefix_len, 24);
  EXPECT_EQ(a->ips[0].gateway, IP("10.1.0.254"));
  EXPECT_EQ(a->ips[0].range_set, 0u);
  EXPECT_EQ(a->ips[1].ToString(), "fd00:1::2/64");
  EXPECT_EQ(a->ips[1].gateway, IP("fd00:1::1"));
  EXPECT_EQ(a->ips[1].range_set, 1u);
  EXPECT_EQ(a->routes, cfg.routes);
  auto mine = store.AddressesOf({"pod1", "eth0"});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(*mine, (std::vector<IPAddress>{IP("10.1.0.1"), IP("fd00:1::2")}));
  // The files are named by the address.
  EXPECT_TRUE(std::filesystem::exists(store.dir() + "/10.1.0.1"));
  EXPECT_TRUE(std::filesystem::exists(store.dir() + "/fd00:1::2"));
}

TEST_F(HostLocalStoreTest, IPv6Only) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "fd00:2::/126"})");
  HostLocalStore store = Open();
  // ::0 network, ::1 gateway; IPv6 has no broadcast, so ::3 is handed out.
  EXPECT_EQ(Alloc(store, cfg, "a"), "fd00:2::2/126");
  EXPECT_EQ(Alloc(store, cfg, "b"), "fd00:2::3/126");
  EXPECT_THAT(Alloc(store, cfg, "c"), HasSubstr("ResourceExhausted"));
}

TEST_F(HostLocalStoreTest, OneAddressPerAttachment) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/24"})");
  HostLocalStore store = Open();
  EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.2/24");
  auto again = store.Allocate(cfg, {"a", "eth0"}, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("a/eth0 already holds 10.0.0.2"));
  // Another interface of the same container is another attachment.
  auto net1 = store.Allocate(cfg, {"a", "net1"}, {});
  ASSERT_TRUE(net1.ok()) << net1.status().ToString();
  EXPECT_EQ(net1->ips[0].address, IP("10.0.0.3"));
}

TEST_F(HostLocalStoreTest, RequestedAddresses) {
  IpamConfig cfg = Config(R"({"type": "host-local", "exclude": ["10.0.0.9"],
      "ranges": [[{"subnet": "10.0.0.0/24", "rangeEnd": "10.0.0.100"}], [{"subnet": "fd00::/64"}]]})");
  HostLocalStore store = Open();
  EXPECT_EQ(Alloc(store, cfg, "a", {IP("10.0.0.50")}), "10.0.0.50/24 fd00::2/64");
  EXPECT_EQ(Alloc(store, cfg, "b", {IP("fd00::77"), IP("10.0.0.7")}), "10.0.0.7/24 fd00::77/64");
  // Rotation continues after the requested address, as in host-local.
  EXPECT_EQ(Alloc(store, cfg, "c"), "10.0.0.8/24 fd00::78/64");
  EXPECT_THAT(Alloc(store, cfg, "d", {IP("10.0.0.50")}),
              HasSubstr("AlreadyExists: requested IP 10.0.0.50 is already reserved by a/eth0"));
  EXPECT_THAT(Alloc(store, cfg, "d", {IP("10.0.0.1")}), HasSubstr("is the gateway"));
  EXPECT_THAT(Alloc(store, cfg, "d", {IP("10.0.0.9")}), HasSubstr("excluded"));
  EXPECT_THAT(Alloc(store, cfg, "d", {IP("10.0.0.101")}),
              HasSubstr("requested IP 10.0.0.101 is not in any range of network testnet"));
  EXPECT_THAT(Alloc(store, cfg, "d", {IP("10.0.0.20"), IP("10.0.0.21")}),
              HasSubstr("one IP per range set"));
  // Refusals reserve nothing.
  auto all = store.List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 6u);
}

TEST_F(HostLocalStoreTest, AllOrNothingAcrossRangeSets) {
  IpamConfig cfg = Config(R"({"type": "host-local",
      "ranges": [[{"subnet": "10.0.0.0/24"}], [{"subnet": "fd00::/126"}]]})");
  HostLocalStore store = Open();
  EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.2/24 fd00::2/126");
  EXPECT_EQ(Alloc(store, cfg, "b"), "10.0.0.3/24 fd00::3/126");
  // The IPv6 set is full: nothing is reserved from the IPv4 set either.
  EXPECT_THAT(Alloc(store, cfg, "c"), HasSubstr("range set 1"));
  EXPECT_EQ(store.List()->size(), 4u);
  EXPECT_FALSE(*store.HasFreeAddress(cfg));
}

TEST_F(HostLocalStoreTest, ReleaseIsIdempotent) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/24"})");
  HostLocalStore store = Open();
  EXPECT_TRUE(store.Release({"nobody", "eth0"}).ok());
  EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.2/24");
  EXPECT_EQ(Alloc(store, cfg, "b"), "10.0.0.3/24");
  EXPECT_TRUE(store.Release({"a", "eth0"}).ok());
  EXPECT_TRUE(store.Release({"a", "eth0"}).ok());
  EXPECT_TRUE(store.Release({"b", "eth1"}).ok());  // another interface: b/eth0 stays
  auto left = store.List();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].attachment, (Attachment{"b", "eth0"}));
  EXPECT_FALSE(std::filesystem::exists(store.dir() + "/10.0.0.2"));
}

TEST_F(HostLocalStoreTest, CommitMarksCommitted) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/24"})");
  HostLocalStore store = Open();
  EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.2/24");
  auto before = store.List();
  ASSERT_EQ(before->size(), 1u);
  EXPECT_EQ((*before)[0].state, ReservationState::kPending);
  EXPECT_EQ((*before)[0].pid, ::getpid());
  EXPECT_FALSE((*before)[0].boot_id.empty());
  ASSERT_TRUE(store.Commit({"a", "eth0"}).ok());
  EXPECT_TRUE(store.Commit({"a", "eth0"}).ok());
  EXPECT_EQ((*store.List())[0].state, ReservationState::kCommitted);
  auto missing = store.Commit({"zzz", "eth0"});
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

TEST_F(HostLocalStoreTest, GarbageCollectKeepsOnlyValidAttachments) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/24"})");
  HostLocalStore store = Open();
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_THAT(Alloc(store, cfg, id), HasSubstr("10.0.0."));
    ASSERT_TRUE(store.Commit({id, "eth0"}).ok());
  }
  // A pending reservation of a running ADD (this process) is kept even if not listed.
  EXPECT_EQ(Alloc(store, cfg, "inflight"), "10.0.0.5/24");
  auto removed = store.GarbageCollect({{"b", "eth0"}, {"unknown", "eth0"}});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2);
  auto left = store.List();
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].attachment.container_id, "b");
  EXPECT_EQ((*left)[1].attachment.container_id, "inflight");
  EXPECT_EQ(*store.GarbageCollect({{"b", "eth0"}}), 0);
  ASSERT_TRUE(store.Commit({"inflight", "eth0"}).ok());
  EXPECT_EQ(*store.GarbageCollect({}), 2);
  EXPECT_TRUE(store.List()->empty());
}

// An ADD that reserved an address and died before Commit: the next ADD reclaims it.
TEST_F(HostLocalStoreTest, CrashedAddIsReclaimed) {
  IpamConfig cfg =
      Config(R"({"type": "host-local", "subnet": "10.0.0.0/29", "rangeEnd": "10.0.0.2"})");
  const std::string dir = dir_.path() + "/testnet";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = HostLocalStore::Open(dir);
    const bool ok = s.ok() && s->Allocate(cfg, {"crashed", "eth0"}, {}).ok();
    ::_exit(ok ? 0 : 1);  // "crash": no Commit
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  HostLocalStore store = Open();
  auto listed = store.List();  // List reports, never reclaims
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, ReservationState::kPending);
  EXPECT_EQ((*listed)[0].pid, child);
  // The range holds one address (.2); the dead child's reservation gives way.
  EXPECT_TRUE(*store.HasFreeAddress(cfg));
  EXPECT_EQ(Alloc(store, cfg, "next"), "10.0.0.2/29");
  EXPECT_EQ((*store.List())[0].attachment.container_id, "next");
}

// A reservation whose process start time does not match (the pid was reused) is stale too.
TEST_F(HostLocalStoreTest, ReusedPidIsNotMistakenForTheReserver) {
  IpamConfig cfg =
      Config(R"({"type": "host-local", "subnet": "10.0.0.0/29", "rangeEnd": "10.0.0.2"})");
  HostLocalStore store = Open();
  Reservation r;
  r.ip = IP("10.0.0.2");
  r.attachment = {"old", "eth0"};
  r.state = ReservationState::kPending;
  r.pid = ::getpid();                                                          // alive, but ...
  r.start_time = ipam_internal::ProcessStartTime(::getpid()).value() + 12345;  // ... not it
  r.boot_id = ipam_internal::ReadBootId().value();
  std::ofstream(store.dir() + "/10.0.0.2") << ipam_internal::FormatReservation(r);
  EXPECT_EQ(Alloc(store, cfg, "new"), "10.0.0.2/29");
}

// After a reboot (another boot id) pending reservations are reclaimed; committed ones stay until
// the runtime's GC leaves them out.
TEST_F(HostLocalStoreTest, ReservationsFromBeforeAReboot) {
  IpamConfig cfg =
      Config(R"({"type": "host-local", "subnet": "10.0.0.0/29", "rangeEnd": "10.0.0.3"})");
  {
    HostLocalStore before = Open({.boot_id = "previous-boot"});
    EXPECT_EQ(Alloc(before, cfg, "committed"), "10.0.0.2/29");
    ASSERT_TRUE(before.Commit({"committed", "eth0"}).ok());
    EXPECT_EQ(Alloc(before, cfg, "pending"), "10.0.0.3/29");  // this process is still alive
    EXPECT_FALSE(*before.HasFreeAddress(cfg));
  }
  HostLocalStore after = Open();  // the real boot id
  EXPECT_TRUE(*after.HasFreeAddress(cfg));
  EXPECT_EQ(Alloc(after, cfg, "new"), "10.0.0.3/29");
  auto left = after.List();
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].attachment.container_id, "committed");
  EXPECT_EQ((*left)[0].boot_id, "previous-boot");
  ASSERT_TRUE(after.Commit({"new", "eth0"}).ok());
  EXPECT_EQ(*after.GarbageCollect({{"new", "eth0"}}), 1);
  EXPECT_EQ(*after.AddressesOf({"new", "eth0"}), (std::vector<IPAddress>{IP("10.0.0.3")}));
  EXPECT_EQ(after.List()->size(), 1u);
}

TEST_F(HostLocalStoreTest, ReadsHostLocalFilesAndDropsGarbage) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/29"})");
  HostLocalStore store = Open();
  std::ofstream(store.dir() + "/10.0.0.2") << "abc123\r\neth0";
  std::ofstream(store.dir() + "/10.0.0.3") << "";               // interrupted write
  std::ofstream(store.dir() + "/.tmp-1-10.0.0.4") << "id=x\n";  // stale temporary
  auto listed = store.List();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].attachment, (Attachment{"abc123", "eth0"}));
  EXPECT_EQ((*listed)[0].state, ReservationState::kCommitted);
  EXPECT_EQ(Alloc(store, cfg, "a"), "10.0.0.3/29");
  EXPECT_FALSE(std::filesystem::exists(store.dir() + "/.tmp-1-10.0.0.4"));
  EXPECT_TRUE(store.Release({"abc123", "eth0"}).ok());
  EXPECT_FALSE(std::filesystem::exists(store.dir() + "/10.0.0.2"));
  // The oldest host-local format holds only the container ID; DEL still finds it.
  std::ofstream(store.dir() + "/10.0.0.5") << "old-id\n";
  EXPECT_TRUE(store.Release({"old-id", "eth0"}).ok());
  EXPECT_FALSE(std::filesystem::exists(store.dir() + "/10.0.0.5"));
}

// A pending reservation from another pid namespace cannot be judged by its pid: it stays.
TEST_F(HostLocalStoreTest, PendingFromAnotherPidNamespaceIsKept) {
  IpamConfig cfg =
      Config(R"({"type": "host-local", "subnet": "10.0.0.0/29", "rangeEnd": "10.0.0.2"})");
  HostLocalStore store = Open();
  Reservation r;
  r.ip = IP("10.0.0.2");
  r.attachment = {"elsewhere", "eth0"};
  r.state = ReservationState::kPending;
  r.pid = DeadPid();
  r.boot_id = ipam_internal::ReadBootId().value();
  r.pid_ns = "pid:[1]";
  std::ofstream(store.dir() + "/10.0.0.2") << ipam_internal::FormatReservation(r);
  EXPECT_THAT(Alloc(store, cfg, "new"), HasSubstr("ResourceExhausted"));
  // In our own namespace the same dead pid is reclaimed.
  r.pid_ns = ipam_internal::ReadPidNamespace();
  std::ofstream(store.dir() + "/10.0.0.2") << ipam_internal::FormatReservation(r);
  EXPECT_EQ(Alloc(store, cfg, "new"), "10.0.0.2/29");
}

TEST_F(HostLocalStoreTest, BadAttachmentsAreRefused) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/29"})");
  HostLocalStore store = Open();
  EXPECT_THAT(Alloc(store, cfg, ""), HasSubstr("container ID"));
  EXPECT_THAT(Alloc(store, cfg, "a\nstate=committed"), HasSubstr("single line"));
  EXPECT_EQ(store.Allocate(cfg, {"a", ""}, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(HostLocalStoreOpenTest, FailsClearlyOnAFile) {
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  auto s = HostLocalStore::Open(dir.path() + "/file");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(dir.path() + "/file"));
}

// 50 processes, each opening the store on its own, run ADD at once on a range with exactly 50
// free addresses per family: every one succeeds with distinct addresses, and the 51st fails.
TEST_F(HostLocalStoreTest, FiftyConcurrentProcesses) {
  constexpr int kProcs = 50;
  IpamConfig cfg = Config(R"({"type": "host-local", "ranges": [
      [{"subnet": "10.0.0.0/24", "rangeEnd": "10.0.0.51"}],
      [{"subnet": "fd00::/64", "rangeEnd": "fd00::33"}]]})");
  const std::string dir = dir_.path() + "/testnet";
  int start[2], results[2];
  ASSERT_EQ(::pipe(start), 0);
  ASSERT_EQ(::pipe(results), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcs; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(start[1]);
      ::close(results[0]);
      char c;
      while (::read(start[0], &c, 1) < 0) {
      }  // wait until the parent lets everyone go
      auto s = HostLocalStore::Open(dir);
      if (!s.ok()) ::_exit(2);
      const Attachment att{"container-" + std::to_string(i), "eth0"};
      auto a = s->Allocate(cfg, att, {});
      if (!a.ok() || !s->Commit(att).ok()) ::_exit(3);
      std::string line = a->ips[0].ToString() + " " + a->ips[1].ToString() + "\n";
      if (::write(results[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::_exit(4);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(results[1]);
  ::close(start[1]);  // go
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(results[0], buf, sizeof(buf))) != 0;) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(results[0]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit " << status;
  }
  std::set<std::string> v4, v6;
  std::istringstream lines(out);
  for (std::string a, b; lines >> a >> b;) {
    v4.insert(a);
    v6.insert(b);
  }
  EXPECT_EQ(v4.size(), static_cast<size_t>(kProcs));
  EXPECT_EQ(v6.size(), static_cast<size_t>(kProcs));
  HostLocalStore store = Open();
  auto all = store.List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u * kProcs);
  for (const Reservation& r : *all) EXPECT_EQ(r.state, ReservationState::kCommitted);
  EXPECT_FALSE(*store.HasFreeAddress(cfg));
  EXPECT_THAT(Alloc(store, cfg, "one-too-many"), HasSubstr("ResourceExhausted"));
}

// Threads, each with its own HostLocalStore (its own open file description, so flock excludes).
TEST_F(HostLocalStoreTest, ConcurrentThreadsWithTheirOwnStores) {
  IpamConfig cfg = Config(R"({"type": "host-local", "subnet": "10.0.0.0/24"})");
  const std::string dir = dir_.path() + "/testnet";
  constexpr int kThreads = 8, kEach = 10;
  std::vector<std::vector<IPAddress>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = HostLocalStore::Open(dir);
      if (!s.ok()) return;
      for (int i = 0; i < kEach; ++i) {
        auto a = s->Allocate(cfg, {"t" + std::to_string(t) + "-" + std::to_string(i), "eth0"}, {});
        if (a.ok()) got[static_cast<size_t>(t)].push_back(a->ips[0].address);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<IPAddress> distinct;
  size_t total = 0;
  for (const auto& v : got) {
    total += v.size();
    distinct.insert(v.begin(), v.end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(distinct.size(), total);
}

}  // namespace
}  // namespace knet::ipam
