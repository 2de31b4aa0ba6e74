#include "apiserver/auth/tokens.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace knet::apiserver::auth {
namespace {

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_tokens_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/tokens.csv";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string Read() {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_, path_;
};

TEST_F(TokensTest, ReadsKubeApiserverTokenFile) {
  Write(
      "abc123,alice,uid-1,\"system:masters,dev\"\n"
      "\n"
      "def456,bob,uid-2\n"
      " ghi789 , carol , uid-3 , \"knet:read-only\"\r\n");
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  auto alice = tokens->Authenticate("Bearer abc123");
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->uid, "uid-1");
  EXPECT_EQ(alice->groups, (std::vector<std::string>{"system:masters", "dev"}));
  auto bob = tokens->Authenticate("bearer def456");  // scheme is case-insensitive
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->name, "bob");
  EXPECT_TRUE(bob->groups.empty());
  auto carol = tokens->Authenticate("Bearer ghi789");
  ASSERT_TRUE(carol.has_value());
  EXPECT_EQ(carol->name, "carol");
  EXPECT_EQ(carol->groups, (std::vector<std::string>{"knet:read-only"}));
}

TEST_F(TokensTest, RejectsWrongTokensAndSchemes) {
  Write("abc123,alice,uid-1\n");
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE(tokens->Authenticate("Bearer abc12").has_value());
  EXPECT_FALSE(tokens->Authenticate("Bearer abc1234").has_value());
  EXPECT_FALSE(tokens->Authenticate("Basic abc123").has_value());
  EXPECT_FALSE(tokens->Authenticate("abc123").has_value());
  EXPECT_FALSE(tokens->Authenticate("Bearer ").has_value());
  EXPECT_FALSE(tokens->Authenticate("").has_value());
  EXPECT_TRUE(tokens->Authenticate("Bearer  abc123 ").has_value());
}

TEST_F(TokensTest, MissingFileIsEmpty) {
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE(tokens->Authenticate("Bearer x").has_value());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(TokensTest, TooFewColumnsNamesTheLine) {
  Write("abc,alice,1\nonly,two\n");
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(tokens.status().message().find(path_ + ":2"), std::string::npos)
      << tokens.status().ToString();
  EXPECT_NE(tokens.status().message().find("found 2"), std::string::npos);
}

TEST_F(TokensTest, UnterminatedQuoteIsAnError) {
  Write("abc,alice,1,\"system:masters\n");
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_FALSE(tokens.ok());
  EXPECT_NE(tokens.status().message().find("unterminated"), std::string::npos);
}

TEST_F(TokensTest, EnsureTokenCreatesPersistsAndReuses) {
  std::string token;
  {
    auto tokens = TokenAuthenticator::Load(path_);
    ASSERT_TRUE(tokens.ok());
    auto t = tokens->EnsureToken("admin", {"system:masters"});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    token = *t;
    EXPECT_EQ(token.size(), 64u);
    EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
    auto again = tokens->EnsureToken("admin", {"system:masters"});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, token);
    auto other = tokens->EnsureToken("node-1", {"system:nodes"});
    ASSERT_TRUE(other.ok());
    EXPECT_NE(*other, token);
    auto user = tokens->Authenticate("Bearer " + token);
    ASSERT_TRUE(user.has_value());
    EXPECT_EQ(user->name, "admin");
  }
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Read().find(token + ",admin,admin,\"system:masters\"\n"), 0u) << Read();

  // A restart reads them back.
  auto reloaded = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  auto user = reloaded->Authenticate("Bearer " + token);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->groups, (std::vector<std::string>{"system:masters"}));
  auto again = reloaded->EnsureToken("admin", {"system:masters"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, token);
}

TEST_F(TokensTest, EnsureTokenKeepsHandWrittenEntries) {
  Write("handmade,carol,c1,\"knet:read-only,x\"\n");
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(tokens.ok());
  ASSERT_TRUE(tokens->EnsureToken("admin", {"system:masters"}).ok());
  auto reloaded = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(reloaded.ok());
  auto carol = reloaded->Authenticate("Bearer handmade");
  ASSERT_TRUE(carol.has_value());
  EXPECT_EQ(carol->groups, (std::vector<std::string>{"knet:read-only", "x"}));
}

TEST_F(TokensTest, EnsureTokenRejectsBadNames) {
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE(tokens->EnsureToken("", {}).ok());
  EXPECT_FALSE(tokens->EnsureToken("a\nb", {}).ok());
  EXPECT_FALSE(tokens->EnsureToken("a\"b", {}).ok());
  EXPECT_FALSE(tokens->EnsureToken("admin", {"a,b"}).ok());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(TokensTest, ConcurrentAuthenticateAndEnsure) {
  auto tokens = TokenAuthenticator::Load(path_);
  ASSERT_TRUE(tokens.ok());
  auto admin = tokens->EnsureToken("admin", {"system:masters"});
  ASSERT_TRUE(admin.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (!tokens->Authenticate("Bearer " + *admin)) ++failures;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(tokens->EnsureToken("user-" + std::to_string(i), {}).ok());
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(AuthorizeTest, Groups) {
  UserInfo master{"a", "a", {"system:masters"}};
  UserInfo node{"n", "n", {"system:nodes"}};
  UserInfo reader{"r", "r", {"dev", "knet:read-only"}};
  UserInfo nobody{"x", "x", {"dev"}};
  for (const char* verb : {"get", "list", "watch", "create", "update", "patch", "delete"}) {
    EXPECT_TRUE(Authorize(master, verb)) << verb;
    EXPECT_TRUE(Authorize(node, verb)) << verb;
    EXPECT_FALSE(Authorize(nobody, verb)) << verb;
  }
  EXPECT_TRUE(Authorize(reader, "get"));
  EXPECT_TRUE(Authorize(reader, "list"));
  EXPECT_TRUE(Authorize(reader, "watch"));
  EXPECT_FALSE(Authorize(reader, "create"));
  EXPECT_FALSE(Authorize(reader, "delete"));
  EXPECT_FALSE(Authorize(reader, "deletecollection"));
}

}  // namespace
}  // namespace knet::apiserver::auth
