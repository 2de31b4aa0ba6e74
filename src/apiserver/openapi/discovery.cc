#include "apiserver/openapi/discovery.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "apiserver/resources.h"

namespace knet::apiserver::openapi {

namespace {

using Json = nlohmann::ordered_json;

#if defined(__aarch64__)
constexpr const char* kPlatform = "linux/arm64";
#else
constexpr const char* kPlatform = "linux/amd64";
#endif

constexpr std::string_view kAggregatedV2Type =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
constexpr std::string_view kAggregatedV2Beta1Type =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

std::string Sanitized(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '-';
  }
  return out;
}

// The named groups served, in the table's order, each with its versions in preference order.
struct GroupEntry {
  std::string name;
  std::vector<std::string> versions;
};

std::vector<GroupEntry> Groups(bool core) {
  std::vector<GroupEntry> out;
  for (const GroupVersion& gv : apiserver::GroupVersions()) {
    if (gv.group.empty() != core) continue;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const GroupEntry& g) { return g.name == gv.group; });
    if (it == out.end()) {
      out.push_back({gv.group, {}});
      it = out.end() - 1;
    }
    it->versions.push_back(gv.version);
  }
  return out;
}

Json ResponseKind(const std::string& group, const std::string& version, const std::string& kind) {
  return Json{{"group", group}, {"version", version}, {"kind", kind}};
}

// apidiscovery APIResourceDiscovery for one resource.
Json ResourceDiscovery(const ResourceInfo& r) {
  Json j;
  j["resource"] = r.resource;
  j["responseKind"] = ResponseKind(r.group, r.version, r.kind);
  j["scope"] = r.namespaced ? "Namespaced" : "Cluster";
  j["singularResource"] = r.singular;
  j["verbs"] = r.verbs;
  if (!r.short_names.empty()) j["shortNames"] = r.short_names;
  if (!r.categories.empty()) j["categories"] = r.categories;
  if (!r.subresources.empty()) {
    Json subs = Json::array();
    for (const SubresourceInfo& s : r.subresources) {
      subs.push_back(Json{{"subresource", s.name},
                          {"responseKind", ResponseKind(s.group, s.version, s.kind)},
                          {"verbs", s.verbs}});
    }
    j["subresources"] = std::move(subs);
  }
  return j;
}

Json GroupDiscovery(const GroupEntry& g) {
  Json versions = Json::array();
  for (const std::string& v : g.versions) {
    Json resources = Json::array();
    for (const ResourceInfo& r : Resources()) {
      if (r.group == g.name && r.version == v) resources.push_back(ResourceDiscovery(r));
    }
    versions.push_back(
        Json{{"version", v}, {"resources", std::move(resources)}, {"freshness", "Current"}});
  }
  Json metadata = Json::object();
  if (!g.name.empty()) metadata["name"] = g.name;
  metadata["creationTimestamp"] = nullptr;
  return Json{{"metadata", std::move(metadata)}, {"versions", std::move(versions)}};
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

// One media range of an Accept header: its form (nullopt when it names no JSON form we serve)
// and its quality in thousandths.
struct MediaRange {
  std::optional<DiscoveryForm> form;
  int quality = 1000;
};

// q values are "0", "1", "0.5", "0.125" (RFC 9110); anything malformed counts as 0.
int ParseQuality(std::string_view v) {
  if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return 0;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.') return 0;
  int scale = 100;
  for (size_t i = 2; i < v.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return 0;
    q += (v[i] - '0') * scale;
    scale /= 10;
  }
  return std::min(q, 1000);
}

MediaRange ParseMediaRange(std::string_view range) {
  std::vector<std::string_view> parts = Split(range, ';');
  std::string_view type = Trim(parts[0]);
  MediaRange out;
  std::string_view g, v, as;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = Trim(parts[i]);
    size_t eq = p.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = Trim(p.substr(0, eq));
    std::string_view value = Trim(p.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (EqualsIgnoreCase(key, "q")) {
      out.quality = ParseQuality(value);
    } else if (key == "g") {
      g = value;
    } else if (key == "v") {
      v = value;
    } else if (key == "as") {
      as = value;
    }
  }
  bool json = EqualsIgnoreCase(type, "application/json");
  bool any = type == "*/*" || EqualsIgnoreCase(type, "application/*");
  if (json && g == "apidiscovery.k8s.io" && as == "APIGroupDiscoveryList") {
    if (v == "v2") {
      out.form = DiscoveryForm::kAggregatedV2;
    } else if (v == "v2beta1") {
      out.form = DiscoveryForm::kAggregatedV2Beta1;
    }
  } else if ((json || any) && g.empty() && as.empty()) {
    out.form = DiscoveryForm::kLegacy;
  }
  return out;
}

}  // namespace

