"""Plays the node agents for controller tests: registers Nodes, renews their Leases, and acts as
the kubelet for pods bound to them (Running, an IP from the node's podCIDR, Ready), finishing
graceful deletions after a delay. A node can be silenced to simulate a dead machine: its Lease
stops and its pods are no longer touched.

    nodes = FakeNodes(api_client, ["n1", "n2"]).start()
    ...
    nodes.silence("n2")
    nodes.stop()
"""
import datetime
import ipaddress
import threading
import time

from kubernetes import client, watch
from kubernetes.client.rest import ApiException


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class FakeNodes:
    def __init__(self, api_client, names, termination_delay=0.0, ready=lambda pod: True):
        self.v1 = client.CoreV1Api(api_client)
        self.coord = client.CoordinationV1Api(api_client)
        self.names = list(names)
        self.termination_delay = termination_delay
        self.ready = ready
        self.silenced = set()
        self.next_ip = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.timers = []
        self.errors = []

    # --- nodes and leases -------------------------------------------------------------------
    def start(self):
        for name in self.names:
            self.v1.create_node(client.V1Node(metadata=client.V1ObjectMeta(
                name=name, labels={"kubernetes.io/hostname": name})))
            self._post_ready(name)
            self.coord.create_namespaced_lease("kube-node-lease", client.V1Lease(
                metadata=client.V1ObjectMeta(name=name),
                spec=client.V1LeaseSpec(holder_identity=name, lease_duration_seconds=40,
                                        renew_time=now())))
        for target in (self._renew_loop, self._pod_loop):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _post_ready(self, name):
        self.v1.patch_node_status(name, {"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "fake node is ready",
                            "lastHeartbeatTime": now().strftime("%Y-%m-%dT%H:%M:%SZ")}],
            "addresses": [{"type": "InternalIP", "address": "192.0.2.%d" % (
                self.names.index(name) + 1)}],
            "allocatable": {"pods": "500"}, "capacity": {"pods": "500"}}})

    def _renew_loop(self):
        while not self.stopping.wait(1.0):
            for name in self.names:
                if name in self.silenced:
                    continue
                try:
                    self.coord.patch_namespaced_lease(name, "kube-node-lease",
                                                      {"spec": {"renewTime": now().isoformat()}})
                except ApiException as e:
                    self.errors.append("renew %s: %s" % (name, e))

    def silence(self, name):
        self.silenced.add(name)

    def revive(self, name):
        self.silenced.discard(name)
        self._post_ready(name)

    # --- the kubelet part -------------------------------------------------------------------
    def _ip_for(self, node_name):
        with self.lock:
            node = self.v1.read_node(node_name)
            if not node.spec.pod_cidr:
                return None
            net = ipaddress.ip_network(node.spec.pod_cidr)
            n = self.next_ip.get(node_name, 2)
            self.next_ip[node_name] = n + 1
            return str(net[n])

    def _handle(self, pod):
        node = pod.spec.node_name
        if not node or node not in self.names or node in self.silenced:
            return
        if pod.metadata.deletion_timestamp is not None:
            timer = threading.Timer(self.termination_delay, self._finish_delete,
                                    (pod.metadata.namespace, pod.metadata.name,
                                     pod.metadata.uid))
            timer.daemon = True
            with self.lock:
                self.timers = [t for t in self.timers if t.is_alive()] + [timer]
            timer.start()
            return
        ready = "True" if self.ready(pod) else "False"
        conds = {c.type: c.status for c in (pod.status.conditions or [])}
        if pod.status.pod_ip and conds.get("Ready") == ready:
            return
        ip = pod.status.pod_ip or self._ip_for(node)
        if ip is None:
            return  # no podCIDR yet: the pod is retried on its next event
        stamp = now().strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "192.0.2.1",
            "startTime": stamp,
            "conditions": [{"type": t, "status": s, "lastTransitionTime": stamp} for t, s in
                           (("Initialized", "True"), ("ContainersReady", ready),
                            ("Ready", ready), ("PodScheduled", "True"))]}}
        try:
            self.v1.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, body)
        except ApiException as e:
            if e.status != 404:
                self.errors.append("status of %s: %s" % (pod.metadata.name, e))

    def _finish_delete(self, ns, name, uid):
        if self.stopping.is_set():
            return
        try:
            self.v1.delete_namespaced_pod(name, ns, grace_period_seconds=0,
                                          body=client.V1DeleteOptions(
                                              grace_period_seconds=0,
                                              preconditions=client.V1Preconditions(uid=uid)))
        except ApiException as e:
            if e.status not in (404, 409):
                self.errors.append("delete %s: %s" % (name, e))

    def _pod_loop(self):
        rv = None
        while not self.stopping.is_set():
            try:
                w = watch.Watch()
                kw = {"timeout_seconds": 5, "allow_watch_bookmarks": True}
                if rv:
                    kw["resource_version"] = rv
                for ev in w.stream(self.v1.list_pod_for_all_namespaces, **kw):
                    if self.stopping.is_set():
                        w.stop()
                        return
                    obj = ev["object"]
                    rv = obj.metadata.resource_version
                    if ev["type"] in ("ADDED", "MODIFIED"):
                        self._handle(obj)
            except ApiException as e:
                if e.status == 410:
                    rv = None
                    continue
                self.errors.append("pod watch: %s" % e)
                time.sleep(0.2)
            except Exception as e:  # a dropped connection: watch again
                if self.stopping.is_set():
                    return
                self.errors.append("pod watch: %r" % e)
                time.sleep(0.2)

    def stop(self):
        self.stopping.set()
        with self.lock:
            timers = list(self.timers)
        for t in timers:
            t.cancel()
        for t in self.threads:
            t.join(10)
