#include "apiserver/patch/patch_meta.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace knet::apiserver::patch {
namespace {

TEST(PatchMeta, LooksUpUpstreamTags) {
  const ListPatchMeta* m = LookupPatchMeta("Deployment", "spec.template.spec.containers[].ports");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->merge_key, "containerPort");
  EXPECT_EQ(m->strategy, "merge");
  m = LookupPatchMeta("Pod", "spec.volumes");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->merge_key, "name");
  EXPECT_EQ(m->strategy, "merge,retainKeys");
  m = LookupPatchMeta("Pod", "metadata.finalizers");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->merge_key, "");
  EXPECT_EQ(m->strategy, "merge");
  m = LookupPatchMeta("Deployment", "spec.strategy");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->strategy, "retainKeys");
  m = LookupPatchMeta("Service", "spec.ports");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->merge_key, "port");
  m = LookupPatchMeta("Node", "status.addresses");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->merge_key, "type");
}

TEST(PatchMeta, FieldsWithoutStrategyAndUnknownKindsHaveNone) {
  EXPECT_EQ(LookupPatchMeta("Pod", "spec.tolerations"), nullptr);
  EXPECT_EQ(LookupPatchMeta("Pod", "spec.containers[].args"), nullptr);
  EXPECT_EQ(LookupPatchMeta("Pod", "spec.template.spec.containers"), nullptr);
  EXPECT_EQ(LookupPatchMeta("Widget", "metadata.finalizers"), nullptr);
}

TEST(PatchMeta, EntriesAreUniqueAndWellFormed) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const PatchMetaEntry& e : AllPatchMeta()) {
    EXPECT_TRUE(seen.emplace(std::string(e.kind), std::string(e.path)).second)
        << e.kind << " " << e.path;
    EXPECT_TRUE(e.meta.strategy == "merge" || e.meta.strategy == "retainKeys" ||
                e.meta.strategy == "merge,retainKeys")
        << e.path;
    EXPECT_EQ(LookupPatchMeta(e.kind, e.path), &e.meta);
  }
  EXPECT_GT(seen.size(), 60u);
}

}  // namespace
}  // namespace knet::apiserver::patch
