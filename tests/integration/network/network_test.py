"""Cross-node pod networking, per backend (vxlan, host-gw, bgp), on real `knet cluster`s.

For each backend: pods on different nodes reach each other by pod IP over TCP, UDP and ICMP with
no NAT, with the backend's pod MTU (full-size packets cross unfragmented); pod traffic to an
address outside the cluster CIDR (the underlay's host address) leaves masqueraded as the node's
IP; a removed node's routes, neighbours and FDB entries disappear from the other nodes (also when
one of their agents was down at the time: its restart cleans up); restarting the agents drops no
established TCP connection (and adopts the backend's state). vxlan: DirectRouting; a recreated
VTEP is followed by the other node. host-gw: a node off the L2 segment gets no route and a clear
error. BGP: every session is Established within 10 s, an external BIRD peer learns every node's
podCIDR, and a killed bird is restarted and its routes come back.

Each test makes its own cluster (unique name from the pid, state under a temp dir) and removes it
even when it fails, then asserts nothing is left (the helpers of tests/integration/cluster). Needs
root. KNET_BIN names the knet binary (set by ctest).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
import cluster_test as ctest  # noqa: E402  pylint: disable=wrong-import-position

ECHO_SERVER = os.path.join(HERE, "echo_server.py")
LINE_CLIENT = os.path.join(HERE, "line_client.py")
PORT = 8080

POD_YAML = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s}
spec:
  nodeName: %(node)s
  restartPolicy: %(restart)s
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: host
    command: %(command)s
"""

# One TCP exchange and one UDP exchange with echo_server.py; prints what the server saw.
PROBE = r"""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=5)
f = s.makefile("rwb")
greeting = f.readline().decode().strip()
f.write(b"ping\n"); f.flush()
echo = f.readline().decode().strip()
big = b"x" * 65536 + b"\n"  # full-size segments: an MTU too large for the path stalls here
f.write(big); f.flush()
if f.readline() != big:
    sys.exit("the 64 KiB line did not come back whole")
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
u.sendto(b"dgram", (host, port))
reply, peer = u.recvfrom(2048)
print("tcp", greeting, echo)
print("udp", reply.decode(), peer[0])
"""

# Connects to HOST:PORT and prints what it answered (the address it saw).
CONNECT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.makefile("rb").readline().decode().strip())
"""


def wait_for(what, cond, timeout=30, interval=0.1):
    """Polls cond() until it returns something true; AssertionError naming `what` on timeout."""
    deadline = time.time() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.time() >= deadline:
            raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


def route_next_hops(show_route):
    """Parses `birdc show route`: {prefix: [next hop addresses]}."""
    out, prefix = {}, None
    for line in show_route.splitlines():
        fields = line.split()
        if not fields:
            continue
        if not line[0].isspace() and "/" in fields[0]:
            prefix = fields[0]
            out.setdefault(prefix, [])
        elif prefix and fields[0] == "via" and len(fields) > 1:
            out[prefix].append(fields[1])
    return out


def link_mtu(ip_link_show):
    """The MTU in `ip -o link show dev X` output."""
    m = re.search(r" mtu (\d+) ", ip_link_show)
    if not m:
        raise AssertionError("no mtu in: " + ip_link_show)
    return int(m.group(1))


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


class NetCluster(ctest.Cluster):
    """A cluster named n<pid mod 100000><2-char suffix> (8 chars: the cluster helpers then also
    check its links by name)."""

    def __init__(self, test, suffix, **kw):
        super().__init__(test, suffix, **kw)
        self.name = "n%05d%s" % (os.getpid() % 100000, suffix)


class PeerAddressServer:
    """A TCP server in the host netns that answers each connection with the peer's address."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((address, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.peers.append(peer[0])
            with conn:
                conn.sendall(("%s\n" % peer[0]).encode())

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


