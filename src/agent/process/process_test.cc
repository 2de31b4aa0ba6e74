#include "agent/process/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "kernel/netns/netns.h"

namespace knet::agent::process {
namespace {

using namespace std::chrono_literals;
using base::StatusCode;

SpawnOptions Sh(const std::string& script, std::vector<std::string> env = {}) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.env = std::move(env);
  return o;
}

RunResult MustRun(const SpawnOptions& o, std::string_view input = "",
                  std::chrono::milliseconds timeout = 5s) {
  auto r = process::Run(o, input, timeout);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : RunResult{};
}

TEST(ProcessTest, ExitCodesAndSignals) {
  EXPECT_EQ(MustRun(Sh("exit 0")).exit_code, 0);
  EXPECT_EQ(MustRun(Sh("exit 42")).exit_code, 42);
  RunResult r = MustRun(Sh("kill -TERM $$"));
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.timed_out);
}

TEST(ProcessTest, EnvIsExact) {
  RunResult r = MustRun(SpawnOptions{.argv = {"/usr/bin/env"}, .env = {"A=1", "B=two words"}});
  EXPECT_EQ(r.out, "A=1\nB=two words\n");
  r = MustRun(SpawnOptions{.argv = {"/usr/bin/env"}});
  EXPECT_EQ(r.out, "");
}

TEST(ProcessTest, PathLookup) {
  // Default PATH when env has none.
  RunResult r = MustRun(SpawnOptions{.argv = {"echo", "hi"}});
  EXPECT_EQ(r.out, "hi\n");
  // PATH from env is used (and a name not in it is NotFound).
  auto missing =
      process::Run(SpawnOptions{.argv = {"echo"}, .env = {"PATH=/nonexistent-dir"}}, "", 5s);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("\"echo\""), std::string::npos)
      << missing.status().message();
}

