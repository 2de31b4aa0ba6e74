#!/usr/bin/python3
"""Endpoint programming latency at the controller (issue 5).

Starts a `knet server` with no controllers of its own (a fresh data dir, removed afterwards),
loads it through endpoint_bench with --services Services and --pods-per-service pods each (all
Ready, bound to one node), then starts `knet controller-manager --controllers=endpointslice,
endpoints` as its own process so its CPU can be read from /proc, and measures:

  sync     the time the controllers take to build every EndpointSlice from scratch
  latency  a pod's status write (Ready) to its endpoint showing ready=true on a watch of the
           EndpointSlices, p50 / p99 over --samples pods flipped one at a time
  cpu      controller-manager CPU seconds (user+sys) per 1,000 pod status updates, from a burst
           of --updates pods flipped to not-ready and back (2 x --updates updates)

    /usr/bin/python3 bench/controllers/endpoints_bench.py --build build/bench-rel
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "apiserver"))
from knet_server import KnetServer  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench-rel"))
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--pods-per-service", type=int, default=10)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--store", default="", help="--store for knet server (default: sqlite)")
    args = ap.parse_args()
    knet = os.path.join(args.build, "src", "cmd", "knet")
    tool = os.path.join(args.build, "bench", "controllers", "endpoint_bench")
    os.environ["KNET_BIN"] = knet
    common = ["--services", str(args.services), "--pods-per-service", str(args.pods_per_service),
              "--threads", str(args.threads)]
    extra = ["--store", args.store] if args.store else []
    results = {"services": args.services, "pods": args.services * args.pods_per_service,
               "date": time.strftime("%Y-%m-%d"), "machine": "%s, %d cores, kernel %s" % (
                   platform.processor() or platform.machine(), os.cpu_count(),
                   platform.release())}
    with KnetServer(extra_args=extra, controllers="-*") as server:
        def run(cmd, *more):
            out = subprocess.run([tool, cmd, "--kubeconfig", server.kubeconfig] + common +
                                 list(more), capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit("%s failed:\n%s%s" % (cmd, out.stdout, out.stderr))
            return json.loads(out.stdout.strip().splitlines()[-1])

        print("populating %d services, %d pods ..." % (args.services, results["pods"]),
              file=sys.stderr)
        results["populate"] = run("populate")
        log = open(os.path.join(server.dir, "cm.log"), "wb")
        cm = subprocess.Popen([knet, "controller-manager", "--kubeconfig", server.kubeconfig,
                               "--controllers=endpointslice,endpoints"],
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            t0 = time.time()
            results["sync"] = run("wait-synced")
            results["sync"]["from_start_s"] = time.time() - t0
            results["sync"]["cm_cpu_s"] = cpu_seconds(cm.pid)
            time.sleep(2)  # let the Endpoints objects settle too
            results["latency"] = run("measure", "--samples", str(args.samples))
            before = cpu_seconds(cm.pid)
            results["burst"] = run("burst", "--updates", str(args.updates))
            time.sleep(1)  # the Endpoints controller finishes its share
            used = cpu_seconds(cm.pid) - before
            results["burst"]["cm_cpu_s"] = used
            results["burst"]["cm_cpu_s_per_1000_updates"] = used * 1000 / results["burst"][
                "pod_updates"]
            results["cm_rss_mib"] = rss_mib(cm.pid)
            results["server_rss_mib"] = rss_mib(server.proc.pid)
        finally:
            cm.terminate()
            cm.wait(30)
            log.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
