"""Edges of the API server: conflicts and concurrent writers, pagination over 5,000 objects,
watch expiry (410) and watch options, bad input (each a clear metav1.Status, and the server keeps
serving), and a restart on the same data dir.

Everything goes over raw HTTPS (rawclient.py) so that exact status codes, reasons and messages
are asserted; kubectl only where its view is the point (the old kubeconfig after a restart).
"""
import concurrent.futures
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest
import uuid

import yaml

from knet_server import KnetServer
from rawclient import RawClient, status_of

LEASES = "/apis/coordination.k8s.io/v1/namespaces/%s/leases"


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def lease(name, ns="default", holder="edge", annotations=None):
    meta = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": holder}}


def make_namespace(test, c, name):
    r = c.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": name}})
    test.assertEqual(r.status, 201, r)


class SharedServerTest(unittest.TestCase):
    """One server for the class (each test uses its own names); started once to save time."""

    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = KnetServer(extra_args=cls.extra_args).__enter__()
        cls.c = RawClient(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        try:
            # A clean exit: no sanitizer report (leaks, UB) after all this abuse.
            rc = cls.server.stop()
            if rc != 0:
                raise AssertionError("knet server exited with %d:\n%s" % (rc, cls.server.log()))
        finally:
            cls.server.cleanup()

    def assertServing(self):
        """A good request still succeeds (on a fresh connection as well as the kept one)."""
        r = self.c.request("GET", "/api/v1/namespaces/default")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["metadata"]["name"], "default")
        fresh = RawClient(self.server)
        r = fresh.request("GET", LEASES % "default" + "?limit=1")
        fresh.close()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["kind"], "LeaseList")


