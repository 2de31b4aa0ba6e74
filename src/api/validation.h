// File: api/validation.h
//
// Validation of API objects as the Kubernetes API server does it
// (k8s.io/kubernetes/pkg/apis/core/validation and friends), with upstream's field paths and
// messages, so that errors read exactly like kubectl's:
//
//   std::vector<FieldError> errs = ValidateService(svc);
//   // errs[0].ToString() == "spec.ports[0].port: Invalid value: 70000: must be between 1 and
//   //                        65535, inclusive"
//   base::Status s = ToStatus(errs, "Service", svc.metadata.name);
//   // s.message() == "Service \"web\" is invalid: spec.ports[0].port: ..."
//
// Validation expects defaulted objects (see api/defaults.h): like the API server, it treats an
// empty protocol or restartPolicy as missing. Checks that need cluster state (the NodePort
// range, the Service CIDR, immutability on update) are not done here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "base/status.h"

namespace knet::api {

// One problem with one field: field.Error upstream.
struct FieldError {
  enum Type { kInvalid, kRequired, kNotSupported, kDuplicate, kTooLong, kForbidden, kTooMany };
  Type type = kInvalid;
  std::string field;   // "spec.ports[0].port"
  std::string value;   // already rendered as upstream does: 70000, "Foo", ["a","b"]
  std::string detail;  // "must be between 1 and 65535, inclusive"

  // "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive".
  // Required, Forbidden and TooLong leave the value out, as upstream does.
  std::string ToString() const;

  bool operator==(const FieldError&) const = default;
};

std::vector<FieldError> ValidateService(const Service& svc);
std::vector<FieldError> ValidatePod(const Pod& pod);
std::vector<FieldError> ValidateDeployment(const Deployment& d);
std::vector<FieldError> ValidateReplicaSet(const ReplicaSet& rs);
std::vector<FieldError> ValidateNetworkPolicy(const NetworkPolicy& np);
std::vector<FieldError> ValidateEndpointSlice(const EndpointSlice& slice);
std::vector<FieldError> ValidateNode(const Node& node);
std::vector<FieldError> ValidateNamespace(const Namespace& ns);
std::vector<FieldError> ValidateLease(const Lease& lease);
// Dispatches on the kind. Endpoints and Event get only their metadata checked.
std::vector<FieldError> ValidateObject(const Object& obj);

// OK if `errors` is empty; otherwise InvalidArgument with k8s' NewInvalid message:
// `Service "web" is invalid: <error>`, or `... is invalid: [<error>, <error>]` for several.
base::Status ToStatus(const std::vector<FieldError>& errors, std::string_view kind,
                      std::string_view name);

// Upstream's validation.Is* helpers: an empty vector means valid, otherwise the messages.
std::vector<std::string> IsDNS1123Label(std::string_view value);
std::vector<std::string> IsDNS1123Subdomain(std::string_view value);
std::vector<std::string> IsDNS1035Label(std::string_view value);
std::vector<std::string> IsValidPortNum(int64_t port);
std::vector<std::string> IsValidPortName(std::string_view name);  // IANA_SVC_NAME

}  // namespace knet::api
