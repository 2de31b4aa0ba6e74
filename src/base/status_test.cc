#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace knet::base {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return OkStatus();
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = NotFoundError("pod \"web\" not found");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: pod \"web\" not found");
}

TEST(Status, WithContextPrefixes) {
  Status s = InvalidArgumentError("bad").WithContext("reading x.yaml");
  EXPECT_EQ(s.message(), "reading x.yaml: bad");
  EXPECT_TRUE(OkStatus().WithContext("ignored").ok());
}

TEST(Status, ErrnoKeepsErrnoAndNamesIt) {
  Status s = ErrnoError(EEXIST, "adding route 10.1.0.0/24 via vxlan0");
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.sys_errno(), EEXIST);
  EXPECT_EQ(s.message(), "adding route 10.1.0.0/24 via vxlan0: File exists");
}

TEST(StatusOr, ValueAndErrorPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  StatusOr<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), StatusCode::kInvalidArgument);
}

TEST(StatusOr, HoldsMoveOnlyTypes) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(7);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> v = std::move(p).value();
  EXPECT_EQ(*v, 7);
}

}  // namespace
}  // namespace knet::base