class ConcurrencyTest(SharedServerTest):
    def test_put_with_a_stale_resource_version_is_a_conflict(self):
        name = unique("stale")
        r = self.c.request("POST", LEASES % "default", lease(name))
        self.assertEqual(r.status, 201, r)
        old = r.json()
        fresh = json.loads(json.dumps(old))
        fresh["spec"]["holderIdentity"] = "first"
        r = self.c.request("PUT", LEASES % "default" + "/" + name, fresh)
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.json()["metadata"]["resourceVersion"],
                            old["metadata"]["resourceVersion"])
        old["spec"]["holderIdentity"] = "second"
        r = self.c.request("PUT", LEASES % "default" + "/" + name, old)
        s = status_of(self, r, 409, "Conflict")
        self.assertIn(name, s["message"])
        self.assertIn("the object has been modified", s["message"])
        self.assertEqual(s["details"]["name"], name)
        # The stale write changed nothing.
        r = self.c.request("GET", LEASES % "default" + "/" + name)
        self.assertEqual(r.json()["spec"]["holderIdentity"], "first")
        self.assertServing()

    def test_concurrent_read_modify_write_loses_no_update(self):
        name = unique("counter")
        r = self.c.request("POST", LEASES % "default", lease(name, annotations={"n": "0"}))
        self.assertEqual(r.status, 201, r)
        threads, per_thread = 8, 10
        conflicts = []
        path = LEASES % "default" + "/" + name

        def worker():
            client = RawClient(self.server)
            seen = 0
            try:
                for _ in range(per_thread):
                    for _attempt in range(500):
                        obj = client.request("GET", path).json()
                        ann = obj["metadata"]["annotations"]
                        ann["n"] = str(int(ann["n"]) + 1)
                        r = client.request("PUT", path, obj)
                        if r.status == 200:
                            break
                        if r.status != 409:
                            raise AssertionError(r)
                        seen += 1
                    else:
                        raise AssertionError("no progress after 500 conflicts")
            finally:
                client.close()
            conflicts.append(seen)

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            for f in [pool.submit(worker) for _ in range(threads)]:
                f.result()
        final = self.c.request("GET", path).json()
        print("\n%d writers x %d increments: %d conflicts retried, %.1fs" %
              (threads, per_thread, sum(conflicts), time.monotonic() - start))
        self.assertEqual(final["metadata"]["annotations"]["n"], str(threads * per_thread))
        self.assertServing()

    def run_writers(self, threads, write):
        """write(client, thread_index) in `threads` threads at once; returns their results."""
        barrier = threading.Barrier(threads)

        def run(i):
            client = RawClient(self.server)
            try:
                client.request("GET", "/healthz")  # connect before the race starts
                barrier.wait()
                return write(client, i)
            finally:
                client.close()

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return list(pool.map(run, range(threads)))

    def test_concurrent_patches_without_resource_version_never_conflict(self):
        # kube-apiserver retries a patch on a storage conflict until it applies; a client that
        # did not name a resourceVersion never sees 409 (kubectl label/annotate/patch rely on it).
        name = unique("patched")
        path = LEASES % "default" + "/" + name
        self.assertEqual(self.c.request("POST", LEASES % "default", lease(name)).status, 201)
        threads, per_thread = 8, 10

        def write(client, i):
            out = []
            for j in range(per_thread):
                r = client.request("PATCH", path,
                                   {"metadata": {"annotations": {"k%d-%d" % (i, j): "v"}}},
                                   headers={"Content-Type": "application/merge-patch+json"})
                out.append(r if r.status != 200 else 200)
            return out

        results = [x for out in self.run_writers(threads, write) for x in out]
        self.assertEqual([r for r in results if r != 200], [])
        got = self.c.request("GET", path).json()["metadata"]["annotations"]
        self.assertEqual(len(got), threads * per_thread)

    def test_concurrent_updates_without_resource_version_never_conflict(self):
        # A PUT without metadata.resourceVersion is an unconditional update for these kinds
        # (AllowUnconditionalUpdate): kube-apiserver applies it over whatever is stored.
        name = unique("uncond")
        path = LEASES % "default" + "/" + name
        self.assertEqual(self.c.request("POST", LEASES % "default", lease(name)).status, 201)
        threads, per_thread = 8, 5

        def write(client, i):
            out = []
            for j in range(per_thread):
                r = client.request("PUT", path, lease(name, holder="h%d-%d" % (i, j)))
                out.append(r if r.status != 200 else 200)
            return out

        results = [x for out in self.run_writers(threads, write) for x in out]
        self.assertEqual([r for r in results if r != 200], [])
        holder = self.c.request("GET", path).json()["spec"]["holderIdentity"]
        self.assertRegex(holder, r"^h[0-7]-4$")  # some writer's last write

    def test_concurrent_puts_creating_one_lease_all_succeed(self):
        # Leases are created by a PUT to a missing name; racing PUTs: one creates, the others
        # update what it created (kube-apiserver never answers them AlreadyExists).
        name = unique("putcreate")
        results = self.run_writers(8, lambda client, i: client.request(
            "PUT", LEASES % "default" + "/" + name, lease(name, holder="h%d" % i)))
        self.assertEqual([r for r in results if r.status not in (200, 201)], [])
        uids = {r.json()["metadata"]["uid"] for r in results}
        self.assertEqual(len(uids), 1, uids)
        got = self.c.request("GET", LEASES % "default" + "/" + name).json()
        self.assertEqual(got["metadata"]["uid"], uids.pop())

    def test_a_put_that_creates_answers_201(self):
        # As kube-apiserver: 201 Created when the PUT created the object (fixed in 011e3e0).
        name = unique("put201")
        r = self.c.request("PUT", LEASES % "default" + "/" + name, lease(name))
        self.assertEqual(r.status, 201, r)

    def test_concurrent_service_creates_get_distinct_cluster_ips_and_node_ports(self):
        def svc(name, ip=None, node_port=None):
            spec = {"type": "NodePort", "ports": [{"port": 80}], "selector": {"app": name}}
            if ip:
                spec["clusterIP"] = ip
            if node_port:
                spec["ports"][0]["nodePort"] = node_port
            return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                    "spec": spec}

        prefix = unique("alloc")
        path = "/api/v1/namespaces/default/services"
        results = self.run_writers(
            16, lambda client, i: client.request("POST", path, svc("%s-%d" % (prefix, i))))
        self.assertEqual([r for r in results if r.status != 201], [])
        ips = [r.json()["spec"]["clusterIP"] for r in results]
        ports = [r.json()["spec"]["ports"][0]["nodePort"] for r in results]
        self.assertEqual(len(set(ips)), 16, ips)
        self.assertEqual(len(set(ports)), 16, ports)
        # Racing for one ClusterIP, or one NodePort: exactly one wins, the rest are 422.
        for field, value in (("ip", "10.96.123.45"), ("node_port", 31234)):
            results = self.run_writers(8, lambda client, i: client.request(
                "POST", path, svc("%s-%s-%d" % (prefix, field.replace("_", ""), i),
                                  **{field: value})))
            self.assertEqual(sorted(r.status for r in results), [201] + [422] * 7, results)
            for r in results:
                if r.status == 422:
                    s = status_of(self, r, 422, "Invalid")
                    self.assertIn(str(value), s["message"])
        # Everything listed holds distinct addresses and ports.
        items = self.c.request("GET", "/api/v1/services").json()["items"]
        ips = [i["spec"]["clusterIP"] for i in items]
        ports = [p["nodePort"] for i in items for p in i["spec"]["ports"] if "nodePort" in p]
        self.assertEqual(len(ips), len(set(ips)), ips)
        self.assertEqual(len(ports), len(set(ports)), ports)

    def test_concurrent_deletes_of_one_object_exactly_one_succeeds(self):
        name = unique("deleted")
        self.assertEqual(self.c.request("POST", LEASES % "default", lease(name)).status, 201)
        results = self.run_writers(
            8, lambda client, i: client.request("DELETE", LEASES % "default" + "/" + name))
        self.assertEqual(sorted(r.status for r in results), [200] + [404] * 7, results)
        for r in results:
            if r.status == 404:
                status_of(self, r, 404, "NotFound")
        self.assertEqual(self.c.request("GET", LEASES % "default" + "/" + name).status, 404)

    def test_concurrent_creates_of_distinct_names_all_succeed(self):
        names = [unique("distinct") for _ in range(40)]

        def create(n):
            client = RawClient(self.server)
            try:
                return client.request("POST", LEASES % "default", lease(n)).status
            finally:
                client.close()

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(create, names))
        self.assertEqual(codes, [201] * len(names))
        r = self.c.request("GET", LEASES % "default")
        listed = {i["metadata"]["name"] for i in r.json()["items"]}
        self.assertLessEqual(set(names), listed)

    def test_concurrent_creates_of_one_name_exactly_one_wins(self):
        name = unique("same")
        results = self.run_writers(12, lambda client, i: client.request(
            "POST", LEASES % "default", lease(name, holder="h%d" % i)))
        won = [r for r in results if r.status == 201]
        self.assertEqual(len(won), 1, results)
        for r in results:
            if r.status != 201:
                s = status_of(self, r, 409, "AlreadyExists")
                self.assertIn(name, s["message"])
        winner = won[0].json()["spec"]["holderIdentity"]
        r = self.c.request("GET", LEASES % "default" + "/" + name)
        self.assertEqual(r.json()["spec"]["holderIdentity"], winner)


