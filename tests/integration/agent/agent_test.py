"""`knet agent` end to end: a real knet server, a real agent in a node network namespace, real
pods (commands from this machine's filesystem) in their own network namespaces through knet-cni,
driven with the real kubectl. Needs root.
"""
import json
import os
import re
import signal
import subprocess
import time
import unittest

from agent_env import AgentEnv, run


def pod_yaml(name, command, extra_container="", extra_spec="", labels="", containers_extra=""):
    return """
apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: {app: %s%s}
spec:
  terminationGracePeriodSeconds: 5
%s  containers:
  - name: main
    image: host
    command: %s
%s%s""" % (name, name, labels, extra_spec, json.dumps(command), extra_container, containers_extra)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


HTTP_SERVER = ["python3", "-u", "-m", "http.server", "8080", "--bind", "0.0.0.0"]


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces)")
class AgentTest(unittest.TestCase):
    def test_pods_get_network_probes_logs_and_exec(self):
        with AgentEnv("life") as env:
            web = pod_yaml("web", HTTP_SERVER, extra_container="""    ports: [{containerPort: 8080, name: http}]
    readinessProbe:
      httpGet: {path: /, port: http}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 2
""")
            client = pod_yaml("client", ["sleep", "3600"])
            env.kubectl("apply", "-f", "-", input=web + "\n---\n" + client)
            web_pod = env.wait_pod_ready("web")
            client_pod = env.wait_pod_ready("client")
            st = web_pod["status"]
            self.assertEqual(st["phase"], "Running")
            self.assertEqual(st["hostIP"], env.node_ip)
            node = env.get("node", env.node)
            prefix = node["spec"]["podCIDR"].rsplit(".", 1)[0] + "."
            self.assertTrue(st["podIP"].startswith(prefix), (st["podIP"], node["spec"]["podCIDR"]))
            self.assertEqual(st["podIPs"], [{"ip": st["podIP"]}])
            cs = st["containerStatuses"][0]
            self.assertTrue(cs["ready"])
            self.assertEqual(cs["restartCount"], 0)
            self.assertIn("running", cs["state"])
            self.assertTrue(cs["containerID"].startswith("knet://"))
            conds = {c["type"]: c["status"] for c in st["conditions"]}
            for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready",
                      "PodReadyToStartContainers"):
                self.assertEqual(conds.get(t), "True", (t, conds))
            self.assertNotEqual(st["podIP"], client_pod["status"]["podIP"])

            # Inside the pod: its own hostname, managed /etc/hosts, eth0 with the pod IP.
            self.assertEqual(env.kubectl("exec", "web", "--", "hostname").stdout.strip(), "web")
            hosts = env.kubectl("exec", "web", "--", "cat", "/etc/hosts").stdout
            self.assertIn("# Kubernetes-managed hosts file.", hosts)
            self.assertRegex(hosts, r"%s\s+web\n" % re.escape(st["podIP"]))
            addrs = env.kubectl("exec", "web", "--", "cat", "/proc/net/fib_trie").stdout
            self.assertIn(st["podIP"], addrs)
            # Its own /sys: the pod's interfaces, not the node's.
            links = env.kubectl("exec", "web", "--", "ls", "/sys/class/net").stdout.split()
            self.assertEqual(sorted(links), ["eth0", "lo"])
            # Pod to pod by IP, through the node's bridge.
            fetch = "import urllib.request,sys; print(urllib.request.urlopen('http://%s:8080/', timeout=5).status)" % st["podIP"]
            out = env.kubectl("exec", "client", "--", "python3", "-c", fetch).stdout
            self.assertEqual(out.strip(), "200")
            # The web server logged that request (and the probes'): kubectl logs reads them.
            def logged():
                return "GET / HTTP" in env.kubectl("logs", "web").stdout
            env.wait("the request in the web pod's log", logged, timeout=20)
            tail = env.kubectl("logs", "web", "--tail=1").stdout
            self.assertEqual(len(tail.strip().splitlines()), 1)
            ts = env.kubectl("logs", "web", "--tail=1", "--timestamps").stdout
            self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")

            # exec: exit codes, stderr and stdin come through.
            p = env.kubectl("exec", "client", "--", "sh", "-c", "echo out; echo err >&2; exit 3",
                            check=False)
            self.assertEqual(p.returncode, 3)
            self.assertEqual(p.stdout, "out\n")
            self.assertIn("err", p.stderr)
            p = env.kubectl("exec", "-i", "client", "--", "tr", "a-z", "A-Z", input="hello\n")
            self.assertEqual(p.stdout, "HELLO\n")
            p = env.kubectl("exec", "client", "-c", "nope", "--", "true", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("nope", p.stderr)

    def test_liveness_failure_restarts_and_crash_loop_backs_off(self):
        with AgentEnv("live") as env:
            # Liveness on a port nothing listens on: killed after 2 failures, restarted.
            env.kubectl("apply", "-f", "-", input=pod_yaml("sick", ["sleep", "3600"], extra_container="""    livenessProbe:
      tcpSocket: {port: 9}
      periodSeconds: 1
      failureThreshold: 2
"""))
            def restarted():
                p = env.get("pod", "sick")
                cs = (p or {}).get("status", {}).get("containerStatuses", [{}])[0]
                return p if cs.get("restartCount", 0) >= 1 else None
            p = env.wait("a liveness restart", restarted, timeout=60)
            last = p["status"]["containerStatuses"][0]["lastState"]["terminated"]
            self.assertEqual(last["exitCode"], 143)  # 128 + SIGTERM: sleep ends on the first signal
            events = env.kubectl("get", "events", "--field-selector",
                                 "involvedObject.name=sick", "-o", "json").stdout
            self.assertIn("failed liveness probe, will be restarted", events)

            # A container that keeps failing goes into CrashLoopBackOff.
            env.kubectl("apply", "-f", "-", input=pod_yaml("crash", ["sh", "-c", "echo boom; exit 1"]))
            def backing_off():
                p = env.get("pod", "crash")
                cs = (p or {}).get("status", {}).get("containerStatuses", [{}])[0]
                w = cs.get("state", {}).get("waiting", {})
                return p if w.get("reason") == "CrashLoopBackOff" else None
            p = env.wait("CrashLoopBackOff", backing_off, timeout=60)
            cs = p["status"]["containerStatuses"][0]
            self.assertGreaterEqual(cs["restartCount"], 1)
            self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 1)
            self.assertIn("back-off", cs["state"]["waiting"]["message"])
            self.assertEqual(env.kubectl("logs", "crash").stdout, "boom\n")

    def test_restart_policies_and_init_containers(self):
        with AgentEnv("policy") as env:
            never = pod_yaml("never", ["sh", "-c", "exit 3"],
                             extra_spec="  restartPolicy: Never\n")
            ok = pod_yaml("onfailure", ["sh", "-c", "echo done"],
                          extra_spec="  restartPolicy: OnFailure\n")
            init = pod_yaml("init", ["sleep", "3600"], extra_spec="""  initContainers:
  - name: setup
    image: host
    command: ["sh", "-c", "echo initialised"]
""")
            hostnet = pod_yaml("hostnet", ["sleep", "3600"], extra_spec="  hostNetwork: true\n")
            env.kubectl("apply", "-f", "-", input="\n---\n".join([never, ok, init, hostnet]))
            p = env.wait_pod_phase("never", "Failed")
            term = p["status"]["containerStatuses"][0]["state"]["terminated"]
            self.assertEqual(term["exitCode"], 3)
            self.assertEqual(term["reason"], "Error")
            self.assertEqual(p["status"]["containerStatuses"][0]["restartCount"], 0)
            p = env.wait_pod_phase("onfailure", "Succeeded")
            self.assertEqual(p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
                             "Completed")
            self.assertEqual(env.kubectl("logs", "onfailure").stdout, "done\n")
            p = env.wait_pod_ready("init")
            ics = p["status"]["initContainerStatuses"][0]
            self.assertEqual(ics["state"]["terminated"]["exitCode"], 0)
            self.assertEqual(env.kubectl("logs", "init", "-c", "setup").stdout, "initialised\n")
            # hostNetwork: the node's namespace and address, no CNI.
            p = env.wait_pod_ready("hostnet")
            self.assertEqual(p["status"]["podIP"], env.node_ip)
            fib = env.kubectl("exec", "hostnet", "--", "cat", "/proc/net/fib_trie").stdout
            self.assertIn(env.node_ip, fib)

    def test_graceful_delete_leaves_nothing_behind(self):
        with AgentEnv("delete") as env:
            trap = ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo up; while true; do sleep 0.2; done"]
            env.kubectl("apply", "-f", "-", input=pod_yaml("grace", trap))
            p = env.wait_pod_ready("grace")
            uid = p["metadata"]["uid"]
            env.wait("the pod's log", lambda: "up" in env.kubectl("logs", "grace").stdout)
            pids = env.container_pids()
            self.assertTrue(pids)
            self.assertEqual(len(env.pod_netns()), 1)
            self.assertEqual(len(env.ipam_reservations()), 1)
            self.assertIn("master knet0", env.bridge_ports())
            # Follow the log while deleting: the SIGTERM handler's line arrives before the end.
            follow = subprocess.Popen(["kubectl", "--kubeconfig", env.server.kubeconfig, "logs",
                                       "-f", "grace"], stdout=subprocess.PIPE, text=True)
            try:
                env.kubectl("delete", "pod", "grace", "--wait=false")
                env.wait_pod_gone("grace", timeout=30)
                out, _ = follow.communicate(timeout=30)
            finally:
                if follow.poll() is None:
                    follow.kill()
                    follow.wait()
            self.assertIn("got TERM", out)
            # Nothing left: processes, pod netns, veth on the node, address reservation, files.
            for pid in pids:
                self.assertFalse(alive(pid), "process %d still alive" % pid)
            self.assertEqual(env.pod_netns(), [])
            self.assertEqual(env.bridge_ports(), "")
            self.assertEqual(env.ipam_reservations(), [])
            self.assertFalse(os.path.exists(os.path.join(env.root, "pods", uid)))
            self.assertEqual(os.listdir(os.path.join(env.root, "containers")), [])

    def test_agent_restart_adopts_running_pods(self):
        with AgentEnv("adopt") as env:
            env.kubectl("apply", "-f", "-", input=pod_yaml("keep", ["sleep", "3600"]))
            before = env.wait_pod_ready("keep")
            pids = env.container_pids()
            env.stop_agent()
            for pid in pids:
                self.assertTrue(os.path.exists("/proc/%d" % pid), "container died with the agent")
            # Deleted while the agent is down: the new agent finds it on disk and tears it down.
            env.kubectl("apply", "-f", "-", input=pod_yaml("other", ["sleep", "3600"]))
            env.start_agent()
            env.wait_node_ready()
            env.wait_pod_ready("other")
            after = env.wait_pod_ready("keep")
            b, a = before["status"], after["status"]
            self.assertEqual(a["podIP"], b["podIP"])
            self.assertEqual(a["containerStatuses"][0]["restartCount"], 0)
            self.assertEqual(a["containerStatuses"][0]["containerID"],
                             b["containerStatuses"][0]["containerID"])
            self.assertEqual(a["containerStatuses"][0]["state"]["running"]["startedAt"],
                             b["containerStatuses"][0]["state"]["running"]["startedAt"])
            # A pod force-deleted while the agent is down is cleaned up when it comes back.
            other_pids = set(env.container_pids()) - set(pids)
            env.stop_agent()
            env.kubectl("delete", "pod", "other", "--grace-period=0", "--force")
            env.start_agent()
            env.wait("the orphan's processes to end",
                     lambda: not any(alive(p) for p in other_pids), 30)
            env.wait("the orphan's netns to go", lambda: len(env.pod_netns()) == 1, 30)


if __name__ == "__main__":
    unittest.main()
