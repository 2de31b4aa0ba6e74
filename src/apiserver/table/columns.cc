// Column definitions per kind, as upstream's AddHandlers registers them. Descriptions are the
// API field documentation upstream takes from SwaggerDoc(); kubectl only shows them in
// `kubectl explain`-like tools, but they are part of the Table a client receives.
#include <array>
#include <span>
#include <string_view>

#include "apiserver/table/internal/printers.h"

namespace knet::apiserver::table::table_internal {
namespace {

constexpr std::string_view kNameDoc =
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
constexpr std::string_view kAgeDoc =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata";
constexpr std::string_view kContainersDoc = "Names of each container in the template.";
constexpr std::string_view kImagesDoc = "Images referenced by each container in the template.";

constexpr Column Name() { return {"Name", "string", "name", kNameDoc, 0}; }
constexpr Column Age() { return {"Age", "string", "", kAgeDoc, 0}; }

constexpr std::array kGeneric{Name(), Age()};

constexpr std::array kPod{
    Name(),
    Column{"Ready", "string", "",
           "The aggregate readiness state of this pod for accepting traffic.", 0},
    Column{"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    Column{"Restarts", "string", "",
           "The number of times the containers in this pod have been restarted and when the last "
           "container in this pod has restarted.",
           0},
    Age(),
    Column{"IP", "string", "",
           "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
           "yet allocated.",
           1},
    Column{"Node", "string", "",
           "NodeName indicates in which node this pod is scheduled. If empty, this pod is a "
           "candidate for scheduling by the scheduler defined in schedulerName. Once this field is "
           "set, the kubelet for this node becomes responsible for the lifecycle of this pod. This "
           "field should not be used to express a desire for the pod to be scheduled on a specific "
           "node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/"
           "#nodename",
           1},
    Column{"Nominated Node", "string", "",
           "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
           "cannot be scheduled right away as preemption victims receive their graceful "
           "termination periods. This field does not guarantee that the pod will be scheduled on "
           "this node. Scheduler may decide to place the pod elsewhere if other nodes become "
           "available sooner. Scheduler may also decide to give the resources on this node to a "
           "higher priority pod that is created after preemption. As a result, this field may be "
           "different than PodSpec.nodeName when the pod is scheduled.",
           1},
    Column{"Readiness Gates", "string", "",
           "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready "
           "when all its containers are ready AND all conditions specified in the readiness gates "
           "have status equal to \"True\" More info: "
           "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
           1},
};

constexpr std::array kService{
    Name(),
    Column{"Type", "string", "",
           "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
           "ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a "
           "cluster-internal IP address for load-balancing to endpoints. Endpoints are determined "
           "by the selector or if that is not specified, by manual construction of an Endpoints "
           "object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated "
           "and the endpoints are published as a set of endpoints rather than a virtual IP. "
           "\"NodePort\" builds on ClusterIP and allocates a port on every node which routes to "
           "the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates "
           "an external load-balancer (if supported in the current cloud) which routes to the "
           "same endpoints as the clusterIP. \"ExternalName\" aliases this service to the "
           "specified externalName. Several other fields do not apply to ExternalName services. "
           "More info: https://kubernetes.io/docs/concepts/services-networking/service/"
           "#publishing-services-service-types",
           0},
    Column{"Cluster-IP", "string", "",
           "clusterIP is the IP address of the service and is usually assigned randomly. If an "
           "address is specified manually, is in-range (as per system configuration), and is not "
           "in use, it will be allocated to the service; otherwise creation of the service will "
           "fail. This field may not be changed through updates unless the type field is also "
           "being changed to ExternalName (which requires this field to be blank) or the type "
           "field is being changed from ExternalName (in which case this field may optionally be "
           "specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a "
           "valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual "
           "IP), which is useful when direct endpoint connections are preferred and proxying is "
           "not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this "
           "field is specified when creating a Service of type ExternalName, creation will fail. "
           "This field will be wiped when updating a Service to type ExternalName. More info: "
           "https://kubernetes.io/docs/concepts/services-networking/service/"
           "#virtual-ips-and-service-proxies",
           0},
    Column{"External-IP", "string", "",
           "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
           "traffic for this service.  These IPs are not managed by Kubernetes.  The user is "
           "responsible for ensuring that traffic arrives at a node with this IP.  A common "
           "example is external load-balancers that are not part of the Kubernetes system.",
           0},
    Column{"Port(s)", "string", "",
           "The list of ports that are exposed by this service. More info: "
           "https://kubernetes.io/docs/concepts/services-networking/service/"
           "#virtual-ips-and-service-proxies",
           0},
    Age(),
    Column{"Selector", "string", "",
           "Route service traffic to pods with label keys and values matching this selector. If "
           "empty or not present, the service is assumed to have an external process managing "
           "its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, "
           "NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: "
           "https://kubernetes.io/docs/concepts/services-networking/service/",
           1},
};

constexpr std::array kEndpoints{
    Name(),
    Column{"Endpoints", "string", "",
           "The set of all endpoints is the union of all subsets. Addresses are placed into "
           "subsets according to the IPs they share. A single address with multiple ports, some "
           "of which are ready and some of which are not (because they come from different "
           "containers) will result in the address being displayed in different subsets for the "
           "different ports. No address will appear in both Addresses and NotReadyAddresses in "
           "the same subset. Sets of addresses and ports that comprise a service.",
           0},
    Age(),
};

constexpr std::array kEndpointSlice{
    Name(),
    Column{"AddressType", "string", "",
           "addressType specifies the type of address carried by this EndpointSlice. All "
           "addresses in this slice must be the same type. This field is immutable after "
           "creation. The following address types are currently supported: * IPv4: Represents "
           "an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully "
           "Qualified Domain Name.",
           0},
    Column{"Ports", "string", "",
           "ports specifies the list of network ports exposed by each endpoint in this slice. "
           "Each port must have a unique name. When ports is empty, it indicates that there are "
           "no defined ports. When a port is defined with a nil port value, it indicates \"all "
           "ports\". Each slice may include a maximum of 100 ports.",
           0},
    Column{"Endpoints", "string", "",
           "endpoints is a list of unique endpoints in this slice. Each slice may include a "
           "maximum of 1000 endpoints.",
           0},
    Age(),
};

constexpr std::string_view kAddressesDoc =
    "List of addresses reachable to the node. Queried from cloud provider, if available. More "
    "info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is "
    "declared as mergeable, but the merge key is not sufficiently unique, which can cause data "
    "corruption when it is merged. Callers should instead use a full-replacement patch. See "
    "https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change "
    "during the lifetime of a Node. However, there are some exceptions where this may not be "
    "possible, such as Pods that inherit a Node's address in its own status or consumers of the "
    "downward API (status.hostIP).";

constexpr std::array kNode{
    Name(),
    Column{"Status", "string", "", "The status of the node", 0},
    Column{"Roles", "string", "", "The roles of the node", 0},
    Age(),
    Column{"Version", "string", "", "Kubelet Version reported by the node.", 0},
    Column{"Internal-IP", "string", "", kAddressesDoc, 1},
    Column{"External-IP", "string", "", kAddressesDoc, 1},
    Column{"OS-Image", "string", "",
           "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
           "(wheezy)).",
           1},
    Column{"Kernel-Version", "string", "",
           "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1},
    Column{"Container-Runtime", "string", "",
           "ContainerRuntime Version reported by the node through runtime remote API (e.g. "
           "containerd://1.4.2).",
           1},
};

constexpr std::array kNamespace{
    Name(),
    Column{"Status", "string", "", "The status of the namespace", 0},
    Age(),
};

constexpr std::array kDeployment{
    Name(),
    Column{"Ready", "string", "", "Number of the pod with ready state", 0},
    Column{"Up-to-date", "string", "",
           "Total number of non-terminated pods targeted by this deployment that have the "
           "desired template spec.",
           0},
    Column{"Available", "string", "",
           "Total number of available non-terminating pods (ready for at least minReadySeconds) "
           "targeted by this deployment.",
           0},
    Age(),
    Column{"Containers", "string", "", kContainersDoc, 1},
    Column{"Images", "string", "", kImagesDoc, 1},
    Column{"Selector", "string", "",
           "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be "
           "the ones affected by this deployment. It must match the pod template's labels.",
           1},
};

constexpr std::array kReplicaSet{
    Name(),
    Column{"Desired", "integer", "",
           "Replicas is the number of desired pods. This is a pointer to distinguish between "
           "explicit zero and unspecified. Defaults to 1. More info: "
           "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
           0},
    Column{"Current", "integer", "",
           "Replicas is the most recently observed number of non-terminating pods. More info: "
           "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
           0},
    Column{"Ready", "integer", "",
           "The number of non-terminating pods targeted by this ReplicaSet with a Ready "
           "Condition.",
           0},
    Age(),
    Column{"Containers", "string", "", kContainersDoc, 1},
    Column{"Images", "string", "", kImagesDoc, 1},
    Column{"Selector", "string", "",
           "Selector is a label query over pods that should match the replica count. Label keys "
           "and values that must match in order to be controlled by this replica set. It must "
           "match the pod template's labels. More info: "
           "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/"
           "#label-selectors",
           1},
};

constexpr std::array kNetworkPolicy{
    Name(),
    Column{"Pod-Selector", "string", "",
           "podSelector selects the pods to which this NetworkPolicy object applies. The array of "
           "rules is applied to any pods selected by this field. An empty selector matches all "
           "pods in the policy's namespace. Multiple network policies can select the same set of "
           "pods. In this case, the ingress rules for each are combined additively. This field is "
           "optional. If it is not specified, it defaults to an empty selector.",
           0},
    Age(),
};

constexpr std::array kLease{
    Name(),
    Column{"Holder", "string", "",
           "holderIdentity contains the identity of the holder of a current lease. If Coordinated "
           "Leader Election is used, the holder identity must be equal to the elected "
           "LeaseCandidate.metadata.name field.",
           0},
    Age(),
};

constexpr std::array kEvent{
    Column{"Last Seen", "string", "",
           "The time at which the most recent occurrence of this event was recorded.", 0},
    Column{"Type", "string", "",
           "Type of this event (Normal, Warning), new types could be added in the future", 0},
    Column{"Reason", "string", "",
           "This should be a short, machine understandable string that gives the reason for the "
           "transition into the object's current status.",
           0},
    Column{"Object", "string", "", "The object that this event is about.", 0},
    Column{"Subobject", "string", "",
           "If referring to a piece of an object instead of an entire object, this string should "
           "contain a valid JSON/Go field access statement, such as "
           "desiredState.manifest.containers[2]. For example, if the object reference is to a "
           "container within a pod, this would take on a value like: \"spec.containers{name}\" "
           "(where \"name\" refers to the name of the container that triggered the event) or if "
           "no container name is specified \"spec.containers[2]\" (container with index 2 in this "
           "pod). This syntax is chosen only to have some well-defined way of referencing a part "
           "of an object.",
           1},
    Column{"Source", "string", "",
           "The component reporting this event. Should be a short machine understandable string.",
           1},
    Column{"Message", "string", "", "A human-readable description of the status of this operation.",
           0},
    Column{"First Seen", "string", "",
           "The time at which the event was first recorded. (Time of server receipt is in "
           "TypeMeta.)",
           1},
    Column{"Count", "string", "", "The number of times this event has occurred.", 1},
    Column{"Name", "string", "name", kNameDoc, 1},
};

struct KindColumns {
  std::string_view kind;
  std::span<const Column> columns;
};

constexpr std::array kByKind{
    KindColumns{"Pod", kPod},
    KindColumns{"Service", kService},
    KindColumns{"Endpoints", kEndpoints},
    KindColumns{"EndpointSlice", kEndpointSlice},
    KindColumns{"Node", kNode},
    KindColumns{"Namespace", kNamespace},
    KindColumns{"Deployment", kDeployment},
    KindColumns{"ReplicaSet", kReplicaSet},
    KindColumns{"NetworkPolicy", kNetworkPolicy},
    KindColumns{"Lease", kLease},
    KindColumns{"Event", kEvent},
};

}  // namespace

std::span<const Column> ColumnsFor(std::string_view kind) {
  for (const KindColumns& k : kByKind) {
    if (k.kind == kind) return k.columns;
  }
  return kGeneric;
}

bool HasPrinter(std::string_view kind) {
  for (const KindColumns& k : kByKind) {
    if (k.kind == kind) return true;
  }
  return false;
}

}  // namespace knet::apiserver::table::table_internal