class PaginationTest(SharedServerTest):
    TOTAL = 5000
    PAGE = 500

    def test_paging_over_5000_objects_sees_each_exactly_once_at_one_revision(self):
        ns = unique("pages")
        make_namespace(self, self.c, ns)
        names = ["obj-%05d" % i for i in range(self.TOTAL)]
        start = time.monotonic()

        def create(chunk):
            client = RawClient(self.server)  # one keep-alive connection per worker
            try:
                for n in chunk:
                    r = client.request("POST", LEASES % ns, lease(n, ns=ns))
                    if r.status != 201:
                        raise AssertionError(r)
            finally:
                client.close()

        workers = 6
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(create, [names[i::workers] for i in range(workers)]))
        created = time.monotonic() - start

        start = time.monotonic()
        seen, rvs, remaining, pages = [], set(), [], 0
        cont = ""
        written_between = []
        deleted_between = None
        while True:
            path = LEASES % ns + "?limit=%d" % self.PAGE
            if cont:
                path += "&continue=" + cont
            r = self.c.request("GET", path)
            self.assertEqual(r.status, 200, r)
            page = r.json()
            pages += 1
            self.assertLessEqual(len(page["items"]), self.PAGE)
            seen += [i["metadata"]["name"] for i in page["items"]]
            rvs.add(page["metadata"]["resourceVersion"])
            cont = page["metadata"].get("continue", "")
            if not cont:
                self.assertNotIn("remainingItemCount", page["metadata"])
                break
            remaining.append(page["metadata"]["remainingItemCount"])
            self.assertEqual(remaining[-1], self.TOTAL - len(seen))
            if pages == 1:
                # Writes after the first page: new objects (sorting both before and after the
                # rest), an update and a delete of objects on later pages. None is seen.
                for n in ("aaa-late", "obj-%05d-late" % (self.TOTAL // 2), "zzz-late"):
                    self.assertEqual(self.c.request("POST", LEASES % ns, lease(n, ns=ns)).status,
                                     201)
                    written_between.append(n)
                deleted_between = names[-1]
                r = self.c.request("DELETE", LEASES % ns + "/" + deleted_between)
                self.assertEqual(r.status, 200, r)
                r = self.c.request("PATCH", LEASES % ns + "/" + names[-2],
                                   {"spec": {"holderIdentity": "changed"}},
                                   headers={"Content-Type": "application/merge-patch+json"})
                self.assertEqual(r.status, 200, r)
        listed = time.monotonic() - start
        print("\ncreated %d leases in %.1fs (%.0f/s); listed them in %d pages in %.1fs" %
              (self.TOTAL, created, self.TOTAL / created, pages, listed))
        self.assertEqual(pages, self.TOTAL // self.PAGE)
        self.assertEqual(len(rvs), 1, rvs)
        self.assertEqual(remaining, sorted(remaining, reverse=True))
        self.assertEqual(len(remaining), len(set(remaining)))
        self.assertEqual(seen, names)  # each exactly once, in key order, the deleted one too
        for n in written_between:
            self.assertNotIn(n, seen)
        # A fresh list sees the writes made between pages.
        r = self.c.request("GET", LEASES % ns)
        now = {i["metadata"]["name"]: i for i in r.json()["items"]}
        self.assertEqual(len(now), self.TOTAL - 1 + len(written_between))
        self.assertNotIn(deleted_between, now)
        self.assertEqual(now[names[-2]]["spec"]["holderIdentity"], "changed")

        # The same objects through a limit that does not divide the total; and kubectl's
        # chunked list (--chunk-size) agrees with the raw pages.
        out = self.server.kubectl("get", "leases", "-n", ns, "--chunk-size=700", "-o",
                                  "name").stdout.split()
        self.assertEqual(len(out), len(now))
        self.assertEqual(sorted(out), sorted("lease.coordination.k8s.io/" + n for n in now))

    def test_garbage_continue_token_is_a_clear_error(self):
        ns = unique("badcont")
        make_namespace(self, self.c, ns)
        for i in range(3):
            self.assertEqual(
                self.c.request("POST", LEASES % ns, lease("l%d" % i, ns=ns)).status, 201)
        for token in ("garbage", "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", "%00%ff", "-1"):
            r = self.c.request("GET", LEASES % ns + "?limit=1&continue=" + token)
            self.assertIn(r.status, (400, 410), (token, r))
            s = status_of(self, r, r.status, "BadRequest" if r.status == 400 else "Expired")
            self.assertIn("continue", s["message"].lower(), (token, s))
            self.assertServing()
        # A continue token from another collection is no good here either.
        r = self.c.request("GET", LEASES % ns + "?limit=1")
        cont = r.json()["metadata"]["continue"]
        r = self.c.request("GET", LEASES % "default" + "?limit=1&continue=" + cont)
        self.assertIn(r.status, (400, 410), r)
        # resourceVersion together with continue is refused.
        r = self.c.request("GET", LEASES % ns + "?limit=1&resourceVersion=5&continue=" + cont)
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("continue", s["message"])
        self.assertServing()


class WatchTest(SharedServerTest):
    WINDOW = 50
    extra_args = ("--watch-cache-window", str(WINDOW), "--watch-bookmark-interval", "1")

    def current_rv(self):
        r = self.c.request("GET", LEASES % "default" + "?limit=1")
        return int(r.json()["metadata"]["resourceVersion"])

    def test_watch_from_a_compacted_revision_is_410_expired(self):
        name = unique("expire")
        r = self.c.request("POST", LEASES % "default", lease(name))
        self.assertEqual(r.status, 201, r)
        old_rv = int(r.json()["metadata"]["resourceVersion"])
        path = LEASES % "default" + "/" + name
        # Still inside the window: the watch replays what followed.
        status, events = self.c.stream_lines(
            LEASES % "default" + "?watch=true&timeoutSeconds=1&resourceVersion=%d" % old_rv)
        self.assertEqual(status, 200, events)
        for i in range(self.WINDOW + 10):
            r = self.c.request("PATCH", path, {"spec": {"holderIdentity": "h%d" % i}},
                               headers={"Content-Type": "application/merge-patch+json"})
            self.assertEqual(r.status, 200, r)
        for rv in (old_rv, 1):
            status, body = self.c.stream_lines(
                LEASES % "default" + "?watch=true&timeoutSeconds=5&resourceVersion=%d" % rv)
            self.assertEqual(status, 410, body)
            self.assertEqual(body["kind"], "Status")
            self.assertEqual(body["reason"], "Expired", body)
            self.assertEqual(body["code"], 410)
            self.assertIn("too old resource version", body["message"])
        self.assertServing()
        # A recent revision still works, and sees only what came after it.
        rv = self.current_rv()
        r = self.c.request("PATCH", path, {"spec": {"holderIdentity": "last"}},
                           headers={"Content-Type": "application/merge-patch+json"})
        status, events = self.c.stream_lines(
            LEASES % "default" + "?watch=true&timeoutSeconds=1&resourceVersion=%d" % rv)
        self.assertEqual(status, 200, events)
        self.assertEqual([(e["type"], e["object"]["spec"]["holderIdentity"]) for e in events],
                         [("MODIFIED", "last")])

    def test_a_watch_from_a_future_resource_version_is_504_too_large(self):
        # kube-apiserver waits 3 s for the revision, then answers 504 so the client relists;
        # knet used to start a watch that silently skipped every event up to that revision.
        future = self.current_rv() + 1000
        start = time.monotonic()
        status, body = self.c.stream_lines(
            LEASES % "default" + "?watch=true&timeoutSeconds=10&resourceVersion=%d" % future)
        self.assertEqual(status, 504, body)
        self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Timeout", 504))
        self.assertIn("Too large resource version: %d" % future, body["message"])
        self.assertLess(time.monotonic() - start, 9)
        # A revision just reached is fine: the watch sees what follows.
        name = unique("next")
        rv = self.current_rv()
        self.assertEqual(self.c.request("POST", LEASES % "default", lease(name)).status, 201)
        status, events = self.c.stream_lines(
            LEASES % "default" + "?watch=true&timeoutSeconds=1&resourceVersion=%d" % rv)
        self.assertEqual(status, 200, events)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", name)])
        self.assertServing()

    def test_watch_with_timeout_seconds_ends_on_its_own(self):
        start = time.monotonic()
        status, events = self.c.stream_lines(LEASES % "default" + "?watch=true&timeoutSeconds=2",
                                             timeout=30)
        took = time.monotonic() - start
        self.assertEqual(status, 200, events)
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 10)

    def test_watch_with_a_name_field_selector_sees_only_that_object(self):
        ns = unique("fieldwatch")
        make_namespace(self, self.c, ns)
        rv = self.current_rv()
        for n in ("x", "y", "xx"):
            self.assertEqual(self.c.request("POST", LEASES % ns, lease(n, ns=ns)).status, 201)
        for n in ("y", "x"):
            r = self.c.request("PATCH", LEASES % ns + "/" + n, {"spec": {"holderIdentity": "2"}},
                               headers={"Content-Type": "application/merge-patch+json"})
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.c.request("DELETE", LEASES % ns + "/y").status, 200)
        self.assertEqual(self.c.request("DELETE", LEASES % ns + "/x").status, 200)
        status, events = self.c.stream_lines(
            LEASES % ns + "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%%3Dx"
            "&resourceVersion=%d" % rv)
        self.assertEqual(status, 200, events)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x")])
        # The same through a label-free all-namespaces watch, filtered by namespace field.
        status, events = self.c.stream_lines(
            "/apis/coordination.k8s.io/v1/leases?watch=true&timeoutSeconds=1"
            "&fieldSelector=metadata.namespace%%3D%s,metadata.name%%3Dy&resourceVersion=%d"
            % (ns, rv))
        self.assertEqual(status, 200, events)
        self.assertEqual([e["type"] for e in events], ["ADDED", "MODIFIED", "DELETED"])

    def test_a_label_selected_watch_sees_objects_enter_and_leave_the_selection(self):
        ns = unique("labelwatch")
        make_namespace(self, self.c, ns)
        mp = {"Content-Type": "application/merge-patch+json"}
        path = LEASES % ns + "/sel"
        rv = self.current_rv()
        body = lease("sel", ns=ns)
        body["metadata"]["labels"] = {"tier": "a"}
        revs = [self.c.request("POST", LEASES % ns, body).json()["metadata"]["resourceVersion"]]
        for patch in ({"metadata": {"labels": {"tier": "b"}}}, {"spec": {"holderIdentity": "x"}},
                      {"metadata": {"labels": {"tier": "a"}}}, {"spec": {"holderIdentity": "y"}}):
            r = self.c.request("PATCH", path, patch, headers=mp)
            self.assertEqual(r.status, 200, r)
            revs.append(r.json()["metadata"]["resourceVersion"])
        r = self.c.request("DELETE", path)
        self.assertEqual(r.status, 200, r)
        status, events = self.c.stream_lines(
            LEASES % ns + "?watch=true&timeoutSeconds=1&labelSelector=tier%%3Da"
            "&resourceVersion=%d" % rv)
        self.assertEqual(status, 200, events)
        got = [(e["type"], e["object"]["metadata"]["labels"]["tier"],
                e["object"]["metadata"]["resourceVersion"]) for e in events]
        # Leaving the selection is a DELETED carrying the content that matched (as
        # kube-apiserver's watch cache sends it), at the resourceVersion of the change.
        self.assertEqual(got[:4], [("ADDED", "a", revs[0]), ("DELETED", "a", revs[1]),
                                   ("ADDED", "a", revs[3]), ("MODIFIED", "a", revs[4])])
        self.assertEqual([(t, tier) for t, tier, _ in got[4:]], [("DELETED", "a")])

    def test_allow_watch_bookmarks_sends_bookmarks_with_only_a_resource_version(self):
        rv = self.current_rv()
        status, events = self.c.stream_lines(
            LEASES % "default" + "?watch=true&timeoutSeconds=3&allowWatchBookmarks=true"
            "&resourceVersion=%d" % rv)
        self.assertEqual(status, 200, events)
        marks = [e for e in events if e["type"] == "BOOKMARK"]
        self.assertTrue(marks, events)
        for m in marks:
            self.assertEqual(m["object"]["kind"], "Lease")
            self.assertEqual(m["object"]["apiVersion"], "coordination.k8s.io/v1")
            self.assertGreaterEqual(int(m["object"]["metadata"]["resourceVersion"]), rv)
            self.assertEqual(set(m["object"]["metadata"]), {"resourceVersion"})
        # Without allowWatchBookmarks there are none.
        status, events = self.c.stream_lines(
            LEASES % "default" + "?watch=true&timeoutSeconds=3&resourceVersion=%d" % rv)
        self.assertEqual(status, 200, events)
        self.assertEqual([e for e in events if e["type"] == "BOOKMARK"], [])


class CompactionTest(SharedServerTest):
    extra_args = ("--compaction-interval", "1")

    def test_a_continue_token_past_compaction_is_410_expired(self):
        ns = unique("compacted")
        make_namespace(self, self.c, ns)
        for i in range(3):
            self.assertEqual(
                self.c.request("POST", LEASES % ns, lease("l%d" % i, ns=ns)).status, 201)
        first = self.c.request("GET", LEASES % ns + "?limit=1").json()
        cont, rv = first["metadata"]["continue"], first["metadata"]["resourceVersion"]
        # A write after the page, then the store compacts past it within two intervals.
        self.assertEqual(self.c.request("POST", LEASES % ns, lease("late", ns=ns)).status, 201)
        deadline = time.monotonic() + 30
        while True:
            r = self.c.request("GET", LEASES % ns + "?limit=1&continue=" + cont)
            if r.status != 200 or time.monotonic() > deadline:
                break
            self.assertEqual(r.json()["metadata"]["resourceVersion"], rv)
            self.assertNotIn("late", [i["metadata"]["name"] for i in r.json()["items"]])
            time.sleep(0.2)  # polling the compactor, with a deadline
        s = status_of(self, r, 410, "Expired")
        self.assertIn("The provided continue parameter is too old", s["message"])
        r = self.c.request("GET", LEASES % ns + "?resourceVersionMatch=Exact&resourceVersion=" + rv)
        s = status_of(self, r, 410, "Expired")
        self.assertIn("too old", s["message"])
        # A new list starts over and sees everything, and watches still work.
        r = self.c.request("GET", LEASES % ns + "?limit=10")
        self.assertEqual([i["metadata"]["name"] for i in r.json()["items"]],
                         ["l0", "l1", "l2", "late"])
        now = r.json()["metadata"]["resourceVersion"]
        self.assertEqual(self.c.request("DELETE", LEASES % ns + "/late").status, 200)
        status, events = self.c.stream_lines(
            LEASES % ns + "?watch=true&timeoutSeconds=1&resourceVersion=" + now)
        self.assertEqual(status, 200, events)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("DELETED", "late")])
        self.assertServing()


