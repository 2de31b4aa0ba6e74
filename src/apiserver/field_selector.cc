#include "apiserver/field_selector.h"

#include <variant>

namespace knet::apiserver {

namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

std::optional<std::string> KindField(const api::Pod& p, std::string_view f) {
  if (f == "spec.nodeName") return p.spec.node_name;
  if (f == "spec.restartPolicy") return p.spec.restart_policy;
  if (f == "spec.schedulerName") return p.spec.scheduler_name;
  if (f == "spec.serviceAccountName") return p.spec.service_account_name;
  if (f == "spec.hostNetwork") return Bool(p.spec.host_network);
  if (f == "status.phase") return p.status.phase;
  if (f == "status.podIP") return p.status.pod_ip;
  if (f == "status.nominatedNodeName") return p.status.nominated_node_name;
  return std::nullopt;
}

std::optional<std::string> KindField(const api::Service& s, std::string_view f) {
  if (f == "spec.clusterIP") return s.spec.cluster_ip;
  if (f == "spec.type") return s.spec.type;
  return std::nullopt;
}

std::optional<std::string> KindField(const api::Node& n, std::string_view f) {
  if (f == "spec.unschedulable") return Bool(n.spec.unschedulable);
  return std::nullopt;
}

std::optional<std::string> KindField(const api::Namespace& n, std::string_view f) {
  if (f == "status.phase") return n.status.phase;
  return std::nullopt;
}

std::optional<std::string> KindField(const api::Event& e, std::string_view f) {
  const api::ObjectReference& o = e.involved_object;
  if (f == "involvedObject.kind") return o.kind;
  if (f == "involvedObject.namespace") return o.namespace_;
  if (f == "involvedObject.name") return o.name;
  if (f == "involvedObject.uid") return o.uid;
  if (f == "involvedObject.apiVersion") return o.api_version;
  if (f == "involvedObject.resourceVersion") return o.resource_version;
  if (f == "involvedObject.fieldPath") return o.field_path;
  if (f == "reason") return e.reason;
  if (f == "reportingComponent") return e.reporting_component;
  if (f == "source") return e.source.component;
  if (f == "type") return e.type;
  return std::nullopt;
}

std::optional<std::string> KindField(const api::ReplicaSet& rs, std::string_view f) {
  if (f == "status.replicas") return std::to_string(rs.status.replicas);
  return std::nullopt;
}

template <class T>
std::optional<std::string> KindField(const T&, std::string_view) {
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FieldValue(const api::Object& obj, std::string_view field) {
  const api::ObjectMeta& meta = api::MetaOf(obj);
  if (field == "metadata.name") return meta.name;
  if (field == "metadata.namespace") return meta.namespace_;
  return std::visit([&](const auto& o) { return KindField(o, field); }, obj);
}

base::StatusOr<FieldSelector> FieldSelector::Parse(std::string_view text) {
  FieldSelector fs;
  size_t i = 0;
  while (i < text.size()) {
    // One term: up to an unescaped ','.
    std::string term;
    std::vector<bool> escaped;
    for (; i < text.size() && text[i] != ','; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        term.push_back(text[++i]);
        escaped.push_back(true);
      } else {
        term.push_back(text[i]);
        escaped.push_back(false);
      }
    }
    ++i;  // the ','
    size_t op = std::string::npos;
    size_t op_len = 0;
    bool equals = true;
    for (size_t j = 0; j < term.size(); ++j) {
      if (escaped[j]) continue;
      if (term[j] == '!' && j + 1 < term.size() && term[j + 1] == '=' && !escaped[j + 1]) {
        op = j, op_len = 2, equals = false;
        break;
      }
      if (term[j] == '=') {
        op = j;
        op_len = (j + 1 < term.size() && term[j + 1] == '=' && !escaped[j + 1]) ? 2 : 1;
        break;
      }
    }
    if (op == std::string::npos) {
      return base::InvalidArgumentError("invalid field selector \"" + std::string(text) +
                                        "\": term \"" + term + "\" has no operator (=, ==, !=)");
    }
    FieldRequirement req{term.substr(0, op), equals, term.substr(op + op_len)};
    if (req.field.empty()) {
      return base::InvalidArgumentError("invalid field selector \"" + std::string(text) +
                                        "\": a term has no field name");
    }
    fs.requirements_.push_back(std::move(req));
  }
  return fs;
}

base::Status FieldSelector::CheckSupported(std::string_view kind) const {
  // Probe with an empty object of the kind: FieldValue's answer depends only on the kind.
  static const std::vector<api::Object> probes = {
      api::Namespace{},  api::Node{},       api::Pod{},           api::Service{},
      api::Endpoints{},  api::Event{},      api::EndpointSlice{}, api::NetworkPolicy{},
      api::Deployment{}, api::ReplicaSet{}, api::Lease{}};
  for (const api::Object& probe : probes) {
    if (api::KindOf(probe) != kind) continue;
    for (const FieldRequirement& r : requirements_) {
      if (!FieldValue(probe, r.field)) {
        return base::InvalidArgumentError("field label not supported: " + r.field);
      }
    }
    return base::OkStatus();
  }
  return base::InvalidArgumentError("field selectors are not supported for kind " +
                                    std::string(kind));
}

bool FieldSelector::Matches(const api::Object& obj) const {
  for (const FieldRequirement& r : requirements_) {
    std::optional<std::string> v = FieldValue(obj, r.field);
    if (!v) return false;
    if ((*v == r.value) != r.equals) return false;
  }
  return true;
}

std::optional<std::string> FieldSelector::PinnedName() const {
  for (const FieldRequirement& r : requirements_) {
    if (r.field == "metadata.name" && r.equals) return r.value;
  }
  return std::nullopt;
}

std::string FieldSelector::ToString() const {
  std::string out;
  for (const FieldRequirement& r : requirements_) {
    if (!out.empty()) out += ',';
    out += r.field + (r.equals ? "=" : "!=") + r.value;
  }
  return out;
}

}  // namespace knet::apiserver