class Network:
    """Test helpers bound to one cluster."""

    def __init__(self, test, cluster):
        self.t = test
        self.c = cluster
        self.restarted = []  # agent processes we started (Popen), reaped at cleanup

    # --- nodes, pods, agents ---
    def node_ips(self):
        return {n["name"]: n["ip"] for n in self.c.manifest["nodes"]}

    def node_record(self, node):
        return [n for n in self.c.manifest["nodes"] if n["name"] == node][0]

    def pod_cidrs(self):
        nodes = json.loads(self.c.kubectl("get", "nodes", "-o", "json").stdout)["items"]
        return {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in nodes}

    def run_pod(self, name, node, command, restart="Always"):
        self.c.kubectl("apply", "-f", "-", input=POD_YAML % {
            "name": name, "node": node, "restart": restart, "command": json.dumps(command)})

    def wait_ready(self, *pods):
        self.c.kubectl("wait", "--for=condition=Ready", *["pod/" + p for p in pods],
                       "--timeout=60s")

    def pod_ip(self, pod):
        return self.c.kubectl("get", "pod", pod, "-o", "jsonpath={.status.podIP}").stdout.strip()

    def pod_exec(self, pod, *cmd, check=True):
        return self.c.kubectl("exec", pod, "--", *cmd, check=check)

    def node_exec(self, node, *cmd):
        p = self.c.exec(node, *cmd)
        self.t.assertEqual(p.returncode, 0, "%s on %s: %s" % (" ".join(cmd), node, p.stderr))
        return p.stdout

    def agent(self, node):
        """The running agent process of `node`: (pid, argv, log)."""
        for p in self.c.manifest["processes"]:
            if p["role"] == "agent" and p["name"] == node:
                pid = p["pid"]
                self.t.assertEqual(ctest.start_time(pid), p["startTime"],
                                   "the agent of %s (pid %d) is not running" % (node, pid))
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = f.read().decode().split("\0")[:-1]
                return pid, argv, p["log"]
        raise AssertionError("no agent for %s in the manifest" % node)

    def stop_agent(self, node):
        """SIGTERMs node's agent and waits until it has exited. Returns (argv, log)."""
        pid, argv, log = self.agent(node)
        started = ctest.start_time(pid)
        os.kill(pid, signal.SIGTERM)
        wait_for("the agent of %s to exit" % node, lambda: ctest.start_time(pid) != started, 20)
        return argv, log

    def start_agent(self, node, argv, log):
        """Starts an agent again with `argv` in node's netns, in its own session, appending to its
        log. (`knet cluster` has no restart; `down` still removes this one: it sweeps every process
        in the node namespaces or running from the state dir.)"""
        netns = self.node_record(node)["netns"]
        with open(log, "ab") as out, open(os.devnull, "rb") as devnull:
            p = subprocess.Popen(["nsenter", "--net=/run/netns/" + netns, "--"] + argv,
                                 stdin=devnull, stdout=out, stderr=out, start_new_session=True)
        self.restarted.append(p)
        return p

    def restart_agent(self, node):
        """Stops node's agent and starts it again with the same command line; returns once the new
        one says it is running."""
        argv, log = self.stop_agent(node)
        before = self.running_lines(node, log)
        p = self.start_agent(node, argv, log)
        wait_for("the restarted agent of %s to run" % node,
                 lambda: self.running_lines(node, log) > before or p.poll() is not None, 30)
        self.t.assertIsNone(p.poll(), "the restarted agent of %s exited; %s" % (node, log))
        return p

    @staticmethod
    def running_lines(node, log):
        with open(log, errors="replace") as f:
            return f.read().count("knet agent: node %s running" % node)

    def cleanup(self):
        for p in self.restarted:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces and links)")
