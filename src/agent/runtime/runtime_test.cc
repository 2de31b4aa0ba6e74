#include "agent/runtime/runtime.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/process/process.h"
#include "agent/runtime/internal/files.h"
#include "agent/runtime/internal/state.h"
#include "gtest/gtest.h"
#include "kernel/netns/netns.h"

namespace knet::agent::runtime {
namespace {

using namespace std::chrono_literals;
using State = ContainerStatus::State;

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::string Slurp(const std::string& path) {
  auto t = internal::ReadFile(path);
  return t.ok() ? *t : "";
}

// Records every exit the handler sees.
struct Exits {
  std::mutex mu;
  std::vector<ContainerStatus> seen;
  void Add(const ContainerStatus& s) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(s);
  }
  std::optional<ContainerStatus> For(const std::string& id) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& s : seen) {
      if (s.id == id) return s;
    }
    return std::nullopt;
  }
  int Count(const std::string& id) {
    std::lock_guard<std::mutex> l(mu);
    int n = 0;
    for (const auto& s : seen) n += s.id == id;
    return n;
  }
};

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for mount/uts/net namespaces (label: root)";
    char tmpl[] = "/tmp/knet-runtime-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    OpenRuntime();
  }
  void TearDown() override {
    if (dir_.empty()) return;
    // Kill whatever is still running, wait for the shims to finish, then remove everything.
    if (!rt_) OpenRuntime();
    for (const ContainerStatus& s : rt_->List()) {
      if (s.state == State::kRunning) {
        EXPECT_TRUE(rt_->Stop(s.id, 0ms).ok());
      }
    }
    rt_.reset();
    (void)internal::RemoveAll(dir_);
  }
  void OpenRuntime() {
    auto rt = Runtime::Open({.root_dir = dir_ + "/containers", .shim_path = KNET_SHIM_PATH});
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(*rt);
    rt_->SetExitHandler([this](const ContainerStatus& s) { exits_.Add(s); });
  }
  ContainerSpec Spec(std::vector<std::string> argv, const std::string& name = "app") {
    ContainerSpec s;
    s.pod_uid = "uid-" + std::to_string(getpid());
    s.pod_namespace = "default";
    s.pod_name = "pod";
    s.container_name = name;
    s.argv = std::move(argv);
    s.env = {"PATH=/usr/bin:/bin"};
    s.log_path = dir_ + "/logs/default_pod_uid/" + name + "/0.log";
    return s;
  }
  ContainerStatus MustStart(const ContainerSpec& spec) {
    auto st = rt_->Start(spec);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : ContainerStatus{};
  }
  // Waits for the container to exit; returns its final status.
  ContainerStatus WaitExited(const std::string& id) {
    EXPECT_TRUE(Eventually([&] {
      return rt_->Get(id).ok() && rt_->Get(id)->state == State::kExited;
    })) << "container "
        << id << " did not exit";
    auto st = rt_->Get(id);
    return st.ok() ? *st : ContainerStatus{};
  }
  std::string StateDir(const std::string& id) { return dir_ + "/containers/" + id; }

  std::string dir_;
  std::unique_ptr<Runtime> rt_;
  Exits exits_;
};

TEST_F(RuntimeTest, ExitCodesAndHandler) {
  ContainerStatus st = MustStart(Spec({"sh", "-c", "exit 3"}));
  EXPECT_EQ(st.id.size(), 32u);
  EXPECT_GT(st.pid, 0);
  EXPECT_FALSE(st.started_at.IsZero());
  ContainerStatus done = WaitExited(st.id);
  EXPECT_EQ(done.exit_code, 3);
  EXPECT_EQ(done.reason, "Error");
  EXPECT_GE(done.finished_at, done.started_at);
  ASSERT_TRUE(Eventually([&] { return exits_.For(st.id).has_value(); }));
  EXPECT_EQ(exits_.For(st.id)->exit_code, 3);

  ContainerStatus ok = WaitExited(MustStart(Spec({"true"}, "ok")).id);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.reason, "Completed");

  // Killed by a signal: 128+signal, as the CRI reports it.
  ContainerStatus sig = WaitExited(MustStart(Spec({"sh", "-c", "kill -KILL $$"}, "sig")).id);
  EXPECT_EQ(sig.exit_code, 137);
  EXPECT_EQ(sig.signal, SIGKILL);
  EXPECT_EQ(sig.reason, "Error");
  EXPECT_EQ(exits_.Count(st.id), 1);
}

