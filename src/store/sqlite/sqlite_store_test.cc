// Bad input for the sqlite backend: files it must refuse, clearly, without modifying them.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace knet::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet-sqlite-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/state.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void WriteFile(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }
  // Asserts opening fails with `code`, the message names the file and contains `what`, and the
  // file is byte-for-byte unchanged with no journal created beside it.
  void ExpectRefused(base::StatusCode code, const std::string& what) {
    std::string before = ReadFile(path_);
    auto s = OpenSqliteStore(path_, {});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), code) << s.status().ToString();
    EXPECT_NE(s.status().message().find(path_), std::string::npos) << s.status().ToString();
    EXPECT_NE(s.status().message().find(what), std::string::npos) << s.status().ToString();
    EXPECT_EQ(ReadFile(path_), before);
    EXPECT_FALSE(fs::exists(path_ + "-wal"));
  }

  std::string dir_, path_;
};

TEST_F(SqliteStoreTest, CreatesTheFileAndParentDirectory) {
  path_ = dir_ + "/sub/dir/state.db";
  auto s = OpenSqliteStore(path_, {});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(fs::exists(path_));
}

TEST_F(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  std::string garbage(64 * 1024, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7919 % 256);
  WriteFile(path_, garbage);
  ExpectRefused(base::StatusCode::kDataLoss, "not a SQLite database");
}

TEST_F(SqliteStoreTest, RefusesATruncatedDatabase) {
  {
    auto s = OpenSqliteStore(path_, {});
    ASSERT_TRUE(s.ok());
    std::string value(2000, 'v');
    for (int i = 0; i < 500; ++i) ASSERT_TRUE((*s)->Create("k/" + std::to_string(i), value).ok());
  }
  ASSERT_FALSE(fs::exists(path_ + "-wal"));  // a clean close checkpoints the WAL away
  fs::resize_file(path_, fs::file_size(path_) / 2);
  ExpectRefused(base::StatusCode::kDataLoss, "corrupt");
}

TEST_F(SqliteStoreTest, RefusesAForeignDatabase) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE accounts (id INTEGER)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ExpectRefused(base::StatusCode::kFailedPrecondition, "not a knet store");
}

TEST_F(SqliteStoreTest, RefusesAFileAnotherStoreHolds) {
  auto first = OpenSqliteStore(path_, {});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Create("a", "1").ok());
  auto second = OpenSqliteStore(path_, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("locked"), std::string::npos);
  EXPECT_NE(second.status().message().find(path_), std::string::npos);
  EXPECT_EQ((*first)->Get("a")->value, "1");  // the holder is unaffected
}

TEST_F(SqliteStoreTest, RefusesADirectory) {
  fs::create_directory(path_);
  auto s = OpenSqliteStore(path_, {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(path_), std::string::npos);
}

TEST_F(SqliteStoreTest, CompactionRemovesDeadRowsAndKeepsLiveOnes) {
  auto s = OpenSqliteStore(path_, {});
  ASSERT_TRUE(s.ok());
  Store& store = **s;
  for (int i = 0; i < 12000; ++i) {
    ASSERT_TRUE(store.Update("hot", std::to_string(i), 0).ok() ||
                store.Create("hot", std::to_string(i)).ok());
  }
  int64_t rev = *store.CurrentRevision();
  ASSERT_TRUE(store.Compact(rev).ok());
  s->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM kv", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  // Only the live version remains, and the one it superseded (a watch from `rev` needs it as
  // prev_kv); 11998 dead rows are gone.
  EXPECT_EQ(sqlite3_column_int64(st, 0), 2);
  sqlite3_finalize(st);
  sqlite3_close(db);
  auto again = OpenSqliteStore(path_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Get("hot")->value, "11999");
  EXPECT_EQ(*(*again)->CurrentRevision(), rev);
  auto old = (*again)->List("", {.revision = rev - 1});
  EXPECT_TRUE(IsCompacted(old.status())) << old.status().ToString();
}

}  // namespace
}  // namespace knet::store