TEST(ProcessTest, ExecFailureNamesStepAndArgv0) {
  auto r = Spawn(SpawnOptions{.argv = {"/bin/nope-knet"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("exec"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("/bin/nope-knet"), std::string::npos);
  EXPECT_NE(r.status().message().find("No such file or directory"), std::string::npos);

  // Not executable: PermissionDenied.
  char dir[] = "/tmp/knet-proc-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string file = std::string(dir) + "/f";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  r = Spawn(SpawnOptions{.argv = {file}});
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  // A missing working dir is reported as the chdir step.
  r = Spawn(SpawnOptions{.argv = {"/bin/true"}, .working_dir = std::string(dir) + "/none"});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("chdir"), std::string::npos) << r.status().message();
  unlink(file.c_str());
  rmdir(dir);
  EXPECT_EQ(Spawn(SpawnOptions{}).status().code(), StatusCode::kInvalidArgument);
}

TEST(ProcessTest, WorkingDirAndStdin) {
  RunResult r = MustRun(SpawnOptions{.argv = {"/bin/pwd"}, .working_dir = "/usr/share"});
  EXPECT_EQ(r.out, "/usr/share\n");
  r = MustRun(SpawnOptions{.argv = {"/bin/cat"}}, "from stdin");
  EXPECT_EQ(r.out, "from stdin");
  r = MustRun(Sh("echo err >&2; echo out"));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(ProcessTest, OnlyKeptDescriptorsAreInherited) {
  auto p = Pipe::Make();
  ASSERT_TRUE(p.ok());
  auto q = Pipe::Make();
  ASSERT_TRUE(q.ok());
  std::string keep = std::to_string(p->write.get());
  std::string drop = std::to_string(q->write.get());
  RunResult r =
      MustRun(SpawnOptions{.argv = {"/bin/sh", "-c",
                                    "test -e /proc/self/fd/" + keep + " && echo kept; test -e " +
                                        "/proc/self/fd/" + drop + " || echo closed"},
                           .keep_fds = {p->write.get()}});
  EXPECT_EQ(r.out, "kept\nclosed\n");
}

TEST(ProcessTest, LargeOutputAndInputDoNotDeadlock) {
  std::string input(1 << 20, 'x');
  RunResult r = MustRun(SpawnOptions{.argv = {"/bin/cat"}}, input);
  EXPECT_EQ(r.out.size(), input.size());
  r = MustRun(Sh("head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2"));
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.err.size(), 2000000u);
  // A child that ignores its stdin: the unread input does not kill us with SIGPIPE.
  r = MustRun(SpawnOptions{.argv = {"/bin/true"}}, input);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(ProcessTest, TimeoutKillsTheProcessGroup) {
  char dir[] = "/tmp/knet-proc-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string pidfile = std::string(dir) + "/pid";
  // The orphaned grandchild is reparented to us, not to init, so we can reap it.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto start = std::chrono::steady_clock::now();
  // The grandchild holds no pipe (so only the group kill ends it); it records its pid.
  RunResult r =
      MustRun(Sh("sleep 30 </dev/null >/dev/null 2>&1 & echo $! > " + pidfile + "; exec sleep 30"),
              "", 300ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  FILE* f = fopen(pidfile.c_str(), "r");
  ASSERT_NE(f, nullptr);
  int gc = 0;
  ASSERT_EQ(fscanf(f, "%d", &gc), 1);
  fclose(f);
  auto gone = WaitForExit(gc, 2s);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(*gone) << "grandchild " << gc << " survived the group kill";
  waitpid(gc, nullptr, 0);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  unlink(pidfile.c_str());
  rmdir(dir);
}

TEST(ProcessTest, SpawnAndWaitForExit) {
  auto pid = Spawn(SpawnOptions{.argv = {"/bin/sleep", "0.1"}, .new_process_group = true});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  EXPECT_EQ(getpgid(*pid), *pid);
  auto done = WaitForExit(*pid, 5s);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WaitForExit(*pid, 0ms).value(), true);  // reaped: no such process
}

// What `kubectl exec -t` needs: a new session whose controlling terminal is the pty slave.
TEST(ProcessTest, NewSessionWithControllingTerminal) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  UniqueFd master_fd(master);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  std::string slave_name = ptsname(master);
  UniqueFd slave(open(slave_name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(slave.valid());
  auto pid = Spawn(
      SpawnOptions{.argv = {"/bin/sh", "-c",
                            "tty; test \"$(cut -d' ' -f6 /proc/$$/stat)\" -eq $$ && echo leader"},
                   .env = {"PATH=/usr/bin:/bin"},
                   .stdin_fd = slave.get(),
                   .stdout_fd = slave.get(),
                   .stderr_fd = slave.get(),
                   .new_session = true,
                   .controlling_tty_fd = slave.get()});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  slave.Reset();
  std::string out;
  char buf[256];
  for (;;) {
    ssize_t n = read(master, buf, sizeof(buf));
    if (n <= 0) break;  // EIO once the slave side is closed
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  EXPECT_EQ(out, slave_name + "\r\nleader\r\n");
}

TEST(ProcessTest, JoinsNetns) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
  std::string name = "knet-proctest-" + std::to_string(getpid());
  struct Guard {
    std::string n;
    ~Guard() { (void)kernel::netns::Delete(n); }
  } guard{name};
  auto ns = kernel::netns::Create(name);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  struct stat st {};
  ASSERT_EQ(fstat(ns->fd(), &st), 0);
  std::string want = "net:[" + std::to_string(st.st_ino) + "]\n";

  RunResult inside = MustRun(SpawnOptions{.argv = {"/bin/readlink", "/proc/self/ns/net"},
                                          .netns_path = "/run/netns/" + name});
  EXPECT_EQ(inside.out, want);
  RunResult outside = MustRun(SpawnOptions{.argv = {"/bin/readlink", "/proc/self/ns/net"}});
  EXPECT_NE(outside.out, want);

  auto missing = Spawn(SpawnOptions{.argv = {"/bin/true"}, .netns_path = "/run/netns/nope-knet"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  // join_namespaces_of: a process inside the netns; a second process joins its namespaces.
  auto holder = Spawn(SpawnOptions{
      .argv = {"/bin/sleep", "10"}, .netns_path = "/run/netns/" + name, .new_process_group = true});
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  RunResult joined = MustRun(
      SpawnOptions{.argv = {"/bin/readlink", "/proc/self/ns/net"}, .join_namespaces_of = *holder});
  EXPECT_EQ(joined.out, want);
  kill(*holder, SIGKILL);
  waitpid(*holder, nullptr, 0);
}

}  // namespace
}  // namespace knet::agent::process