TEST_F(RuntimeTest, ConcurrentStarts) {
  constexpr int kN = 16;
  std::vector<std::thread> threads;
  std::vector<std::string> ids(kN);
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      auto st =
          rt_->Start(Spec({"sh", "-c", "echo " + std::to_string(i) + "; exit " + std::to_string(i)},
                          "c" + std::to_string(i)));
      if (st.ok()) ids[static_cast<size_t>(i)] = st->id;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kN; ++i) {
    const std::string& id = ids[static_cast<size_t>(i)];
    ASSERT_FALSE(id.empty()) << "start " << i << " failed";
    ASSERT_TRUE(Eventually([&] { return exits_.For(id).has_value(); })) << i;
    EXPECT_EQ(exits_.For(id)->exit_code, i);
    EXPECT_EQ(exits_.Count(id), 1);
    EXPECT_NE(Slurp(exits_.For(id)->spec.log_path).find(" stdout F " + std::to_string(i) + "\n"),
              std::string::npos);
  }
  EXPECT_EQ(rt_->List().size(), static_cast<size_t>(kN));
}

TEST_F(RuntimeTest, ExitsBeforeAHandlerIsSetAreDelivered) {
  rt_.reset();
  auto rt = Runtime::Open({.root_dir = dir_ + "/containers", .shim_path = KNET_SHIM_PATH});
  ASSERT_TRUE(rt.ok());
  rt_ = std::move(*rt);
  ContainerStatus st = MustStart(Spec({"sh", "-c", "exit 9"}));
  ASSERT_TRUE(Eventually([&] { return rt_->Get(st.id)->state == State::kExited; }));
  rt_->SetExitHandler([this](const ContainerStatus& s) { exits_.Add(s); });
  ASSERT_TRUE(Eventually([&] { return exits_.For(st.id).has_value(); }));
  EXPECT_EQ(exits_.For(st.id)->exit_code, 9);
}

TEST_F(RuntimeTest, StartError) {
  ContainerStatus st = MustStart(Spec({"/bin/nope"}));
  EXPECT_EQ(st.state, State::kExited);
  EXPECT_EQ(st.reason, "StartError");
  EXPECT_EQ(st.exit_code, 128);
  EXPECT_EQ(st.message, "exec: \"/bin/nope\": stat /bin/nope: no such file or directory");
  st = MustStart(Spec({"no-such-command-knet"}, "b"));
  EXPECT_EQ(st.reason, "StartError");
  EXPECT_EQ(st.message, "exec: \"no-such-command-knet\": executable file not found in $PATH");
  ContainerSpec bad_wd = Spec({"true"}, "c");
  bad_wd.working_dir = "/nonexistent-knet";
  st = MustStart(bad_wd);
  EXPECT_EQ(st.reason, "StartError");
  EXPECT_NE(st.message.find("chdir to \"/nonexistent-knet\""), std::string::npos) << st.message;
  // Agent-side errors are errors.
  EXPECT_EQ(rt_->Start(Spec({})).status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(rt_->Get("nope").status().code(), base::StatusCode::kNotFound);
}

TEST_F(RuntimeTest, LogsInCriFormat) {
  ContainerSpec spec =
      Spec({"sh", "-c", "printf 'a\\nb'; sleep 0.05; echo err >&2; sleep 0.05; echo c"});
  ContainerStatus st = WaitExited(MustStart(spec).id);
  EXPECT_EQ(st.exit_code, 0);
  std::string log = Slurp(spec.log_path);
  std::istringstream lines(log);
  std::string line;
  std::vector<std::string> rest;
  const std::regex re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] (.*)$)");
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_match(line, re)) << line;
    rest.push_back(line.substr(31));
  }
  EXPECT_EQ(rest,
            (std::vector<std::string>{"stdout F a", "stdout P b", "stderr F err", "stdout F c"}))
      << log;
  // A second attempt appends to its own file; the log survives Remove.
  ASSERT_TRUE(rt_->Remove(st.id).ok());
  EXPECT_EQ(access(StateDir(st.id).c_str(), F_OK), -1);
  EXPECT_EQ(Slurp(spec.log_path), log);
}

