#!/usr/bin/env python3
"""clusterip_bench: first-packet cost and TCP throughput through a knet ClusterIP (issue 8,
benchmarks 3 and 4). Needs root, iperf3 and a release build of bench/proxy/proxy_bench.

Three fresh namespaces (names carry the pid; deleted again, also on failure):
  cli (10.200.1.2) -- veth -- node (10.200.1.1 | 10.200.2.1, forwarding) -- veth -- srv (10.200.2.2)
`node` holds knet's table (NftBackend through `proxy_bench --install`): service 0 is
10.96.0.1:80/tcp -> 10.200.2.2:8080, plus N-1 other services x 10 endpoints (cluster CIDR
10.200.0.0/16, so the client is a pod: no masquerade). For N = 1 and N = 10,000 it measures
  - new connections from cli: connect + 1-byte request + 1-byte reply + close (RST, so no
    TIME_WAIT; --close fin for a normal close), sequential, p50/p99 round trip and connections/s (failed attempts, e.g. a 2 s
    timeout, are counted in "errors" and left out of the percentiles), to the ClusterIP and
    straight to the pod IP;
  - iperf3 -t T from cli to the ClusterIP (port 80 -> iperf3 -s on 8080) and to the pod IP.
Prints one JSON object per line.
  sudo bench/proxy/clusterip_bench.py [--build build/release] [--connections 3000] [--seconds 5]
"""
import argparse, json, os, subprocess, sys, time

PID = os.getpid()
NS = {k: f"knet-cipb-{k}-{PID}" for k in ("cli", "node", "srv")}

SERVER = r'''
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    if c.recv(1): c.sendall(b"y")
    c.close()
'''

CLIENT = r'''
import socket, struct, sys, time, json
host, port, n, rst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "rst"
lat = []
errors = []
linger = struct.pack("ii", 1, 0)
t0 = time.perf_counter()
for _ in range(n):
    a = time.perf_counter()
    try:
        c = socket.create_connection((host, port), timeout=2)
        c.sendall(b"x"); r = c.recv(1)
        b = time.perf_counter()
        if rst:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        c.close()
    except OSError as e:
        errors.append(str(e))
        continue
    if r != b"y":
        errors.append("short reply")
        continue
    lat.append((b - a) * 1e6)
total = time.perf_counter() - t0
lat.sort()
print(json.dumps({"p50_us": round(lat[len(lat)//2], 1), "p99_us": round(lat[int(len(lat)*0.99)], 1),
                  "max_us": round(lat[-1], 1), "over_500ms": sum(1 for x in lat if x > 5e5),
                  "conn_per_s": round(n / total, 1), "errors": len(errors),
                  "first_error": errors[0] if errors else None}))
'''


def sh(*cmd, ns=None, check=True, **kw):
    if ns:
        cmd = ("ip", "netns", "exec", NS[ns]) + cmd
    r = subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}...: exit {r.returncode}: {r.stderr.strip()[-500:]}")
    return r


def setup():
    for n in NS.values():
        sh("ip", "netns", "add", n)
    sh("ip", "link", "add", "c0", "netns", NS["cli"], "type", "veth", "peer", "c1", "netns", NS["node"])
    sh("ip", "link", "add", "s0", "netns", NS["srv"], "type", "veth", "peer", "s1", "netns", NS["node"])
    for ns, dev, addr in (("cli", "c0", "10.200.1.2/24"), ("node", "c1", "10.200.1.1/24"),
                          ("node", "s1", "10.200.2.1/24"), ("srv", "s0", "10.200.2.2/24")):
        sh("ip", "addr", "add", addr, "dev", dev, ns=ns)
        sh("ip", "link", "set", dev, "up", ns=ns)
    for ns in NS:
        sh("ip", "link", "set", "lo", "up", ns=ns)
    sh("ip", "route", "add", "default", "via", "10.200.1.1", ns="cli")
    sh("ip", "route", "add", "default", "via", "10.200.2.1", ns="srv")
    sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns="node")


def install(build, n):
    sh("nft", "delete", "table", "ip", "knet-proxy", ns="node", check=False)
    out = sh(f"{build}/bench/proxy/proxy_bench", "--install", NS["node"], "--services", str(n),
             "--target", "10.200.2.2:9000", "--cluster-cidr", "10.200.0.0/16")
    return json.loads(out.stdout)


CLOSE = "rst"


def conns(host, port, n):
    out = sh(sys.executable, "-c", CLIENT, host, str(port), str(n), CLOSE, ns="cli", timeout=300)
    return json.loads(out.stdout)


def iperf(host, port, seconds):
    out = sh("iperf3", "-c", host, "-p", str(port), "-t", str(seconds), "-J", ns="cli",
             timeout=seconds + 30)
    return round(json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9, 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--connections", type=int, default=3000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--services", default="1,10000")
    ap.add_argument("--close", choices=("rst", "fin"), default="rst",
                    help="how the client closes: rst (SO_LINGER 0, no TIME_WAIT) or fin")
    a = ap.parse_args()
    global CLOSE
    CLOSE = a.close
    if os.geteuid() != 0:
        print("skipped: needs root (network namespaces)")
        return 0
    procs = []
    try:
        setup()
        srv = subprocess.Popen(["ip", "netns", "exec", NS["srv"], sys.executable, "-c", SERVER],
                               stdout=subprocess.PIPE, text=True)
        procs.append(srv)
        srv.stdout.readline()
        procs.append(subprocess.Popen(["ip", "netns", "exec", NS["srv"], "iperf3", "-s", "-p", "9001"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.3)
        for n in [int(x) for x in a.services.split(",")]:
            inst = install(a.build, n)
            conns("10.96.0.1", 80, 200)  # warm-up
            row = {"services": n, "elements": inst["elements"],
                   "clusterip": conns("10.96.0.1", 80, a.connections),
                   "pod_ip": conns("10.200.2.2", 9000, a.connections)}
            # iperf3: the ClusterIP's port 80 is DNATed to 9000; iperf3 listens on 9001, so
            # reinstall with that target.
            sh(f"{a.build}/bench/proxy/proxy_bench", "--install", NS["node"], "--services", str(n),
               "--target", "10.200.2.2:9001", "--cluster-cidr", "10.200.0.0/16")
            row["iperf_clusterip_gbps"] = iperf("10.96.0.1", 80, a.seconds)
            row["iperf_pod_ip_gbps"] = iperf("10.200.2.2", 9001, a.seconds)
            row["loadavg"] = open("/proc/loadavg").read().split()[:3]
            print(json.dumps(row), flush=True)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        for n in NS.values():
            subprocess.run(["ip", "netns", "delete", n], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
