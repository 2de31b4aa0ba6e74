"""`knet cluster` end to end: up, kubectl, status, exec, a pod, down, and nothing left behind.

Each test makes clusters with unique names (from the pid) and state dirs under a temp dir, and
tears them down even when it fails. Needs root (network namespaces, links). KNET_BIN names the
knet binary (set by ctest).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

POD_YAML = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s}
spec:
  nodeName: %(node)s
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: host
    command: ["sleep", "3600"]
"""


def knet_bin():
    path = os.environ.get("KNET_BIN")
    if not path:
        raise unittest.SkipTest("KNET_BIN is not set: run through ctest")
    return path


def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, IndexError):
        return None


def processes_in_netns(inodes):
    """(pid, start time) of every running process whose network namespace is one of `inodes`.
    Taken BEFORE the namespaces go: afterwards an inode number may be reused by a namespace that
    a concurrent test makes, so only pid + start time identify our processes."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat("/proc/%s/ns/net" % pid).st_ino in inodes:
                    out.append((int(pid), start_time(int(pid))))
            except OSError:
                pass
    return out


class Cluster:
    def __init__(self, test, suffix, nodes=1, extra=()):
        self.test = test
        self.name = "ct%d%s" % (os.getpid() % 100000, suffix)
        self.tmp = tempfile.mkdtemp(prefix="knet-cluster-test-%s-" % self.name)
        self.state = os.path.join(self.tmp, "state")
        self.kubeconfig = os.path.join(self.tmp, "out", "kubeconfig")
        self.nodes = nodes
        self.extra = list(extra)
        self.manifest = None

    def knet(self, *args, check=True, timeout=240):
        p = subprocess.run([knet_bin()] + list(args), capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("knet %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                                 p.stdout, p.stderr))
        return p

    def up(self, check=True):
        p = self.knet("cluster", "up", "--name", self.name, "--nodes", str(self.nodes),
                      "--state-dir", self.state, "--kubeconfig-out", self.kubeconfig,
                      "--timeout", "90", *self.extra, check=check)
        if p.returncode == 0:
            with open(os.path.join(self.state, "manifest.json")) as f:
                self.manifest = json.load(f)
        return p

    def down(self, check=True):
        return self.knet("cluster", "down", self.name, "--state-dir", self.state, check=check)

    def cleanup(self):
        if os.path.exists(self.state):
            self.down(check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kubectl(self, *args, check=True, input=None):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        p = subprocess.run(["kubectl"] + list(args), capture_output=True, text=True, env=env,
                           input=input, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                                    p.stdout, p.stderr))
        return p

    def exec(self, node, *cmd):
        return self.knet("cluster", "exec", self.name, node, "--state-dir", self.state, "--",
                         *cmd, check=False)

    # What the cluster made, by its own names (whether or not a manifest recorded it).
    def netns_names(self):
        return sorted(n for n in os.listdir("/run/netns")
                      if n.startswith("kc-%s-" % self.name)) if os.path.isdir("/run/netns") else []

    def links(self):
        prefix = "kn-" + self.name if len(self.name) <= 8 else None
        return sorted(l for l in os.listdir("/sys/class/net") if prefix and
                      (l == prefix or l.startswith(prefix + "-")))

    def processes_from_state_dir(self):
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    args = f.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if any(a.startswith(self.state + "/") or ("=" + self.state + "/") in a for a in args):
                out.append(int(pid))
        return out

    def assert_nothing_left(self, manifest=None, pod_netns=(), netns_processes=()):
        t = self.test
        t.assertEqual(self.netns_names(), [])
        t.assertEqual(self.links(), [])
        t.assertFalse(os.path.exists(self.state), "state dir left: " + self.state)
        t.assertFalse(os.path.exists(self.kubeconfig), "kubeconfig left: " + self.kubeconfig)
        t.assertEqual(self.processes_from_state_dir(), [])
        for p in (manifest or {}).get("processes", []):
            t.assertNotEqual(start_time(p["pid"]), p["startTime"],
                             "%s (pid %d) still runs" % (p["name"], p["pid"]))
        for ns in pod_netns:
            t.assertFalse(os.path.exists("/run/netns/" + ns), "pod netns left: " + ns)
        # The namespaces are gone for good: no process that lived in one still runs (so their nft
        # tables, routes and links went with them).
        left = [pid for pid, start in netns_processes
                if start is not None and start_time(pid) == start]
        t.assertEqual(left, [], "processes of the cluster's namespaces still run")
        p = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
        t.assertNotIn(self.name, p.stdout)


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces and links)")
class ClusterTest(unittest.TestCase):
    def make(self, suffix, **kw):
        c = Cluster(self, suffix, **kw)
        self.addCleanup(c.cleanup)
        return c

    def wait(self, what, cond, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.2)
        self.fail("timed out waiting for " + what)

    def test_up_kubectl_status_exec_pod_down(self):
        c = self.make("a", nodes=2)
        out = c.up().stdout
        self.assertIn("waiting for 2 nodes Ready (2/2)", out)
        self.assertIn(c.kubeconfig, out)
        m = c.manifest
        ips = {n["name"]: n["ip"] for n in m["nodes"]}
        self.assertEqual(sorted(ips), ["node-1", "node-2"])

        # kubectl with the written kubeconfig: both nodes Ready, with their underlay addresses.
        nodes = json.loads(c.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        self.assertEqual(sorted(n["metadata"]["name"] for n in nodes), ["node-1", "node-2"])
        for n in nodes:
            ready = [x for x in n["status"]["conditions"] if x["type"] == "Ready"]
            self.assertEqual(ready[0]["status"], "True")
            addrs = [a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"]
            self.assertEqual(addrs, [ips[n["metadata"]["name"]]])
            self.assertTrue(n["spec"]["podCIDR"].startswith("10.244."))

        status = c.knet("cluster", "status", c.name, "--state-dir", c.state).stdout
        for name, ip in ips.items():
            # The node table's line (the process table has one per agent too).
            line = [l for l in status.splitlines()
                    if l.startswith(name + " ") and "Ready" in l]
            self.assertEqual(len(line), 1, status)
            self.assertIn(ip, line[0])
            self.assertIn("Ready", line[0])
            self.assertIn("running", line[0])
        self.assertIn("server", status)

        # exec runs inside the node's namespace: its own address is local there, the host's
        # bridge address is not; the exit code comes back.
        for name, ip in ips.items():
            p = c.exec(name, "cat", "/proc/net/fib_trie")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(ip, p.stdout)
            other = [v for k, v in ips.items() if k != name][0]
            self.assertNotIn("|-- %s\n" % other, p.stdout)
        self.assertEqual(c.exec("node-1", "sh", "-c", "exit 7").returncode, 7)
        self.assertNotEqual(c.exec("node-9", "true").returncode, 0)
        # From node-1, the API server on the bridge and node-2's agent over the underlay answer.
        connect = ("import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])),"
                   " timeout=3).close()")
        for host, port in ((m["gateway"], "6443"), (ips["node-2"], "10250")):
            p = c.exec("node-1", "python3", "-c", connect, host, port)
            self.assertEqual(p.returncode, 0, "%s:%s: %s" % (host, port, p.stderr))

        # A pod on each node becomes Ready.
        for node in ("node-1", "node-2"):
            c.kubectl("apply", "-f", "-", input=POD_YAML % {"name": "p-" + node, "node": node})
        for node in ("node-1", "node-2"):
            c.kubectl("wait", "--for=condition=Ready", "pod/p-" + node, "--timeout=60s")
        pod_netns = []
        for n in m["nodes"]:
            pods = os.path.join(n["rootDir"], "pods")
            for uid in os.listdir(pods):
                with open(os.path.join(pods, uid, "sandbox.json")) as f:
                    pod_netns.append(json.load(f)["netns"])
        self.assertEqual(len(pod_netns), 2)
        inodes = {os.stat("/run/netns/" + n).st_ino for n in c.netns_names() + pod_netns}
        procs = processes_in_netns(inodes)
        self.assertTrue(procs, "no process in the cluster's namespaces before down?")

        out = c.down().stdout
        self.assertIn("removed", out)
        c.assert_nothing_left(m, pod_netns, procs)
        # Idempotent.
        self.assertIn("nothing to remove", c.down().stdout)

    def test_each_backend_connects_pods_across_nodes(self):
        if not shutil.which("ping"):
            self.skipTest("ping is not installed")
        for backend in ("vxlan", "host-gw", "bgp"):
            if backend == "bgp" and not shutil.which("bird", path="/usr/sbin:/usr/bin:/sbin"):
                continue
            with self.subTest(backend=backend):
                c = Cluster(self, backend.replace("-", "")[:2], nodes=2,
                            extra=["--backend", backend])
                try:
                    self.assertIn("backend " + backend, c.up().stdout)
                    self.assertEqual(c.manifest["backend"], backend)
                    for node in ("node-1", "node-2"):
                        c.kubectl("apply", "-f", "-",
                                  input=POD_YAML % {"name": "p-" + node, "node": node})
                    for node in ("node-1", "node-2"):
                        c.kubectl("wait", "--for=condition=Ready", "pod/p-" + node,
                                  "--timeout=60s")
                    ip2 = c.kubectl("get", "pod", "p-node-2", "-o",
                                    "jsonpath={.status.podIP}").stdout
                    # Routes appear as the backends see the other Node: retry briefly.
                    deadline, p = time.time() + 20, None
                    while time.time() < deadline:
                        p = c.kubectl("exec", "p-node-1", "--", "ping", "-c", "1", "-W", "1", ip2,
                                      check=False)
                        if p.returncode == 0:
                            break
                        time.sleep(0.5)
                    self.assertEqual(p.returncode, 0, "%s: ping %s from node-1's pod: %s%s"
                                     % (backend, ip2, p.stdout, p.stderr))
                    m = c.manifest
                    c.down()
                    c.assert_nothing_left(m)
                finally:
                    c.cleanup()

    def test_two_clusters_side_by_side(self):
        a, b = self.make("x"), self.make("y")
        a.up()
        b.up()
        self.assertNotEqual(a.manifest["underlayCIDR"], b.manifest["underlayCIDR"])
        self.assertNotEqual(a.manifest["bridge"], b.manifest["bridge"])
        for c in (a, b):
            names = c.kubectl("get", "nodes", "-o", "name").stdout.split()
            self.assertEqual(names, ["node/node-1"])
            server = c.kubectl("config", "view", "-o",
                               "jsonpath={.clusters[0].cluster.server}").stdout
            self.assertEqual(server, c.manifest["apiServer"])
        ma = a.manifest
        a.down()
        a.assert_nothing_left(ma)
        # b is untouched by a's removal.
        self.assertEqual(b.kubectl("get", "nodes", "-o", "name").stdout.split(), ["node/node-1"])
        self.assertEqual(b.netns_names(), ["kc-%s-node-1" % b.name])
        mb = b.manifest
        b.down()
        b.assert_nothing_left(mb)

    def test_name_taken(self):
        c = self.make("t")
        c.up()
        p = c.up(check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cluster %s exists" % c.name, p.stderr)
        self.assertIn("knet cluster down %s first" % c.name, p.stderr)
        # The first one is intact.
        self.assertEqual(c.kubectl("get", "nodes", "-o", "name").stdout.split(), ["node/node-1"])
        self.assertEqual(c.netns_names(), ["kc-%s-node-1" % c.name])
        m = c.manifest
        self.assertEqual(c.knet("cluster", "status", c.name, "--state-dir", c.state,
                                check=False).returncode, 0)
        # status reports a dead agent, and exits non-zero.
        agent = [p for p in m["processes"] if p["role"] == "agent"][0]
        os.kill(agent["pid"], signal.SIGKILL)
        self.wait("the agent gone", lambda: start_time(agent["pid"]) != agent["startTime"])
        p = c.knet("cluster", "status", c.name, "--state-dir", c.state, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("node-1 (agent) not running", p.stderr)
        self.assertRegex(p.stdout, r"node-1 +agent +\d+ +not running")
        c.down()
        c.assert_nothing_left(m)

    def test_failing_up_leaves_nothing(self):
        # Refused before anything is made.
        for cidr, why in (("10.9.9.0/30", "room for 1 node"), ("10.9.9.1/24", "host bits"),
                          ("fd00::/64", "only IPv4")):
            c = self.make("f", nodes=3, extra=["--underlay-cidr", cidr])
            p = c.up(check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(why, p.stderr)
            c.assert_nothing_left()
        # Fails midway (the agents cannot start, after the underlay and the server were made):
        # the error is reported, then everything is removed.
        c = self.make("m", nodes=2, extra=["--agent-arg=--no-such-flag"])
        p = c.up(check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("agent) exited", p.stderr)
        self.assertIn("--no-such-flag", p.stderr)
        self.assertIn("server: https://", p.stdout)
        self.assertIn("removed", p.stdout)
        c.assert_nothing_left()

    def test_down_after_a_crashed_up(self):
        # An `up` killed midway (SIGKILL: no cleanup of its own) leaves a manifest that `down`
        # follows.
        c = self.make("k", nodes=2)
        proc = subprocess.Popen([knet_bin(), "cluster", "up", "--name", c.name, "--nodes", "2",
                                 "--state-dir", c.state, "--kubeconfig-out", c.kubeconfig],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = ""
        for line in proc.stdout:
            seen += line
            if "node-1: agent" in line:
                break
        proc.kill()
        proc.wait()
        proc.stdout.close()
        self.assertIn("node-1: agent", seen)
        self.assertTrue(c.netns_names())
        c.down()
        c.assert_nothing_left()

    def test_interrupted_up_removes_what_it_made(self):
        # Ctrl-C (SIGINT) once the server runs: `up` stops, says so, and removes everything.
        c = self.make("i", nodes=2)
        proc = subprocess.Popen([knet_bin(), "cluster", "up", "--name", c.name, "--nodes", "2",
                                 "--state-dir", c.state, "--kubeconfig-out", c.kubeconfig],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = ""
        for line in proc.stdout:
            seen += line
            if line.startswith("server:"):
                proc.send_signal(signal.SIGINT)
                break
        seen += proc.stdout.read()
        proc.stdout.close()
        self.assertNotEqual(proc.wait(timeout=60), 0)
        self.assertIn("interrupted", seen)
        self.assertIn("cluster %s removed" % c.name, seen)
        c.assert_nothing_left()

    def test_etcd_store(self):
        if not os.access("/usr/bin/etcd", os.X_OK):
            self.skipTest("etcd is not installed")
        c = self.make("e", extra=["--store", "etcd"])
        c.up()
        roles = sorted(p["role"] for p in c.manifest["processes"])
        self.assertEqual(roles, ["agent", "etcd", "etcd", "etcd", "server"])
        self.assertEqual(c.kubectl("get", "nodes", "-o", "name").stdout.split(), ["node/node-1"])
        c.kubectl("create", "namespace", "written-through-etcd")
        self.assertIn("written-through-etcd", c.kubectl("get", "namespaces").stdout)
        m = c.manifest
        c.down()
        c.assert_nothing_left(m)


if __name__ == "__main__":
    unittest.main()
