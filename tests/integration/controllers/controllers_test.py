"""The controllers inside a real `knet server`, driven through the official Python client and
kubectl, with the tests playing the nodes' part (fake_nodes.py): Deployments become pods on
nodes, pods become EndpointSlice and Endpoints entries when they turn Ready, rollouts move
endpoints through serving/terminating, and a node that goes silent loses its endpoints.
"""
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

from kubernetes import client, config, watch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apiserver"))
from knet_server import KnetServer, knet_bin  # noqa: E402
from fake_nodes import FakeNodes  # noqa: E402

_ids = itertools.count(1)


def eventually(fn, timeout=60, interval=0.2, what="condition"):
    """Polls fn until it returns a truthy value; fails with the last value seen."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s; last: %r" % (timeout, what, last))


def deployment(name, replicas, surge=None, unavailable=None, env="v1"):
    strategy = None
    if surge is not None:
        strategy = client.V1DeploymentStrategy(
            type="RollingUpdate",
            rolling_update=client.V1RollingUpdateDeployment(max_surge=surge,
                                                            max_unavailable=unavailable))
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels={"app": name}),
            strategy=strategy,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": name}),
                spec=client.V1PodSpec(
                    termination_grace_period_seconds=30,
                    containers=[client.V1Container(
                        name="web", image="busybox", command=["httpd", "-f"],
                        env=[client.V1EnvVar(name="VERSION", value=env)],
                        ports=[client.V1ContainerPort(name="http", container_port=8080)])]))))


def service(name):
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name, labels={"team": "net"}),
        spec=client.V1ServiceSpec(selector={"app": name}, ports=[
            client.V1ServicePort(name="web", port=80, target_port="http")]))


class ClusterTest(unittest.TestCase):
    """Base: one server and a set of fake nodes per class; a namespace per test."""
    server_args = []
    node_names = ["node-1", "node-2", "node-3"]
    termination_delay = 0.0

    @classmethod
    def setUpClass(cls):
        cls.server = KnetServer(extra_args=cls.server_args, controllers="*").__enter__()
        cls.addClassCleanup(cls.server.__exit__, None, None, None)
        cls.api_client = config.new_client_from_config(config_file=cls.server.kubeconfig)
        cls.addClassCleanup(cls.api_client.close)
        cls.v1 = client.CoreV1Api(cls.api_client)
        cls.apps = client.AppsV1Api(cls.api_client)
        cls.discovery = client.DiscoveryV1Api(cls.api_client)
        cls.nodes = FakeNodes(cls.api_client, cls.node_names,
                              termination_delay=cls.termination_delay).start()
        cls.addClassCleanup(cls.nodes.stop)

    def setUp(self):
        name = self._testMethodName.replace("test_", "").replace("_", "-")
        self.ns = ("c-%d-%s" % (next(_ids), name))[:40].rstrip("-")
        self.v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.ns)))

    def tearDown(self):
        self.assertEqual(self.nodes.errors, [], "the fake nodes hit errors")

    def slices(self, svc):
        return self.discovery.list_namespaced_endpoint_slice(
            self.ns, label_selector="kubernetes.io/service-name=" + svc).items

    def ready_endpoints(self, svc):
        return sorted(ep.target_ref.name for s in self.slices(svc) for ep in (s.endpoints or [])
                      if ep.conditions.ready)

    def endpoints(self, svc):
        try:
            return self.v1.read_namespaced_endpoints(svc, self.ns)
        except client.rest.ApiException as e:
            if e.status == 404:
                return None
            raise

    def kubectl(self, *args, **kw):
        return self.server.kubectl("-n", self.ns, *args, **kw)


class ControllersTest(ClusterTest):
    termination_delay = 1.5

    def test_deployment_of_5_with_a_service_gives_one_slice_and_endpoints(self):
        self.apps.create_namespaced_deployment(self.ns, deployment("web", 5))
        self.v1.create_namespaced_service(self.ns, service("web"))
        self.kubectl("rollout", "status", "deployment/web", "--timeout=60s")
        self.kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=60s")
        out = self.kubectl("get", "deploy", "web", "--no-headers").stdout.split()
        self.assertEqual(out[1], "5/5", out)

        # Every pod was bound by the scheduler, spread over the three nodes (2/2/1).
        pods = self.v1.list_namespaced_pod(self.ns, label_selector="app=web").items
        self.assertEqual(len(pods), 5)
        per_node = sorted(sum(1 for p in pods if p.spec.node_name == n) for n in self.node_names)
        self.assertEqual(per_node, [1, 2, 2])
        for p in pods:
            self.assertEqual(p.metadata.owner_references[0].kind, "ReplicaSet")

        names = sorted(p.metadata.name for p in pods)
        eventually(lambda: self.ready_endpoints("web") == names, what="5 ready endpoints")
        slices = self.slices("web")
        self.assertEqual(len(slices), 1)
        s = slices[0]
        self.assertEqual(s.address_type, "IPv4")
        self.assertEqual(s.metadata.labels["endpointslice.kubernetes.io/managed-by"],
                         "endpointslice-controller.k8s.io")
        self.assertEqual(s.metadata.labels["team"], "net")
        self.assertEqual([(p.name, p.port, p.protocol) for p in s.ports], [("web", 8080, "TCP")])
        self.assertEqual(s.metadata.owner_references[0].kind, "Service")
        ips = {p.metadata.name: p.status.pod_ip for p in
               self.v1.list_namespaced_pod(self.ns, label_selector="app=web").items}
        for ep in s.endpoints:
            self.assertEqual(ep.addresses, [ips[ep.target_ref.name]])
            self.assertTrue(ep.node_name.startswith("node-"))

        ep = eventually(lambda: (lambda e: e if e and e.subsets and
                                 len(e.subsets[0].addresses or []) == 5 else None)(
            self.endpoints("web")), what="Endpoints with 5 addresses")
        self.assertEqual(len(ep.subsets), 1)
        self.assertEqual(sorted(a.ip for a in ep.subsets[0].addresses), sorted(ips.values()))
        self.assertEqual([(p.name, p.port) for p in ep.subsets[0].ports], [("web", 8080)])
        # kubectl shows the addresses as users expect.
        self.assertIn(":8080", self.kubectl("get", "endpoints", "web").stdout)

    def test_scaling_to_250_gives_3_slices(self):
        self.apps.create_namespaced_deployment(self.ns, deployment("big", 2))
        self.v1.create_namespaced_service(self.ns, service("big"))
        eventually(lambda: len(self.ready_endpoints("big")) == 2, what="2 endpoints")
        self.kubectl("scale", "deployment/big", "--replicas=250")
        eventually(lambda: len(self.ready_endpoints("big")) == 250, timeout=180,
                   interval=1, what="250 ready endpoints")
        sizes = sorted(len(s.endpoints) for s in self.slices("big"))
        self.assertEqual(sizes, [50, 100, 100])
        ep = eventually(lambda: (lambda e: e if e and sum(len(s.addresses or [])
                                                          for s in e.subsets or []) == 250
                                 else None)(self.endpoints("big")), what="250 addresses")
        self.assertNotIn("endpoints.kubernetes.io/over-capacity", ep.metadata.annotations or {})
        self.kubectl("rollout", "status", "deployment/big", "--timeout=120s")

        self.kubectl("scale", "deployment/big", "--replicas=3")
        eventually(lambda: len(self.ready_endpoints("big")) == 3, timeout=120, interval=1,
                   what="back to 3 endpoints")
        eventually(lambda: len(self.slices("big")) == 1, timeout=60, what="one slice left")

    def test_rolling_update_moves_endpoints_through_serving_and_terminating(self):
        self.apps.create_namespaced_deployment(self.ns, deployment("roll", 3, surge=1,
                                                                   unavailable=0))
        self.v1.create_namespaced_service(self.ns, service("roll"))
        self.kubectl("rollout", "status", "deployment/roll", "--timeout=60s")
        old = eventually(lambda: (lambda r: r if len(r) == 3 else None)(
            self.ready_endpoints("roll")), what="3 ready endpoints")

        # Watch the slices while the template changes: some old endpoint must show up as
        # terminating but still serving (the pod is in its grace period), and never ready.
        seen, stop = [], threading.Event()
        rv = self.discovery.list_namespaced_endpoint_slice(self.ns).metadata.resource_version

        def watch_slices():
            w = watch.Watch()
            for ev in w.stream(self.discovery.list_namespaced_endpoint_slice, self.ns,
                               label_selector="kubernetes.io/service-name=roll",
                               resource_version=rv, timeout_seconds=120):
                for ep in ev["object"].endpoints or []:
                    c = ep.conditions
                    seen.append((ep.target_ref.name, c.ready, c.serving, c.terminating))
                if stop.is_set():
                    w.stop()
        t = threading.Thread(target=watch_slices, daemon=True)
        t.start()
        self.apps.patch_namespaced_deployment("roll", self.ns, {"spec": {"template": {
            "spec": {"containers": [{"name": "web", "env": [
                {"name": "VERSION", "value": "v2"}]}]}}}})
        self.kubectl("rollout", "status", "deployment/roll", "--timeout=90s")
        new = eventually(lambda: (lambda r: r if len(r) == 3 and not set(r) & set(old)
                                  else None)(self.ready_endpoints("roll")),
                         what="3 new ready endpoints")
        self.assertEqual(len(new), 3)
        eventually(lambda: all(n not in old for n, _, _, _ in seen[-3:]), what="old pods gone")
        stop.set()
        terminating = [s for s in seen if s[0] in old and s[3]]
        self.assertTrue(terminating, "no terminating endpoint seen in: %r" % seen)
        for name, ready, serving, _ in terminating:
            self.assertFalse(ready, name)
            self.assertTrue(serving, name)
        # The rollout never had fewer than 3 ready endpoints (maxUnavailable=0).
        d = self.apps.read_namespaced_deployment("roll", self.ns)
        self.assertEqual(d.metadata.annotations["deployment.kubernetes.io/revision"], "2")
        rss = self.apps.list_namespaced_replica_set(self.ns).items
        self.assertEqual(sorted(rs.spec.replicas for rs in rss), [0, 3])


class NodeLifecycleTest(ClusterTest):
    server_args = ["--node-monitor-grace-period=6s", "--node-monitor-period=1s"]
    node_names = ["live-1", "dead-2"]

    def test_a_silent_node_loses_its_endpoints_within_grace_plus_5s(self):
        self.apps.create_namespaced_deployment(self.ns, deployment("app", 4))
        self.v1.create_namespaced_service(self.ns, service("app"))
        eventually(lambda: len(self.ready_endpoints("app")) == 4, what="4 ready endpoints")
        pods = self.v1.list_namespaced_pod(self.ns).items
        on_dead = sorted(p.metadata.name for p in pods if p.spec.node_name == "dead-2")
        self.assertEqual(len(on_dead), 2)

        self.nodes.silence("dead-2")
        start = time.time()
        eventually(lambda: not set(self.ready_endpoints("app")) & set(on_dead), timeout=11,
                   interval=0.1, what="the dead node's endpoints to leave")
        took = time.time() - start
        self.assertLessEqual(took, 6 + 5)
        self.assertEqual(len(self.ready_endpoints("app")), 2)
        node = self.v1.read_node("dead-2")
        ready = [c for c in node.status.conditions if c.type == "Ready"][0]
        self.assertEqual(ready.status, "Unknown")
        self.assertIn("dead-2   NotReady", self.server.kubectl("get", "nodes").stdout)
        taints = {(t.key, t.effect) for t in node.spec.taints or []}
        self.assertIn(("node.kubernetes.io/unreachable", "NoExecute"), taints)
        # The legacy Endpoints moves them to notReadyAddresses.
        ep = eventually(lambda: (lambda e: e if e and sum(len(s.not_ready_addresses or [])
                                                          for s in e.subsets or []) == 2
                                 else None)(self.endpoints("app")), what="2 not-ready addresses")
        self.assertEqual(sum(len(s.addresses or []) for s in ep.subsets), 2)
        # The live node is untouched.
        live = self.v1.read_node("live-1")
        self.assertEqual([c.status for c in live.status.conditions if c.type == "Ready"], ["True"])


class ControllerManagerProcessTest(unittest.TestCase):
    """`knet controller-manager` as its own process against `knet server --controllers=-*`: it
    keeps working across an API server restart, and when its watches come back to a revision
    the restarted server no longer has (410 Gone) it relists and catches up."""

    def test_survives_a_server_restart_and_a_410(self):
        server = KnetServer(controllers="-*").__enter__()
        self.addCleanup(server.__exit__, None, None, None)
        log_path = os.path.join(server.dir, "cm.log")
        log = open(log_path, "wb")
        self.addCleanup(log.close)
        cm = subprocess.Popen([knet_bin(), "controller-manager", "--kubeconfig", server.kubeconfig,
                               "--controllers=replicaset,deployment"],
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        def stop_cm():
            if cm.poll() is None:
                cm.send_signal(signal.SIGCONT)
                cm.terminate()
                try:
                    cm.wait(10)
                except subprocess.TimeoutExpired:
                    cm.kill()
                    cm.wait()
        self.addCleanup(stop_cm)

        api = config.new_client_from_config(config_file=server.kubeconfig)
        self.addCleanup(api.close)
        apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
        apps.create_namespaced_deployment("default", deployment("cm", 2))

        def pods():
            return len(v1.list_namespaced_pod("default", label_selector="app=cm").items)
        eventually(lambda: pods() == 2, what="2 pods from the standalone controllers")

        # Freeze the controllers, restart the server, change the Deployment, then let them go.
        cm.send_signal(signal.SIGSTOP)
        server.stop()
        server.start()
        api2 = config.new_client_from_config(config_file=server.kubeconfig)
        self.addCleanup(api2.close)
        apps, v1 = client.AppsV1Api(api2), client.CoreV1Api(api2)
        apps.patch_namespaced_deployment_scale("cm", "default", {"spec": {"replicas": 5}})
        cm.send_signal(signal.SIGCONT)
        def cm_log():
            with open(log_path, errors="replace") as f:
                return f.read()
        try:
            eventually(lambda: pods() == 5, what="5 pods after the restart")
        except AssertionError as e:
            raise AssertionError("%s\ncontroller-manager log:\n%s\nserver log:\n%s" % (
                e, cm_log()[-3000:], server.log()[-2000:]))
        self.assertIsNone(cm.poll(), "the controller manager exited")
        text = cm_log()
        self.assertIn("is gone (410); relisting", text)


if __name__ == "__main__":
    unittest.main()
