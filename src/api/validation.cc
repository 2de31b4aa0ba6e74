#include "api/validation.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "api/selector.h"
#include "base/ip.h"

namespace knet::api {
namespace {

using Errs = std::vector<FieldError>;

constexpr size_t kDNS1123LabelMaxLength = 63;
constexpr size_t kDNS1123SubdomainMaxLength = 253;
constexpr size_t kTotalAnnotationSizeLimitB = 256 * 1024;
constexpr int32_t kMaxClientIPServiceAffinitySeconds = 86400;

// Go's %q for the strings we meet: quotes, backslashes and control bytes escaped.
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// json.Marshal of a []string or map[string]string, as upstream renders such values.
std::string Json(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }
std::string Json(const std::map<std::string, std::string>& m) { return nlohmann::json(m).dump(); }
std::string Render(const IntOrString& v) {
  return v.is_string() ? Q(v.string_value()) : std::to_string(v.int_value());
}
std::string RenderSelector(const LabelSelector& s) {
  nlohmann::json j = nlohmann::json::object();
  if (!s.match_labels.empty()) j["matchLabels"] = s.match_labels;
  if (!s.match_expressions.empty()) {
    nlohmann::json exprs = nlohmann::json::array();
    for (const auto& e : s.match_expressions) {
      nlohmann::json x = {{"key", e.key}, {"operator", e.operator_}};
      if (!e.values.empty()) x["values"] = e.values;
      exprs.push_back(x);
    }
    j["matchExpressions"] = exprs;
  }
  return j.dump();
}

std::string Idx(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}
std::string Child(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : std::string(path) + "." + std::string(name);
}

void Invalid(Errs& e, std::string field, std::string value, std::string detail) {
  e.push_back({FieldError::kInvalid, std::move(field), std::move(value), std::move(detail)});
}
void Required(Errs& e, std::string field, std::string detail = "") {
  e.push_back({FieldError::kRequired, std::move(field), "", std::move(detail)});
}
void Forbidden(Errs& e, std::string field, std::string detail) {
  e.push_back({FieldError::kForbidden, std::move(field), "", std::move(detail)});
}
void Duplicate(Errs& e, std::string field, std::string value) {
  e.push_back({FieldError::kDuplicate, std::move(field), std::move(value), ""});
}
void NotSupported(Errs& e, std::string field, std::string_view value,
                  std::initializer_list<std::string_view> supported) {
  std::string detail;
  for (std::string_view s : supported) {
    detail += detail.empty() ? "supported values: " : ", ";
    detail += Q(s);
  }
  e.push_back({FieldError::kNotSupported, std::move(field), Q(value), std::move(detail)});
}
void InvalidEach(Errs& e, const std::string& field, const std::string& value,
                 const std::vector<std::string>& msgs) {
  for (const auto& m : msgs) Invalid(e, field, value, m);
}
void NonNegative(Errs& e, const std::string& field, int64_t v) {
  if (v < 0) Invalid(e, field, std::to_string(v), "must be greater than or equal to 0");
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool MatchesDNS1123Label(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

std::string RegexError(std::string_view msg, std::string_view fmt,
                       std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  if (examples.size() == 0)
    return out + " (regex used for validation is '" + std::string(fmt) + "')";
  out += " (e.g. ";
  bool first = true;
  for (std::string_view ex : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'" + std::string(ex) + "', ";
  }
  return out + "regex used for validation is '" + std::string(fmt) + "')";
}

std::string MaxLenError(size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

bool IsValidIP(std::string_view s) { return base::IPAddress::Parse(s).ok(); }
bool IsValidCidr(std::string_view s) { return base::Cidr::ParseLoose(s).ok(); }

void ValidateIP(Errs& e, const std::string& field, const std::string& value) {
  if (!IsValidIP(value)) {
    Invalid(e, field, Q(value), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
  }
}
void ValidateCidr(Errs& e, const std::string& field, const std::string& value) {
  if (!IsValidCidr(value)) {
    Invalid(e, field, Q(value), "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
  }
}

// ValidateNonSpecialIP: an address a client may not point traffic at.
void ValidateNonSpecialIP(Errs& e, const std::string& field, const std::string& value) {
  auto ip = base::IPAddress::Parse(value);
  if (!ip.ok()) return;
  if (ip->IsUnspecified()) {
    Invalid(e, field, Q(value), "may not be unspecified (" + value + ")");
  } else if (ip->IsLoopback()) {
    Invalid(e, field, Q(value), "may not be in the loopback range (127.0.0.0/8, ::1/128)");
  } else if (ip->IsLinkLocalUnicast()) {
    Invalid(e, field, Q(value), "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
  } else if (ip->IsLinkLocalMulticast()) {
    Invalid(e, field, Q(value),
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
  }
}

bool ValidProtocol(std::string_view p) { return p == "TCP" || p == "UDP" || p == "SCTP"; }
void ValidateProtocol(Errs& e, const std::string& field, std::string_view p) {
  if (p.empty()) {
    Required(e, field);
  } else if (!ValidProtocol(p)) {
    NotSupported(e, field, p, {"SCTP", "TCP", "UDP"});
  }
}

void ValidatePortNumOrName(Errs& e, const std::string& field, const IntOrString& port) {
  if (port.is_string()) {
    InvalidEach(e, field, Q(port.string_value()), IsValidPortName(port.string_value()));
  } else {
    InvalidEach(e, field, std::to_string(port.int_value()), IsValidPortNum(port.int_value()));
  }
}

// ValidateLabels: keys are qualified names, values label values (api/selector.h's checks).
void ValidateLabels(Errs& e, const std::map<std::string, std::string>& labels,
                    const std::string& path) {
  for (const auto& [k, v] : labels) {
    if (base::Status st = ValidateLabelKey(k); !st.ok()) Invalid(e, path, Q(k), st.message());
    if (base::Status st = ValidateLabelValue(v); !st.ok()) Invalid(e, path, Q(v), st.message());
  }
}

// ValidateAnnotations: keys are qualified names once lowercased; the total size is capped.
void ValidateAnnotations(Errs& e, const std::map<std::string, std::string>& annotations,
                         const std::string& path) {
  size_t total = 0;
  for (const auto& [k, v] : annotations) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    if (base::Status st = ValidateLabelKey(lower); !st.ok()) Invalid(e, path, Q(k), st.message());
    total += k.size() + v.size();
  }
  if (total > kTotalAnnotationSizeLimitB) {
    e.push_back({FieldError::kTooLong, path, "",
                 "may not be more than " + std::to_string(kTotalAnnotationSizeLimitB) + " bytes"});
  }
}

// --- ObjectMeta ---------------------------------------------------------------------------------

using NameFn = std::vector<std::string> (*)(std::string_view);

void ValidateObjectMeta(Errs& e, const ObjectMeta& m, bool namespaced, NameFn name_fn,
                        const std::string& path = "metadata") {
  if (!m.generate_name.empty()) {
    std::string_view prefix = m.generate_name;
    if (prefix.size() > 1 && prefix.back() == '-') prefix.remove_suffix(1);  // MaskTrailingDash
    InvalidEach(e, Child(path, "generateName"), Q(m.generate_name), name_fn(prefix));
  }
  if (m.name.empty()) {
    if (m.generate_name.empty()) {
      Required(e, Child(path, "name"), "name or generateName is required");
    }
  } else {
    InvalidEach(e, Child(path, "name"), Q(m.name), name_fn(m.name));
  }
  // An empty namespace is allowed on namespaced kinds: the API server fills it in from the
  // request before it validates.
  if (namespaced) {
    if (!m.namespace_.empty()) {
      InvalidEach(e, Child(path, "namespace"), Q(m.namespace_), IsDNS1123Label(m.namespace_));
    }
  } else if (!m.namespace_.empty()) {
    Forbidden(e, Child(path, "namespace"), "not allowed on this type");
  }
  NonNegative(e, Child(path, "generation"), m.generation);
  ValidateLabels(e, m.labels, Child(path, "labels"));
  ValidateAnnotations(e, m.annotations, Child(path, "annotations"));
}

// --- Pod ----------------------------------------------------------------------------------------

// IsEnvVarName before Kubernetes 1.30 relaxed it.
std::vector<std::string> IsEnvVarName(std::string_view s) {
  std::vector<std::string> msgs;
  auto ok_first = [](char c) {
    return c == '-' || c == '.' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  bool ok = !s.empty() && ok_first(s.front()) &&
            std::all_of(s.begin(), s.end(), [&](char c) { return ok_first(c) || IsDigit(c); });
  if (!ok) {
    msgs.push_back(RegexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', "
        "'-', or '.', and must not start with a digit",
        "[-._a-zA-Z][-._a-zA-Z0-9]*", {"my.env-name", "MY_ENV.NAME", "MyEnvName1"}));
  }
  if (s == ".") msgs.push_back("must not be '.'");
  if (s == "..") msgs.push_back("must not be '..'");
  if (s.starts_with("..")) msgs.push_back("must not start with '..'");
  return msgs;
}

void ValidateHTTPGet(Errs& e, const std::string& path, const HTTPGetAction& h) {
  if (h.path.empty()) Required(e, Child(path, "path"));
  ValidatePortNumOrName(e, Child(path, "port"), h.port);
  if (h.scheme != "HTTP" && h.scheme != "HTTPS") {
    NotSupported(e, Child(path, "scheme"), h.scheme, {"HTTP", "HTTPS"});
  }
}

// validateHandler: exactly one handler type.
template <class H>
void ValidateHandler(Errs& e, const std::string& path, const H& h) {
  int n = 0;
  auto one = [&](bool set, std::string_view name, auto&& check) {
    if (!set) return;
    if (n > 0) {
      Forbidden(e, Child(path, name), "may not specify more than 1 handler type");
      return;
    }
    ++n;
    check();
  };
  one(h.exec.has_value(), "exec", [&] {
    if (h.exec->command.empty()) Required(e, Child(Child(path, "exec"), "command"));
  });
  one(h.http_get.has_value(), "httpGet",
      [&] { ValidateHTTPGet(e, Child(path, "httpGet"), *h.http_get); });
  one(h.tcp_socket.has_value(), "tcpSocket", [&] {
    ValidatePortNumOrName(e, Child(Child(path, "tcpSocket"), "port"), h.tcp_socket->port);
  });
  if constexpr (requires { h.grpc; }) {
    one(h.grpc.has_value(), "grpc", [&] {
      InvalidEach(e, Child(Child(path, "grpc"), "port"), std::to_string(h.grpc->port),
                  IsValidPortNum(h.grpc->port));
    });
  }
  if constexpr (requires { h.sleep; }) {
    one(h.sleep.has_value(), "sleep", [] {});
  }
  if (n == 0) Required(e, path, "must specify a handler type");
}

void ValidateProbe(Errs& e, const std::string& path, const Probe& p) {
  ValidateHandler(e, path, p);
  NonNegative(e, Child(path, "initialDelaySeconds"), p.initial_delay_seconds);
  NonNegative(e, Child(path, "timeoutSeconds"), p.timeout_seconds);
  NonNegative(e, Child(path, "periodSeconds"), p.period_seconds);
  NonNegative(e, Child(path, "successThreshold"), p.success_threshold);
  NonNegative(e, Child(path, "failureThreshold"), p.failure_threshold);
  if (p.termination_grace_period_seconds.has_value() && *p.termination_grace_period_seconds <= 0) {
    Invalid(e, Child(path, "terminationGracePeriodSeconds"),
            std::to_string(*p.termination_grace_period_seconds), "must be greater than 0");
  }
}

void ValidateContainers(Errs& e, const std::string& path, const std::vector<Container>& cs,
                        std::set<std::string>& names, bool init) {
  for (size_t i = 0; i < cs.size(); ++i) {
    const Container& c = cs[i];
    const std::string cp = Idx(path, i);
    if (c.name.empty()) {
      Required(e, Child(cp, "name"));
    } else {
      InvalidEach(e, Child(cp, "name"), Q(c.name), IsDNS1123Label(c.name));
      if (!names.insert(c.name).second) Duplicate(e, Child(cp, "name"), Q(c.name));
    }
    if (c.image.empty()) Required(e, Child(cp, "image"));
    std::set<std::string> port_names;
    for (size_t j = 0; j < c.ports.size(); ++j) {
      const ContainerPort& p = c.ports[j];
      const std::string pp = Idx(Child(cp, "ports"), j);
      if (!p.name.empty()) {
        InvalidEach(e, Child(pp, "name"), Q(p.name), IsValidPortName(p.name));
        if (!port_names.insert(p.name).second) Duplicate(e, Child(pp, "name"), Q(p.name));
      }
      if (p.container_port == 0) {
        Required(e, Child(pp, "containerPort"));
      } else {
        InvalidEach(e, Child(pp, "containerPort"), std::to_string(p.container_port),
                    IsValidPortNum(p.container_port));
      }
      if (p.host_port != 0) {
        InvalidEach(e, Child(pp, "hostPort"), std::to_string(p.host_port),
                    IsValidPortNum(p.host_port));
      }
      ValidateProtocol(e, Child(pp, "protocol"), p.protocol);
      if (!p.host_ip.empty()) ValidateIP(e, Child(pp, "hostIP"), p.host_ip);
    }
    for (size_t j = 0; j < c.env.size(); ++j) {
      const std::string ep = Idx(Child(cp, "env"), j);
      if (c.env[j].name.empty()) {
        Required(e, Child(ep, "name"));
      } else {
        InvalidEach(e, Child(ep, "name"), Q(c.env[j].name), IsEnvVarName(c.env[j].name));
      }
    }
    if (c.liveness_probe) {
      ValidateProbe(e, Child(cp, "livenessProbe"), *c.liveness_probe);
      if (!init && c.liveness_probe->success_threshold != 1) {
        Invalid(e, Child(Child(cp, "livenessProbe"), "successThreshold"),
                std::to_string(c.liveness_probe->success_threshold), "must be 1");
      }
    }
    if (c.readiness_probe) ValidateProbe(e, Child(cp, "readinessProbe"), *c.readiness_probe);
    if (c.startup_probe) {
      ValidateProbe(e, Child(cp, "startupProbe"), *c.startup_probe);
      if (c.startup_probe->success_threshold != 1) {
        Invalid(e, Child(Child(cp, "startupProbe"), "successThreshold"),
                std::to_string(c.startup_probe->success_threshold), "must be 1");
      }
    }
    if (c.lifecycle) {
      if (c.lifecycle->post_start) {
        ValidateHandler(e, Child(Child(cp, "lifecycle"), "postStart"), *c.lifecycle->post_start);
      }
      if (c.lifecycle->pre_stop) {
        ValidateHandler(e, Child(Child(cp, "lifecycle"), "preStop"), *c.lifecycle->pre_stop);
      }
    }
    if (!c.termination_message_policy.empty() && c.termination_message_policy != "File" &&
        c.termination_message_policy != "FallbackToLogsOnError") {
      NotSupported(e, Child(cp, "terminationMessagePolicy"), c.termination_message_policy,
                   {"File", "FallbackToLogsOnError"});
    }
    if (!c.image_pull_policy.empty() && c.image_pull_policy != "Always" &&
        c.image_pull_policy != "IfNotPresent" && c.image_pull_policy != "Never") {
      NotSupported(e, Child(cp, "imagePullPolicy"), c.image_pull_policy,
                   {"Always", "IfNotPresent", "Never"});
    }
  }
}

// validateHostNetwork: with the host's network namespace a port is the same on both sides.
void ValidateHostNetworkPorts(Errs& e, const std::vector<Container>& cs, const std::string& path) {
  for (size_t i = 0; i < cs.size(); ++i) {
    for (size_t j = 0; j < cs[i].ports.size(); ++j) {
      const ContainerPort& p = cs[i].ports[j];
      if (p.host_port != p.container_port) {
        Invalid(e, Child(Idx(Child(Idx(path, i), "ports"), j), "hostPort"),
                std::to_string(p.host_port),
                "must match `containerPort` when `hostNetwork` is true");
      }
    }
  }
}

void ValidatePodSpec(Errs& e, const PodSpec& s, const std::string& path) {
  std::set<std::string> names;
  if (s.containers.empty()) Required(e, Child(path, "containers"));
  if (s.host_network) {
    ValidateHostNetworkPorts(e, s.containers, Child(path, "containers"));
    ValidateHostNetworkPorts(e, s.init_containers, Child(path, "initContainers"));
  }
  ValidateContainers(e, Child(path, "containers"), s.containers, names, false);
  ValidateContainers(e, Child(path, "initContainers"), s.init_containers, names, true);
  const std::string& rp = s.restart_policy;
  if (rp.empty()) {
    Required(e, Child(path, "restartPolicy"));
  } else if (rp != "Always" && rp != "OnFailure" && rp != "Never") {
    NotSupported(e, Child(path, "restartPolicy"), rp, {"Always", "OnFailure", "Never"});
  }
  const std::string& dp = s.dns_policy;
  if (dp.empty()) {
    Required(e, Child(path, "dnsPolicy"));
  } else if (dp != "ClusterFirstWithHostNet" && dp != "ClusterFirst" && dp != "Default" &&
             dp != "None") {
    NotSupported(e, Child(path, "dnsPolicy"), dp,
                 {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
  } else if (dp == "None" && !s.dns_config.has_value()) {
    Required(e, Child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None");
  }
  if (s.termination_grace_period_seconds) {
    NonNegative(e, Child(path, "terminationGracePeriodSeconds"),
                *s.termination_grace_period_seconds);
  }
  if (s.active_deadline_seconds && *s.active_deadline_seconds <= 0) {
    Invalid(e, Child(path, "activeDeadlineSeconds"), std::to_string(*s.active_deadline_seconds),
            "must be between 1 and 2147483647, inclusive");
  }
  if (!s.hostname.empty()) {
    InvalidEach(e, Child(path, "hostname"), Q(s.hostname), IsDNS1123Label(s.hostname));
  }
  if (!s.subdomain.empty()) {
    InvalidEach(e, Child(path, "subdomain"), Q(s.subdomain), IsDNS1123Label(s.subdomain));
  }
  if (!s.node_name.empty()) {
    InvalidEach(e, Child(path, "nodeName"), Q(s.node_name), IsDNS1123Subdomain(s.node_name));
  }
  for (size_t i = 0; i < s.host_aliases.size(); ++i) {
    ValidateIP(e, Child(Idx(Child(path, "hostAliases"), i), "ip"), s.host_aliases[i].ip);
  }
}

// --- label selectors ----------------------------------------------------------------------------

bool SelectorEmpty(const LabelSelector& s) {
  return s.match_labels.empty() && s.match_expressions.empty();
}

void ValidateLabelSelector(Errs& e, const LabelSelector& s, const std::string& path) {
  ValidateLabels(e, s.match_labels, Child(path, "matchLabels"));
  for (size_t i = 0; i < s.match_expressions.size(); ++i) {
    const auto& r = s.match_expressions[i];
    const std::string rp = Idx(Child(path, "matchExpressions"), i);
    if (base::Status st = ValidateLabelKey(r.key); !st.ok()) {
      Invalid(e, Child(rp, "key"), Q(r.key), st.message());
    }
    if (r.operator_ == "In" || r.operator_ == "NotIn") {
      if (r.values.empty()) {
        Required(e, Child(rp, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
      }
    } else if (r.operator_ == "Exists" || r.operator_ == "DoesNotExist") {
      if (!r.values.empty()) {
        Forbidden(e, Child(rp, "values"),
                  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
    } else {
      Invalid(e, Child(rp, "operator"), Q(r.operator_), "not a valid selector operator");
    }
  }
}

// ValidatePodTemplateSpecForReplicaSet + the selector checks of Deployment/ReplicaSet specs.
void ValidateReplicatedSpec(Errs& e, const std::optional<LabelSelector>& selector,
                            const PodTemplateSpec& t, std::optional<int32_t> replicas,
                            int32_t min_ready_seconds) {
  if (replicas) NonNegative(e, "spec.replicas", *replicas);
  NonNegative(e, "spec.minReadySeconds", min_ready_seconds);
  if (!selector) {
    Required(e, "spec.selector");
  } else {
    ValidateLabelSelector(e, *selector, "spec.selector");
    if (SelectorEmpty(*selector)) {
      Invalid(e, "spec.selector", RenderSelector(*selector),
              "empty selector is invalid for deployment");
    }
  }
  if (selector && !SelectorEmpty(*selector)) {
    // An invalid selector was reported above; only a valid one is matched against the labels.
    auto parsed = Selector::FromLabelSelector(*selector);
    if (parsed.ok() && !parsed->Matches(t.metadata.labels)) {
      Invalid(e, "spec.template.metadata.labels", Json(t.metadata.labels),
              "`selector` does not match template `labels`");
    }
  }
  ValidateLabels(e, t.metadata.labels, "spec.template.metadata.labels");
  ValidateAnnotations(e, t.metadata.annotations, "spec.template.metadata.annotations");
  ValidatePodSpec(e, t.spec, "spec.template.spec");
  if (t.spec.restart_policy != "Always" && !t.spec.restart_policy.empty()) {
    NotSupported(e, "spec.template.spec.restartPolicy", t.spec.restart_policy, {"Always"});
  }
  if (t.spec.active_deadline_seconds) {
    Forbidden(e, "spec.template.spec.activeDeadlineSeconds",
              "activeDeadlineSeconds in ReplicaSet is not Supported");
  }
}

// --- NetworkPolicy ------------------------------------------------------------------------------

void ValidateNetworkPolicyPort(Errs& e, const NetworkPolicyPort& p, const std::string& path) {
  if (p.protocol && !ValidProtocol(*p.protocol)) {
    NotSupported(e, Child(path, "protocol"), *p.protocol, {"TCP", "UDP", "SCTP"});
  }
  if (p.port) {
    if (!p.port->is_string()) {
      int32_t port = p.port->int_value();
      InvalidEach(e, Child(path, "port"), std::to_string(port), IsValidPortNum(port));
      if (p.end_port) {
        if (*p.end_port < port) {
          Invalid(e, Child(path, "endPort"), std::to_string(port),
                  "must be greater than or equal to `port`");
        }
        InvalidEach(e, Child(path, "endPort"), std::to_string(*p.end_port),
                    IsValidPortNum(*p.end_port));
      }
    } else {
      if (p.end_port) {
        Invalid(e, Child(path, "endPort"), std::to_string(*p.end_port),
                "may not be specified when `port` is non-numeric");
      }
      InvalidEach(e, Child(path, "port"), Q(p.port->string_value()),
                  IsValidPortName(p.port->string_value()));
    }
  } else if (p.end_port) {
    Invalid(e, Child(path, "endPort"), std::to_string(*p.end_port),
            "may not be specified when `port` is not specified");
  }
}

void ValidateIPBlock(Errs& e, const IPBlock& b, const std::string& path) {
  if (b.cidr.empty()) {
    Required(e, Child(path, "cidr"));
    return;
  }
  ValidateCidr(e, Child(path, "cidr"), b.cidr);
  auto cidr = base::Cidr::ParseLoose(b.cidr);
  if (!cidr.ok()) return;
  for (size_t i = 0; i < b.except.size(); ++i) {
    const std::string ep = Idx(Child(path, "except"), i);
    ValidateCidr(e, ep, b.except[i]);
    auto except = base::Cidr::ParseLoose(b.except[i]);
    if (!except.ok()) continue;
    if (!cidr->Contains(except->network()) || cidr->prefix_len() >= except->prefix_len()) {
      Invalid(e, ep, Q(b.except[i]), "must be a strict subset of `cidr`");
    }
  }
}

void ValidatePeer(Errs& e, const NetworkPolicyPeer& p, const std::string& path) {
  int n = 0;
  if (p.pod_selector) {
    ++n;
    ValidateLabelSelector(e, *p.pod_selector, Child(path, "podSelector"));
  }
  if (p.namespace_selector) {
    ++n;
    ValidateLabelSelector(e, *p.namespace_selector, Child(path, "namespaceSelector"));
  }
  if (p.ip_block) {
    ++n;
    ValidateIPBlock(e, *p.ip_block, Child(path, "ipBlock"));
  }
  if (n == 0) {
    Required(e, path, "must specify a peer");
  } else if (n > 1 && p.ip_block) {
    Forbidden(e, path, "may not specify both ipBlock and another peer");
  }
}

template <class Rule>
void ValidateRules(Errs& e, const std::vector<Rule>& rules, const std::string& path,
                   std::string_view peers,
                   const std::vector<NetworkPolicyPeer>& (*get)(const Rule&)) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string rp = Idx(path, i);
    for (size_t j = 0; j < rules[i].ports.size(); ++j) {
      ValidateNetworkPolicyPort(e, rules[i].ports[j], Idx(Child(rp, "ports"), j));
    }
    const auto& ps = get(rules[i]);
    for (size_t j = 0; j < ps.size(); ++j) ValidatePeer(e, ps[j], Idx(Child(rp, peers), j));
  }
}

// IsFullyQualifiedDomainName.
void ValidateFQDN(Errs& e, const std::string& path, std::string_view name) {
  std::string_view n = name;
  if (!n.empty() && n.back() == '.') n.remove_suffix(1);
  if (n.empty()) {
    Required(e, path);
    return;
  }
  if (n.find('.') == std::string_view::npos) {
    Invalid(e, path, Q(name), "should be a domain with at least two segments separated by dots");
    return;
  }
  InvalidEach(e, path, Q(name), IsDNS1123Subdomain(n));
}

}  // namespace

// --- public -------------------------------------------------------------------------------------

std::string FieldError::ToString() const {
  static constexpr const char* kNames[] = {"Invalid value",   "Required value", "Unsupported value",
                                           "Duplicate value", "Too long",       "Forbidden",
                                           "Too many"};
  std::string s = field + ": " + kNames[type];
  if (type == kInvalid || type == kNotSupported || type == kDuplicate || type == kTooMany) {
    s += ": " + value;
  }
  if (!detail.empty()) s += ": " + detail;
  return s;
}

base::Status ToStatus(const std::vector<FieldError>& errors, std::string_view kind,
                      std::string_view name) {
  if (errors.empty()) return base::OkStatus();
  // utilerrors.NewAggregate(...).Error(): one message as is, several as [a, b], duplicates once.
  std::vector<std::string> msgs;
  std::set<std::string> seen;
  for (const auto& e : errors) {
    std::string m = e.ToString();
    if (seen.insert(m).second) msgs.push_back(std::move(m));
  }
  std::string agg;
  if (msgs.size() == 1) {
    agg = msgs[0];
  } else {
    agg = "[";
    for (size_t i = 0; i < msgs.size(); ++i) agg += (i ? ", " : "") + msgs[i];
    agg += "]";
  }
  return base::InvalidArgumentError(std::string(kind) + " " + Q(name) + " is invalid: " + agg);
}

std::vector<std::string> IsDNS1123Label(std::string_view value) {
  std::vector<std::string> msgs;
  if (value.size() > kDNS1123LabelMaxLength) msgs.push_back(MaxLenError(kDNS1123LabelMaxLength));
  if (!MatchesDNS1123Label(value)) {
    msgs.push_back(RegexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?", {"my-name", "123-abc"}));
  }
  return msgs;
}

std::vector<std::string> IsDNS1123Subdomain(std::string_view value) {
  std::vector<std::string> msgs;
  if (value.size() > kDNS1123SubdomainMaxLength) {
    msgs.push_back(MaxLenError(kDNS1123SubdomainMaxLength));
  }
  bool ok = !value.empty();
  size_t start = 0;
  while (ok) {
    size_t dot = value.find('.', start);
    std::string_view part = value.substr(start, dot == std::string_view::npos ? dot : dot - start);
    ok = MatchesDNS1123Label(part);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!ok) {
    msgs.push_back(RegexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
        "'.', and must start and end with an alphanumeric character",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", {"example.com"}));
  }
  return msgs;
}

std::vector<std::string> IsDNS1035Label(std::string_view value) {
  std::vector<std::string> msgs;
  if (value.size() > kDNS1123LabelMaxLength) msgs.push_back(MaxLenError(kDNS1123LabelMaxLength));
  bool ok = MatchesDNS1123Label(value) && value.front() >= 'a' && value.front() <= 'z';
  if (!ok) {
    msgs.push_back(RegexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character",
        "[a-z]([-a-z0-9]*[a-z0-9])?", {"my-name", "abc-123"}));
  }
  return msgs;
}

std::vector<std::string> IsValidPortNum(int64_t port) {
  if (port >= 1 && port <= 65535) return {};
  return {"must be between 1 and 65535, inclusive"};
}

std::vector<std::string> IsValidPortName(std::string_view name) {
  std::vector<std::string> msgs;
  if (name.size() > 15) msgs.push_back(MaxLenError(15));
  if (name.empty() ||
      !std::all_of(name.begin(), name.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; })) {
    msgs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (std::none_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    msgs.push_back("must contain at least one letter (a-z)");
  }
  if (name.find("--") != std::string_view::npos) {
    msgs.push_back("must not contain consecutive hyphens");
  }
  if (!name.empty() && (name.front() == '-' || name.back() == '-')) {
    msgs.push_back("must not begin or end with a hyphen");
  }
  return msgs;
}

std::vector<FieldError> ValidateService(const Service& svc) {
  Errs e;
  const ServiceSpec& s = svc.spec;
  ValidateObjectMeta(e, svc.metadata, true, &IsDNS1035Label);
  const bool headless = s.cluster_ip == "None";
  const bool external_name = s.type == "ExternalName";
  if (s.type != "ClusterIP" && s.type != "NodePort" && s.type != "LoadBalancer" && !external_name) {
    NotSupported(e, "spec.type", s.type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"});
  }
  if (external_name) {
    if (!s.cluster_ip.empty()) {
      Forbidden(e, "spec.clusterIP", "may not be set for ExternalName services");
    }
    if (!s.cluster_ips.empty()) {
      Forbidden(e, "spec.clusterIPs", "may not be set for ExternalName services");
    }
    if (!s.ip_families.empty()) {
      Forbidden(e, "spec.ipFamilies", "may not be set for ExternalName services");
    }
    if (s.ip_family_policy) {
      Forbidden(e, "spec.ipFamilyPolicy", "may not be set for ExternalName services");
    }
    std::string_view cname = s.external_name;
    if (!cname.empty() && cname.back() == '.') cname.remove_suffix(1);
    if (cname.empty()) {
      Required(e, "spec.externalName");
    } else {
      InvalidEach(e, "spec.externalName", Q(cname), IsDNS1123Subdomain(cname));
    }
  }
  if (s.ports.empty() && !headless && !external_name) Required(e, "spec.ports");
  std::set<std::string> port_names;
  for (size_t i = 0; i < s.ports.size(); ++i) {
    const ServicePort& p = s.ports[i];
    const std::string pp = Idx("spec.ports", i);
    // validateServicePort: names are DNS-1123 labels, required and unique with several ports.
    if (s.ports.size() > 1 && p.name.empty()) {
      Required(e, Child(pp, "name"));
    } else if (!p.name.empty()) {
      InvalidEach(e, Child(pp, "name"), Q(p.name), IsDNS1123Label(p.name));
      if (!port_names.insert(p.name).second) Duplicate(e, Child(pp, "name"), Q(p.name));
    }
    InvalidEach(e, Child(pp, "port"), std::to_string(p.port), IsValidPortNum(p.port));
    ValidateProtocol(e, Child(pp, "protocol"), p.protocol);
    ValidatePortNumOrName(e, Child(pp, "targetPort"), p.target_port);
    // Only syntax: whether it is inside --service-node-port-range is the allocator's business.
    if (p.node_port != 0) {
      InvalidEach(e, Child(pp, "nodePort"), std::to_string(p.node_port),
                  IsValidPortNum(p.node_port));
    }
    if (p.node_port != 0 && s.type == "ClusterIP") {
      Forbidden(e, Child(pp, "nodePort"), "may not be used when `type` is 'ClusterIP'");
    }
  }
  // Duplicate (protocol, port) and (protocol, nodePort) pairs.
  std::set<std::pair<std::string, int32_t>> seen_ports, seen_node_ports;
  for (size_t i = 0; i < s.ports.size(); ++i) {
    const ServicePort& p = s.ports[i];
    if (!seen_ports.insert({p.protocol, p.port}).second) {
      Duplicate(e, Idx("spec.ports", i),
                "{\"Name\":\"\",\"Protocol\":" + Q(p.protocol) + ",\"AppProtocol\":null,\"Port\":" +
                    std::to_string(p.port) + ",\"TargetPort\":0,\"NodePort\":0}");
    }
    if (p.node_port != 0 && !seen_node_ports.insert({p.protocol, p.node_port}).second) {
      Duplicate(e, Child(Idx("spec.ports", i), "nodePort"), std::to_string(p.node_port));
    }
  }
  // Cluster IPs.
  if (!external_name) {
    if (!s.cluster_ip.empty() && s.cluster_ip != "None") {
      ValidateIP(e, "spec.clusterIP", s.cluster_ip);
    }
    // An empty clusterIPs with a clusterIP set is allowed: the API server syncs the two first.
    if (!s.cluster_ips.empty()) {
      if (s.cluster_ip.empty()) {
        Invalid(e, "spec.clusterIPs", Json(s.cluster_ips),
                "must be empty when `clusterIP` is not specified");
      } else if (s.cluster_ips[0] != s.cluster_ip) {
        Invalid(e, "spec.clusterIPs", Json(s.cluster_ips), "first value must match `clusterIP`");
      }
    }
    for (size_t i = 0; i < s.cluster_ips.size(); ++i) {
      if (i == 0 && s.cluster_ips[0] == "None") {
        if (s.cluster_ips.size() > 1) {
          Invalid(e, "spec.clusterIPs", Json(s.cluster_ips),
                  "'None' must be the first and only value");
        }
        continue;
      }
      ValidateIP(e, Idx("spec.clusterIPs", i), s.cluster_ips[i]);
    }
    if (s.cluster_ips.size() > 2) {
      Invalid(e, "spec.clusterIPs", Json(s.cluster_ips), "may only hold up to 2 values");
    }
    std::set<std::string> families;
    for (size_t i = 0; i < s.ip_families.size(); ++i) {
      const std::string& f = s.ip_families[i];
      if (f != "IPv4" && f != "IPv6")
        NotSupported(e, Idx("spec.ipFamilies", i), f, {"IPv4", "IPv6"});
      if (!families.insert(f).second) Duplicate(e, Idx("spec.ipFamilies", i), Q(f));
    }
    if (s.ip_family_policy && *s.ip_family_policy != "SingleStack" &&
        *s.ip_family_policy != "PreferDualStack" && *s.ip_family_policy != "RequireDualStack") {
      NotSupported(e, "spec.ipFamilyPolicy", *s.ip_family_policy,
                   {"PreferDualStack", "RequireDualStack", "SingleStack"});
    }
    if (headless && (s.type == "NodePort" || s.type == "LoadBalancer")) {
      Invalid(e, "spec.clusterIPs[0]", Q("None"),
              "may not be set to 'None' for " + s.type + " services");
    }
  }
  // Session affinity.
  if (s.session_affinity != "None" && s.session_affinity != "ClientIP") {
    NotSupported(e, "spec.sessionAffinity", s.session_affinity, {"ClientIP", "None"});
  }
  const std::string when_client_ip = "when session affinity type is ClientIP";
  if (s.session_affinity == "ClientIP") {
    if (!s.session_affinity_config) {
      Required(e, "spec.sessionAffinityConfig", when_client_ip);
    } else if (!s.session_affinity_config->client_ip) {
      Required(e, "spec.sessionAffinityConfig.clientIP", when_client_ip);
    } else if (!s.session_affinity_config->client_ip->timeout_seconds) {
      Required(e, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", when_client_ip);
    } else {
      int32_t t = *s.session_affinity_config->client_ip->timeout_seconds;
      if (t <= 0 || t > kMaxClientIPServiceAffinitySeconds) {
        Invalid(e, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", std::to_string(t),
                "must be greater than 0 and less than " +
                    std::to_string(kMaxClientIPServiceAffinitySeconds));
      }
    }
  } else if (s.session_affinity == "None" && s.session_affinity_config) {
    Forbidden(e, "spec.sessionAffinityConfig", "must not be set when session affinity is None");
  }
  // Traffic policies.
  const bool externally_accessible = s.type == "NodePort" || s.type == "LoadBalancer" ||
                                     (s.type == "ClusterIP" && !s.external_ips.empty());
  if (!externally_accessible) {
    if (!s.external_traffic_policy.empty()) {
      Invalid(e, "spec.externalTrafficPolicy", Q(s.external_traffic_policy),
              "may only be set for externally-accessible services");
    }
  } else if (s.external_traffic_policy.empty()) {
    Required(e, "spec.externalTrafficPolicy");
  } else if (s.external_traffic_policy != "Cluster" && s.external_traffic_policy != "Local") {
    NotSupported(e, "spec.externalTrafficPolicy", s.external_traffic_policy, {"Cluster", "Local"});
  }
  if (s.health_check_node_port < 0) {
    Invalid(e, "spec.healthCheckNodePort", std::to_string(s.health_check_node_port),
            "must be not less than 0");
  } else if (s.health_check_node_port != 0 &&
             !(s.type == "LoadBalancer" && s.external_traffic_policy == "Local")) {
    Invalid(e, "spec.healthCheckNodePort", std::to_string(s.health_check_node_port),
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is "
            "'Local'");
  }
  if (!s.internal_traffic_policy) {
    if (s.type == "NodePort" || s.type == "LoadBalancer" || s.type == "ClusterIP") {
      Required(e, "spec.internalTrafficPolicy");
    }
  } else if (*s.internal_traffic_policy != "Cluster" && *s.internal_traffic_policy != "Local") {
    NotSupported(e, "spec.internalTrafficPolicy", *s.internal_traffic_policy, {"Cluster", "Local"});
  }
  // External addresses.
  for (size_t i = 0; i < s.external_ips.size(); ++i) {
    const std::string ip = Idx("spec.externalIPs", i);
    if (!IsValidIP(s.external_ips[i])) {
      ValidateIP(e, ip, s.external_ips[i]);
    } else {
      ValidateNonSpecialIP(e, ip, s.external_ips[i]);
    }
  }
  if (!s.load_balancer_source_ranges.empty()) {
    const std::string path = "spec.LoadBalancerSourceRanges";  // sic: upstream's spelling
    if (s.type != "LoadBalancer") {
      Forbidden(e, path, "may only be used when `type` is 'LoadBalancer'");
    }
    for (size_t i = 0; i < s.load_balancer_source_ranges.size(); ++i) {
      std::string v = s.load_balancer_source_ranges[i];
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t") + 1);
      ValidateCidr(e, Idx(path, i), v);
    }
  }
  if (s.allocate_load_balancer_node_ports && s.type != "LoadBalancer") {
    Forbidden(e, "spec.allocateLoadBalancerNodePorts",
              "may only be used when `type` is 'LoadBalancer'");
  }
  return e;
}

std::vector<FieldError> ValidatePod(const Pod& pod) {
  Errs e;
  ValidateObjectMeta(e, pod.metadata, true, &IsDNS1123Subdomain);
  ValidatePodSpec(e, pod.spec, "spec");
  return e;
}

std::vector<FieldError> ValidateDeployment(const Deployment& d) {
  Errs e;
  ValidateObjectMeta(e, d.metadata, true, &IsDNS1123Subdomain);
  const DeploymentSpec& s = d.spec;
  ValidateReplicatedSpec(e, s.selector, s.template_, s.replicas, s.min_ready_seconds);
  const DeploymentStrategy& st = s.strategy;
  if (st.type == "Recreate") {
    if (st.rolling_update) {
      Forbidden(e, "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'");
    }
  } else if (st.type == "RollingUpdate") {
    if (!st.rolling_update) {
      Required(e, "spec.strategy.rollingUpdate", "this should be defaulted and never be nil");
    } else {
      const IntOrString zero = IntOrString::FromInt(0);
      const IntOrString& mu = st.rolling_update->max_unavailable.value_or(zero);
      const IntOrString& ms = st.rolling_update->max_surge.value_or(zero);
      auto check = [&](const IntOrString& v, const std::string& path) -> int64_t {
        if (!v.is_string()) {
          NonNegative(e, path, v.int_value());
          return v.int_value();
        }
        const std::string& sv = v.string_value();
        bool ok =
            sv.size() >= 2 && sv.back() == '%' && std::all_of(sv.begin(), sv.end() - 1, IsDigit);
        if (!ok) {
          Invalid(e, path, Q(sv),
                  RegexError("a valid percent string must be a numeric string followed by an "
                             "ending '%'",
                             "[0-9]+%", {"1%", "93%"}));
          return -1;
        }
        return std::stoll(sv.substr(0, std::min<size_t>(sv.size() - 1, 9)));
      };
      int64_t u = check(mu, "spec.strategy.rollingUpdate.maxUnavailable");
      int64_t sg = check(ms, "spec.strategy.rollingUpdate.maxSurge");
      if (u == 0 && sg == 0) {
        Invalid(e, "spec.strategy.rollingUpdate.maxUnavailable", Render(mu),
                "may not be 0 when `maxSurge` is 0");
      }
      if (mu.is_string() && u > 100) {
        Invalid(e, "spec.strategy.rollingUpdate.maxUnavailable", Render(mu),
                "must not be greater than 100%");
      }
    }
  } else {
    NotSupported(e, "spec.strategy", st.type, {"Recreate", "RollingUpdate"});
  }
  if (s.revision_history_limit)
    NonNegative(e, "spec.revisionHistoryLimit", *s.revision_history_limit);
  if (s.progress_deadline_seconds) {
    NonNegative(e, "spec.progressDeadlineSeconds", *s.progress_deadline_seconds);
    if (*s.progress_deadline_seconds <= s.min_ready_seconds) {
      Invalid(e, "spec.progressDeadlineSeconds", std::to_string(*s.progress_deadline_seconds),
              "must be greater than minReadySeconds");
    }
  }
  return e;
}

std::vector<FieldError> ValidateReplicaSet(const ReplicaSet& rs) {
  Errs e;
  ValidateObjectMeta(e, rs.metadata, true, &IsDNS1123Subdomain);
  ValidateReplicatedSpec(e, rs.spec.selector, rs.spec.template_, rs.spec.replicas,
                         rs.spec.min_ready_seconds);
  return e;
}

std::vector<FieldError> ValidateNetworkPolicy(const NetworkPolicy& np) {
  Errs e;
  ValidateObjectMeta(e, np.metadata, true, &IsDNS1123Subdomain);
  const NetworkPolicySpec& s = np.spec;
  ValidateLabelSelector(e, s.pod_selector, "spec.podSelector");
  ValidateRules<NetworkPolicyIngressRule>(
      e, s.ingress, "spec.ingress", "from",
      [](const NetworkPolicyIngressRule& r) -> const std::vector<NetworkPolicyPeer>& {
        return r.from;
      });
  ValidateRules<NetworkPolicyEgressRule>(
      e, s.egress, "spec.egress", "to",
      [](const NetworkPolicyEgressRule& r) -> const std::vector<NetworkPolicyPeer>& {
        return r.to;
      });
  if (s.policy_types.size() > 2) {
    Invalid(e, "spec.policyTypes", Json(s.policy_types),
            "may not specify more than two policyTypes");
    return e;
  }
  for (size_t i = 0; i < s.policy_types.size(); ++i) {
    if (s.policy_types[i] != "Ingress" && s.policy_types[i] != "Egress") {
      NotSupported(e, Idx("spec.policyTypes", i), s.policy_types[i], {"Ingress", "Egress"});
    }
  }
  return e;
}

std::vector<FieldError> ValidateEndpointSlice(const EndpointSlice& slice) {
  Errs e;
  ValidateObjectMeta(e, slice.metadata, true, &IsDNS1123Subdomain);
  const std::string& at = slice.address_type;
  if (at != "IPv4" && at != "IPv6" && at != "FQDN") {
    NotSupported(e, "addressType", at, {"FQDN", "IPv4", "IPv6"});
  }
  if (slice.endpoints.size() > 1000) {
    e.push_back({FieldError::kTooMany, "endpoints", std::to_string(slice.endpoints.size()),
                 "must have at most 1000 items"});
  }
  for (size_t i = 0; i < slice.endpoints.size(); ++i) {
    const Endpoint& ep = slice.endpoints[i];
    const std::string path = Idx("endpoints", i);
    const std::string ap = Child(path, "addresses");
    if (ep.addresses.empty()) {
      Required(e, ap, "must contain at least 1 address");
    } else if (ep.addresses.size() > 100) {
      e.push_back({FieldError::kTooMany, ap, std::to_string(ep.addresses.size()),
                   "must have at most 100 items"});
    }
    for (size_t j = 0; j < ep.addresses.size(); ++j) {
      const std::string& a = ep.addresses[j];
      const std::string fp = Idx(ap, j);
      if (at == "IPv4" || at == "IPv6") {
        auto ip = base::IPAddress::Parse(a);
        if (!ip.ok() || (at == "IPv4") != ip->is_v4()) {
          Invalid(e, fp, Q(a),
                  at == "IPv4" ? "must be a valid IPv4 address" : "must be a valid IPv6 address");
        } else {
          ValidateNonSpecialIP(e, fp, a);
        }
      } else if (at == "FQDN") {
        ValidateFQDN(e, fp, a);
      }
    }
    if (ep.node_name) {
      InvalidEach(e, Child(path, "nodeName"), Q(*ep.node_name), IsDNS1123Subdomain(*ep.node_name));
    }
    if (ep.hostname) {
      InvalidEach(e, Child(path, "hostname"), Q(*ep.hostname), IsDNS1123Label(*ep.hostname));
    }
  }
  if (slice.ports.size() > 100) {
    e.push_back({FieldError::kTooMany, "ports", std::to_string(slice.ports.size()),
                 "must have at most 100 items"});
  }
  std::set<std::string> names;
  for (size_t i = 0; i < slice.ports.size(); ++i) {
    const EndpointSlicePort& p = slice.ports[i];
    const std::string path = Idx("ports", i);
    const std::string name = p.name.value_or("");
    if (!name.empty()) InvalidEach(e, Child(path, "name"), Q(name), IsDNS1123Label(name));
    if (!names.insert(name).second) Duplicate(e, Child(path, "name"), Q(name));
    if (!p.protocol) {
      Required(e, Child(path, "protocol"));
    } else if (!ValidProtocol(*p.protocol)) {
      NotSupported(e, Child(path, "protocol"), *p.protocol, {"SCTP", "TCP", "UDP"});
    }
    if (p.port) {
      InvalidEach(e, Child(path, "port"), std::to_string(*p.port), IsValidPortNum(*p.port));
    }
  }
  return e;
}

std::vector<FieldError> ValidateNode(const Node& node) {
  Errs e;
  ValidateObjectMeta(e, node.metadata, false, &IsDNS1123Subdomain);
  const NodeSpec& s = node.spec;
  if (!s.pod_cidr.empty()) ValidateCidr(e, "spec.podCIDR", s.pod_cidr);
  for (size_t i = 0; i < s.pod_cidrs.size(); ++i) {
    ValidateCidr(e, Idx("spec.podCIDRs", i), s.pod_cidrs[i]);
  }
  if (s.pod_cidrs.size() > 1) {
    int v4 = 0, v6 = 0;
    for (const auto& c : s.pod_cidrs) {
      auto p = base::Cidr::ParseLoose(c);
      if (p.ok()) (p->is_v4() ? v4 : v6)++;
    }
    if (s.pod_cidrs.size() > 2 || v4 != 1 || v6 != 1) {
      Invalid(e, "spec.podCIDRs", Json(s.pod_cidrs),
              "may specify no more than one CIDR for each IP family");
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < s.pod_cidrs.size(); ++i) {
      if (!seen.insert(s.pod_cidrs[i]).second) {
        Duplicate(e, Idx("spec.podCIDRs", i), Q(s.pod_cidrs[i]));
      }
    }
  }
  return e;
}

std::vector<FieldError> ValidateNamespace(const Namespace& ns) {
  Errs e;
  ValidateObjectMeta(e, ns.metadata, false, &IsDNS1123Label);
  return e;
}

std::vector<FieldError> ValidateLease(const Lease& lease) {
  Errs e;
  ValidateObjectMeta(e, lease.metadata, true, &IsDNS1123Subdomain);
  if (lease.spec.lease_duration_seconds && *lease.spec.lease_duration_seconds <= 0) {
    Invalid(e, "spec.leaseDurationSeconds", std::to_string(*lease.spec.lease_duration_seconds),
            "must be greater than 0");
  }
  if (lease.spec.lease_transitions) {
    NonNegative(e, "spec.leaseTransitions", *lease.spec.lease_transitions);
  }
  return e;
}

std::vector<FieldError> ValidateObject(const Object& obj) {
  return std::visit(
      [](const auto& o) -> std::vector<FieldError> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Service>)
          return ValidateService(o);
        else if constexpr (std::is_same_v<T, Pod>)
          return ValidatePod(o);
        else if constexpr (std::is_same_v<T, Deployment>)
          return ValidateDeployment(o);
        else if constexpr (std::is_same_v<T, ReplicaSet>)
          return ValidateReplicaSet(o);
        else if constexpr (std::is_same_v<T, NetworkPolicy>)
          return ValidateNetworkPolicy(o);
        else if constexpr (std::is_same_v<T, EndpointSlice>)
          return ValidateEndpointSlice(o);
        else if constexpr (std::is_same_v<T, Node>)
          return ValidateNode(o);
        else if constexpr (std::is_same_v<T, Namespace>)
          return ValidateNamespace(o);
        else if constexpr (std::is_same_v<T, Lease>)
          return ValidateLease(o);
        else {
          Errs e;
          ValidateObjectMeta(e, o.metadata, true, &IsDNS1123Subdomain);
          return e;
        }
      },
      obj);
}

}  // namespace knet::api
