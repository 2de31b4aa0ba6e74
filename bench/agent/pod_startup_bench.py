#!/usr/bin/python3
"""Pod startup latency with `knet agent`: pod created -> Ready, as a user sees it.

One node (a real `knet server` with its controllers, a real `knet agent` in a node network
namespace; the harness of tests/integration/agent/agent_env.py). Each pod runs `sleep 3600` from
the node's filesystem, with no probes. Two modes:

  serial: create a pod, wait until it is Ready, next (the unloaded latency of one pod);
  burst:  create N pods back to back, as a ReplicaSet scale-up does, and time each one.

Created = just before the POST; Ready = when a watch on the pods first shows condition
Ready=True. Both are taken in this process with time.perf_counter(), so they include scheduling
(the scheduler binds the pod), the agent's sync (netns + CNI ADD through knet-cni + knet-shim +
the status write) and the watch delivery. Needs root.

    sudo bench/agent/pod_startup_bench.py --build build/release [--pods 100]
"""
import argparse
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "agent"))

from kubernetes import client as k8s, config as k8s_config, watch as k8s_watch  # noqa: E402


def pct(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def pod_body(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"bench": "startup"}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": "host",
                                     "command": ["sleep", "3600"]}]}}


class ReadyWatcher:
    def __init__(self, api):
        self.api = api
        self.ready = {}
        self.cond = threading.Condition()
        self.stop = False
        self.w = k8s_watch.Watch()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                for ev in self.w.stream(self.api.list_namespaced_pod, "default",
                                        label_selector="bench=startup", timeout_seconds=60):
                    pod = ev["object"]
                    for c in (pod.status.conditions or []):
                        if c.type == "Ready" and c.status == "True":
                            with self.cond:
                                self.ready.setdefault(pod.metadata.name, time.perf_counter())
                                self.cond.notify_all()
                    if self.stop:
                        return
            except Exception:
                if not self.stop:
                    time.sleep(0.1)

    def wait(self, names, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while not all(n in self.ready for n in names):
                left = deadline - time.time()
                if left <= 0:
                    missing = [n for n in names if n not in self.ready]
                    raise RuntimeError("not Ready after %ds: %s" % (timeout, missing[:10]))
                self.cond.wait(left)

    def close(self):
        self.stop = True
        self.w.stop()


def run_mode(env, api, watcher, mode, n):
    created = {}
    names = ["%s-%03d" % (mode, i) for i in range(n)]
    if mode == "serial":
        for name in names:
            created[name] = time.perf_counter()
            api.create_namespaced_pod("default", pod_body(name))
            watcher.wait([name], 60)
    else:
        for name in names:
            created[name] = time.perf_counter()
            api.create_namespaced_pod("default", pod_body(name))
        watcher.wait(names, 300)
    lat = [(watcher.ready[nm] - created[nm]) * 1000.0 for nm in names]
    # Clean up before the next mode (and measure nothing of it).
    for name in names:
        api.delete_namespaced_pod(name, "default", grace_period_seconds=0)
    env.wait("%s pods gone" % mode, lambda: not api.list_namespaced_pod(
        "default", label_selector="bench=startup").items, timeout=300)
    return lat


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--pods", type=int, default=100)
    ap.add_argument("--modes", default="serial,burst")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("pod_startup_bench: needs root (network namespaces)")
    os.environ["KNET_BIN"] = os.path.abspath(os.path.join(args.build, "src", "cmd", "knet"))
    from agent_env import AgentEnv  # after KNET_BIN is set
    print("pod startup (created -> Ready), %d pods per mode, one node, knet at %s"
          % (args.pods, os.environ["KNET_BIN"]))
    with AgentEnv("bench", agent_args=["--pod-workers", "8"]) as env:
        k8s_config.load_kube_config(env.server.kubeconfig)
        api = k8s.CoreV1Api()
        watcher = ReadyWatcher(api)
        try:
            for mode in args.modes.split(","):
                lat = run_mode(env, api, watcher, mode, args.pods)
                print("%-6s p50 %7.1f ms  p90 %7.1f ms  p99 %7.1f ms  max %7.1f ms  mean %7.1f ms"
                      % (mode, pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat),
                         statistics.mean(lat)))
        finally:
            watcher.close()


if __name__ == "__main__":
    main()