class BackendTests:
    """The tests every backend passes; subclasses set BACKEND."""

    BACKEND = None

    def cluster(self, suffix, nodes, extra=()):
        c = NetCluster(self, self.BACKEND[0] + suffix, nodes=nodes,
                          extra=["--backend", self.BACKEND] + list(extra))
        self.addCleanup(c.cleanup)
        n = Network(self, c)
        self.addCleanup(n.cleanup)
        return c, n

    def down_and_check(self, c):
        """`knet cluster down`, then nothing of the cluster is left: the cluster tests' checks, and
        no process that lived in one of its node or pod namespaces still runs. (Processes are
        matched by pid and start time, not by namespace inode: a namespace made after ours by a
        concurrent test may reuse an inode number.)"""
        m = c.manifest
        netns = list(c.netns_names())
        pod_netns = []
        for node in m["nodes"]:
            pods = os.path.join(node["rootDir"], "pods")
            for uid in os.listdir(pods) if os.path.isdir(pods) else []:
                with open(os.path.join(pods, uid, "sandbox.json")) as f:
                    pod_netns.append(json.load(f)["netns"])
        inodes = set()
        for ns in netns + pod_netns:
            try:
                inodes.add(os.stat("/run/netns/" + ns).st_ino)
            except OSError:
                pass  # a finished pod's is gone already
        before = [(pid, start, cmdline(pid)) for pid, start in ctest.processes_in_netns(inodes)]
        self.assertTrue(before, "no process in the cluster's namespaces before down?")
        c.down()
        left = [(pid, cmd) for pid, start, cmd in before
                if start is not None and ctest.start_time(pid) == start]
        self.assertEqual(left, [], "processes left from the cluster's namespaces")
        c.assert_nothing_left(m, pod_netns)

    def test_pods_reach_pods_across_nodes_and_leave_masqueraded(self):
        c, n = self.cluster("p", nodes=2)
        c.up()
        ips = n.node_ips()
        for node in ("node-1", "node-2"):
            n.run_pod("echo-" + node, node, ["python3", ECHO_SERVER, str(PORT)])
        n.wait_ready("echo-node-1", "echo-node-2")
        pod_ips = {node: n.pod_ip("echo-" + node) for node in ("node-1", "node-2")}
        cidrs = n.pod_cidrs()
        self.assertNotEqual(cidrs["node-1"], cidrs["node-2"])
        for node, ip in pod_ips.items():
            self.assertTrue(ip, "echo-%s has no IP" % node)
        # Each way: TCP (the server saw the client pod's own IP: no NAT), UDP likewise, ICMP.
        for src, dst in (("node-1", "node-2"), ("node-2", "node-1")):
            pod, target = "echo-" + src, pod_ips[dst]
            # The server may need a moment to bind after Ready (no readiness probe).
            out = wait_for("TCP+UDP %s -> %s" % (pod, target), lambda: (lambda p: p.returncode == 0
                           and p.stdout)(n.pod_exec(pod, "python3", "-c", PROBE, target, str(PORT),
                                                    check=False)), 15, 0.3)
            self.assertIn("tcp from %s ping" % pod_ips[src], out)
            self.assertIn("udp from %s dgram %s" % (pod_ips[src], target), out)
            p = n.pod_exec(pod, "ping", "-c", "1", "-W", "2", target, check=False)
            self.assertEqual(p.returncode, 0, "ping %s -> %s:\n%s%s" % (pod, target, p.stdout,
                                                                        p.stderr))
            self.assertIn("1 received", p.stdout)
            # The pod's MTU is the underlay's minus the encapsulation (vxlan: 50), and a packet of
            # exactly that size crosses unfragmented.
            # (`ip`, not /sys/class/net: sysfs shows the host's namespace.)
            underlay = link_mtu(n.node_exec(src, "ip", "-o", "link", "show", "dev", "eth0"))
            mtu = link_mtu(n.pod_exec(pod, "ip", "-o", "link", "show", "dev", "eth0").stdout)
            self.assertEqual(mtu, underlay - 50 if self.BACKEND == "vxlan" else underlay, pod)
            p = n.pod_exec(pod, "ping", "-c", "1", "-W", "2", "-M", "do", "-s", str(mtu - 28),
                           target, check=False)
            self.assertEqual(p.returncode, 0, "ping -M do -s %d %s -> %s:\n%s%s" % (
                mtu - 28, pod, target, p.stdout, p.stderr))
            # The Kubernetes model also has the node itself (the host network) reach every pod.
            p = c.exec(src, "python3", "-c", CONNECT, target, str(PORT))
            self.assertEqual(p.returncode, 0, "%s -> pod %s: %s" % (src, target, p.stderr))
            self.assertTrue(p.stdout.startswith("from "), p.stdout)

        # Out of the cluster CIDR: the host's bridge address sees the node's address, not the
        # pod's.
        server = PeerAddressServer(c.manifest["gateway"])
        try:
            for node in ("node-1", "node-2"):
                out = n.pod_exec("echo-" + node, "python3", "-c", CONNECT, c.manifest["gateway"],
                                 str(server.port)).stdout.strip()
                self.assertEqual(out, ips[node], "echo-%s (%s) reached the host as %s, not as "
                                 "its node %s" % (node, pod_ips[node], out, ips[node]))
        finally:
            server.close()
        self.assertEqual(sorted(server.peers), sorted(ips.values()))
        self.down_and_check(c)

    def test_removed_node_leaves_nothing_on_the_others(self):
        c, n = self.cluster("r", nodes=3)
        c.up()
        ips = n.node_ips()
        cidrs = n.pod_cidrs()
        gone_ip, gone_cidr = ips["node-3"], cidrs["node-3"]
        vtep = self.vtep(c, "node-3")
        # Present first (so the absence checked below means something).
        for node in ("node-1", "node-2"):
            wait_for("%s's route to %s" % (node, gone_cidr),
                     lambda node=node: self.traces(n, node, gone_ip, gone_cidr, vtep), 15)
        n.stop_agent("node-3")
        c.kubectl("delete", "node", "node-3", "--wait=true")
        for node in ("node-1", "node-2"):
            wait_for("%s to drop node-3's routes/neighbours/FDB" % node,
                     lambda node=node: not self.traces(n, node, gone_ip, gone_cidr, vtep), 15)
            # node-2 (node-1) is still there.
            other = "node-2" if node == "node-1" else "node-1"
            self.assertTrue(self.traces(n, node, ips[other], cidrs[other], self.vtep(c, other)),
                            "%s lost its route to %s" % (node, other))
        self.down_and_check(c)

    def test_node_removed_while_an_agent_is_down_is_cleaned_when_it_restarts(self):
        # node-1's agent is down when node-3 goes: the restarted agent finds node-3's entries
        # stale (its first sync) and removes them, keeping node-2's.
        c, n = self.cluster("d", nodes=3)
        c.up()
        ips, cidrs = n.node_ips(), n.pod_cidrs()
        vtep3, vtep2 = self.vtep(c, "node-3"), self.vtep(c, "node-2")
        wait_for("node-1's route to node-3",
                 lambda: self.traces(n, "node-1", ips["node-3"], cidrs["node-3"], vtep3), 15)
        argv, log = n.stop_agent("node-1")
        n.stop_agent("node-3")
        c.kubectl("delete", "node", "node-3", "--wait=true")
        wait_for("node-2 to drop node-3's routes/neighbours/FDB",
                 lambda: not self.traces(n, "node-2", ips["node-3"], cidrs["node-3"], vtep3), 15)
        # Nobody cleaned node-1 meanwhile.
        self.assertTrue(self.traces(n, "node-1", ips["node-3"], cidrs["node-3"], vtep3))
        before = n.running_lines("node-1", log)
        p = n.start_agent("node-1", argv, log)
        wait_for("the restarted agent of node-1 to run",
                 lambda: n.running_lines("node-1", log) > before or p.poll() is not None, 30)
        wait_for("node-1 to drop node-3's stale routes/neighbours/FDB after its restart",
                 lambda: not self.traces(n, "node-1", ips["node-3"], cidrs["node-3"], vtep3), 15)
        self.assertIsNone(p.poll(), "the restarted agent of node-1 exited; " + log)
        self.assertTrue(self.traces(n, "node-1", ips["node-2"], cidrs["node-2"], vtep2),
                        "node-1 lost its route to node-2")
        self.down_and_check(c)

    def vtep(self, c, node):
        """vxlan: the node's VTEP MAC (its annotation); None for the other backends."""
        if self.BACKEND != "vxlan":
            return None
        mac = c.kubectl("get", "node", node, "-o",
                        "jsonpath={.metadata.annotations.knet\\.io/vtep-mac}").stdout.strip()
        self.assertRegex(mac, "^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
        return mac

    def traces(self, n, node, node_ip, pod_cidr, vtep):
        """What `node`'s namespace still holds for the node at node_ip / pod_cidr: route lines,
        and (vxlan) neighbour and FDB lines. Empty if nothing."""
        routes = n.node_exec(node, "ip", "-4", "route", "show", "table", "all").splitlines()
        found = [l for l in routes if l.startswith(pod_cidr + " ") or
                 re.search(r"\bvia %s\b" % re.escape(node_ip), l)]
        if vtep:
            vtep_ip = pod_cidr.split("/")[0]
            found += [l for l in n.node_exec(node, "ip", "neigh", "show", "dev",
                                             "knet.1").splitlines()
                      if l.startswith(vtep_ip + " ") or vtep in l]
            found += [l for l in n.node_exec(node, "bridge", "fdb", "show", "dev",
                                             "knet.1").splitlines()
                      if vtep in l or ("dst %s " % node_ip) in l + " "]
        return found

    def adopted_state(self, n, node):
        """What an agent restart must adopt, not recreate: vxlan the knet.1 device (index, MAC);
        bgp the running bird (its pid); host-gw the route to the other node (as a line)."""
        if self.BACKEND == "vxlan":
            fields = n.node_exec(node, "ip", "-o", "link", "show", "dev", "knet.1").split()
            return fields[0], fields[fields.index("link/ether") + 1]
        if self.BACKEND == "bgp":
            with open(os.path.join(n.node_record(node)["rootDir"], "bird", "bird.pid")) as f:
                pid = int(f.read().strip())
            return pid, ctest.start_time(pid)
        other = "node-2" if node == "node-1" else "node-1"
        cidr = n.pod_cidrs()[other]
        return [l for l in n.node_exec(node, "ip", "-4", "route").splitlines()
                if l.startswith(cidr + " ")]

    def test_agent_restart_keeps_established_connection(self):
        c, n = self.cluster("a", nodes=2)
        c.up()
        conns = os.path.join(c.tmp, "connections")
        progress, stop = os.path.join(c.tmp, "progress"), os.path.join(c.tmp, "stop")
        n.run_pod("server", "node-2", ["python3", ECHO_SERVER, str(PORT), conns])
        n.wait_ready("server")
        server_ip = n.pod_ip("server")
        # The server is listening once a probe from node-1's namespace gets its greeting.
        wait_for("the server pod to listen", lambda: n.c.exec(
            "node-1", "python3", "-c", CONNECT, server_ip, str(PORT)).returncode == 0, 15, 0.3)
        os.unlink(conns)
        n.run_pod("client", "node-1",
                  ["python3", LINE_CLIENT, server_ip, str(PORT), "100", progress, stop],
                  restart="Never")
        n.wait_ready("client")
        client_ip = n.pod_ip("client")

        def lines():
            with open(progress) as f:
                text = f.read().strip()
            self.assertTrue(text.startswith("ok "), "the connection broke: " + text)
            return int(text.split()[1])

        wait_for("the client's first lines", lambda: os.path.exists(progress) and lines() >= 5, 20)
        for node in ("node-2", "node-1"):
            kept = self.adopted_state(n, node)
            n.restart_agent(node)
            # Lines keep flowing on the same connection after the restart, and the new agent has
            # reconciled (a full second of traffic after it said it runs).
            seen = lines()
            wait_for("lines after restarting %s's agent" % node, lambda s=seen: lines() >= s + 10,
                     15)
            self.assertEqual(self.adopted_state(n, node), kept,
                             "%s's agent restart replaced what it should have adopted" % node)
        # The restarted agents kept (or reconciled back) each other's routes (and vxlan entries).
        ips, cidrs = n.node_ips(), n.pod_cidrs()
        for node, other in (("node-1", "node-2"), ("node-2", "node-1")):
            found = self.traces(n, node, ips[other], cidrs[other], self.vtep(c, other))
            self.assertTrue(found, "%s has no route to %s after the restarts" % (node, other))
            if self.BACKEND == "vxlan":
                self.assertEqual(len(found), 3, found)  # route, neighbour, FDB entry
        with open(stop, "w"):
            pass
        def result():
            with open(progress) as f:
                text = f.read().strip()
            return text if text.startswith(("done", "broken")) else None

        result = wait_for("the client to finish", result, 15)
        self.assertRegex(result, r"^done \d+$", "the connection broke: " + result)
        self.assertGreater(int(result.split()[1]), 20)
        with open(conns) as f:
            accepted = f.read().split()
        self.assertEqual(len(accepted), 1, "the client connected more than once: %s" % accepted)
        self.assertEqual(accepted[0].split(":")[0], client_ip)
        # The pods were never restarted either.
        for pod in ("server", "client"):
            rc = c.kubectl("get", "pod", pod, "-o",
                           "jsonpath={.status.containerStatuses[0].restartCount}").stdout
            self.assertEqual(rc, "0", pod)
        self.down_and_check(c)


class VxlanTest(BackendTests, unittest.TestCase):
    BACKEND = "vxlan"

    def test_recreated_vtep_is_followed_by_the_other_node(self):
        # node-2's knet.1 disappears while its agent is down; the restarted agent makes a new one
        # and publishes its MAC; node-1 points its neighbour and FDB entries at it and pods cross.
        c, n = self.cluster("m", nodes=2)
        c.up()
        ips, cidrs = n.node_ips(), n.pod_cidrs()
        argv, log = n.stop_agent("node-2")
        self.assertEqual(c.exec("node-2", "ip", "link", "del", "knet.1").returncode, 0)
        before = n.running_lines("node-2", log)
        p = n.start_agent("node-2", argv, log)
        wait_for("the restarted agent of node-2 to run",
                 lambda: n.running_lines("node-2", log) > before or p.poll() is not None, 30)
        self.assertIsNone(p.poll(), "the restarted agent of node-2 exited; " + log)

        def device_mac():
            p = c.exec("node-2", "ip", "-o", "link", "show", "dev", "knet.1")
            if p.returncode != 0:
                return None
            fields = p.stdout.split()
            return fields[fields.index("link/ether") + 1]

        mac = wait_for("node-2's new knet.1", device_mac, 15)
        wait_for("node-2's annotation to carry its VTEP MAC %s" % mac,
                 lambda: self.vtep(c, "node-2") == mac, 15)

        def followed():
            found = self.traces(n, "node-1", ips["node-2"], cidrs["node-2"], mac)
            neigh = [l for l in found if "lladdr" in l]
            fdb = [l for l in found if " dst " in l]
            return len(neigh) == 1 and len(fdb) == 1 and found

        found = wait_for("node-1's neighbour and FDB entries for %s" % mac, followed, 15)
        self.assertEqual(len(found), 3, found)
        for node in ("node-1", "node-2"):
            n.run_pod("echo-" + node, node, ["python3", ECHO_SERVER, str(PORT)])
        n.wait_ready("echo-node-1", "echo-node-2")
        target = n.pod_ip("echo-node-2")
        wait_for("echo-node-1 -> %s after the new VTEP" % target, lambda: n.pod_exec(
            "echo-node-1", "python3", "-c", PROBE, target, str(PORT), check=False).returncode == 0,
            15, 0.3)
        self.down_and_check(c)

    def test_direct_routing_on_one_segment(self):
        # flannel's DirectRouting: nodes on the same L2 segment get a plain route via the other
        # node's address on eth0 and no VXLAN neighbour or FDB entry; pods still see each other's
        # own IPs.
        c, n = self.cluster("x", nodes=2, extra=["--agent-arg=--direct-routing"])
        c.up()
        ips, cidrs = n.node_ips(), n.pod_cidrs()
        for src, dst in (("node-1", "node-2"), ("node-2", "node-1")):
            def direct_route(src=src, dst=dst):
                return [l for l in n.node_exec(src, "ip", "-4", "route").splitlines()
                        if l.startswith(cidrs[dst] + " ")]

            route = wait_for("%s's direct route to %s" % (src, cidrs[dst]), direct_route, 15)
            self.assertEqual(len(route), 1, route)
            self.assertIn("via %s dev eth0 " % ips[dst], route[0] + " ")
            self.assertEqual(n.node_exec(src, "ip", "neigh", "show", "dev", "knet.1").strip(), "")
            self.assertEqual(n.node_exec(src, "bridge", "fdb", "show", "dev", "knet.1").strip(),
                             "")
        for node in ("node-1", "node-2"):
            n.run_pod("echo-" + node, node, ["python3", ECHO_SERVER, str(PORT)])
        n.wait_ready("echo-node-1", "echo-node-2")
        client, server = n.pod_ip("echo-node-1"), n.pod_ip("echo-node-2")
        out = wait_for("TCP+UDP echo-node-1 -> %s" % server, lambda: (lambda p: p.returncode == 0
                       and p.stdout)(n.pod_exec("echo-node-1", "python3", "-c", PROBE, server,
                                                str(PORT), check=False)), 15, 0.3)
        self.assertIn("tcp from %s ping" % client, out)
        self.assertIn("udp from %s dgram %s" % (client, server), out)
        self.down_and_check(c)


class HostGwTest(BackendTests, unittest.TestCase):
    BACKEND = "host-gw"

    def test_node_off_the_segment_gets_no_route_and_a_clear_error(self):
        # A Node whose InternalIP is not on the underlay (192.0.2.0/24, TEST-NET-1: nothing is
        # sent there): no (broken) route to its podCIDR, an error naming it in the agents' logs,
        # and the other nodes' routes stay.
        c, n = self.cluster("o", nodes=2)
        c.up()
        ips, cidrs = n.node_ips(), n.pod_cidrs()
        c.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "far"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}]}}))
        far_cidr = wait_for("far's podCIDR", lambda: c.kubectl(
            "get", "node", "far", "-o", "jsonpath={.spec.podCIDR}").stdout.strip(), 15)
        addrs = c.kubectl("get", "node", "far", "-o",
                          "jsonpath={.status.addresses[0].address}").stdout.strip()
        self.assertEqual(addrs, "192.0.2.10")
        for node in ("node-1", "node-2"):
            log = [p["log"] for p in c.manifest["processes"] if p["name"] == node][0]

            def complained(log=log):
                with open(log, errors="replace") as f:
                    return [l for l in f.read().splitlines()
                            if "node far (InternalIP 192.0.2.10, podCIDR %s)" % far_cidr in l
                            and "is not on this node's L2 segment" in l]

            wait_for("%s's agent to report far as off its segment" % node, complained, 15)
            self.assertEqual(self.traces(n, node, "192.0.2.10", far_cidr, None), [])
            other = "node-2" if node == "node-1" else "node-1"
            self.assertTrue(self.traces(n, node, ips[other], cidrs[other], None),
                            "%s lost its route to %s" % (node, other))
        self.down_and_check(c)


