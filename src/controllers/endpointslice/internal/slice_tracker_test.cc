#include "controllers/endpointslice/internal/slice_tracker.h"

#include <gtest/gtest.h>

namespace knet::controllers::endpointslice_internal {
namespace {

std::shared_ptr<const api::EndpointSlice> Slice(const std::string& name, const std::string& rv,
                                                int endpoints = 1) {
  api::EndpointSlice s;
  s.metadata.name = name;
  s.metadata.resource_version = rv;
  s.endpoints.resize(static_cast<size_t>(endpoints));
  return std::make_shared<const api::EndpointSlice>(s);
}

TEST(EndpointSliceTrackerTest, OverlayPrefersOwnNewerWritesUntilTheCacheCatchesUp) {
  EndpointSliceTracker t;
  t.Written("ns/web", *Slice("a", "12", 2), nullptr);  // updated a
  t.Written("ns/web", *Slice("b", "13"), nullptr);     // created b
  t.Deleted("ns/web", "c");
  auto view = t.Overlay("ns/web", {Slice("a", "10"), Slice("c", "9")});
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0]->metadata.resource_version, "12");
  EXPECT_EQ(view[0]->endpoints.size(), 2u);
  EXPECT_EQ(view[1]->metadata.name, "b");
  EXPECT_EQ(t.PendingForTesting(), 3u);
  // The cache catches up: the tracker lets go.
  view = t.Overlay("ns/web", {Slice("a", "12", 2), Slice("b", "13")});
  EXPECT_EQ(view.size(), 2u);
  EXPECT_EQ(t.PendingForTesting(), 0u);
}

TEST(EndpointSliceTrackerTest, OwnEchoesDoNotSyncOthersChangesDo) {
  EndpointSliceTracker t;
  t.Written("ns/web", *Slice("a", "12"), nullptr);
  EXPECT_FALSE(t.ShouldSync("ns/web", *Slice("a", "11")));
  EXPECT_FALSE(t.ShouldSync("ns/web", *Slice("a", "12")));
  EXPECT_EQ(t.PendingForTesting(), 0u);
  EXPECT_TRUE(t.ShouldSync("ns/web", *Slice("a", "14")));
  t.Deleted("ns/web", "a");
  EXPECT_FALSE(t.ShouldSyncDeletion("ns/web", *Slice("a", "14")));
  EXPECT_TRUE(t.ShouldSyncDeletion("ns/web", *Slice("z", "3")));
  EXPECT_EQ(t.PendingForTesting(), 0u);
}

TEST(EndpointSliceTrackerTest, WriteAlreadyInTheCacheIsNotTracked) {
  EndpointSliceTracker t;
  t.Written("ns/web", *Slice("a", "12"), [] { return Slice("a", "12"); });
  EXPECT_EQ(t.PendingForTesting(), 0u);
  t.Written("ns/web", *Slice("a", "14"), [] { return Slice("a", "12"); });
  EXPECT_EQ(t.PendingForTesting(), 1u);
}

}  // namespace
}  // namespace knet::controllers::endpointslice_internal
