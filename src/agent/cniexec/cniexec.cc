#include "agent/cniexec/cniexec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/process/process.h"
#include "base/file.h"
#include "cni/result.h"

extern char** environ;

namespace knet::agent::cniexec {
namespace {

// "1.0.0" >= "0.4.0"; unparseable versions compare as 0.0.0.
bool VersionAtLeast(const std::string& v, int major, int minor) {
  int a = 0, b = 0, c = 0;
  if (std::sscanf(v.c_str(), "%d.%d.%d", &a, &b, &c) < 2) return false;
  return a > major || (a == major && b >= minor);
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16 |
                 static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8 |
                 static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < in.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

}  // namespace

struct CniExec::Call {
  std::string command;    // ADD, DEL, CHECK, GC, STATUS
  std::string type;       // the plugin's type (binary name)
  nlohmann::json config;  // what goes on stdin
  const RuntimeConf* rt;  // null for GC and STATUS
};

nlohmann::json PortMappingsJson(const std::vector<PortMapping>& mappings) {
  nlohmann::json out = nlohmann::json::array();
  for (const PortMapping& m : mappings) {
    nlohmann::json j = {
        {"hostPort", m.host_port}, {"containerPort", m.container_port}, {"protocol", m.protocol}};
    if (!m.host_ip.empty()) j["hostIP"] = m.host_ip;
    out.push_back(j);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> KubernetesArgs(const std::string& pod_namespace,
                                                                const std::string& pod_name,
                                                                const std::string& sandbox_id,
                                                                const std::string& pod_uid) {
  return {{"IgnoreUnknown", "1"},
          {"K8S_POD_NAMESPACE", pod_namespace},
          {"K8S_POD_NAME", pod_name},
          {"K8S_POD_INFRA_CONTAINER_ID", sandbox_id},
          {"K8S_POD_UID", pod_uid}};
}

base::StatusOr<std::vector<base::IPAddress>> ResultIps(const nlohmann::json& result) {
  cni::Outcome<nlohmann::json> parsed = cni::ParseResult(result);
  if (!parsed.ok()) {
    return base::InvalidArgumentError("reading the CNI result: " + parsed.error().msg);
  }
  const nlohmann::json& r = parsed.value();
  std::vector<base::IPAddress> v4, v6;
  for (const nlohmann::json& ip : r["ips"]) {
    if (auto idx = ip.find("interface"); idx != ip.end() && idx->is_number_integer()) {
      const nlohmann::json& ifc = r["interfaces"][idx->get<size_t>()];
      if (ifc.value("sandbox", "").empty()) continue;  // a host-side interface
    }
    std::string cidr = ip["address"].get<std::string>();
    ASSIGN_OR_RETURN(base::IPAddress a, base::IPAddress::Parse(cidr.substr(0, cidr.find('/'))));
    (a.is_v4() ? v4 : v6).push_back(a);
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

CniExec::CniExec(CniExecOptions options) : opts_(std::move(options)) {}

std::string CniExec::CachePath(const std::string& network, const std::string& container_id,
                               const std::string& if_name) const {
  return opts_.cache_dir + "/results/" + network + "-" + container_id + "-" + if_name;
}

base::StatusOr<std::string> CniExec::FindPlugin(const std::string& type) const {
  for (const std::string& dir : opts_.bin_dirs) {
    std::string path = dir + "/" + type;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0) {
      return path;
    }
  }
  return base::NotFoundError("failed to find plugin \"" + type + "\" in path [" +
                             Join(opts_.bin_dirs, " ") + "]");
}

base::StatusOr<nlohmann::json> CniExec::Exec(const Call& call) {
  ASSIGN_OR_RETURN(std::string path, FindPlugin(call.type));
  process::SpawnOptions so;
  so.argv = {path};
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("CNI_")) continue;
    so.env.emplace_back(*e);
  }
  so.env.push_back("CNI_COMMAND=" + call.command);
  if (call.rt != nullptr) {
    std::vector<std::string> args;
    for (const auto& [k, v] : call.rt->args) args.push_back(k + "=" + v);
    so.env.push_back("CNI_CONTAINERID=" + call.rt->container_id);
    so.env.push_back("CNI_NETNS=" + call.rt->netns_path);
    so.env.push_back("CNI_IFNAME=" + call.rt->if_name);
    so.env.push_back("CNI_ARGS=" + Join(args, ";"));
  }
  so.env.push_back("CNI_PATH=" + Join(opts_.bin_dirs, ":"));
  const std::string what = "CNI plugin " + call.type + " " + call.command;
  base::StatusOr<process::RunResult> run = process::Run(so, call.config.dump(), opts_.exec_timeout);
  if (!run.ok()) return run.status().WithContext(what);
  if (run->timed_out) {
    return base::DeadlineExceededError(
        what + " timed out after " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(opts_.exec_timeout).count()) +
        "s");
  }
  nlohmann::json out = nlohmann::json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (run->exit_code != 0) {
    // The spec's error: {"cniVersion", "code", "msg", "details"} on stdout.
    if (out.is_object() && out.contains("code") && out["code"].is_number_integer()) {
      int code = out["code"].get<int>();
      std::string msg = out.value("msg", "");
      std::string details = out.value("details", "");
      std::string text = what + " failed (code " + std::to_string(code) + "): " + msg;
      if (!details.empty()) text += ": " + details;
      return code == 11 || code == 50 || code == 51 ? base::UnavailableError(text)
                                                    : base::InternalError(text);
    }
    std::string detail = Trim(run->err.empty() ? run->out : run->err);
    std::string how = run->signal != 0 ? "killed by signal " + std::to_string(run->signal)
                                       : "exit status " + std::to_string(run->exit_code);
    return base::InternalError(what + " failed (" + how + ")" +
                               (detail.empty() ? "" : ": " + detail));
  }
  if (Trim(run->out).empty()) return nlohmann::json();
  if (!out.is_object()) {
    return base::InternalError(what + ": the plugin printed something that is not a JSON object: " +
                               Trim(run->out).substr(0, 200));
  }
  return out;
}

namespace {

nlohmann::json BuildConfig(const NetworkConfigList& net, const nlohmann::json& plugin,
                           const nlohmann::json& prev_result, const RuntimeConf* rt) {
  nlohmann::json conf = plugin;
  conf["name"] = net.name;
  conf["cniVersion"] = net.cni_version;
  if (!prev_result.is_null()) conf["prevResult"] = prev_result;
  if (rt != nullptr && rt->capability_args.is_object()) {
    nlohmann::json rc = nlohmann::json::object();
    if (auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
      for (const auto& [cap, wanted] : caps->items()) {
        if (!wanted.is_boolean() || !wanted.get<bool>()) continue;
        if (auto v = rt->capability_args.find(cap); v != rt->capability_args.end()) rc[cap] = *v;
      }
    }
    if (!rc.empty()) conf["runtimeConfig"] = rc;
  }
  return conf;
}

}  // namespace

base::StatusOr<AddResult> CniExec::AddNetworkList(const NetworkConfigList& net,
                                                  const RuntimeConf& rt) {
  const std::string what = "adding network " + net.name + " to container " + rt.container_id;
  nlohmann::json prev;
  base::Status failure;
  for (const nlohmann::json& plugin : net.plugins) {
    Call call{"ADD", plugin["type"].get<std::string>(), BuildConfig(net, plugin, prev, &rt), &rt};
    base::StatusOr<nlohmann::json> r = Exec(call);
    if (r.ok() && r->is_null()) {
      r = base::InternalError("CNI plugin " + call.type + " ADD printed no result");
    }
    if (!r.ok()) {
      failure = r.status();
      break;
    }
    prev = std::move(*r);
  }
  AddResult out;
  if (failure.ok()) {
    out.result = prev;
    base::StatusOr<std::vector<base::IPAddress>> ips = ResultIps(prev);
    if (ips.ok()) {
      out.ips = std::move(*ips);
      failure = WriteCache(net, rt, prev);
    } else {
      failure = ips.status();
    }
  }
  if (failure.ok()) return out;
  // Undo whatever the plugins before the failing one did, as containerd does on a failed setup.
  base::Status undo = DelNetworkList(net, rt);
  if (!undo.ok()) {
    return base::Status(failure.code(), failure.message() + " (cleaning up with DEL also failed: " +
                                            undo.message() + ")")
        .WithContext(what);
  }
  return failure.WithContext(what);
}

base::Status CniExec::DelPlugins(const NetworkConfigList& net, const RuntimeConf& rt) {
  nlohmann::json cached;
  if (VersionAtLeast(net.cni_version, 0, 4)) {
    base::StatusOr<nlohmann::json> c = ReadCachedResult(net, rt);
    if (c.ok()) cached = std::move(*c);  // none (or unreadable): DEL without prevResult
  }
  for (auto it = net.plugins.rbegin(); it != net.plugins.rend(); ++it) {
    Call call{"DEL", (*it)["type"].get<std::string>(), BuildConfig(net, *it, cached, &rt), &rt};
    base::StatusOr<nlohmann::json> r = Exec(call);
    if (!r.ok()) return r.status();
  }
  return base::OkStatus();
}

base::Status CniExec::DelNetworkList(const NetworkConfigList& net, const RuntimeConf& rt) {
  const std::string what = "removing network " + net.name + " from container " + rt.container_id;
  RETURN_IF_ERROR(DelPlugins(net, rt).WithContext(what));
  const std::string path = CachePath(net.name, rt.container_id, rt.if_name);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return base::ErrnoError(errno, "removing cached result " + path).WithContext(what);
  }
  return base::OkStatus();
}

base::Status CniExec::CheckNetworkList(const NetworkConfigList& net, const RuntimeConf& rt) {
  const std::string what = "checking network " + net.name + " of container " + rt.container_id;
  if (!VersionAtLeast(net.cni_version, 0, 4)) {
    return base::FailedPreconditionError(what + ": cniVersion " + net.cni_version +
                                         " does not support the CHECK command");
  }
  if (net.disable_check) return base::OkStatus();
  base::StatusOr<nlohmann::json> cached = ReadCachedResult(net, rt);
  if (!cached.ok()) return cached.status().WithContext(what);
  for (const nlohmann::json& plugin : net.plugins) {
    Call call{"CHECK", plugin["type"].get<std::string>(), BuildConfig(net, plugin, *cached, &rt),
              &rt};
    base::StatusOr<nlohmann::json> r = Exec(call);
    if (!r.ok()) return r.status().WithContext(what);
  }
  return base::OkStatus();
}

base::Status CniExec::GcNetworkList(const NetworkConfigList& net,
                                    const std::vector<GcAttachment>& valid) {
  const std::string what = "garbage-collecting network " + net.name;
  // Cached results of attachments that are gone (libcni does the same).
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(opts_.cache_dir + "/results", ec)) {
    if (!e.path().filename().string().starts_with(net.name + "-")) continue;
    std::ifstream in(e.path());
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || doc.value("networkName", "") != net.name) continue;
    const std::string cid = doc.value("containerId", "");
    const std::string ifn = doc.value("ifName", "");
    bool keep = std::any_of(valid.begin(), valid.end(), [&](const GcAttachment& a) {
      return a.container_id == cid && a.if_name == ifn;
    });
    if (!keep) std::filesystem::remove(e.path(), ec);
  }
  if (!VersionAtLeast(net.cni_version, 1, 1) || net.disable_gc) return base::OkStatus();
  nlohmann::json attachments = nlohmann::json::array();
  for (const GcAttachment& a : valid) {
    attachments.push_back({{"containerID", a.container_id}, {"ifname", a.if_name}});
  }
  std::vector<std::string> errors;
  for (const nlohmann::json& plugin : net.plugins) {
    nlohmann::json conf = BuildConfig(net, plugin, nullptr, nullptr);
    conf["cni.dev/valid-attachments"] = attachments;
    conf["cni.dev/attachments"] = attachments;  // the key's name in the 1.1.0 tag
    base::StatusOr<nlohmann::json> r =
        Exec({"GC", plugin["type"].get<std::string>(), conf, nullptr});
    if (!r.ok()) errors.push_back(r.status().message());
  }
  if (!errors.empty()) return base::InternalError(what + ": " + Join(errors, "; "));
  return base::OkStatus();
}

