"""The real kubectl against a `knet server` on loopback: the scenario of issue 4.

One server for the class; every test works in a namespace of its own, so the tests are independent
of each other and of their order. Assertions are on what kubectl prints (stdout, stderr, exit
code) and on objects read back.
"""
import itertools
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import yaml

from knet_server import KnetServer

MANIFESTS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                          "testdata", "manifests", "apiserver"))
_ids = itertools.count(1)


def manifest(name):
    return os.path.join(MANIFESTS, name)


def table(text):
    """kubectl's table output as a list of column lists (header first)."""
    return [line.split() for line in text.splitlines() if line.strip()]


def pod_yaml(name, labels=None, owner=None, containers=(("c", "busybox:1.36"),)):
    meta = {"name": name, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [owner]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                           "spec": {"containers": [{"name": n, "image": i}
                                                   for n, i in containers]}})


class KubectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KnetServer().__enter__()
        cls.addClassCleanup(cls.server.__exit__, None, None, None)

    def setUp(self):
        # A namespace per test: "kt-<n>-<test name>", trimmed to a DNS label.
        name = self._testMethodName.replace("test_", "").replace("_", "-")
        self.ns = ("kt-%d-%s" % (next(_ids), name))[:50].rstrip("-")
        self.kubectl("create", "namespace", self.ns, namespaced=False)

    def kubectl(self, *args, namespaced=True, **kw):
        if namespaced:
            args = ("-n", self.ns) + args
        return self.server.kubectl(*args, **kw)

    def kubectl_fails(self, *args, **kw):
        p = self.kubectl(*args, check=False, **kw)
        self.assertNotEqual(p.returncode, 0, "kubectl %s succeeded:\n%s" % (args, p.stdout))
        return p

    def jsonpath(self, kind, name, path):
        return self.kubectl("get", kind, name, "-o", "jsonpath=" + path).stdout

    def wait_for(self, what, fn, timeout=30):
        """Polls fn until it returns a true value; fails with `what` after timeout seconds."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.1)
        self.fail("timed out after %ds waiting for %s (last: %r)\nserver log:\n%s" %
                  (timeout, what, last, self.server.log()))

    def pod_names(self, selector=None):
        args = ["get", "pods", "-o", "name"] + (["-l", selector] if selector else [])
        return sorted(self.kubectl(*args).stdout.split())

    # --- apply and get -------------------------------------------------------------------------

    def test_apply_multi_document_manifest_then_get_in_every_form(self):
        out = self.kubectl("apply", "-f", manifest("web-app.yaml")).stdout
        self.assertEqual(out.splitlines(), ["deployment.apps/web created", "service/web created",
                                            "pod/web-pod created"])
        # Applying again changes nothing, and kubectl can tell from the last-applied annotation.
        out = self.kubectl("apply", "-f", manifest("web-app.yaml")).stdout
        self.assertEqual(out.splitlines(), ["deployment.apps/web unchanged",
                                            "service/web unchanged", "pod/web-pod unchanged"])

        # Default table form.
        rows = table(self.kubectl("get", "pods").stdout)
        self.assertEqual(rows[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
        self.assertEqual(rows[1][:4], ["web-pod", "0/1", "Pending", "0"])
        self.assertEqual(len(rows), 2)
        rows = table(self.kubectl("get", "deployments").stdout)
        self.assertEqual(rows[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
        self.assertEqual(rows[1][:4], ["web", "0/2", "0", "0"])
        rows = table(self.kubectl("get", "services").stdout)
        self.assertEqual(rows[0], ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"])
        self.assertEqual(rows[1][0:2], ["web", "ClusterIP"])
        self.assertRegex(rows[1][2], r"^10\.96\.\d+\.\d+$")
        self.assertEqual(rows[1][3:5], ["<none>", "80/TCP"])

        # -o wide adds columns.
        out = self.kubectl("get", "pods", "-o", "wide").stdout
        self.assertIn("NOMINATED NODE", out.splitlines()[0])
        self.assertEqual(table(out)[1][:8],
                         ["web-pod", "0/1", "Pending", "0", table(out)[1][4], "<none>", "<none>",
                          "<none>"])
        rows = table(self.kubectl("get", "deployment", "web", "-o", "wide").stdout)
        self.assertEqual(rows[0][-3:], ["CONTAINERS", "IMAGES", "SELECTOR"])
        self.assertEqual(rows[1][-3:], ["nginx,sidecar", "nginx:1.27,busybox:1.36", "app=web"])
        rows = table(self.kubectl("get", "service", "web", "-o", "wide").stdout)
        self.assertEqual(rows[0][-1], "SELECTOR")
        self.assertEqual(rows[1][-1], "app=web")

        # -o yaml: the object as stored, with defaults filled in and the last-applied annotation.
        pod = yaml.safe_load(self.kubectl("get", "pod", "web-pod", "-o", "yaml").stdout)
        self.assertEqual((pod["apiVersion"], pod["kind"]), ("v1", "Pod"))
        self.assertEqual(pod["metadata"]["namespace"], self.ns)
        self.assertEqual(pod["metadata"]["labels"], {"app": "web", "tier": "front"})
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration",
                      pod["metadata"]["annotations"])
        self.assertEqual(pod["spec"]["containers"][0]["image"], "nginx:1.27")
        self.assertEqual(pod["spec"]["restartPolicy"], "Always")
        self.assertEqual(pod["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent")
        self.assertEqual(pod["status"]["phase"], "Pending")
        self.assertTrue(pod["metadata"]["uid"])

        # -o json of a list.
        lst = json.loads(self.kubectl("get", "deployments,services", "-o", "json").stdout)
        self.assertEqual(lst["kind"], "List")
        self.assertEqual([(i["kind"], i["metadata"]["name"]) for i in lst["items"]],
                         [("Deployment", "web"), ("Service", "web")])
        self.assertEqual(lst["items"][0]["spec"]["replicas"], 2)
        self.assertEqual(lst["items"][1]["spec"]["ports"][0]["targetPort"], 80)

        # -o jsonpath, over one object and with range over a list.
        self.assertEqual(self.jsonpath("deployment", "web",
                                       "{.spec.template.spec.containers[*].name}"),
                         "nginx sidecar")
        out = self.kubectl("get", "pods,services", "-o",
                           'jsonpath={range .items[*]}{.kind}/{.metadata.name}{"\\n"}{end}').stdout
        self.assertEqual(out.splitlines(), ["Pod/web-pod", "Service/web"])

        # -o name, label selectors, get all.
        self.assertEqual(self.pod_names("tier=front"), ["pod/web-pod"])
        self.assertEqual(self.pod_names("tier=back"), [])
        self.assertEqual(self.kubectl("get", "pods", "-l", "tier=back").stderr.strip(),
                         "No resources found in %s namespace." % self.ns)
        out = self.kubectl("get", "all", "-o", "name").stdout.split()
        self.assertEqual(sorted(out), ["deployment.apps/web", "pod/web-pod", "service/web"])
        out = self.kubectl("get", "all").stdout
        self.assertIn("pod/web-pod", out)
        self.assertIn("service/web", out)
        self.assertIn("deployment.apps/web", out)

        # A get of something missing.
        p = self.kubectl_fails("get", "pod", "no-such-pod")
        self.assertIn('Error from server (NotFound): pods "no-such-pod" not found', p.stderr)

    def test_reapply_changed_manifest_set_image_replace_diff_and_delete_by_file(self):
        with open(manifest("web-app.yaml")) as f:
            original = f.read()
        self.kubectl("apply", "-f", "-", input=original)
        changed = original.replace("nginx:1.27", "nginx:1.29")
        out = self.kubectl("apply", "-f", "-", input=changed).stdout
        self.assertEqual(out.splitlines(), ["deployment.apps/web configured",
                                            "service/web unchanged", "pod/web-pod configured"])
        self.assertEqual(self.jsonpath("pod", "web-pod", "{.spec.containers[0].image}"),
                         "nginx:1.29")

        # kubectl diff asks the server for a dry-run patch: exit 1 and a unified diff when the
        # manifest differs from the live objects, exit 0 when not; nothing is written.
        p = self.kubectl("diff", "-f", "-", input=original, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stdout, r"\n-      - image: nginx:1\.29\n")
        self.assertRegex(p.stdout, r"\n\+      - image: nginx:1\.27\n")
        self.assertEqual(self.jsonpath("deployment", "web",
                                       "{.spec.template.spec.containers[0].image}"), "nginx:1.29")
        p = self.kubectl("diff", "-f", "-", input=changed, check=False)
        self.assertEqual((p.returncode, p.stdout), (0, ""), p.stderr)

        out = self.kubectl("set", "image", "deployment/web", "nginx=nginx:1.30").stdout
        self.assertEqual(out.strip(), "deployment.apps/web image updated")
        self.assertEqual(self.jsonpath("deployment", "web",
                                       "{.spec.template.spec.containers[*].image}"),
                         "nginx:1.30 busybox:1.36")

        live = self.kubectl("get", "service", "web", "-o", "yaml").stdout
        out = self.kubectl("replace", "-f", "-",
                           input=live.replace("    app: web\n  sessionAffinity",
                                              "    app: api\n  sessionAffinity")).stdout
        self.assertEqual(out.strip(), "service/web replaced")
        self.assertEqual(self.jsonpath("service", "web", "{.spec.selector.app}"), "api")
        # A replace from a stale copy conflicts.
        p = self.kubectl_fails("replace", "-f", "-", input=live)
        self.assertIn("Operation cannot be fulfilled on services \"web\"", p.stderr)

        out = self.kubectl("delete", "-f", manifest("web-app.yaml")).stdout
        self.assertEqual(out.splitlines(), ['deployment.apps "web" deleted',
                                            'service "web" deleted', 'pod "web-pod" deleted'])
        self.assertEqual(self.kubectl("get", "all", "-o", "name").stdout, "")

    def test_events_through_get_events_and_kubectl_events(self):
        self.kubectl("create", "-f", "-", input=pod_yaml("evented"))
        uid = self.jsonpath("pod", "evented", "{.metadata.uid}")
        for i, (reason, kind, count) in enumerate([("Scheduled", "Normal", 1),
                                                   ("BackOff", "Warning", 3)]):
            self.kubectl("create", "-f", "-", input=json.dumps({
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": "evented.%d" % i},
                "involvedObject": {"kind": "Pod", "name": "evented", "namespace": self.ns,
                                   "uid": uid, "apiVersion": "v1"},
                "reason": reason, "message": "event number %d" % i, "type": kind,
                "count": count, "source": {"component": "kubelet"},
                "firstTimestamp": "2026-01-01T00:00:0%dZ" % i,
                "lastTimestamp": "2026-01-01T00:01:0%dZ" % i}))
        rows = table(self.kubectl("get", "events").stdout)
        self.assertEqual(rows[0], ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        self.assertEqual([r[1:] for r in rows[1:]],
                         [["Normal", "Scheduled", "pod/evented", "event", "number", "0"],
                          ["Warning", "BackOff", "pod/evented", "event", "number", "1"]])
        out = self.kubectl("get", "events", "--field-selector",
                           "involvedObject.name=evented,type=Warning", "-o", "wide").stdout
        self.assertIn("COUNT", out.splitlines()[0])
        self.assertEqual([r[-1] for r in table(out)[1:]], ["evented.1"])
        out = self.kubectl("events", "--for", "pod/evented", "--types=Warning").stdout
        self.assertRegex(out, r"\(x3 over \S+\)\s+Warning\s+BackOff\s+Pod/evented\s+"
                              r"event number 1")
        self.assertNotIn("Scheduled", out)

    def test_get_with_selectors_paging_sorting_and_server_dry_run(self):
        for i in range(1, 6):
            self.kubectl("run", "p%d" % i, "--image=busybox:1.36", "--labels=n=%d" % i)
        names = ["pod/p%d" % i for i in range(1, 6)]
        # --chunk-size pages through limit/continue and still shows everything once.
        self.assertEqual(self.kubectl("get", "pods", "--chunk-size=2", "-o", "name").stdout.split(),
                         names)
        self.assertEqual(self.kubectl("get", "pods", "--field-selector",
                                      "status.phase=Pending,metadata.name!=p3", "-o",
                                      "name").stdout.split(),
                         ["pod/p1", "pod/p2", "pod/p4", "pod/p5"])
        self.assertEqual(self.pod_names("n in (1,2,3),n!=2"), ["pod/p1", "pod/p3"])
        self.assertEqual(self.pod_names("!n"), [])
        p = self.kubectl_fails("get", "pods", "--field-selector", "spec.bogus=1")
        self.assertIn("BadRequest", p.stderr)
        out = self.kubectl("get", "pods", "--sort-by=.metadata.labels.n", "-o",
                           "custom-columns=N:.metadata.labels.n,NAME:.metadata.name",
                           "--no-headers").stdout
        self.assertEqual(table(out), [[str(i), "p%d" % i] for i in range(1, 6)])
        out = self.kubectl("get", "pods", "-A", "-l", "n=4", "-o",
                           "custom-columns=NS:.metadata.namespace,NAME:.metadata.name").stdout
        self.assertEqual(table(out), [["NS", "NAME"], [self.ns, "p4"]])
        self.assertEqual(self.kubectl("get", "pod", "p1", "-o",
                                      "go-template={{.metadata.name}}-{{.status.phase}}").stdout,
                         "p1-Pending")

        # --dry-run=server: validated and defaulted by the server, nothing stored.
        dry = yaml.safe_load(self.kubectl("run", "dry", "--image=busybox:1.36",
                                          "--dry-run=server", "-o", "yaml").stdout)
        self.assertEqual(dry["metadata"]["name"], "dry")
        self.assertEqual(dry["spec"]["restartPolicy"], "Always")
        self.assertIn('pods "dry" not found', self.kubectl_fails("get", "pod", "dry").stderr)
        self.assertEqual(self.kubectl("label", "pod", "p1", "x=y",
                                      "--dry-run=server").stdout.strip(),
                         "pod/p1 labeled (server dry run)")
        self.assertEqual(json.loads(self.jsonpath("pod", "p1", "{.metadata.labels}")), {"n": "1"})
        self.assertEqual(self.kubectl("delete", "pods", "--all").stdout.splitlines(),
                         ['pod "p%d" deleted' % i for i in range(1, 6)])
        self.assertEqual(self.pod_names(), [])

    # --- get -w --------------------------------------------------------------------------------

    def test_get_watch_streams_changes_then_stops_on_timeout(self):
        self.kubectl("create", "-f", "-", input=pod_yaml("watched", {"app": "w"}))
        self.kubectl("create", "-f", "-", input=pod_yaml("doomed", {"app": "w"}))
        env = dict(os.environ, KUBECONFIG=self.server.kubeconfig)
        proc = subprocess.Popen(
            ["kubectl", "-n", self.ns, "get", "pods", "-w", "--output-watch-events",
             "--request-timeout=8s", "-L", "env"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines = queue.Queue()

        def pump():
            for line in proc.stdout:
                # EVENT NAME READY STATUS RESTARTS AGE ENV (empty when unlabelled); AGE varies.
                cols = line.split()
                lines.put(cols[:5] + cols[6:])
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            seen = []

            def expect(n):
                deadline = time.time() + 20
                while len(seen) < n:
                    item = lines.get(timeout=max(0.1, deadline - time.time()))
                    if item is None:
                        self.fail("kubectl get -w ended early; saw %r; stderr:\n%s" %
                                  (seen, proc.stderr.read()))
                    seen.append(item)

            expect(3)  # header and the two pods listed first
            self.assertEqual(seen[0], ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "ENV"])
            self.assertEqual(sorted(seen[1:3]),
                             [["ADDED", "doomed", "0/1", "Pending", "0"],
                              ["ADDED", "watched", "0/1", "Pending", "0"]])
            self.kubectl("label", "pod", "watched", "env=prod")
            self.kubectl("create", "-f", "-", input=pod_yaml("newcomer"))
            self.kubectl("delete", "pod", "doomed", "--wait=false")
            expect(6)
            self.assertEqual(seen[3:6], [["MODIFIED", "watched", "0/1", "Pending", "0", "prod"],
                                         ["ADDED", "newcomer", "0/1", "Pending", "0"],
                                         ["DELETED", "doomed", "0/1", "Pending", "0"]])
            # The request timeout ends the watch; kubectl exits cleanly without more lines.
            rc = proc.wait(timeout=30)
            reader.join(timeout=10)
            rest = []
            while not lines.empty():
                item = lines.get()
                if item is not None:
                    rest.append(item)
            self.assertEqual(rest, [])
            self.assertEqual(rc, 0, proc.stderr.read())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    # --- label, annotate, scale ----------------------------------------------------------------

    def test_label_annotate_and_scale(self):
        self.kubectl("apply", "-f", manifest("web-app.yaml"))
        self.assertEqual(self.kubectl("label", "pod", "web-pod", "env=prod").stdout.strip(),
                         "pod/web-pod labeled")
        p = self.kubectl_fails("label", "pod", "web-pod", "env=dev")
        self.assertIn("'env' already has a value (prod), and --overwrite is false", p.stderr)
        self.kubectl("label", "pod", "web-pod", "env=dev", "--overwrite")
        self.assertEqual(self.pod_names("env=dev"), ["pod/web-pod"])
        self.assertEqual(self.pod_names("env=prod"), [])
        rows = table(self.kubectl("get", "pods", "-L", "env,tier").stdout)
        self.assertEqual(rows[0][-2:], ["ENV", "TIER"])
        self.assertEqual(rows[1][-2:], ["dev", "front"])
        self.kubectl("label", "pod", "web-pod", "tier-")
        self.assertEqual(json.loads(self.jsonpath("pod", "web-pod", "{.metadata.labels}")),
                         {"app": "web", "env": "dev"})
        self.kubectl("label", "deployment,service", "--all", "team=blue")
        self.assertEqual(self.kubectl("get", "deploy,svc", "-l", "team=blue", "-o",
                                      "name").stdout.split(),
                         ["deployment.apps/web", "service/web"])

        self.assertEqual(self.kubectl("annotate", "pod", "web-pod",
                                      "example.com/owner=team blue").stdout.strip(),
                         "pod/web-pod annotated")
        self.assertEqual(self.jsonpath("pod", "web-pod",
                                       "{.metadata.annotations.example\\.com/owner}"),
                         "team blue")
        p = self.kubectl_fails("annotate", "pod", "web-pod", "example.com/owner=x")
        self.assertIn("--overwrite is false", p.stderr)
        self.kubectl("annotate", "pod", "web-pod", "example.com/owner-")
        self.assertEqual(self.jsonpath("pod", "web-pod",
                                       "{.metadata.annotations.example\\.com/owner}"), "")

        self.assertEqual(self.kubectl("scale", "deployment", "web", "--replicas=5").stdout.strip(),
                         "deployment.apps/web scaled")
        self.assertEqual(self.jsonpath("deployment", "web", "{.spec.replicas}"), "5")
        rows = table(self.kubectl("get", "deployment", "web").stdout)
        self.assertEqual(rows[1][1], "0/5")
        p = self.kubectl_fails("scale", "deployment", "web", "--current-replicas=3",
                               "--replicas=1")
        self.assertIn("Expected replicas to be 3, was 5", p.stderr)
        self.assertEqual(self.jsonpath("deployment", "web", "{.spec.replicas}"), "5")
        self.kubectl("scale", "deployment", "web", "--current-replicas=5", "--replicas=0")
        self.assertEqual(self.jsonpath("deployment", "web", "{.spec.replicas}"), "0")
        self.kubectl("apply", "-f", manifest("replicaset-owner.yaml"))
        self.assertEqual(self.kubectl("scale", "rs", "owner", "--replicas=4").stdout.strip(),
                         "replicaset.apps/owner scaled")
        self.assertEqual(self.jsonpath("rs", "owner", "{.spec.replicas}"), "4")

    # --- patch ---------------------------------------------------------------------------------

    def test_patch_with_strategic_merge_and_json_patch_types(self):
        self.kubectl("apply", "-f", manifest("web-app.yaml"))
        containers = "{range .spec.template.spec.containers[*]}{.name}={.image} {end}"

        # Strategic merge (the default): containers merge by name, the sidecar stays.
        out = self.kubectl("patch", "deployment", "web", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.28"}]}}}})).stdout
        self.assertEqual(out.strip(), "deployment.apps/web patched")
        self.assertEqual(self.jsonpath("deployment", "web", containers).split(),
                         ["nginx=nginx:1.28", "sidecar=busybox:1.36"])
        out = self.kubectl("patch", "deployment", "web", "--type=strategic", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.28"}]}}}})).stdout
        self.assertEqual(out.strip(), "deployment.apps/web patched (no change)")
        # $patch: delete removes one element of a merge-keyed list.
        self.kubectl("patch", "deployment", "web", "--type=strategic", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "sidecar", "$patch": "delete"}]}}}}))
        self.assertEqual(self.jsonpath("deployment", "web", containers).split(),
                         ["nginx=nginx:1.28"])

        # JSON merge patch: null deletes a key, lists are replaced whole.
        self.kubectl("patch", "deployment", "web", "--type=merge", "-p", json.dumps(
            {"metadata": {"labels": {"app": None, "merged": "yes"}}}))
        self.assertEqual(json.loads(self.jsonpath("deployment", "web", "{.metadata.labels}")),
                         {"merged": "yes"})
        self.kubectl("patch", "deployment", "web", "--type=merge", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "only", "image": "alpine:3.20"}]}}}}))
        self.assertEqual(self.jsonpath("deployment", "web", containers).split(),
                         ["only=alpine:3.20"])

        # JSON patch: add (with an escaped '/' in the key), replace, test, remove.
        self.kubectl("patch", "deployment", "web", "--type=json", "-p", json.dumps([
            {"op": "add", "path": "/metadata/labels/example.com~1team", "value": "blue"},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "test", "path": "/spec/replicas", "value": 3}]))
        self.assertEqual(self.jsonpath("deployment", "web",
                                       "{.spec.replicas} {.metadata.labels.example\\.com/team}"),
                         "3 blue")
        p = self.kubectl_fails("patch", "deployment", "web", "--type=json", "-p", json.dumps([
            {"op": "test", "path": "/spec/replicas", "value": 9},
            {"op": "replace", "path": "/spec/replicas", "value": 9}]))
        self.assertIn("test", p.stderr)
        self.assertEqual(self.jsonpath("deployment", "web", "{.spec.replicas}"), "3")
        p = self.kubectl_fails("patch", "deployment", "web", "--type=json", "-p", json.dumps([
            {"op": "remove", "path": "/metadata/labels/absent"}]))
        self.assertTrue(p.stderr.strip(), p)

        # A patch that makes the object invalid is refused with the field error.
        p = self.kubectl_fails("patch", "deployment", "web", "--type=merge", "-p",
                               '{"spec":{"replicas":-1}}')
        self.assertIn('The Deployment "web" is invalid', p.stderr)
        self.assertIn("spec.replicas: Invalid value: -1", p.stderr)
        p = self.kubectl_fails("patch", "pod", "no-such-pod", "-p", '{"metadata":{}}')
        self.assertIn('pods "no-such-pod" not found', p.stderr)

    # --- edit ----------------------------------------------------------------------------------

    def test_edit_with_an_editor_script(self):
        self.kubectl("apply", "-f", manifest("web-app.yaml"))
        tmp = tempfile.mkdtemp(prefix="knet-kubectl-edit-")
        self.addCleanup(shutil.rmtree, tmp, True)

        def editor(name, sed):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\nset -e\nsed -i %s \"$1\"\n" % sed)
            os.chmod(path, 0o755)
            # TMPDIR: kubectl keeps the file it edits (and a copy of a failed edit) there.
            return {"EDITOR": path, "KUBE_EDITOR": path, "TMPDIR": tmp}

        out = self.kubectl("edit", "deployment", "web",
                           env=editor("replicas.sh", "'s/^  replicas: .*/  replicas: 4/'")).stdout
        self.assertEqual(out.strip(), "deployment.apps/web edited")
        self.assertEqual(self.jsonpath("deployment", "web", "{.spec.replicas}"), "4")

        p = self.kubectl("edit", "pod", "web-pod", env={"EDITOR": "true", "TMPDIR": tmp})
        self.assertIn("Edit cancelled, no changes made.", p.stdout + p.stderr)

        p = self.kubectl("edit", "deployment", "web", check=False,
                         env=editor("invalid.sh", "'s/^  replicas: .*/  replicas: -2/'"))
        # The server refuses it; kubectl reopens the file with the field error in a comment, the
        # script changes nothing more, so kubectl gives up and keeps a copy.
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('error: deployments.apps "web" is invalid', p.stderr)
        copy = re.search(r'A copy of your changes has been stored to "([^"]+)"', p.stderr)
        self.assertTrue(copy, p.stderr)
        with open(copy.group(1)) as f:
            kept = f.read()
        self.assertRegex(kept, r"# \* spec.replicas: Invalid value: -2: must be greater than or "
                               r"equal to 0")
        self.assertIn("  replicas: -2\n", kept)
        self.assertEqual(self.jsonpath("deployment", "web", "{.spec.replicas}"), "4")

    # --- describe ------------------------------------------------------------------------------

    def test_describe_pod_deployment_and_service(self):
        self.kubectl("apply", "-f", manifest("web-app.yaml"))
        uid = self.jsonpath("pod", "web-pod", "{.metadata.uid}")
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": "web-pod.e2e-1"},
                 "involvedObject": {"kind": "Pod", "name": "web-pod", "namespace": self.ns,
                                    "uid": uid, "apiVersion": "v1"},
                 "reason": "Scheduled", "message": "no scheduler yet: e2e test event",
                 "type": "Warning", "count": 1, "source": {"component": "e2e"},
                 "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}
        self.kubectl("create", "-f", "-", input=json.dumps(event))

        out = self.kubectl("describe", "pod", "web-pod").stdout
        fields = dict(line.split(":", 1) for line in out.splitlines()
                      if line and not line[0].isspace() and ":" in line)
        self.assertEqual(fields["Name"].strip(), "web-pod")
        self.assertEqual(fields["Namespace"].strip(), self.ns)
        self.assertEqual(fields["Status"].strip(), "Pending")
        self.assertEqual(fields["Node"].strip(), "<none>")
        self.assertRegex(out, r"Labels:\s+app=web\n\s+tier=front\n")
        self.assertRegex(out, r"Image:\s+nginx:1\.27")
        self.assertRegex(out, r"QoS Class:\s+BestEffort")
        # The events section comes from a field-selected list of events for the pod.
        self.assertRegex(out, r"Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message")
        self.assertRegex(out, r"Warning\s+Scheduled\s+\S+\s+e2e\s+no scheduler yet: e2e test event")

        out = self.kubectl("describe", "deployment", "web").stdout
        self.assertRegex(out, r"Name:\s+web\n")
        self.assertRegex(out, r"Selector:\s+app=web\n")
        self.assertRegex(out, r"Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available")
        self.assertRegex(out, r"StrategyType:\s+RollingUpdate")
        self.assertRegex(out, r"RollingUpdateStrategy:\s+25% max unavailable, 25% max surge")
        self.assertRegex(out, r"Image:\s+busybox:1\.36")
        self.assertNotIn("last-applied-configuration", out)

        out = self.kubectl("describe", "service", "web").stdout
        self.assertRegex(out, r"Type:\s+ClusterIP\n")
        self.assertRegex(out, r"Port:\s+http\s+80/TCP\n")
        self.assertRegex(out, r"TargetPort:\s+80/TCP\n")
        self.assertRegex(out, r"IP:\s+10\.96\.\d+\.\d+\n")

        # describe by label selector describes every match.
        out = self.kubectl("describe", "pods", "-l", "app=web").stdout
        self.assertEqual(out.count("\nNamespace:"), 1)
        p = self.kubectl_fails("describe", "pod", "absent")
        self.assertIn('pods "absent" not found', p.stderr)

    # --- delete with cascade -------------------------------------------------------------------

    def make_owned_pods(self, count=2):
        self.kubectl("apply", "-f", manifest("replicaset-owner.yaml"))
        uid = self.jsonpath("rs", "owner", "{.metadata.uid}")
        self.assertRegex(uid, r"^[0-9a-f-]{36}$")
        owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "owner", "uid": uid,
                 "controller": True, "blockOwnerDeletion": True}
        for i in range(count):
            self.kubectl("create", "-f", "-",
                         input=pod_yaml("owned-%d" % i, {"app": "owned"}, owner))
        # A bystander with no owner must survive every cascade.
        self.kubectl("create", "-f", "-", input=pod_yaml("bystander", {"app": "owned"}))
        return uid

    def test_delete_cascade_background(self):
        self.make_owned_pods()
        out = self.kubectl("delete", "rs", "owner", "--cascade=background").stdout
        self.assertEqual(out.strip(), 'replicaset.apps "owner" deleted')
        # The owner goes at once; the garbage collector removes the dependents soon after.
        self.assertIn("NotFound", self.kubectl("get", "rs", "owner", check=False).stderr)
        self.wait_for("the owned pods to be collected",
                      lambda: self.pod_names() == ["pod/bystander"])

    def test_delete_cascade_foreground(self):
        self.make_owned_pods()
        # kubectl waits for the owner itself, which goes only after its blocking dependents.
        out = self.kubectl("delete", "rs", "owner", "--cascade=foreground", "--timeout=60s").stdout
        self.assertEqual(out.strip(), 'replicaset.apps "owner" deleted')
        self.assertEqual(self.pod_names(), ["pod/bystander"])
        self.assertIn("NotFound", self.kubectl("get", "rs", "owner", check=False).stderr)

    def test_delete_cascade_foreground_waits_for_a_blocking_dependent(self):
        self.make_owned_pods()
        # A finalizer of our own holds one dependent, and so the owner's foreground deletion.
        self.kubectl("patch", "pod", "owned-0", "--type=merge", "-p",
                     '{"metadata":{"finalizers":["example.com/hold"]}}')
        self.kubectl("delete", "rs", "owner", "--cascade=foreground", "--wait=false")
        self.wait_for("owned-1 to be collected and owned-0 to be terminating",
                      lambda: self.pod_names() == ["pod/bystander", "pod/owned-0"] and
                      self.jsonpath("pod", "owned-0", "{.metadata.deletionTimestamp}"))
        owner = json.loads(self.jsonpath("rs", "owner", "{.metadata}"))
        self.assertIn("deletionTimestamp", owner)
        self.assertEqual(owner.get("finalizers"), ["foregroundDeletion"])
        rows = table(self.kubectl("get", "pods", "owned-0").stdout)
        self.assertEqual(rows[1][2], "Terminating")
        # Releasing the dependent lets the whole foreground deletion finish.
        self.kubectl("patch", "pod", "owned-0", "--type=json", "-p",
                     '[{"op":"remove","path":"/metadata/finalizers"}]')
        # (wait prints nothing for objects that are already gone, so only its status counts.)
        self.kubectl("wait", "--for=delete", "rs/owner", "pod/owned-0", "--timeout=30s")
        self.assertEqual(self.pod_names(), ["pod/bystander"])
        self.assertIn("NotFound", self.kubectl("get", "rs", "owner", check=False).stderr)

    def test_delete_cascade_orphan(self):
        self.make_owned_pods()
        out = self.kubectl("delete", "rs", "owner", "--cascade=orphan").stdout
        self.assertEqual(out.strip(), 'replicaset.apps "owner" deleted')
        self.assertIn("NotFound", self.kubectl("get", "rs", "owner", check=False).stderr)
        # The pods stay, and lose their ownerReferences.
        self.assertEqual(self.pod_names(), ["pod/bystander", "pod/owned-0", "pod/owned-1"])
        for name in ("owned-0", "owned-1"):
            self.assertEqual(self.jsonpath("pod", name, "{.metadata.ownerReferences}"), "")

    # --- bad manifests -------------------------------------------------------------------------

    def test_create_with_a_bad_manifest_shows_the_field_error(self):
        p = self.kubectl_fails("create", "-f", manifest("bad-unknown-field.yaml"))
        self.assertIn("Error from server (BadRequest)", p.stderr)
        self.assertIn('unknown field "spec.containers[0].imagePullPolicyy"', p.stderr)

        p = self.kubectl_fails("create", "-f", manifest("bad-invalid-object.yaml"))
        self.assertIn('The Pod "Bad_Name" is invalid', p.stderr)
        self.assertIn('metadata.name: Invalid value: "Bad_Name"', p.stderr)
        self.assertIn("spec.containers: Required value", p.stderr)

        p = self.kubectl_fails("apply", "-f", manifest("bad-invalid-object.yaml"))
        self.assertIn('The Pod "Bad_Name" is invalid', p.stderr)

        bad_type = pod_yaml("bad-type").replace("image: busybox:1.36",
                                                "image: busybox:1.36\n    ports:\n"
                                                "    - containerPort: eighty")
        p = self.kubectl_fails("create", "-f", "-", input=bad_type)
        self.assertIn("containerPort", p.stderr)

        # Nothing was created.
        self.assertEqual(self.pod_names(), [])
        # With validation off, the unknown field is dropped and the pod is created.
        out = self.kubectl("create", "--validate=false", "-f",
                           manifest("bad-unknown-field.yaml")).stdout
        self.assertEqual(out.strip(), "pod/bad-unknown-field created")
        self.assertEqual(self.pod_names(), ["pod/bad-unknown-field"])

    # --- imperative create, namespaces, discovery ----------------------------------------------

    def test_create_imperatively_then_delete_the_namespace(self):
        ns = self.ns + "-x"
        out = self.kubectl("create", "namespace", ns, namespaced=False).stdout
        self.assertEqual(out.strip(), "namespace/%s created" % ns)
        p = self.kubectl_fails("create", "namespace", ns, namespaced=False)
        self.assertIn('namespaces "%s" already exists' % ns, p.stderr)
        self.assertEqual(self.server.kubectl("create", "deployment", "api", "--image=nginx:1.27",
                                             "--replicas=3", "-n", ns).stdout.strip(),
                         "deployment.apps/api created")
        self.assertEqual(self.server.kubectl("create", "service", "clusterip", "api",
                                             "--tcp=80:8080", "-n", ns).stdout.strip(),
                         "service/api created")
        self.assertEqual(self.server.kubectl("run", "shell", "--image=busybox:1.36", "-n", ns,
                                             "--labels=app=api").stdout.strip(),
                         "pod/shell created")
        dep = json.loads(self.server.kubectl("get", "deployment", "api", "-n", ns,
                                             "-o", "json").stdout)
        self.assertEqual(dep["spec"]["replicas"], 3)
        self.assertEqual(dep["spec"]["selector"]["matchLabels"], {"app": "api"})
        svc = json.loads(self.server.kubectl("get", "service", "api", "-n", ns, "-o",
                                             "json").stdout)
        self.assertEqual(svc["spec"]["ports"][0]["port"], 80)
        self.assertEqual(svc["spec"]["ports"][0]["targetPort"], 8080)
        self.assertEqual(svc["spec"]["selector"], {"app": "api"})
        out = sorted(self.server.kubectl("get", "all", "-n", ns, "-o", "name").stdout.split())
        self.assertEqual(out, ["deployment.apps/api", "pod/shell", "service/api"])

        out = self.server.kubectl("delete", "namespace", ns, "--timeout=60s").stdout
        self.assertEqual(out.strip(), 'namespace "%s" deleted' % ns)
        p = self.server.kubectl("get", "namespace", ns, check=False)
        self.assertIn('namespaces "%s" not found' % ns, p.stderr)
        # The contents went with it.
        for kind in ("pods", "deployments", "services"):
            self.assertEqual(self.server.kubectl("get", kind, "-n", ns, "-o", "name").stdout, "")
        self.assertNotIn(ns, self.server.kubectl("get", "namespaces").stdout)

    def test_wait_for_delete(self):
        self.kubectl("create", "-f", "-", input=pod_yaml("short-lived"))
        self.kubectl("create", "-f", "-", input=pod_yaml("long-lived"))
        p = self.kubectl_fails("wait", "--for=delete", "pod/long-lived", "--timeout=1s")
        self.assertIn("timed out waiting for the condition on pods/long-lived", p.stderr)
        # -v=6 logs each request: once the waiter's GET of the pod has returned, it watches from
        # there and cannot miss the deletion.
        waiter = subprocess.Popen(
            ["kubectl", "-n", self.ns, "wait", "--for=delete", "pod/short-lived",
             "--timeout=60s", "-v=6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, KUBECONFIG=self.server.kubeconfig))
        err_lines = queue.Queue()

        def pump():
            for line in waiter.stderr:
                err_lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        try:
            log = []
            deadline = time.time() + 30
            while not any(re.search(r"GET https://\S+/pods\S*short-lived\S* 200 OK", line)
                          for line in log):
                self.assertLess(time.time(), deadline, "kubectl wait never listed the pod:\n" +
                                "".join(log))
                try:
                    log.append(err_lines.get(timeout=1))
                except queue.Empty:
                    pass
            self.kubectl("delete", "pod", "short-lived", "--wait=false")
            out = waiter.stdout.read()
            waiter.wait(timeout=60)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()
            waiter.stdout.close()
        err = "".join(log)
        self.assertEqual(waiter.returncode, 0, err)
        self.assertEqual(out.strip(), "pod/short-lived condition met")
        self.assertEqual(self.pod_names(), ["pod/long-lived"])

    def test_nodes_network_policies_and_endpoint_slices(self):
        node = self.ns + "-node"
        objects = [
            {"apiVersion": "v1", "kind": "Node",
             "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
             "spec": {"podCIDR": "10.244.7.0/24"}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "deny-ingress"},
             "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
             "addressType": "IPv4",
             "endpoints": [{"addresses": ["10.244.7.5"], "conditions": {"ready": True}}],
             "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        ]
        self.addCleanup(self.server.kubectl, "delete", "node", node, "--ignore-not-found")
        out = self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects)).stdout
        self.assertEqual(out.splitlines(), [
            "node/%s created" % node, "networkpolicy.networking.k8s.io/deny-ingress created",
            "endpointslice.discovery.k8s.io/web-abc created"])

        self.assertEqual(self.kubectl("cordon", node, namespaced=False).stdout.strip(),
                         "node/%s cordoned" % node)
        rows = table(self.kubectl("get", "node", node, namespaced=False).stdout)
        self.assertEqual(rows[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
        self.assertEqual(rows[1][:3], [node, "Unknown,SchedulingDisabled", "<none>"])
        self.assertEqual(self.jsonpath("node", node, "{.spec.unschedulable}"), "true")
        self.assertEqual(self.kubectl("uncordon", node, namespaced=False).stdout.strip(),
                         "node/%s uncordoned" % node)
        self.assertEqual(self.jsonpath("node", node, "{.spec.unschedulable}"), "")
        out = self.kubectl("describe", "node", node, namespaced=False).stdout
        self.assertRegex(out, r"PodCIDR:\s+10\.244\.7\.0/24\n")
        self.assertRegex(out, r"Unschedulable:\s+false\n")

        rows = table(self.kubectl("get", "networkpolicies").stdout)
        self.assertEqual(rows, [["NAME", "POD-SELECTOR", "AGE"],
                                ["deny-ingress", "app=db", rows[1][2]]])
        out = self.kubectl("describe", "networkpolicy", "deny-ingress").stdout
        self.assertRegex(out, r"PodSelector:\s+app=db\n")
        self.assertIn("(Selected pods are isolated for ingress connectivity)", out)
        self.assertIn("Not affecting egress traffic", out)

        rows = table(self.kubectl("get", "endpointslices").stdout)
        self.assertEqual(rows[0], ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"])
        self.assertEqual(rows[1][:4], ["web-abc", "IPv4", "80", "10.244.7.5"])
        out = self.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
                           "name").stdout
        self.assertEqual(out.split(), ["endpointslice.discovery.k8s.io/web-abc"])

    def test_wait_for_a_condition_set_through_the_status_subresource(self):
        self.kubectl("run", "starter", "--image=busybox:1.36")
        p = self.kubectl_fails("wait", "--for=condition=Ready", "pod/starter", "--timeout=1s")
        self.assertIn("timed out waiting for the condition on pods/starter", p.stderr)
        waiter = subprocess.Popen(
            ["kubectl", "-n", self.ns, "wait", "--for=jsonpath={.status.phase}=Running",
             "pod/starter", "--timeout=60s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=dict(os.environ, KUBECONFIG=self.server.kubeconfig))
        try:
            out = self.kubectl("patch", "pod", "starter", "--subresource=status", "--type=merge",
                               "-p", json.dumps({"status": {"phase": "Running", "conditions": [
                                   {"type": "Ready", "status": "True"}]}})).stdout
            self.assertEqual(out.strip(), "pod/starter patched")
            out, err = waiter.communicate(timeout=60)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.communicate()
        self.assertEqual((waiter.returncode, out.strip()), (0, "pod/starter condition met"), err)
        out = self.kubectl("wait", "--for=condition=Ready", "pod/starter", "--timeout=10s").stdout
        self.assertEqual(out.strip(), "pod/starter condition met")
        self.assertEqual(table(self.kubectl("get", "pod", "starter").stdout)[1][:3],
                         ["starter", "0/1", "Running"])
        # The main resource ignores status changes.
        self.kubectl("patch", "pod", "starter", "--type=merge", "-p",
                     '{"status":{"phase":"Failed"}}')
        self.assertEqual(self.jsonpath("pod", "starter", "{.status.phase}"), "Running")

    def test_api_resources_and_explain(self):
        rows = table(self.kubectl("api-resources", namespaced=False).stdout)
        self.assertEqual(rows[0], ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"])
        by_name = {r[0]: r for r in rows[1:]}
        self.assertEqual(by_name["pods"], ["pods", "po", "v1", "true", "Pod"])
        self.assertEqual(by_name["deployments"],
                         ["deployments", "deploy", "apps/v1", "true", "Deployment"])
        self.assertEqual(by_name["namespaces"], ["namespaces", "ns", "v1", "false", "Namespace"])
        self.assertEqual(by_name["networkpolicies"][1:],
                         ["netpol", "networking.k8s.io/v1", "true", "NetworkPolicy"])
        out = self.kubectl("api-resources", "--namespaced=false", "-o", "name",
                           namespaced=False).stdout.split()
        self.assertIn("namespaces", out)
        self.assertIn("nodes", out)
        self.assertNotIn("pods", out)
        out = self.kubectl("api-resources", "--api-group=apps", "-o", "name",
                           namespaced=False).stdout.split()
        self.assertEqual(sorted(out), ["deployments.apps", "replicasets.apps"])
        self.assertIn("apps/v1", self.kubectl("api-versions", namespaced=False).stdout.split())
        out = self.kubectl("version", namespaced=False).stdout
        self.assertRegex(out, r"\nServer Version: v1\.32\.\d+\S*\n")
        out = self.kubectl("cluster-info", namespaced=False).stdout
        self.assertIn("Kubernetes control plane is running at %s" % self.server.url, out)

        out = self.kubectl("explain", "pods", namespaced=False).stdout
        self.assertRegex(out, r"KIND:\s+Pod\nVERSION:\s+v1\n")
        self.assertRegex(out, r"\n  spec\t<PodSpec>\n")
        self.assertRegex(out, r"\n  status\t<PodStatus>\n")
        out = self.kubectl("explain", "deployment.spec.replicas", namespaced=False).stdout
        self.assertRegex(out, r"GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n")
        self.assertRegex(out, r"FIELD: replicas <integer>")
        out = self.kubectl("explain", "pod.spec.containers", namespaced=False).stdout
        self.assertRegex(out, r"FIELD: containers <\[\]Container>")
        self.assertRegex(out, r"\n  image\t<string>\n")
        p = self.kubectl_fails("explain", "pod.spec.nosuchfield", namespaced=False)
        self.assertIn('field "nosuchfield" does not exist', p.stderr)


if __name__ == "__main__":
    unittest.main()
