#include "controllers/endpointslice/service_selector_index.h"

#include <gtest/gtest.h>

namespace knet::controllers {
namespace {

api::Service Svc(const std::string& name, std::map<std::string, std::string> selector,
                 const std::string& ns = "default") {
  api::Service s;
  s.metadata.name = name;
  s.metadata.namespace_ = ns;
  s.spec.selector = std::move(selector);
  return s;
}

api::Pod Pod(std::map<std::string, std::string> labels, const std::string& ns = "default") {
  api::Pod p;
  p.metadata.name = "p";
  p.metadata.namespace_ = ns;
  p.metadata.labels = std::move(labels);
  return p;
}

TEST(ServiceSelectorIndexTest, FindsSelectingServicesOnly) {
  ServiceSelectorIndex idx;
  idx.Put(Svc("a", {{"app", "a"}}));
  idx.Put(Svc("ab", {{"app", "a"}, {"tier", "b"}}));
  idx.Put(Svc("c", {{"app", "c"}}));
  idx.Put(Svc("other-ns", {{"app", "a"}}, "prod"));
  idx.Put(Svc("none", {}));
  EXPECT_EQ(idx.ServicesForPod(Pod({{"app", "a"}})), (std::set<std::string>{"default/a"}));
  EXPECT_EQ(idx.ServicesForPod(Pod({{"app", "a"}, {"tier", "b"}, {"x", "y"}})),
            (std::set<std::string>{"default/a", "default/ab"}));
  EXPECT_EQ(idx.ServicesForPod(Pod({{"app", "a"}}, "prod")),
            (std::set<std::string>{"prod/other-ns"}));
  idx.Remove("default/a");
  idx.Put(Svc("c", {{"app", "a"}}));  // selector changed
  EXPECT_EQ(idx.ServicesForPod(Pod({{"app", "a"}})), (std::set<std::string>{"default/c"}));
  EXPECT_TRUE(idx.ServicesForPod(Pod({{"app", "c"}})).empty());
}

TEST(ServiceSelectorIndexTest, CommonPairDoesNotMakeEveryPodCheckEveryService) {
  ServiceSelectorIndex idx;
  for (int i = 0; i < 1000; ++i) {
    std::string n = "svc-" + std::to_string(i);
    idx.Put(Svc(n, {{"tier", "web"}, {"app", n}}));
  }
  api::Pod pod = Pod({{"tier", "web"}, {"app", "svc-500"}});
  EXPECT_EQ(idx.ServicesForPod(pod), (std::set<std::string>{"default/svc-500"}));
  EXPECT_LE(idx.CandidatesForTesting(pod), 3u);
}

}  // namespace
}  // namespace knet::controllers