TEST_F(RuntimeTest, EnvAndWorkingDir) {
  ContainerSpec env = Spec({"/usr/bin/env"}, "env");
  env.env = {"FOO=bar", "EMPTY="};
  WaitExited(MustStart(env).id);
  std::string log = Slurp(env.log_path);
  EXPECT_NE(log.find("stdout F FOO=bar\n"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F EMPTY=\n"), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;

  ContainerSpec wd = Spec({"pwd"}, "wd");
  wd.working_dir = "/usr/share";
  WaitExited(MustStart(wd).id);
  EXPECT_NE(Slurp(wd.log_path).find("stdout F /usr/share\n"), std::string::npos);
  ContainerSpec root = Spec({"pwd"}, "root");
  WaitExited(MustStart(root).id);
  EXPECT_NE(Slurp(root.log_path).find("stdout F /\n"), std::string::npos);
}

TEST_F(RuntimeTest, NetnsHostnameAndFileMounts) {
  std::string ns_name = "knet-rttest-" + std::to_string(getpid());
  struct Guard {
    std::string n;
    ~Guard() { (void)kernel::netns::Delete(n); }
  } guard{ns_name};
  auto ns = kernel::netns::Create(ns_name);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  struct stat nst {};
  ASSERT_EQ(fstat(ns->fd(), &nst), 0);

  std::string hosts = dir_ + "/hosts";
  ASSERT_TRUE(internal::WriteFileAtomic(hosts, "10.244.0.5 knet-test-pod\n").ok());
  char host_name[256] = {};
  gethostname(host_name, sizeof(host_name) - 1);

  ContainerSpec spec = Spec({"sh", "-c", "readlink /proc/self/ns/net; cat /etc/hosts; hostname"});
  spec.netns_path = "/run/netns/" + ns_name;
  spec.hostname = "knet-pod-" + std::to_string(getpid());
  spec.file_mounts = {{hosts, "/etc/hosts"}};
  ContainerStatus st = WaitExited(MustStart(spec).id);
  EXPECT_EQ(st.exit_code, 0);
  std::string log = Slurp(spec.log_path);
  EXPECT_NE(log.find("stdout F net:[" + std::to_string(nst.st_ino) + "]\n"), std::string::npos)
      << log;
  EXPECT_NE(log.find("stdout F 10.244.0.5 knet-test-pod\n"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F " + spec.hostname + "\n"), std::string::npos) << log;
  // Nothing leaked to the host.
  EXPECT_EQ(Slurp("/etc/hosts").find("knet-test-pod"), std::string::npos);
  char after[256] = {};
  gethostname(after, sizeof(after) - 1);
  EXPECT_STREQ(after, host_name);
  EXPECT_EQ(Slurp("/proc/self/mountinfo").find(" /etc/hosts "), std::string::npos);

  // A missing netns is a StartError.
  ContainerSpec missing = Spec({"true"}, "missing");
  missing.netns_path = "/run/netns/knet-none-" + std::to_string(getpid());
  EXPECT_EQ(MustStart(missing).reason, "StartError");
}

// What exec sessions and exec probes do: a process that joins a running container's namespaces
// (process::SpawnOptions::join_namespaces_of) sees its netns, hostname and file mounts.
TEST_F(RuntimeTest, ExecJoinsTheContainersNamespaces) {
  std::string ns_name = "knet-rtexec-" + std::to_string(getpid());
  struct Guard {
    std::string n;
    ~Guard() { (void)kernel::netns::Delete(n); }
  } guard{ns_name};
  auto ns = kernel::netns::Create(ns_name);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  struct stat nst {};
  ASSERT_EQ(fstat(ns->fd(), &nst), 0);
  std::string hosts = dir_ + "/hosts";
  ASSERT_TRUE(internal::WriteFileAtomic(hosts, "10.244.0.6 knet-exec-pod\n").ok());
  ContainerSpec spec = Spec({"sleep", "30"}, "exec");
  spec.netns_path = "/run/netns/" + ns_name;
  spec.hostname = "knet-exec-" + std::to_string(getpid());
  spec.file_mounts = {{hosts, "/etc/hosts"}};
  ContainerStatus st = MustStart(spec);
  ASSERT_EQ(st.state, State::kRunning) << st.message;

  process::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "readlink /proc/self/ns/net; cat /etc/hosts; hostname"};
  o.join_namespaces_of = st.pid;
  auto r = process::Run(o, "", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "net:[" + std::to_string(nst.st_ino) + "]\n10.244.0.6 knet-exec-pod\n" +
                        spec.hostname + "\n")
      << r->err;
  ASSERT_TRUE(rt_->Stop(st.id, 0ms).ok());
}

TEST_F(RuntimeTest, StopEscalatesToSigkill) {
  ContainerSpec spec =
      Spec({"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.02; done"}, "stubborn");
  ContainerStatus st = MustStart(spec);
  ASSERT_TRUE(Eventually([&] { return Slurp(spec.log_path).find("ready") != std::string::npos; }));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_->Stop(st.id, 300ms).ok());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  ContainerStatus done = *rt_->Get(st.id);
  EXPECT_EQ(done.state, State::kExited);
  EXPECT_EQ(done.exit_code, 137);
  EXPECT_EQ(kill(st.pid, 0), -1);

  // A process that obeys SIGTERM stops at once; stopping again is fine.
  ContainerStatus polite = MustStart(Spec({"sleep", "30"}, "polite"));
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(rt_->Stop(polite.id, 10s).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(rt_->Get(polite.id)->exit_code, 143);
  EXPECT_TRUE(rt_->Stop(polite.id, 10s).ok());
  EXPECT_EQ(rt_->Remove("nope").code(), base::StatusCode::kNotFound);
}

TEST_F(RuntimeTest, RemoveRequiresExited) {
  ContainerStatus st = MustStart(Spec({"sleep", "30"}));
  EXPECT_EQ(rt_->Remove(st.id).code(), base::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(rt_->Stop(st.id, 0ms).ok());
  EXPECT_EQ(rt_->Get(st.id)->exit_code, 137);
  ASSERT_TRUE(rt_->Remove(st.id).ok());
  EXPECT_EQ(rt_->Get(st.id).status().code(), base::StatusCode::kNotFound);
}

TEST_F(RuntimeTest, AdoptsRunningContainersAfterRestart) {
  std::string go = dir_ + "/go";
  ContainerSpec spec =
      Spec({"sh", "-c", "while [ ! -e " + go + " ]; do sleep 0.02; done; exit 7"}, "adopted");
  ContainerStatus st = MustStart(spec);
  rt_.reset();  // the agent goes away; the container does not
  EXPECT_EQ(kill(st.pid, 0), 0);
  OpenRuntime();
  auto again = rt_->Get(st.id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->state, State::kRunning);
  EXPECT_EQ(again->pid, st.pid);
  EXPECT_EQ(again->started_at, st.started_at);
  EXPECT_EQ(again->spec, spec);
  ASSERT_TRUE(internal::WriteFileAtomic(go, "").ok());
  ASSERT_TRUE(Eventually([&] { return exits_.For(st.id).has_value(); }));
  EXPECT_EQ(exits_.For(st.id)->exit_code, 7);
  EXPECT_EQ(rt_->Get(st.id)->state, State::kExited);
}

TEST_F(RuntimeTest, ExitWhileClosedIsReadOnOpen) {
  std::string go = dir_ + "/go";
  ContainerSpec spec =
      Spec({"sh", "-c", "while [ ! -e " + go + " ]; do sleep 0.02; done; exit 5"}, "closed");
  ContainerStatus st = MustStart(spec);
  rt_.reset();
  ASSERT_TRUE(internal::WriteFileAtomic(go, "").ok());
  std::string exit_json = StateDir(st.id) + "/exit.json";
  ASSERT_TRUE(Eventually([&] { return access(exit_json.c_str(), F_OK) == 0; }));
  OpenRuntime();
  auto back = rt_->Get(st.id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state, State::kExited);
  EXPECT_EQ(back->exit_code, 5);
  EXPECT_EQ(back->reason, "Error");
  EXPECT_EQ(back->pid, st.pid);
  // The shim (our child here) gets reaped, and no handler call comes for an exit read at Open.
  auto shim = internal::DecodeShim(Slurp(StateDir(st.id) + "/shim.json"));
  ASSERT_TRUE(shim.ok());
  EXPECT_TRUE(Eventually([&] { return kill(shim->pid, 0) != 0; })) << "shim not reaped";
  EXPECT_EQ(exits_.Count(st.id), 0);
}

TEST_F(RuntimeTest, KilledShimIsAnUnknownExit) {
  // The container, orphaned by its shim, is reparented to us (not init), so we can reap it.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  ContainerStatus st = MustStart(Spec({"sleep", "30"}, "orphan"));
  auto shim = internal::DecodeShim(Slurp(StateDir(st.id) + "/shim.json"));
  ASSERT_TRUE(shim.ok());
  ASSERT_EQ(kill(shim->pid, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return exits_.For(st.id).has_value(); }));
  ContainerStatus done = *exits_.For(st.id);
  EXPECT_EQ(done.reason, "Unknown");
  EXPECT_EQ(done.exit_code, 255);
  // The unmonitored container is ended.
  auto gone = process::WaitForExit(st.pid, 5s);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(*gone);
  waitpid(st.pid, nullptr, 0);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST_F(RuntimeTest, ShimSurvivesAgentProcessGroupSignals) {
  // The shim and the container are in their own session, so a signal to the agent's process
  // group (Ctrl-C, a service manager stopping the agent) does not reach them.
  ContainerStatus st = MustStart(Spec({"sleep", "30"}, "detached"));
  EXPECT_NE(getpgid(st.pid), getpgrp());
  EXPECT_NE(getsid(st.pid), getsid(0));
  EXPECT_EQ(rt_->Get(st.id)->state, State::kRunning);
  // Signals meant for others do not end the shim: the container's exit is still recorded.
  auto shim = internal::DecodeShim(Slurp(StateDir(st.id) + "/shim.json"));
  ASSERT_TRUE(shim.ok());
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) ASSERT_EQ(kill(shim->pid, sig), 0);
  ASSERT_TRUE(rt_->Stop(st.id, 5s).ok());
  EXPECT_EQ(rt_->Get(st.id)->reason, "Error");
  EXPECT_EQ(rt_->Get(st.id)->exit_code, 128 + SIGTERM);
}

}  // namespace
}  // namespace knet::agent::runtime
