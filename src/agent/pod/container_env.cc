// File: agent/pod/container_env.cc
#include "agent/pod/container_env.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "agent/pod/pod_files.h"

namespace knet::agent::pod {
namespace {

// "my-svc" -> "MY_SVC", as the kubelet names service variables.
std::string EnvName(const std::string& s) {
  std::string out;
  for (char ch : s) {
    out += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// An ordered "K=V" list where setting an existing name replaces it in place.
class EnvList {
 public:
  void Set(const std::string& name, const std::string& value) {
    auto it = index_.find(name);
    if (it != index_.end()) {
      entries_[it->second] = name + "=" + value;
      return;
    }
    index_[name] = entries_.size();
    entries_.push_back(name + "=" + value);
  }
  void SetEntry(const std::string& entry) {
    auto eq = entry.find('=');
    Set(entry.substr(0, eq), eq == std::string::npos ? "" : entry.substr(eq + 1));
  }
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::vector<std::string> entries_;
  std::map<std::string, size_t> index_;
};

std::string First(const std::vector<std::string>& v) { return v.empty() ? "" : v.front(); }

base::StatusOr<std::string> FieldRefValue(const api::Pod& pod, const std::string& path,
                                          const PodRuntimeInfo& info) {
  const auto& m = pod.metadata;
  if (path == "metadata.name") return m.name;
  if (path == "metadata.namespace") return m.namespace_;
  if (path == "metadata.uid") return m.uid;
  if (path == "spec.nodeName") return pod.spec.node_name;
  if (path == "spec.serviceAccountName") return pod.spec.service_account_name;
  if (path == "status.podIP") return First(info.pod_ips);
  if (path == "status.hostIP") return First(info.host_ips);
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
  };
  if (path == "status.podIPs") return join(info.pod_ips);
  if (path == "status.hostIPs") return join(info.host_ips);
  // metadata.labels['key'] / metadata.annotations['key']
  for (const auto& [prefix, map] :
       {std::pair{std::string("metadata.labels['"), &m.labels},
        std::pair{std::string("metadata.annotations['"), &m.annotations}}) {
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 2 &&
        path.substr(path.size() - 2) == "']") {
      std::string key = path.substr(prefix.size(), path.size() - prefix.size() - 2);
      auto it = map->find(key);
      return it == map->end() ? std::string() : it->second;
    }
  }
  return base::InvalidArgumentError("unsupported fieldRef fieldPath \"" + path + "\"");
}

}  // namespace

std::string ExpandVars(const std::string& in, const std::vector<std::string>& env) {
  auto lookup = [&](const std::string& name) -> const std::string* {
    // Later entries win, so search from the back.
    for (auto it = env.rbegin(); it != env.rend(); ++it) {
      if (it->size() > name.size() && it->compare(0, name.size(), name) == 0 &&
          (*it)[name.size()] == '=') {
        return &*it;
      }
    }
    return nullptr;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    if (in[i + 1] == '$') {  // "$$" is an escaped '$'
      out += '$';
      ++i;
      continue;
    }
    if (in[i + 1] == '(') {
      size_t close = in.find(')', i + 2);
      if (close != std::string::npos) {
        std::string name = in.substr(i + 2, close - i - 2);
        if (const std::string* e = lookup(name)) {
          out += e->substr(name.size() + 1);
          i = close;
          continue;
        }
        out += in.substr(i, close - i + 1);  // unknown: kept as written
        i = close;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

std::vector<std::string> ServiceEnv(const api::Service& svc) {
  std::vector<std::string> out;
  const std::string& ip = svc.spec.cluster_ip;
  if (ip.empty() || ip == "None" || svc.spec.ports.empty()) return out;
  std::string name = EnvName(svc.metadata.name);
  std::string host = ip.find(':') == std::string::npos ? ip : "[" + ip + "]";
  out.push_back(name + "_SERVICE_HOST=" + ip);
  out.push_back(name + "_SERVICE_PORT=" + std::to_string(svc.spec.ports.front().port));
  for (const api::ServicePort& p : svc.spec.ports) {
    if (!p.name.empty()) {
      out.push_back(name + "_SERVICE_PORT_" + EnvName(p.name) + "=" + std::to_string(p.port));
    }
  }
  const api::ServicePort& first = svc.spec.ports.front();
  std::string first_proto = Lower(first.protocol.empty() ? "TCP" : first.protocol);
  out.push_back(name + "_PORT=" + first_proto + "://" + host + ":" + std::to_string(first.port));
  for (const api::ServicePort& p : svc.spec.ports) {
    std::string proto = p.protocol.empty() ? "TCP" : p.protocol;
    std::string prefix = name + "_PORT_" + std::to_string(p.port) + "_" + proto;
    std::string url = Lower(proto) + "://" + host + ":" + std::to_string(p.port);
    out.push_back(prefix + "=" + url);
    out.push_back(prefix + "_PROTO=" + Lower(proto));
    out.push_back(prefix + "_PORT=" + std::to_string(p.port));
    out.push_back(prefix + "_ADDR=" + ip);
  }
  return out;
}

base::StatusOr<std::vector<std::string>> BuildEnv(const api::Pod& pod, const api::Container& c,
                                                  const PodRuntimeInfo& info,
                                                  const std::vector<api::Service>& services) {
  EnvList env;
  env.Set("PATH", kDefaultPath);
  env.Set("HOSTNAME", PodHostname(pod));
  bool links = pod.spec.enable_service_links.value_or(true);
  // Sorted by name so the order does not depend on the informer's.
  std::vector<const api::Service*> sorted;
  for (const api::Service& s : services) {
    bool master = s.metadata.namespace_ == "default" && s.metadata.name == "kubernetes";
    if (master || (links && s.metadata.namespace_ == pod.metadata.namespace_)) {
      sorted.push_back(&s);
    }
  }
  std::sort(sorted.begin(), sorted.end(), [](const api::Service* a, const api::Service* b) {
    return a->metadata.name < b->metadata.name;
  });
  for (const api::Service* s : sorted) {
    // A namespace's own "kubernetes" service does not shadow the master's.
    if (s->metadata.name == "kubernetes" && s->metadata.namespace_ != "default") continue;
    for (const std::string& e : ServiceEnv(*s)) env.SetEntry(e);
  }
  for (const api::EnvVar& v : c.env) {
    std::string value;
    if (v.value_from) {
      if (!v.value_from->field_ref) {
        return base::InvalidArgumentError("container " + c.name + ": env " + v.name +
                                          ": only valueFrom.fieldRef is supported by knet");
      }
      auto got = FieldRefValue(pod, v.value_from->field_ref->field_path, info);
      if (!got.ok()) {
        return base::InvalidArgumentError("container " + c.name + ": env " + v.name + ": " +
                                          got.status().message());
      }
      value = *got;
    } else {
      value = ExpandVars(v.value, env.entries());
    }
    env.Set(v.name, value);
  }
  return env.entries();
}

base::StatusOr<std::vector<std::string>> BuildArgv(const api::Pod& pod, const api::Container& c,
                                                   const std::vector<std::string>& env) {
  if (c.command.empty()) {
    return base::InvalidArgumentError(
        "container " + c.name + " of pod " + pod.metadata.namespace_ + "/" + pod.metadata.name +
        " has no command: knet runs commands from the node's filesystem and has no image "
        "entrypoint to fall back on; set spec.containers[].command");
  }
  std::vector<std::string> argv;
  for (const std::string& s : c.command) argv.push_back(ExpandVars(s, env));
  for (const std::string& s : c.args) argv.push_back(ExpandVars(s, env));
  return argv;
}

}  // namespace knet::agent::pod
