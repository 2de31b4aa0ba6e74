"""The official Python client (Debian's python3-kubernetes) against a `knet server` on loopback:
it lists and watches pods, resumes a watch, and reads events back in order.

One server for the class; every test works in a namespace of its own.
"""
import itertools
import threading
import time
import unittest

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from knet_server import KnetServer

_ids = itertools.count(1)


def pod(name, labels=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]))


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KnetServer().__enter__()
        cls.addClassCleanup(cls.server.__exit__, None, None, None)
        cls.api_client = config.new_client_from_config(config_file=cls.server.kubeconfig)
        cls.addClassCleanup(cls.api_client.close)
        cls.v1 = client.CoreV1Api(cls.api_client)

    def setUp(self):
        name = self._testMethodName.replace("test_", "").replace("_", "-")
        self.ns = ("py-%d-%s" % (next(_ids), name))[:50].rstrip("-")
        self.v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.ns)))

    def stream(self, **kw):
        """All events of one watch of the namespace's pods, until the server's timeout ends it."""
        w = watch.Watch()
        return [(e["type"], e["object"]) for e in
                w.stream(self.v1.list_namespaced_pod, self.ns, _request_timeout=60, **kw)]

    def test_load_kube_config_and_list_the_bootstrap_objects(self):
        # The global configuration route too, as a user's script would do it.
        config.load_kube_config(config_file=self.server.kubeconfig)
        with client.ApiClient() as api:
            names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease", self.ns):
            self.assertIn(ns, names)
        svc = self.v1.read_namespaced_service("kubernetes", "default")
        self.assertEqual(svc.spec.cluster_ip, "10.96.0.1")
        self.assertEqual(svc.spec.ports[0].port, 443)

    def test_create_and_list_pods(self):
        self.assertEqual(self.v1.list_namespaced_pod(self.ns).items, [])
        created = self.v1.create_namespaced_pod(self.ns, pod("alpha", {"tier": "front"}))
        self.assertEqual(created.metadata.namespace, self.ns)
        self.assertTrue(created.metadata.uid)
        self.assertEqual(created.status.phase, "Pending")
        self.assertEqual(created.spec.restart_policy, "Always")
        self.v1.create_namespaced_pod(self.ns, pod("beta", {"tier": "back"}))
        self.v1.create_namespaced_pod(self.ns, pod("gamma", {"tier": "back"}))

        pods = self.v1.list_namespaced_pod(self.ns)
        self.assertEqual([p.metadata.name for p in pods.items], ["alpha", "beta", "gamma"])
        self.assertTrue(int(pods.metadata.resource_version) >=
                        max(int(p.metadata.resource_version) for p in pods.items))
        back = self.v1.list_namespaced_pod(self.ns, label_selector="tier=back")
        self.assertEqual([p.metadata.name for p in back.items], ["beta", "gamma"])
        named = self.v1.list_namespaced_pod(self.ns, field_selector="metadata.name=gamma")
        self.assertEqual([p.metadata.name for p in named.items], ["gamma"])
        everywhere = self.v1.list_pod_for_all_namespaces(label_selector="tier")
        self.assertEqual(sorted(p.metadata.name for p in everywhere.items
                                if p.metadata.namespace == self.ns), ["alpha", "beta", "gamma"])

        # Pagination: limit and continue.
        page = self.v1.list_namespaced_pod(self.ns, limit=2)
        self.assertEqual([p.metadata.name for p in page.items], ["alpha", "beta"])
        self.assertTrue(page.metadata._continue)
        rest = self.v1.list_namespaced_pod(self.ns, limit=2, _continue=page.metadata._continue)
        self.assertEqual([p.metadata.name for p in rest.items], ["gamma"])
        self.assertFalse(rest.metadata._continue)

        # Deleting a pod answers with the Pod, as upstream's pod store does.
        deleted = self.v1.delete_namespaced_pod("gamma", self.ns, grace_period_seconds=0)
        self.assertEqual((deleted.kind, deleted.metadata.name, deleted.metadata.namespace),
                         ("Pod", "gamma", self.ns))
        self.assertEqual(deleted.spec.containers[0].image, "busybox:1.36")
        self.assertEqual([p.metadata.name for p in self.v1.list_namespaced_pod(self.ns).items],
                         ["alpha", "beta"])

        # Errors come back as ApiException with the Status code.
        with self.assertRaises(ApiException) as e:
            self.v1.create_namespaced_pod(self.ns, pod("alpha"))
        self.assertEqual(e.exception.status, 409)
        self.assertIn('pods \\"alpha\\" already exists', e.exception.body)
        with self.assertRaises(ApiException) as e:
            self.v1.read_namespaced_pod("absent", self.ns)
        self.assertEqual(e.exception.status, 404)

    def test_replace_conflict_json_patch_status_and_scale(self):
        p = self.v1.create_namespaced_pod(self.ns, pod("q", {"a": "1"}))
        p.metadata.labels["a"] = "2"
        replaced = self.v1.replace_namespaced_pod("q", self.ns, p)
        self.assertEqual(replaced.metadata.labels, {"a": "2"})
        self.assertGreater(int(replaced.metadata.resource_version),
                           int(p.metadata.resource_version))
        with self.assertRaises(ApiException) as e:
            self.v1.replace_namespaced_pod("q", self.ns, p)  # stale resourceVersion
        self.assertEqual((e.exception.status, e.exception.reason), (409, "Conflict"))

        # A list body goes out as a JSON patch.
        patched = self.v1.patch_namespaced_pod(
            "q", self.ns, [{"op": "add", "path": "/metadata/labels/b", "value": "3"}])
        self.assertEqual(patched.metadata.labels, {"a": "2", "b": "3"})

        # The status subresource changes status only; the main resource ignores status.
        st = self.v1.patch_namespaced_pod_status(
            "q", self.ns, {"status": {"phase": "Running", "podIP": "10.244.0.9"},
                           "metadata": {"labels": {"ignored": "yes"}}})
        self.assertEqual((st.status.phase, st.status.pod_ip), ("Running", "10.244.0.9"))
        self.assertNotIn("ignored", st.metadata.labels)
        self.v1.patch_namespaced_pod("q", self.ns, {"status": {"phase": "Failed"}})
        self.assertEqual(self.v1.read_namespaced_pod_status("q", self.ns).status.phase, "Running")

        apps = client.AppsV1Api(self.api_client)
        apps.create_namespaced_deployment(self.ns, client.V1Deployment(
            metadata=client.V1ObjectMeta(name="d"),
            spec=client.V1DeploymentSpec(
                replicas=1, selector=client.V1LabelSelector(match_labels={"x": "y"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"x": "y"}),
                    spec=client.V1PodSpec(containers=[
                        client.V1Container(name="c", image="busybox:1.36")])))))
        scale = apps.read_namespaced_deployment_scale("d", self.ns)
        self.assertEqual((scale.spec.replicas, scale.status.selector), (1, "x=y"))
        self.assertEqual(apps.patch_namespaced_deployment_scale(
            "d", self.ns, {"spec": {"replicas": 4}}).spec.replicas, 4)
        self.assertEqual(apps.read_namespaced_deployment("d", self.ns).spec.replicas, 4)
        apps.replace_namespaced_deployment_scale("d", self.ns, client.V1Scale(
            metadata=client.V1ObjectMeta(name="d"), spec=client.V1ScaleSpec(replicas=0)))
        self.assertEqual(apps.read_namespaced_deployment("d", self.ns).spec.replicas, 0)

    def test_watch_sees_added_modified_deleted_in_order(self):
        start = self.v1.list_namespaced_pod(self.ns).metadata.resource_version
        done = threading.Event()
        errors = []

        def changes():
            try:
                self.v1.create_namespaced_pod(self.ns, pod("watched", {"step": "1"}))
                self.v1.patch_namespaced_pod("watched", self.ns,
                                             {"metadata": {"labels": {"step": "2"}}})
                self.v1.delete_namespaced_pod("watched", self.ns, grace_period_seconds=0)
            except Exception as e:  # reported by the main thread
                errors.append(e)
            finally:
                done.set()

        writer = threading.Thread(target=changes)
        writer.start()
        events = []
        try:
            # From the listed resourceVersion, so nothing the writer does can be missed, however
            # the threads interleave. The watch stops at the deletion (or the server's timeout).
            w = watch.Watch()
            for e in w.stream(self.v1.list_namespaced_pod, self.ns, resource_version=start,
                              timeout_seconds=30, _request_timeout=60):
                events.append((e["type"], e["object"]))
                if e["type"] == "DELETED" or len(events) > 3:
                    w.stop()
        finally:
            writer.join(30)
        self.assertTrue(done.is_set())
        self.assertEqual(errors, [])
        self.assertEqual([(t, o.metadata.name) for t, o in events],
                         [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")])
        self.assertEqual([o.metadata.labels["step"] for _, o in events], ["1", "2", "2"])
        rvs = [int(o.metadata.resource_version) for _, o in events]
        self.assertEqual(rvs, sorted(set(rvs)), "resourceVersions must increase: %r" % rvs)
        self.assertGreater(rvs[0], int(start))

    def test_watch_resumes_from_a_resource_version(self):
        first = self.v1.create_namespaced_pod(self.ns, pod("first"))
        second = self.v1.create_namespaced_pod(self.ns, pod("second"))
        self.v1.patch_namespaced_pod("first", self.ns, {"metadata": {"labels": {"seen": "yes"}}})
        self.v1.delete_namespaced_pod("second", self.ns, grace_period_seconds=0)

        # Resuming after the first create replays the rest of the history, in order.
        events = self.stream(resource_version=first.metadata.resource_version, timeout_seconds=1)
        self.assertEqual([(t, o.metadata.name) for t, o in events],
                         [("ADDED", "second"), ("MODIFIED", "first"), ("DELETED", "second")])
        self.assertEqual(events[1][1].metadata.labels, {"seen": "yes"})
        rvs = [int(o.metadata.resource_version) for _, o in events]
        self.assertEqual(rvs, sorted(set(rvs)))
        self.assertGreater(rvs[0], int(first.metadata.resource_version))

        # Resuming from the last event sees only what happens later.
        last = events[-1][1].metadata.resource_version
        self.v1.create_namespaced_pod(self.ns, pod("third"))
        events = self.stream(resource_version=last, timeout_seconds=1)
        self.assertEqual([(t, o.metadata.name) for t, o in events], [("ADDED", "third")])

        # Without a resourceVersion a watch starts with the current state as ADDED events.
        events = self.stream(timeout_seconds=1)
        self.assertEqual(sorted((t, o.metadata.name) for t, o in events),
                         [("ADDED", "first"), ("ADDED", "third")])
        self.assertNotEqual(second.metadata.uid, first.metadata.uid)

    def test_label_selected_watch_sees_objects_enter_and_leave_the_selection(self):
        start = self.v1.list_namespaced_pod(self.ns).metadata.resource_version
        self.v1.create_namespaced_pod(self.ns, pod("a", {"team": "x"}))
        self.v1.create_namespaced_pod(self.ns, pod("b", {"team": "y"}))
        self.v1.patch_namespaced_pod("a", self.ns, {"metadata": {"labels": {"team": "y"}}})
        self.v1.patch_namespaced_pod("b", self.ns, {"metadata": {"labels": {"team": "x"}}})
        self.v1.patch_namespaced_pod("b", self.ns, {"metadata": {"labels": {"more": "1"}}})
        self.v1.delete_namespaced_pod("b", self.ns, grace_period_seconds=0)
        self.v1.delete_namespaced_pod("a", self.ns, grace_period_seconds=0)
        # Leaving the selection is DELETED, entering it is ADDED. As upstream's watch cache does,
        # the DELETED carries the object as it was while it still matched, at the new revision.
        events = self.stream(label_selector="team=x", resource_version=start, timeout_seconds=1)
        self.assertEqual([(t, o.metadata.name, o.metadata.labels) for t, o in events],
                         [("ADDED", "a", {"team": "x"}), ("DELETED", "a", {"team": "x"}),
                          ("ADDED", "b", {"team": "x"}),
                          ("MODIFIED", "b", {"team": "x", "more": "1"}),
                          ("DELETED", "b", {"team": "x", "more": "1"})])
        rvs = [int(o.metadata.resource_version) for _, o in events]
        self.assertEqual(rvs, sorted(set(rvs)), "resourceVersions must increase: %r" % rvs)

    def test_events_are_listed_in_creation_order_and_by_involved_object(self):
        a = self.v1.create_namespaced_pod(self.ns, pod("pod-a"))
        b = self.v1.create_namespaced_pod(self.ns, pod("pod-b"))
        created = []
        for i, (target, reason) in enumerate([(a, "Scheduled"), (b, "Scheduled"), (a, "Pulling"),
                                              (a, "Pulled"), (b, "Failed")]):
            # Named as client-go's event recorder names them: <object>.<UnixNano in hex>. Lists come
            # back in key (name) order, as upstream's do, so each object's events list in the
            # order they were created.
            name = "%s.%x" % (target.metadata.name, time.time_ns())
            ev = client.CoreV1Event(
                metadata=client.V1ObjectMeta(name=name),
                involved_object=client.V1ObjectReference(
                    kind="Pod", name=target.metadata.name, namespace=self.ns,
                    uid=target.metadata.uid, api_version="v1"),
                reason=reason, message="step %d" % i, type="Normal" if i < 4 else "Warning",
                count=1, source=client.V1EventSource(component="e2e"))
            created.append(self.v1.create_namespaced_event(self.ns, ev))
        self.assertEqual([e.message for e in created], ["step %d" % i for i in range(5)])
        rvs = [int(e.metadata.resource_version) for e in created]
        self.assertEqual(rvs, sorted(set(rvs)), "resourceVersions must increase: %r" % rvs)

        def steps(**kw):
            return [(e.involved_object.name, e.reason, e.message)
                    for e in self.v1.list_namespaced_event(self.ns, **kw).items]

        self.assertEqual(steps(), [("pod-a", "Scheduled", "step 0"), ("pod-a", "Pulling", "step 2"),
                                   ("pod-a", "Pulled", "step 3"), ("pod-b", "Scheduled", "step 1"),
                                   ("pod-b", "Failed", "step 4")])
        self.assertEqual(steps(field_selector="involvedObject.name=pod-a"),
                         [("pod-a", "Scheduled", "step 0"), ("pod-a", "Pulling", "step 2"),
                          ("pod-a", "Pulled", "step 3")])
        self.assertEqual(steps(field_selector="involvedObject.name=pod-b,reason=Failed"),
                         [("pod-b", "Failed", "step 4")])
        self.assertEqual(steps(field_selector="involvedObject.uid=%s,involvedObject.kind=Pod"
                               % b.metadata.uid),
                         [("pod-b", "Scheduled", "step 1"), ("pod-b", "Failed", "step 4")])
        self.assertEqual(steps(field_selector="type=Warning"), [("pod-b", "Failed", "step 4")])
        self.assertEqual(steps(field_selector="involvedObject.name=nobody"), [])
        mine = [e.message for e in self.v1.list_event_for_all_namespaces(
            field_selector="involvedObject.namespace=%s,involvedObject.name=pod-a" % self.ns).items]
        self.assertEqual(mine, ["step 0", "step 2", "step 3"])

        # A watch of the object's events from before the first one replays them in creation order.
        w = watch.Watch()
        replay = [(e["type"], e["object"].message) for e in w.stream(
            self.v1.list_namespaced_event, self.ns, field_selector="involvedObject.name=pod-b",
            resource_version=b.metadata.resource_version, timeout_seconds=1, _request_timeout=60)]
        self.assertEqual(replay, [("ADDED", "step 1"), ("ADDED", "step 4")])

        # A field the selector cannot use is a 400, as upstream.
        with self.assertRaises(ApiException) as e:
            self.v1.list_namespaced_event(self.ns, field_selector="message=step 1")
        self.assertEqual(e.exception.status, 400)

        got = self.v1.read_namespaced_event(created[2].metadata.name, self.ns)
        self.assertEqual((got.reason, got.involved_object.name, got.source.component),
                         ("Pulling", "pod-a", "e2e"))


class PythonClientBookmarkTest(unittest.TestCase):
    def test_watch_with_allow_watch_bookmarks_gets_bookmarks(self):
        with KnetServer(extra_args=("--watch-bookmark-interval", "1")) as s:
            with config.new_client_from_config(config_file=s.kubeconfig) as api:
                v1 = client.CoreV1Api(api)
                v1.create_namespaced_pod("default", pod("marked"))
                start = v1.list_namespaced_pod("default").metadata.resource_version
                w = watch.Watch()
                events = []
                for e in w.stream(v1.list_namespaced_pod, "default", resource_version=start,
                                  allow_watch_bookmarks=True, timeout_seconds=10,
                                  _request_timeout=60):
                    events.append(e)
                    if e["type"] == "BOOKMARK":
                        w.stop()
                # The client hands a bookmark over undecoded: only the resourceVersion is in it.
                self.assertEqual([e["type"] for e in events], ["BOOKMARK"])
                self.assertEqual(events[0]["object"]["kind"], "Pod")
                self.assertGreaterEqual(
                    int(events[0]["object"]["metadata"]["resourceVersion"]), int(start))

if __name__ == "__main__":
    unittest.main()
