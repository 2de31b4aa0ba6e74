"""Test harness: one node of a knet cluster on this machine, run for real.

    with AgentEnv("lifecycle") as env:
        env.kubectl("apply", "-f", "-", input=POD_YAML)
        env.wait_pod_ready("web")

- A `knet server` (API server + controllers) listening on the host end of a veth pair.
- A node network namespace (the other end of the veth pair) where `knet agent` runs, so the
  node's bridge, its routes and the pods' veths live there and vanish with it.
- The agent gets its own root dir and CNI conf dir; it finds knet-cni and knet-shim next to the
  knet binary.
Everything is torn down on exit, also when a test fails: the agent is stopped, then every pod
process left (found through the agent's state) is killed, the pod namespaces and the node
namespace are deleted, and the temp dirs removed.

Addresses: 10.252.<k>.0/30 for the veth (k from the pid), pods from 10.253.0.0/16 — all inside
namespaces this harness makes.
KNET_BIN names the knet binary (set by ctest).
"""
import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apiserver"))
from knet_server import KnetServer, knet_bin  # noqa: E402

_counter = [0]


def run(*args, check=True, ns=None):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


class AgentEnv:
    def __init__(self, name, node="node-1", agent_args=(), cluster_cidr="10.253.0.0/16"):
        _counter[0] += 1
        k = (os.getpid() * 7 + _counter[0]) % 250 + 1
        self.tag = "%d-%d" % (os.getpid() % 100000, _counter[0])
        self.node = node
        self.node_ns = "knet-agt-" + self.tag
        self.veth = "kat%d" % (os.getpid() % 100000 * 10 + _counter[0] % 10)
        self.host_ip = "10.252.%d.1" % k
        self.node_ip = "10.252.%d.2" % k
        self.cluster_cidr = cluster_cidr
        self.dir = tempfile.mkdtemp(prefix="knet-agent-test-%s-" % name)
        self.root = os.path.join(self.dir, "root")
        self.cni_dir = os.path.join(self.dir, "net.d")
        self.agent_args = list(agent_args)
        self.server = None
        self.agent = None
        self.agent_log = os.path.join(self.dir, "agent.log")

    # --- set-up and tear-down -------------------------------------------------------------
    def __enter__(self):
        try:
            self._make_node_netns()
            self.server = KnetServer(controllers="*",
                                     extra_args=["--cluster-cidr", self.cluster_cidr])
            self.server.listen = self.host_ip + ":0"
            self.server.start()
            self.start_agent()
            self.wait_node_ready()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def _make_node_netns(self):
        run("ip", "netns", "add", self.node_ns)
        run("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0",
            "netns", self.node_ns)
        run("ip", "addr", "add", self.host_ip + "/30", "dev", self.veth)
        run("ip", "link", "set", self.veth, "up")
        run("ip", "link", "set", "lo", "up", ns=self.node_ns)
        run("ip", "addr", "add", self.node_ip + "/30", "dev", "eth0", ns=self.node_ns)
        run("ip", "link", "set", "eth0", "up", ns=self.node_ns)
        run("ip", "route", "add", "default", "via", self.host_ip, ns=self.node_ns)

    def start_agent(self, extra=()):
        log = open(self.agent_log, "ab")
        # nsenter joins only the network namespace: the agent keeps the host's mount namespace,
        # so the pod namespaces it mounts under /run/netns are visible (and cleaned up) here.
        self.agent = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + self.node_ns, knet_bin(), "agent",
             "--node", self.node, "--kubeconfig", self.server.kubeconfig,
             "--root-dir", self.root, "--cni-conf-dir", self.cni_dir,
             "--node-ip", self.node_ip] + self.agent_args + list(extra),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

    def stop_agent(self, sig=signal.SIGTERM):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(sig)
            try:
                self.agent.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        self.agent = None

    def container_pids(self):
        """The pids of every container and shim the agent's runtime knows of."""
        pids = []
        cdir = os.path.join(self.root, "containers")
        if not os.path.isdir(cdir):
            return pids
        for cid in os.listdir(cdir):
            for name, key in (("started.json", "pid"), ("shim.json", "pid")):
                try:
                    with open(os.path.join(cdir, cid, name)) as f:
                        pids.append(int(json.load(f)[key]))
                except Exception:
                    pass
        return pids

    def pod_netns(self):
        return sorted(n for n in os.listdir("/run/netns") if n.startswith("knet-")
                      and not n.startswith("knet-agt-")) if os.path.isdir("/run/netns") else []

    def cleanup(self):
        self.stop_agent()
        for pid in self.container_pids():
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # Pod namespaces this agent made (their records name them).
        pods = os.path.join(self.root, "pods")
        if os.path.isdir(pods):
            for uid in os.listdir(pods):
                try:
                    with open(os.path.join(pods, uid, "sandbox.json")) as f:
                        run("ip", "netns", "del", json.load(f)["netns"], check=False)
                except Exception:
                    pass
        if self.server:
            self.server.cleanup()
        run("ip", "netns", "del", self.node_ns, check=False)
        run("ip", "link", "del", self.veth, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers for tests ----------------------------------------------------------------
    def kubectl(self, *args, **kw):
        return self.server.kubectl(*args, **kw)

    def get(self, kind, name, ns="default"):
        p = self.kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def wait(self, what, cond, timeout=60, interval=0.2):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = cond()
            if last:
                return last
            time.sleep(interval)
        pods = self.kubectl("get", "pods", "-A", "-o", "yaml", check=False).stdout
        events = self.kubectl("get", "events", "-A", check=False).stdout
        raise AssertionError("timed out after %ds waiting for %s\n--- agent log (tail) ---\n%s"
                             "--- pods ---\n%s--- events ---\n%s"
                             % (timeout, what, self.agent_log_tail(), pods[-6000:], events[-3000:]))

    def agent_log_tail(self, n=60):
        try:
            with open(self.agent_log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def wait_node_ready(self, timeout=60):
        def ready():
            n = self.get("node", self.node)
            if not n or not n["spec"].get("podCIDR"):
                return None
            for c in n.get("status", {}).get("conditions", []):
                if c["type"] == "Ready" and c["status"] == "True":
                    return n
            return None
        return self.wait("node %s Ready with a podCIDR" % self.node, ready, timeout)

    def pod_condition(self, pod, ctype):
        for c in (pod or {}).get("status", {}).get("conditions", []):
            if c["type"] == ctype:
                return c["status"]
        return None

    def wait_pod_ready(self, name, ns="default", timeout=60):
        return self.wait("pod %s Ready" % name,
                         lambda: (lambda p: p if self.pod_condition(p, "Ready") == "True"
                                  else None)(self.get("pod", name, ns)), timeout)

    def wait_pod_phase(self, name, phase, ns="default", timeout=60):
        return self.wait("pod %s %s" % (name, phase),
                         lambda: (lambda p: p if p and p["status"].get("phase") == phase
                                  else None)(self.get("pod", name, ns)), timeout)

    def wait_pod_gone(self, name, ns="default", timeout=60):
        return self.wait("pod %s deleted" % name,
                         lambda: self.get("pod", name, ns) is None, timeout)

    def bridge_ports(self, bridge="knet0"):
        """The links attached to the node's bridge ("" once no pod is left)."""
        return run("ip", "-o", "link", "show", "master", bridge, ns=self.node_ns).stdout

    def ipam_reservations(self):
        out = []
        ipam = os.path.join(self.root, "ipam")
        for dirpath, _, files in os.walk(ipam):
            for f in files:
                if f[0].isdigit() or ":" in f:
                    out.append(os.path.join(dirpath, f))
        return out
