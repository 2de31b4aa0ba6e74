#!/usr/bin/python3
"""Cross-node pod network vs the underlay, per backend (issue 7): TCP throughput and latency.

For each backend (vxlan, host-gw, bgp) this brings up a real 2-node cluster (`knet cluster up
--nodes 2 --backend B`, its own name and state dir; always `knet cluster down`, also on failure)
and measures, in the same cluster:

  pod path:      a pod on node-1 (iperf3 -s; pingpong.py server) and a pod on node-2, the clients
                 run in the node-2 pod through `kubectl exec`, to the node-1 pod's IP;
  underlay path: the same servers in node-1's network namespace (`knet cluster exec`), the
                 clients in node-2's, to node-1's InternalIP: the limit the pod path can reach.

Throughput: iperf3 TCP, one stream, -t SECONDS, -J; the receiver's rate (sum_received). Latency:
pingpong.py (1-byte request, 1-byte reply, TCP_NODELAY, N round trips), p50/p99 in µs. Each
measurement runs RUNS times, pod and underlay interleaved (the order swapped every run) so load
drift hits both alike; the medians are reported with the ratio pod/underlay (throughput) and
pod/underlay (latency), and the best throughput of each (the least disturbed by other load: the
test is CPU-bound on a shared 2-core machine). Also reported: the pod's eth0 MTU, the node's underlay MTU, the overlay
device's MTU and node-2's route to the node-1 pod (which path the backend chose). Needs root.

    sudo bench/overlay/overlay_bench.py --build build/release [--backends vxlan,host-gw,bgp]
        [--runs 5] [--seconds 5] [--round-trips 2000] [--json OUT]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PINGPONG = os.path.join(HERE, "pingpong.py")
PY = "/usr/bin/python3"
IPERF_PORT = 5201
PINGPONG_PORT = 5202
SHORT = {"vxlan": "v", "host-gw": "h", "bgp": "b"}


class Failed(Exception):
    pass


def run(argv, timeout=120, env=None, check=True):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise Failed("%s failed (%d):\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def wait(what, fn, timeout=90):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise Failed("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(0.2)


class Cluster:
    """One `knet cluster` with a name and state dir of its own, removed by close()."""

    def __init__(self, knet, backend, timeout):
        self.knet = knet
        self.backend = backend
        self.name = "ob%d%s" % (os.getpid() % 10000, SHORT[backend])
        self.tmp = tempfile.mkdtemp(prefix="knet-overlay-bench-%s-" % self.name)
        self.state = os.path.join(self.tmp, "state")
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig")
        self.env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        self.timeout = timeout
        self.servers = []

    def up(self):
        t0 = time.time()
        run([self.knet, "cluster", "up", "--name", self.name, "--nodes", "2", "--backend",
             self.backend, "--state-dir", self.state, "--kubeconfig-out", self.kubeconfig,
             "--timeout", str(self.timeout)], timeout=self.timeout + 120)
        return time.time() - t0

    def close(self):
        for p in self.servers:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if os.path.exists(self.state):
            try:
                p = run([self.knet, "cluster", "down", self.name, "--state-dir", self.state],
                        timeout=180, check=False)
                err = None if p.returncode == 0 else "(%d) %s%s" % (p.returncode, p.stdout,
                                                                    p.stderr)
            except (OSError, subprocess.TimeoutExpired) as e:
                err = str(e)
            if err is not None:
                # Keep the state dir: `knet cluster down NAME --state-dir DIR` can finish it.
                print("warning: knet cluster down %s --state-dir %s failed: %s"
                      % (self.name, self.state, err), file=sys.stderr)
                return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kubectl(self, *args, timeout=120, input_text=None):
        p = subprocess.run(["kubectl"] + list(args), capture_output=True, text=True,
                           env=self.env, timeout=timeout, input=input_text)
        if p.returncode != 0:
            raise Failed("kubectl %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                            p.stdout, p.stderr))
        return p.stdout

    def node_exec(self, node, *cmd, timeout=120):
        return run([self.knet, "cluster", "exec", self.name, node, "--state-dir", self.state,
                    "--"] + list(cmd), timeout=timeout).stdout

    def node_server(self, node, port, *cmd):
        """A server left running in a node's netns until close(); returns once it listens.

        `knet cluster exec` keeps the command in its process group (a new session here), so
        close() stops them all with one killpg (`timeout --foreground` does not move to a group
        of its own); `timeout` bounds the server if this script is SIGKILLed."""
        p = subprocess.Popen([self.knet, "cluster", "exec", self.name, node, "--state-dir",
                              self.state, "--", "timeout", "--foreground", "3600"] + list(cmd),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.servers.append(p)
        wait("%s listening on port %d in %s" % (cmd[0], port, node),
             lambda: p.poll() is None and ":%d " % port in self.node_exec(node, "ss", "-Hltn"),
             timeout=20)

    def pod_exec(self, pod, *cmd, timeout=120):
        return self.kubectl("exec", pod, "--", *cmd, timeout=timeout)

    def node_ips(self):
        nodes = json.loads(self.kubectl("get", "nodes", "-o", "json"))["items"]
        out = {}
        for n in nodes:
            for a in n["status"].get("addresses", []):
                if a["type"] == "InternalIP":
                    out[n["metadata"]["name"]] = a["address"]
        return out

    def create_pods(self):
        pods = [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "server"},
             "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 0,
                      "containers": [
                          {"name": "iperf3", "image": "host",
                           "command": ["iperf3", "-s", "-p", str(IPERF_PORT)]},
                          {"name": "pingpong", "image": "host",
                           "command": [PY, PINGPONG, "server", str(PINGPONG_PORT)]}]}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
             "spec": {"nodeName": "node-2", "terminationGracePeriodSeconds": 0,
                      "containers": [{"name": "main", "image": "host",
                                      "command": ["sleep", "3600"]}]}},
        ]
        for pod in pods:
            self.kubectl("create", "-f", "-", input_text=json.dumps(pod))

        def ready():
            items = json.loads(self.kubectl("get", "pods", "-o", "json"))["items"]
            ips = {}
            for p in items:
                st = p.get("status", {})
                if any(c["type"] == "Ready" and c["status"] == "True"
                       for c in st.get("conditions", [])) and st.get("podIP"):
                    ips[p["metadata"]["name"]] = st["podIP"]
            return ips if len(ips) == 2 else None

        try:
            return wait("the server and client pods to be Ready", ready, timeout=self.timeout)
        except Failed as e:
            raise Failed("%s:\n%s" % (e, self.kubectl("get", "pods", "-o", "wide")))


def link_mtu(ip_json):
    return int(json.loads(ip_json)[0]["mtu"])


def iperf_rate(out):
    j = json.loads(out)
    if "error" in j:
        raise Failed("iperf3: " + j["error"])
    end = j["end"]
    return (end["sum_received"]["bits_per_second"] / 1e9,
            end["sum_sent"].get("retransmits", 0))


def measure_iperf(c, where, server_ip, seconds):
    cmd = ["iperf3", "-c", server_ip, "-p", str(IPERF_PORT), "-t", str(seconds), "-J"]
    if where == "pod":
        return iperf_rate(c.pod_exec("client", *cmd, timeout=seconds + 60))
    return iperf_rate(c.node_exec("node-2", *cmd, timeout=seconds + 60))


def measure_rr(c, where, server_ip, n):
    cmd = [PY, PINGPONG, "client", server_ip, str(PINGPONG_PORT), str(n)]
    if where == "pod":
        return json.loads(c.pod_exec("client", *cmd, timeout=300))
    return json.loads(c.node_exec("node-2", *cmd, timeout=300))


def interleaved(runs, pod_fn, node_fn):
    pod, node = [], []
    for i in range(runs):
        order = [(pod, pod_fn), (node, node_fn)]
        if i % 2:
            order.reverse()
        for out, fn in order:
            out.append(fn())
    return pod, node


def bench_backend(knet, backend, args):
    c = Cluster(knet, backend, args.timeout)
    r = {"backend": backend, "cluster": c.name}
    try:
        print("== %s: knet cluster up --nodes 2 --backend %s --name %s"
              % (backend, backend, c.name), flush=True)
        r["up_seconds"] = round(c.up(), 1)
        ips = c.create_pods()
        nodes = c.node_ips()
        r["pod_ips"], r["node_ips"] = ips, nodes
        # MTUs from rtnetlink (`ip`): /sys/class/net shows the sysfs of whoever mounted it,
        # not the namespace a command entered with setns.
        r["pod_mtu"] = link_mtu(c.pod_exec("client", "ip", "-j", "link", "show", "dev", "eth0"))
        r["underlay_mtu"] = link_mtu(c.node_exec("node-2", "ip", "-j", "link", "show", "dev",
                                                 "eth0"))
        if backend == "vxlan":
            r["vxlan_mtu"] = link_mtu(c.node_exec("node-2", "ip", "-j", "link", "show", "dev",
                                                  "knet.1"))
        # Which route carries the pod traffic, with its origin (proto: knet's 75, or bird). Wait
        # for it: the nodes are Ready before BGP has converged, and until then the pod traffic
        # would follow node-2's default route to the host (and off this machine).
        def pod_route():
            out = c.node_exec("node-2", "ip", "route", "show", "match", ips["server"])
            lines = [ln for ln in out.strip().splitlines() if not ln.startswith("default")]
            return "; ".join(lines)
        r["route_to_pod"] = wait("node-2's route to the node-1 pod", pod_route)
        # The same servers as the pod's, in node-1's netns, on node-1's InternalIP.
        c.node_server("node-1", IPERF_PORT, "iperf3", "-s", "-p", str(IPERF_PORT), "-B",
                      nodes["node-1"])
        c.node_server("node-1", PINGPONG_PORT, PY, PINGPONG, "server", str(PINGPONG_PORT))
        r["loadavg_before"] = os.getloadavg()
        tp_pod, tp_node = interleaved(
            args.runs, lambda: measure_iperf(c, "pod", ips["server"], args.seconds),
            lambda: measure_iperf(c, "node", nodes["node-1"], args.seconds))
        rr_pod, rr_node = interleaved(
            args.runs, lambda: measure_rr(c, "pod", ips["server"], args.round_trips),
            lambda: measure_rr(c, "node", nodes["node-1"], args.round_trips))
        r["loadavg_after"] = os.getloadavg()
        r["gbps_pod"] = [x[0] for x in tp_pod]
        r["gbps_underlay"] = [x[0] for x in tp_node]
        r["retrans_pod"] = [x[1] for x in tp_pod]
        r["retrans_underlay"] = [x[1] for x in tp_node]
        r["rr_pod"], r["rr_underlay"] = rr_pod, rr_node
        return r
    finally:
        c.close()


def med(xs):
    return statistics.median(xs)


def report(r):
    tp_p, tp_u = med(r["gbps_pod"]), med(r["gbps_underlay"])
    p50_p = med([x["p50_us"] for x in r["rr_pod"]])
    p50_u = med([x["p50_us"] for x in r["rr_underlay"]])
    p99_p = med([x["p99_us"] for x in r["rr_pod"]])
    p99_u = med([x["p99_us"] for x in r["rr_underlay"]])
    print("%s: pod MTU %d, underlay MTU %d%s; up in %.1f s; load %.2f -> %.2f"
          % (r["backend"], r["pod_mtu"], r["underlay_mtu"],
             ", knet.1 MTU %d" % r["vxlan_mtu"] if "vxlan_mtu" in r else "", r["up_seconds"],
             r["loadavg_before"][0], r["loadavg_after"][0]))
    print("  route on node-2 to the node-1 pod: %s" % r["route_to_pod"])
    print("  throughput Gbit/s  pod %s  underlay %s" % (
        " ".join("%.2f" % x for x in r["gbps_pod"]),
        " ".join("%.2f" % x for x in r["gbps_underlay"])))
    print("  retransmits        pod %s  underlay %s" % (r["retrans_pod"], r["retrans_underlay"]))
    print("  throughput median  pod %.2f  underlay %.2f  ratio %.3f" % (tp_p, tp_u, tp_p / tp_u))
    best_p, best_u = max(r["gbps_pod"]), max(r["gbps_underlay"])
    print("  throughput best    pod %.2f  underlay %.2f  ratio %.3f" % (best_p, best_u,
                                                                      best_p / best_u))
    print("  latency p50 µs     pod %s  underlay %s" % (
        " ".join("%.1f" % x["p50_us"] for x in r["rr_pod"]),
        " ".join("%.1f" % x["p50_us"] for x in r["rr_underlay"])))
    print("  latency p99 µs     pod %s  underlay %s" % (
        " ".join("%.1f" % x["p99_us"] for x in r["rr_pod"]),
        " ".join("%.1f" % x["p99_us"] for x in r["rr_underlay"])))
    print("  latency median     p50 pod %.1f underlay %.1f ratio %.3f; p99 pod %.1f underlay %.1f"
          " ratio %.3f" % (p50_p, p50_u, p50_p / p50_u, p99_p, p99_u, p99_p / p99_u), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--backends", default="vxlan,host-gw,bgp")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--round-trips", type=int, default=2000)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--json", help="also write every sample here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("overlay_bench: needs root (network namespaces)")
    for b in args.backends.split(","):
        if b not in SHORT:
            sys.exit("overlay_bench: unknown backend %s (vxlan, host-gw, bgp)" % b)
    # Run copies of the binaries: a rebuild of the shared build dir during the run (relinking
    # knet) must not break the clusters' `down`. The agent finds knet-cni and knet-shim next to
    # knet.
    bindir = tempfile.mkdtemp(prefix="knet-overlay-bench-bin-")
    try:
        for b in ("knet", "knet-cni", "knet-shim"):
            copy_settled(os.path.join(args.build, "src", "cmd", b), os.path.join(bindir, b))
        run_all(os.path.join(bindir, "knet"), args)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def copy_settled(src, dst):
    """Copies a binary that a build may be relinking right now: until it is unchanged across
    the copy (a half-written knet-shim would leave every pod unstarted)."""
    for _ in range(60):
        before = os.stat(src)
        shutil.copy2(src, dst)
        after = os.stat(src)
        if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns) and \
                after.st_size > 0 and time.time() - after.st_mtime > 5:
            return
        time.sleep(5)
    raise SystemExit("overlay_bench: %s keeps changing (a build is linking it)" % src)


def run_all(knet, args):
    print("overlay: 2-node clusters, iperf3 -t %d x%d, %d round trips x%d, knet at %s, kernel %s"
          % (args.seconds, args.runs, args.round_trips, args.runs, args.build, os.uname().release))
    results, failed = [], []
    for b in args.backends.split(","):
        try:
            r = bench_backend(knet, b, args)
        except (Failed, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
            print("%s: FAILED: %s" % (b, e), file=sys.stderr, flush=True)
            failed.append(b)
            continue
        results.append(r)
        report(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if failed:
        sys.exit("overlay_bench: failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
