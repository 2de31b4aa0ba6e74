#include "agent/runtime/internal/state.h"

#include <string>

#include "agent/runtime/internal/cri_log.h"
#include "agent/runtime/internal/files.h"
#include "gtest/gtest.h"

namespace knet::agent::runtime::internal {
namespace {

constexpr int64_t kT = 1795568523123456789;  // 2026-11-25T01:02:03.123456789Z

TEST(FilesTest, Rfc3339Nano) {
  EXPECT_EQ(FormatRfc3339Nano(kT), "2026-11-25T01:02:03.123456789Z");
  EXPECT_EQ(FormatRfc3339Nano(1'000'000'000), "1970-01-01T00:00:01.000000000Z");
  EXPECT_EQ(ParseRfc3339Nano("2026-11-25T01:02:03.123456789Z").value(), kT);
  EXPECT_EQ(ParseRfc3339Nano("2026-11-25T01:02:03.1Z").value(), kT - 23456789);
  EXPECT_EQ(ParseRfc3339Nano("2026-11-25T01:02:03Z").value(), kT - 123456789);
  EXPECT_FALSE(ParseRfc3339Nano("2026-11-25 01:02:03Z").ok());
  EXPECT_FALSE(ParseRfc3339Nano("2026-11-25T01:02:03.Z").ok());
  EXPECT_FALSE(ParseRfc3339Nano("2026-11-25T01:02:03").ok());
  EXPECT_FALSE(ParseRfc3339Nano("").ok());
}

TEST(CriLogTest, FullPartialAndEmptyLines) {
  const std::string ts = "2026-11-25T01:02:03.123456789Z";
  EXPECT_EQ(RenderCriLog("stdout", "hello\n", kT), ts + " stdout F hello\n");
  EXPECT_EQ(RenderCriLog("stderr", "a\n\nb", kT),
            ts + " stderr F a\n" + ts + " stderr F \n" + ts + " stderr P b\n");
  EXPECT_EQ(RenderCriLog("stdout", "", kT), "");
}

TEST(CriLogTest, LongLinesAreSplit) {
  std::string line(kMaxLogLine * 2 + 5, 'x');
  std::string out = RenderCriLog("stdout", line + "\n", kT);
  const std::string ts = "2026-11-25T01:02:03.123456789Z";
  std::string want = ts + " stdout P " + std::string(kMaxLogLine, 'x') + "\n" + ts + " stdout P " +
                     std::string(kMaxLogLine, 'x') + "\n" + ts + " stdout F xxxxx\n";
  EXPECT_EQ(out, want);
  // Exactly the limit: one full line.
  EXPECT_EQ(RenderCriLog("stdout", std::string(kMaxLogLine, 'y') + "\n", kT),
            ts + " stdout F " + std::string(kMaxLogLine, 'y') + "\n");
}

TEST(StateTest, SpecRoundTrip) {
  ContainerSpec s;
  s.pod_uid = "uid-1";
  s.pod_namespace = "default";
  s.pod_name = "web";
  s.container_name = "app";
  s.attempt = 3;
  s.argv = {"/bin/sh", "-c", "echo \"hi\""};
  s.env = {"A=1", "B="};
  s.working_dir = "/tmp";
  s.netns_path = "/run/netns/x";
  s.hostname = "web";
  s.file_mounts = {{"/var/lib/knet/pods/uid-1/hosts", "/etc/hosts"}};
  s.log_path = "/var/log/x/0.log";
  auto back = DecodeSpec(EncodeSpec(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(DecodeSpec("{").status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpec("{\"argv\": []}").status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpec("[1]").status().code(), base::StatusCode::kInvalidArgument);
}

TEST(StateTest, RecordsRoundTrip) {
  ExitRecord e{137, 9, "Error", "", kT, kT + 5};
  auto eb = DecodeExit(EncodeExit(e));
  ASSERT_TRUE(eb.ok()) << eb.status().ToString();
  EXPECT_EQ(eb->exit_code, 137);
  EXPECT_EQ(eb->signal, 9);
  EXPECT_EQ(eb->reason, "Error");
  EXPECT_EQ(eb->started_at, kT);
  EXPECT_EQ(eb->finished_at, kT + 5);
  ExitRecord never{128, 0, "StartError", "exec: \"/bin/nope\"", 0, kT};
  eb = DecodeExit(EncodeExit(never));
  ASSERT_TRUE(eb.ok());
  EXPECT_EQ(eb->started_at, 0);
  EXPECT_EQ(eb->message, "exec: \"/bin/nope\"");

  auto sb = DecodeStarted(EncodeStarted(StartedRecord{42, 777, kT}));
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->pid, 42);
  EXPECT_EQ(sb->pid_start_time, 777u);
  EXPECT_EQ(sb->started_at, kT);
  auto hb = DecodeShim(EncodeShim(ShimRecord{43, 778}));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->pid, 43);
  EXPECT_EQ(hb->start_time, 778u);
  EXPECT_FALSE(DecodeExit("{\"exitCode\": \"x\"}").ok());
  EXPECT_FALSE(DecodeStarted("{\"pid\": 1, \"startedAt\": \"yesterday\"}").ok());
}

}  // namespace
}  // namespace knet::agent::runtime::internal