std::string VersionJson(std::string_view knet_version) {
  std::string git_version(kKubernetesVersion);
  if (!knet_version.empty()) git_version += "+knet." + Sanitized(knet_version);
  // major and minor as strings, parsed from kKubernetesVersion ("v1.32.0").
  std::string_view kv = kKubernetesVersion.substr(1);
  size_t dot1 = kv.find('.');
  size_t dot2 = kv.find('.', dot1 + 1);
  Json j;
  j["major"] = std::string(kv.substr(0, dot1));
  j["minor"] = std::string(kv.substr(dot1 + 1, dot2 - dot1 - 1));
  j["gitVersion"] = git_version;
  j["gitCommit"] = std::string(knet_version);
  j["gitTreeState"] = "clean";
  j["buildDate"] = "1970-01-01T00:00:00Z";
  j["goVersion"] = "go1.23.0";
  j["compiler"] = "gc";
  j["platform"] = kPlatform;
  return j.dump();
}

std::string ApiVersionsJson(std::string_view server_address) {
  Json versions = Json::array();
  for (const GroupEntry& g : Groups(/*core=*/true)) {
    for (const std::string& v : g.versions) versions.push_back(v);
  }
  Json j;
  j["kind"] = "APIVersions";
  j["versions"] = std::move(versions);
  j["serverAddressByClientCIDRs"] = Json::array(
      {Json{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", std::string(server_address)}}});
  return j.dump();
}

std::string ApiGroupListJson() {
  static const std::string doc = [] {
    Json groups = Json::array();
    for (const GroupEntry& g : Groups(/*core=*/false)) {
      Json versions = Json::array();
      for (const std::string& v : g.versions) {
        versions.push_back(Json{{"groupVersion", g.name + "/" + v}, {"version", v}});
      }
      Json preferred = versions.front();
      groups.push_back(Json{{"name", g.name},
                            {"versions", std::move(versions)},
                            {"preferredVersion", std::move(preferred)}});
    }
    Json j;
    j["kind"] = "APIGroupList";
    j["apiVersion"] = "v1";
    j["groups"] = std::move(groups);
    return j.dump();
  }();
  return doc;
}

base::StatusOr<std::string> ApiResourceListJson(std::string_view group, std::string_view version) {
  Json resources = Json::array();
  for (const ResourceInfo& r : Resources()) {
    if (r.group != group || r.version != version) continue;
    Json j;
    j["name"] = r.resource;
    j["singularName"] = r.singular;
    j["namespaced"] = r.namespaced;
    j["kind"] = r.kind;
    j["verbs"] = r.verbs;
    if (!r.short_names.empty()) j["shortNames"] = r.short_names;
    if (!r.categories.empty()) j["categories"] = r.categories;
    resources.push_back(std::move(j));
    for (const SubresourceInfo& s : r.subresources) {
      Json sub;
      sub["name"] = r.resource + "/" + s.name;
      sub["singularName"] = "";  // as kube-apiserver: subresources have none
      sub["namespaced"] = r.namespaced;
      // group/version are written only when they differ from the list's (deployments/scale).
      if (s.group != r.group || s.version != r.version) {
        sub["group"] = s.group;
        sub["version"] = s.version;
      }
      sub["kind"] = s.kind;
      sub["verbs"] = s.verbs;
      resources.push_back(std::move(sub));
    }
  }
  std::string gv =
      group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  if (resources.empty()) {
    return base::NotFoundError("the server does not serve the group-version \"" + gv +
                               "\" (discovery)");
  }
  Json j;
  j["kind"] = "APIResourceList";
  j["apiVersion"] = "v1";
  j["groupVersion"] = gv;
  j["resources"] = std::move(resources);
  return j.dump();
}

DiscoveryForm NegotiateDiscovery(std::string_view accept_header) {
  DiscoveryForm best = DiscoveryForm::kLegacy;
  int best_quality = -1;
  for (std::string_view range : Split(accept_header, ',')) {
    if (Trim(range).empty()) continue;
    MediaRange m = ParseMediaRange(range);
    if (!m.form.has_value() || m.quality <= 0) continue;
    if (m.quality > best_quality) {
      best = *m.form;
      best_quality = m.quality;
    }
  }
  return best;
}

std::string_view DiscoveryContentType(DiscoveryForm form) {
  switch (form) {
    case DiscoveryForm::kAggregatedV2:
      return kAggregatedV2Type;
    case DiscoveryForm::kAggregatedV2Beta1:
      return kAggregatedV2Beta1Type;
    case DiscoveryForm::kLegacy:
      break;
  }
  return "application/json";
}

namespace {

std::string BuildAggregated(bool legacy_core, bool v2beta1) {
  Json items = Json::array();
  for (const GroupEntry& g : Groups(legacy_core)) items.push_back(GroupDiscovery(g));
  Json j;
  j["kind"] = "APIGroupDiscoveryList";
  j["apiVersion"] = v2beta1 ? "apidiscovery.k8s.io/v2beta1" : "apidiscovery.k8s.io/v2";
  j["metadata"] = Json::object();
  j["items"] = std::move(items);
  return j.dump();
}

}  // namespace

std::string AggregatedDiscoveryJson(bool legacy_core, DiscoveryForm form) {
  // Every kubectl command asks for these; the table is fixed, so build each variant once.
  static const std::string docs[2][2] = {
      {BuildAggregated(false, false), BuildAggregated(false, true)},
      {BuildAggregated(true, false), BuildAggregated(true, true)}};
  return docs[legacy_core ? 1 : 0][form == DiscoveryForm::kAggregatedV2Beta1 ? 1 : 0];
}

}  // namespace knet::apiserver::openapi
