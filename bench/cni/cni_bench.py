#!/usr/bin/python3
"""CNI ADD/DEL/VERSION latency: knet-cni vs Debian's reference bridge + host-local (issue 6).

Needs root. Creates N uniquely named network namespaces per plugin (setup, not measured), then for
each pod runs ADD with knet-cni and ADD with the reference bridge plugin (interleaved, so load drift
hits both alike), then DEL for each, and VERSION for both. Every exec is spawned directly with
subprocess (no shell) and timed around the whole call (spawn to exit). Both plugins get the same
config shape (isGateway, isDefaultGateway, hairpinMode, host-local /24, own dataDir), with their own
bridge name and subnet. Everything created (netns, bridges, host veths, IPAM dirs) is removed in a
finally block, also when a call fails.

  bench/cni/cni_bench.py [--knet build/cnibench-rel/src/cmd/knet-cni] [--pods 100]
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REF_DIR = "/usr/lib/cni"


def percentile(values, p):
    """Nearest rank: the ceil(p/100 * n)-th smallest value (p99 of 100 samples is the 99th)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def summary(values):
    ms = [v * 1000.0 for v in values]
    return {"median": statistics.median(ms), "p99": percentile(ms, 99), "mean": statistics.fmean(ms),
            "min": min(ms), "max": max(ms)}


class Plugin:
    def __init__(self, label, binary, conf, cni_path):
        self.label, self.binary, self.conf, self.cni_path = label, binary, conf, cni_path
        self.stdin = json.dumps(conf).encode()

    def call(self, command, container_id="", netns=""):
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns,
               "CNI_IFNAME": "eth0", "CNI_PATH": self.cni_path, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        t0 = time.perf_counter()
        p = subprocess.run([self.binary], input=self.stdin, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=False)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("%s %s %s failed (exit %d): %s %s" % (
                self.label, command, container_id, p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return dt, p.stdout


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--knet", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "../../build/cnibench-rel/src/cmd/knet-cni"))
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--version-calls", type=int, default=100)
    ap.add_argument("--cni-version", default="1.0.0",
                    help="cniVersion of both configs (Debian's plugins 1.1.1 stop at 1.0.0)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("cni_bench: needs root (creates network namespaces and bridges)", file=sys.stderr)
        return 2
    knet_bin = os.path.realpath(args.knet)
    for b in (knet_bin, os.path.join(REF_DIR, "bridge"), os.path.join(REF_DIR, "host-local")):
        if not os.access(b, os.X_OK):
            print("cni_bench: %s is missing" % b, file=sys.stderr)
            return 2

    tag = "%x" % (os.getpid() & 0xfffff)
    # Two /24s picked from the pid so concurrent runs (rare) do not collide.
    octet = os.getpid() % 200 + 20
    work = tempfile.mkdtemp(prefix="cnibench-")
    common = {"cniVersion": args.cni_version, "isGateway": True, "isDefaultGateway": True,
              "hairpinMode": True}
    knet = Plugin("knet", knet_bin, dict(common, name="cbk" + tag, type="knet-cni",
                                         bridge="cbk" + tag,
                                         ipam={"type": "host-local", "subnet": "10.241.%d.0/24" % octet,
                                               "dataDir": os.path.join(work, "knet")}),
                  os.path.dirname(knet_bin))
    ref = Plugin("reference", os.path.join(REF_DIR, "bridge"),
                 dict(common, name="cbr" + tag, type="bridge", bridge="cbr" + tag,
                      ipam={"type": "host-local", "subnet": "10.242.%d.0/24" % octet,
                            "dataDir": os.path.join(work, "ref")}),
                 REF_DIR)
    plugins = [knet, ref]
    # The driver's own floor: the same spawn + pipes + wait for /bin/true.
    floor = Plugin("/bin/true", "/bin/true", {}, "")
    pods = {p.label: ["cb%s%s%d" % (p.label[0], tag, i) for i in range(args.pods)] for p in plugins}
    created_ns = []
    times = {(p.label, c): [] for p in plugins for c in ("ADD", "DEL", "VERSION")}
    times[("/bin/true", "VERSION")] = []
    added = {p.label: [] for p in plugins}
    try:
        for p in plugins:
            for ns in pods[p.label]:
                if run(["ip", "netns", "add", ns]) != 0:
                    raise RuntimeError("ip netns add %s failed" % ns)
                created_ns.append(ns)
        # Warm up both binaries' page cache with one VERSION each (not counted).
        for p in plugins:
            p.call("VERSION")
        for i in range(args.pods):
            for p in plugins:
                ns = pods[p.label][i]
                dt, _ = p.call("ADD", ns, "/var/run/netns/" + ns)
                added[p.label].append(ns)
                times[(p.label, "ADD")].append(dt)
        for i in range(args.pods):
            for p in plugins:
                ns = pods[p.label][i]
                dt, _ = p.call("DEL", ns, "/var/run/netns/" + ns)
                added[p.label].remove(ns)
                times[(p.label, "DEL")].append(dt)
        for _ in range(args.version_calls):
            for p in plugins + [floor]:
                dt, _ = p.call("VERSION")
                times[(p.label, "VERSION")].append(dt)
    finally:
        for p in plugins:
            for ns in list(added[p.label]):
                try:
                    p.call("DEL", ns, "/var/run/netns/" + ns)
                except RuntimeError as e:
                    print("cleanup: %s" % e, file=sys.stderr)
        for ns in created_ns:
            run(["ip", "netns", "del", ns])
        for p in plugins:
            run(["ip", "link", "del", p.conf["bridge"]])
        shutil.rmtree(work, ignore_errors=True)

    print("cni_bench: %d pods, cniVersion %s, knet=%s, reference=%s/bridge + host-local" % (
        args.pods, args.cni_version, knet_bin, REF_DIR))
    print("%-8s %-10s %9s %9s %9s %9s %9s" % ("op", "plugin", "median", "p99", "mean", "min", "max"))
    for c in ("ADD", "DEL", "VERSION"):
        s = {p.label: summary(times[(p.label, c)]) for p in plugins}
        for p in plugins:
            v = s[p.label]
            print("%-8s %-10s %8.2fms %8.2fms %8.2fms %8.2fms %8.2fms" % (
                c, p.label, v["median"], v["p99"], v["mean"], v["min"], v["max"]))
        print("%-8s %-10s %9.3f %9.3f %9.3f" % (c, "knet/ref", s["knet"]["median"] / s["reference"]["median"],
                                              s["knet"]["p99"] / s["reference"]["p99"],
                                              s["knet"]["mean"] / s["reference"]["mean"]))
    v = summary(times[("/bin/true", "VERSION")])
    print("%-8s %-10s %8.2fms %8.2fms %8.2fms %8.2fms %8.2fms   (driver floor: spawn+wait of /bin/true)" % (
        "spawn", "/bin/true", v["median"], v["p99"], v["mean"], v["min"], v["max"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