class BgpTest(BackendTests, unittest.TestCase):
    BACKEND = "bgp"

    def birdc(self, n, node, *cmd):
        sock = os.path.join(n.node_record(node)["rootDir"], "bird", "bird.ctl")
        return n.node_exec(node, "birdc", "-s", sock, *cmd)

    def test_sessions_established_within_10s_of_ready(self):
        c, n = self.cluster("s", nodes=3)
        c.up()
        ready = time.time()  # `up` returns once every node is Ready
        states = {}

        def established():
            for node in ("node-1", "node-2", "node-3"):
                out = self.birdc(n, node, "show", "protocols")
                states[node] = [l for l in out.splitlines() if " BGP " in l]
                if len(states[node]) != 2 or not all("Established" in l for l in states[node]):
                    return False
            return True

        wait_for("every BGP session Established within 10 s of Ready", established, 10, 0.2)
        self.assertLessEqual(time.time() - ready, 10.0, states)
        self.down_and_check(c)

    def test_killed_bird_is_restarted_and_routes_come_back(self):
        c, n = self.cluster("k", nodes=2)
        c.up()
        ips, cidrs = n.node_ips(), n.pod_cidrs()
        pid_file = os.path.join(n.node_record("node-1")["rootDir"], "bird", "bird.pid")

        def route_on_node_2():
            return [l for l in n.node_exec("node-2", "ip", "-4", "route").splitlines()
                    if l.startswith(cidrs["node-1"] + " ") and "via %s " % ips["node-1"] in l]

        wait_for("node-2's BGP route to node-1's podCIDR", route_on_node_2, 15)
        with open(pid_file) as f:
            old = int(f.read().strip())
        os.kill(old, signal.SIGKILL)
        # node-2 withdraws node-1's routes once the session drops (hold time 9 s at most), then
        # gets them back from the new bird; we only require the new bird and the routes back.
        def restarted():
            try:
                with open(pid_file) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                return None
            return pid if pid != old and ctest.start_time(pid) is not None else None

        new = wait_for("node-1's agent to restart bird", restarted, 15)
        self.assertIsNotNone(ctest.start_time(new))
        wait_for("node-1's sessions Established again", lambda: all(
            "Established" in l for l in self.birdc(n, "node-1", "show", "protocols").splitlines()
            if " BGP " in l) and " BGP " in self.birdc(n, "node-1", "show", "protocols"), 20, 0.3)
        wait_for("node-2's route to node-1's podCIDR again", route_on_node_2, 20)
        self.down_and_check(c)

    def test_external_peer_learns_every_pod_cidr(self):
        # The peer's address must be known before `up` (it goes on every agent's command line),
        # so the underlay is chosen here: a free /24, the peer at .254.
        c = None
        for k in range(20):
            third = (os.getpid() + k * 37) % 200 + 20
            cidr = "10.253.%d.0/24" % third
            peer_ip = "10.253.%d.254" % third
            c, n = self.cluster("efghijklmnopqrstuvwx"[k], nodes=3,
                                extra=["--underlay-cidr", cidr,
                                       "--agent-arg=--bgp-peer=%s:65000" % peer_ip])
            p = c.up(check=False)
            if p.returncode == 0:
                break
            self.assertIn("overlaps", p.stderr)
        else:
            self.fail("no free underlay subnet for the external peer test")
        ips = n.node_ips()
        cidrs = n.pod_cidrs()

        # The "top-of-rack router": its own namespace with a veth onto the cluster's bridge.
        ns = "knet-tor-%d" % os.getpid()
        host_veth = "ktor%d" % (os.getpid() % 1000000)
        tor_dir = os.path.join(c.tmp, "tor")
        os.makedirs(tor_dir)
        tor = []

        def remove_tor():
            for p in tor:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            subprocess.run(["ip", "link", "del", host_veth], capture_output=True)

        self.addCleanup(remove_tor)

        def ip(*args):
            subprocess.run(["ip"] + list(args), check=True)

        ip("netns", "add", ns)
        ip("link", "add", host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", host_veth, "master", c.manifest["bridge"], "up")
        ip("-n", ns, "addr", "add", peer_ip + "/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        conf = ("log stderr all;\nrouter id %s;\nprotocol device {}\n"
                "template bgp node { local %s as 65000; direct; connect retry time 1;\n"
                "  connect delay time 1; hold time 9; keepalive time 3; error wait time 1, 5;\n"
                "  ipv4 { import all; export none; }; }\n" % (peer_ip, peer_ip))
        for i, (name, node_ip) in enumerate(sorted(ips.items())):
            conf += "protocol bgp n%d from node { neighbor %s as 64512; }\n" % (i + 1, node_ip)
        with open(os.path.join(tor_dir, "bird.conf"), "w") as f:
            f.write(conf)
        sock = os.path.join(tor_dir, "bird.ctl")
        with open(os.path.join(tor_dir, "bird.log"), "wb") as log:
            tor.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, "bird", "-f", "-c", os.path.join(tor_dir, "bird.conf"),
                 "-s", sock], stdin=subprocess.DEVNULL, stdout=log, stderr=log))

        routes = {}

        def learned():
            p = subprocess.run(["birdc", "-s", sock, "show", "route"], capture_output=True,
                               text=True)
            routes["out"] = p.stdout + p.stderr
            return p.returncode == 0 and all(
                ips[node] in route_next_hops(p.stdout).get(cidrs[node], ()) for node in ips)

        try:
            wait_for("the external peer to learn every podCIDR", learned, 20, 0.3)
        except AssertionError as e:
            raise AssertionError("%s\nbirdc show route:\n%s" % (e, routes.get("out"))) from None
        # Each node's side of its session with the peer is up too.
        for node, node_ip in ips.items():
            lines = [l for l in self.birdc(n, node, "show", "protocols").splitlines()
                     if l.startswith("Global_")]
            self.assertEqual(len(lines), 1, "%s: %s" % (node, lines))
            self.assertIn("Established", lines[0])
        remove_tor()
        self.assertFalse(os.path.exists("/run/netns/" + ns))
        self.down_and_check(c)


if __name__ == "__main__":
    unittest.main()
