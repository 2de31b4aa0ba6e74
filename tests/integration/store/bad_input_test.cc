// Bad input, end to end through a process: a corrupt or truncated database file, a file another
// process holds, an unreachable etcd, a bad URL. Each must give a clear error naming what and
// where, a non-zero exit, and leave the file exactly as it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "store/store.h"
#include "store/testing/etcd_process.h"
#include "tool_runner.h"

namespace knet::store {
namespace {

namespace fs = std::filesystem;
using testing::RunTool;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet-bad-input-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/state.db";
    url_ = "sqlite://" + path_;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Contents() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void ExpectRefusedUntouched(const std::string& what, bool held = false) {
    std::string before = Contents();
    auto r = RunTool({url_, "check"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(path_), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(Contents(), before) << "the file was modified";
    if (!held) {  // (a holder has its own WAL open)
      EXPECT_FALSE(fs::exists(path_ + "-wal"));
    }
  }
  std::string dir_, path_, url_;
};

TEST_F(BadInputTest, CorruptFile) {
  std::ofstream(path_, std::ios::binary) << std::string(8192, '\x5a') << "not sqlite";
  ExpectRefusedUntouched("not a SQLite database");
}

TEST_F(BadInputTest, TruncatedDatabase) {
  {
    auto s = OpenStore(url_, {.compaction_interval = std::chrono::seconds(0)});
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE((*s)->Create(std::to_string(i), std::string(3000, 'x')).ok());
  }
  fs::resize_file(path_, fs::file_size(path_) / 3);
  ExpectRefusedUntouched("corrupt");
}

TEST_F(BadInputTest, FileHeldByAnotherProcess) {
  testing::Child holder = testing::SpawnTool({url_, "hold"});
  std::string out;
  while (out.find("ready") == std::string::npos) {
    ASSERT_TRUE(testing::ReadSome(holder.out_fd, out, 10000)) << testing::ReadAll(holder.err_fd);
  }
  ExpectRefusedUntouched("locked by another process", /*held=*/true);
  testing::Reap(holder, SIGKILL);
  close(holder.out_fd);
  close(holder.err_fd);
  auto r = RunTool({url_, "check"});  // free again once the holder is gone
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(BadInputTest, UnreachableEtcd) {
  std::string ep = "127.0.0.1:" + std::to_string(testing::FreePort());
  auto r = RunTool({"etcd://" + ep, "check", "--dial-timeout-ms=500"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("connecting to etcd at " + ep), std::string::npos) << r.err;
}

TEST_F(BadInputTest, UnknownStoreUrl) {
  auto r = RunTool({"mysql://db/knet", "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown store"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mysql://db/knet"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace knet::store