base::Status CniExec::GetStatusNetworkList(const NetworkConfigList& net) {
  if (!VersionAtLeast(net.cni_version, 1, 1)) return base::OkStatus();
  for (const nlohmann::json& plugin : net.plugins) {
    base::StatusOr<nlohmann::json> r = Exec({"STATUS", plugin["type"].get<std::string>(),
                                             BuildConfig(net, plugin, nullptr, nullptr), nullptr});
    if (!r.ok()) return r.status().WithContext("status of network " + net.name);
  }
  return base::OkStatus();
}

base::Status CniExec::WriteCache(const NetworkConfigList& net, const RuntimeConf& rt,
                                 const nlohmann::json& result) {
  std::error_code ec;
  std::filesystem::create_directories(opts_.cache_dir + "/results", ec);
  if (ec) {
    return base::InternalError("creating " + opts_.cache_dir + "/results: " + ec.message());
  }
  nlohmann::json args = nlohmann::json::array();
  for (const auto& [k, v] : rt.args) args.push_back({k, v});
  nlohmann::json doc = {
      {"kind", "cniCacheV1"},
      {"containerId", rt.container_id},
      {"config", Base64(net.bytes)},
      {"ifName", rt.if_name},
      {"networkName", net.name},
      {"netns", rt.netns_path},
      {"cniArgs", args},
      {"capabilityArgs", rt.capability_args},
      {"result", result},
  };
  return base::WriteFileAtomic(CachePath(net.name, rt.container_id, rt.if_name), doc.dump(), 0600)
      .WithContext("caching the result of network " + net.name);
}

base::StatusOr<nlohmann::json> CniExec::ReadCachedResult(const NetworkConfigList& net,
                                                         const RuntimeConf& rt) {
  const std::string path = CachePath(net.name, rt.container_id, rt.if_name);
  std::ifstream in(path);
  if (!in) return base::NotFoundError("no cached result in " + path);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("result") || !doc["result"].is_object()) {
    return base::DataLossError("reading cached result " + path + ": not a cniCacheV1 document");
  }
  return doc["result"];
}

base::StatusOr<AddResult> CniExec::GetCachedResult(const NetworkConfigList& net,
                                                   const RuntimeConf& rt) {
  ASSIGN_OR_RETURN(nlohmann::json result, ReadCachedResult(net, rt));
  AddResult out;
  ASSIGN_OR_RETURN(out.ips, ResultIps(result));
  out.result = std::move(result);
  return out;
}

}  // namespace knet::agent::cniexec
