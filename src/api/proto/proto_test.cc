#include "api/proto/proto.h"

#include <gtest/gtest.h>

TEST(DecodeProtobuf, RejectsMissingMagic) {
  EXPECT_FALSE(knet::api::proto::DecodeProtobuf("abc").ok());
}