class BadInputTest(SharedServerTest):
    def post_lease(self, body, query="", content_type="application/json", token=None):
        kw = {} if token is None else {"token": token}
        return self.c.request("POST", LEASES % "default" + query, body,
                              headers={"Content-Type": content_type}, **kw)

    def test_malformed_json_is_400_naming_line_and_column(self):
        body = '{\n  "apiVersion": "coordination.k8s.io/v1",\n  "kind": "Lease",\n  "metadata": {'
        r = self.post_lease(body)
        s = status_of(self, r, 400, "BadRequest")
        self.assertRegex(s["message"], r"line 4, column \d+")
        r = self.post_lease("not json at all")
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("line 1", s["message"])
        r = self.post_lease("[1, 2]")
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("must be a JSON object", s["message"])
        self.assertServing()

    def test_body_over_3_mib_is_413_and_the_server_keeps_serving(self):
        for size in (3 * 1024 * 1024, 12 * 1024 * 1024):
            big = json.dumps(lease(unique("huge"), annotations={"blob": "x" * size})).encode()
            conn = self.c.connect()
            try:
                conn.putrequest("POST", LEASES % "default")
                conn.putheader("Authorization", "Bearer " + self.server.token)
                conn.putheader("Content-Type", "application/json")
                conn.putheader("Content-Length", str(len(big)))
                conn.endheaders()
                try:
                    # The server answers without reading the body and closes, so sending the
                    # rest may fail; the answer is still there to read.
                    conn.send(big)
                except OSError:
                    pass
                r = conn.getresponse()
                self.assertEqual(r.status, 413)
                s = json.loads(r.read())
                self.assertEqual((s["kind"], s["code"], s["reason"]),
                                 ("Status", 413, "RequestEntityTooLarge"), s)
                self.assertIn("larger than the limit of 3145728 bytes", s["message"])
            finally:
                conn.close()
            self.assertServing()
        # What a kubectl user sees, every time: the 413, not "write: broken pipe" (the server
        # once closed a TLS connection with the refused body unread, and the reset lost the
        # answer in 3-5 runs of 10).
        for size in (4 << 20, 12 << 20):
            with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
                json.dump(lease(unique("kubectl-huge"), annotations={"blob": "x" * size}), f)
                f.flush()
                for _ in range(5):
                    p = self.server.kubectl("create", "-f", f.name, check=False)
                    self.assertEqual(p.returncode, 1, p)
                    self.assertIn("Error from server (RequestEntityTooLarge)", p.stderr)
                    self.assertIn("the request body is larger than the limit of 3145728 bytes",
                                  p.stderr)
        # The cap is exact: a body of 3 MiB is read and decoded (here it fails validation:
        # annotations are limited to 256 KiB, as upstream), one byte more is 413.
        limit = 3 * 1024 * 1024
        for extra, code, reason in ((0, 422, "Invalid"), (1, 413, "RequestEntityTooLarge")):
            name = unique("edge")
            pad = limit - len(json.dumps(lease(name, annotations={"blob": ""}))) + extra
            body = json.dumps(lease(name, annotations={"blob": "x" * pad}))
            self.assertEqual(len(body), limit + extra)
            try:
                r = self.post_lease(body)
            except OSError:  # the 413 may close the connection before the body is sent
                r = None
            if r is not None:
                s = status_of(self, r, code, reason)
                if code == 422:
                    self.assertIn("metadata.annotations: Too long", s["message"])
        # Well under the cap is fine.
        ok = lease(unique("big"), annotations={"blob": "x" * (200 * 1024)})
        self.assertEqual(self.post_lease(ok).status, 201)
        self.assertServing()

    def test_hostile_bodies_are_400_and_the_server_keeps_serving(self):
        n = 100000
        cases = [
            ("application/json", "[" * n + "]" * n, "nesting deeper than 200 levels"),
            ("application/json", '{"a":' * n + "1" + "}" * n, "nesting deeper than 200 levels"),
            ("application/yaml", "[" * n + "]" * n, "nesting deeper than 200 levels"),
            ("application/yaml",
             "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
                 "%s: &%s [%s]\n" % (k, k, ",".join(["*" + p] * 9))
                 for p, k in zip("abcdefgh", "bcdefghi")), "more than 1000000 nodes"),
            ("application/vnd.kubernetes.protobuf", b"k8s\x00" + b"\xff" * 100, "malformed"),
            ("application/json", b'{"metadata":{"name":"a\xff\xfe"}}', "UTF-8"),
            ("application/json", '{"metadata":{"generation":1e400}}', "overflow"),
        ]
        for ct, body, want in cases:
            r = self.post_lease(body, content_type=ct)
            s = status_of(self, r, 400, "BadRequest")
            self.assertIn(want, s["message"], ct)
            self.assertIsNone(self.server.proc.poll())
        name = unique("deep-patch")
        self.assertEqual(self.post_lease(lease(name)).status, 201)
        for ct in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                   "application/json-patch+json"):
            r = self.c.request("PATCH", LEASES % "default" + "/" + name, "[" * n + "]" * n,
                               headers={"Content-Type": ct})
            s = status_of(self, r, 400, "BadRequest")
            self.assertIn("nesting deeper than 200 levels", s["message"])
        self.assertServing()

    def test_connection_level_abuse_leaves_the_server_serving(self):
        host, port = self.c.url.hostname, self.c.url.port

        def tls():
            raw = socket.create_connection((host, port), timeout=10)
            return self.c.ctx.wrap_socket(raw, server_hostname=host)

        head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\n" % (LEASES % "default", self.server.token))
        # Expect: 100-continue with an oversized body: 413 at once, nothing to upload.
        t = tls()
        try:
            t.sendall((head + "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                       % (5 << 20)).encode())
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = t.recv(4096)
                self.assertTrue(chunk, got)
                got += chunk
            self.assertTrue(got.startswith(b"HTTP/1.1 413 "), got)
        finally:
            t.close()
        # Expect: 100-continue with a small body: 100 Continue, then the answer.
        body = json.dumps(lease(unique("expect"))).encode()
        t = tls()
        try:
            t.sendall((head + "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                       % len(body)).encode())
            self.assertTrue(t.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n"))
            t.sendall(body)
            self.assertTrue(t.recv(4096).startswith(b"HTTP/1.1 201 "))
        finally:
            t.close()
        # A body cut short, a connection that speaks plain HTTP to the TLS port, and 200
        # connections stuck half-way through their request head.
        t = tls()
        t.sendall((head + "Content-Length: 1000\r\n\r\n{\"a\":").encode())
        t.close()
        raw = socket.create_connection((host, port), timeout=10)
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.close()
        stuck = []
        try:
            for _ in range(200):
                stuck.append(tls())
                stuck[-1].sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            self.assertServing()
            self.assertLess(time.monotonic() - start, 5)
        finally:
            for t in stuck:
                t.close()
        self.assertServing()

    def test_wrong_content_type_is_415(self):
        r = self.post_lease(json.dumps(lease(unique("plain"))), content_type="text/plain")
        s = status_of(self, r, 415, "UnsupportedMediaType")
        self.assertIn("text/plain", s["message"])
        r = self.c.request("PATCH", LEASES % "default" + "/nope", {"spec": {}},
                           headers={"Content-Type": "text/plain"})
        self.assertIn(r.status, (404, 415), r)
        self.assertServing()

    def test_an_unsupported_accept_is_406(self):
        # kube-apiserver answers 406 NotAcceptable naming the media types it can produce (knet
        # ignored Accept until 011e3e0).
        for accept in ("application/xml", "application/json;as=Foo;v=v1;g=meta.k8s.io"):
            r = self.c.request("GET", LEASES % "default", headers={"Accept": accept})
            s = status_of(self, r, 406, "NotAcceptable")
            self.assertIn("application/json", s["message"])

    def test_server_side_apply_of_a_new_object_says_it_is_unsupported(self):
        # The clear 415 for a new object too, not NotFound (the content type was checked only
        # after the object was read until 011e3e0).
        name = unique("ssa")
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(lease(name), f)
            f.flush()
            p = self.server.kubectl("apply", "--server-side", "-f", f.name, check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("server-side apply is not supported", p.stderr)

    def test_unknown_resources_and_groups_are_404(self):
        for path in ("/api/v1/foos", "/api/v1/namespaces/default/foos",
                     "/apis/nope.example.com/v1/things", "/apis/apps/v9/deployments",
                     "/api/v1/namespaces/default/pods/p/nosuchsubresource"):
            r = self.c.request("GET", path)
            s = status_of(self, r, 404, "NotFound")
            self.assertIn("could not find the requested resource", s["message"])
            self.assertIn(path, s["message"])
        r = self.c.request("POST", "/api/v1/namespaces/default/foos", {"metadata": {}})
        status_of(self, r, 404, "NotFound")
        self.assertServing()

    def test_missing_or_wrong_token_is_401(self):
        for tok in (None, "wrong", self.server.token + "x", ""):
            r = self.c.request("GET", "/api/v1/namespaces", token=tok)
            status_of(self, r, 401, "Unauthorized")
            r = self.c.request("POST", LEASES % "default", lease(unique("anon")), token=tok)
            status_of(self, r, 401, "Unauthorized")
        r = self.c.request("GET", "/api/v1/namespaces",
                           headers={"Authorization": "Basic YWRtaW46YWRtaW4="}, token=None)
        status_of(self, r, 401, "Unauthorized")
        self.assertServing()

    def test_read_only_token_can_list_but_not_create(self):
        viewer = None
        with open(os.path.join(self.server.dir, "tokens.csv")) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) >= 2 and fields[1] == "viewer":
                    viewer = fields[0]
        self.assertTrue(viewer)
        r = self.c.request("GET", LEASES % "default", token=viewer)
        self.assertEqual(r.status, 200, r)
        name = unique("viewer")
        r = self.c.request("POST", LEASES % "default", lease(name), token=viewer)
        s = status_of(self, r, 403, "Forbidden")
        self.assertIn('"viewer"', s["message"])
        r = self.c.request("DELETE", "/api/v1/namespaces/default", token=viewer)
        status_of(self, r, 403, "Forbidden")
        self.assertEqual(self.c.request("GET", LEASES % "default" + "/" + name).status, 404)
        self.assertServing()

    def test_strict_field_validation_names_the_unknown_field(self):
        body = lease(unique("strict"))
        body["spec"]["bogusField"] = 1
        body["metadata"]["alsoBogus"] = "x"
        r = self.post_lease(body, "?fieldValidation=Strict")
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("strict decoding error", s["message"])
        self.assertIn('unknown field "spec.bogusField"', s["message"])
        self.assertIn('unknown field "metadata.alsoBogus"', s["message"])
        self.assertEqual(self.c.request("GET", LEASES % "default/" +
                                        body["metadata"]["name"]).status, 404)
        # Warn: created, with a Warning header per unknown field.
        r = self.post_lease(body, "?fieldValidation=Warn")
        self.assertEqual(r.status, 201, r)
        warnings = r.header("Warning")
        self.assertTrue(any('unknown field \\"spec.bogusField\\"' in w or
                            'unknown field "spec.bogusField"' in w for w in warnings), warnings)
        self.assertTrue(all(w.startswith("299 - ") for w in warnings), warnings)
        self.assertNotIn("bogusField", r.json()["spec"])
        r = self.post_lease(lease(unique("fv")), "?fieldValidation=Loud")
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("fieldValidation", s["message"])
        self.assertServing()

    def test_bad_selectors_are_400(self):
        for sel in ("a%20in%20(b", "a%3D%3D%3Db", "!", "a%20notin%20"):
            r = self.c.request("GET", LEASES % "default" + "?labelSelector=" + sel)
            status_of(self, r, 400, "BadRequest")
        r = self.c.request("GET", LEASES % "default" + "?fieldSelector=spec.holderIdentity%3Dx")
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("field label not supported", s["message"])
        self.assertIn("spec.holderIdentity", s["message"])
        r = self.c.request("GET", "/api/v1/pods?watch=true&fieldSelector=spec.bogus%3Dx")
        s = status_of(self, r, 400, "BadRequest")
        self.assertIn("field label not supported", s["message"])
        r = self.c.request("GET", LEASES % "default" + "?limit=-3")
        status_of(self, r, 400, "BadRequest")
        # A supported field selector works.
        r = self.c.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
        self.assertEqual(r.status, 200, r)
        self.assertServing()

    def test_a_service_with_a_taken_cluster_ip_is_422(self):
        def svc(name, ip=None):
            spec = {"ports": [{"port": 80}], "selector": {"app": name}}
            if ip:
                spec["clusterIP"] = ip
            return {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name}, "spec": spec}
        r = self.c.request("POST", "/api/v1/namespaces/default/services", svc(unique("taken")))
        self.assertEqual(r.status, 201, r)
        ip = r.json()["spec"]["clusterIP"]
        name = unique("clash")
        for taken in (ip, "10.96.0.1"):
            r = self.c.request("POST", "/api/v1/namespaces/default/services", svc(name, taken))
            s = status_of(self, r, 422, "Invalid")
            self.assertIn(taken, s["message"])
            self.assertIn("already allocated", s["message"])
            self.assertEqual(s["details"]["name"], name)
        r = self.c.request("POST", "/api/v1/namespaces/default/services", svc(name, "10.0.0.5"))
        s = status_of(self, r, 422, "Invalid")
        self.assertIn("10.0.0.5", s["message"])
        self.assertEqual(self.c.request("GET", "/api/v1/namespaces/default/services/" +
                                        name).status, 404)
        self.assertServing()


class RestartTest(unittest.TestCase):
    def test_a_restart_keeps_objects_allocations_ca_and_tokens(self):
        d = tempfile.mkdtemp(prefix="knet-edge-restart-")
        try:
            nodeport = {"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": "np"},
                        "spec": {"type": "NodePort", "ports": [{"port": 80}],
                                 "selector": {"app": "np"}}}
            with KnetServer(data_dir=d) as s:
                c = RawClient(s)
                r = c.request("POST", "/api/v1/namespaces/default/services", nodeport)
                self.assertEqual(r.status, 201, r)
                used_ips = {"10.96.0.1", r.json()["spec"]["clusterIP"]}
                used_ports = {r.json()["spec"]["ports"][0]["nodePort"]}
                r = c.request("POST", LEASES % "default", lease("kept"))
                self.assertEqual(r.status, 201, r)
                kept_uid = r.json()["metadata"]["uid"]
                with open(s.kubeconfig) as f:
                    old_kubeconfig = yaml.safe_load(f)
                with open(s.ca_file, "rb") as f:
                    old_ca = f.read()
                old_token = s.token
                c.close()
                # SIGTERM with watches open: they end, and the server exits cleanly and soon.
                ended = []
                started = threading.Semaphore(0)

                def watch():
                    w = RawClient(s)
                    ended.append(w.stream_lines(LEASES % "default" + "?watch=true", timeout=30,
                                                on_line=lambda e: started.release()))

                watchers = [threading.Thread(target=watch) for _ in range(3)]
                for t in watchers:
                    t.start()
                for _ in watchers:
                    self.assertTrue(started.acquire(timeout=20))  # each has its first event
                start = time.monotonic()
                self.assertEqual(s.stop(), 0, s.log())
                self.assertLess(time.monotonic() - start, 10)
                for t in watchers:
                    t.join(20)
                self.assertEqual(len(ended), 3)
                for status, events in ended:
                    self.assertEqual(status, 200)
                    self.assertIn("kept", [e["object"]["metadata"]["name"] for e in events])
            with KnetServer(data_dir=d) as s:
                with open(s.ca_file, "rb") as f:
                    self.assertEqual(f.read(), old_ca)
                self.assertEqual(s.token, old_token)
                c = RawClient(s)
                r = c.request("GET", LEASES % "default" + "/kept")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["metadata"]["uid"], kept_uid)
                r = c.request("GET", "/api/v1/namespaces/default/services/np")
                self.assertEqual(r.status, 200, r)
                # New Services get neither a used ClusterIP nor a used NodePort, and asking for
                # the used ones is refused.
                for i in range(5):
                    svc = json.loads(json.dumps(nodeport))
                    svc["metadata"]["name"] = "np%d" % i
                    r = c.request("POST", "/api/v1/namespaces/default/services", svc)
                    self.assertEqual(r.status, 201, r)
                    ip = r.json()["spec"]["clusterIP"]
                    port = r.json()["spec"]["ports"][0]["nodePort"]
                    self.assertNotIn(ip, used_ips)
                    self.assertNotIn(port, used_ports)
                    used_ips.add(ip)
                    used_ports.add(port)
                svc = json.loads(json.dumps(nodeport))
                svc["metadata"]["name"] = "np-clash"
                svc["spec"]["ports"][0]["nodePort"] = min(used_ports)
                r = c.request("POST", "/api/v1/namespaces/default/services", svc)
                st = status_of(self, r, 422, "Invalid")
                self.assertIn(str(min(used_ports)), st["message"])
                # A watch from before the restart is too old for the new watch cache.
                status, body = c.stream_lines(
                    LEASES % "default" + "?watch=true&timeoutSeconds=2&resourceVersion=1")
                self.assertEqual(status, 410, body)
                self.assertEqual(body["reason"], "Expired")
                c.close()
                # The old kubeconfig (CA and token) still works; only the port is new.
                old_kubeconfig["clusters"][0]["cluster"]["server"] = s.url
                path = os.path.join(d, "old.kubeconfig")
                with open(path, "w") as f:
                    yaml.safe_dump(old_kubeconfig, f)
                out = s.kubectl("get", "lease", "kept", "-o", "jsonpath={.metadata.uid}",
                                env={"KUBECONFIG": path}).stdout
                self.assertEqual(out, kept_uid)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
