"""The service proxy of `knet agent` on a real 2-node `knet cluster` (issue 8).

A Deployment of 3 python HTTP servers that answer their pod name, behind a ClusterIP Service:
from a client pod on each node, every endpoint answers (60+ requests), roughly uniformly
(chi-square over 600); scaling 3 -> 1 changes the answering set within a few seconds; a Service
without endpoints refuses connections at once (no timeout); a NodePort Service answers from the
host netns through a node's underlay IP; the proxy's /healthz answers 200 on each node
(127.0.0.1:10256, kube-proxy's JSON), /metrics counts syncs and programmed elements; hairpin (a
web pod reaching its own Service, itself included); restarting an agent never interrupts new
connections to the ClusterIP from that node; a UDP Service answers, and still does (new flows)
after its endpoint moved to another pod; externalTrafficPolicy Local keeps the client's source IP
on a NodePort (and drops on a node without a local endpoint); a UDP flow that keeps its socket
follows a replaced endpoint (the proxy flushes the stale conntrack entries).

Each test makes one cluster (unique name from the pid, state under a temp dir), removed even when
the test fails. Needs root. KNET_BIN names the knet binary (set by ctest).
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
sys.path.insert(0, os.path.join(HERE, "..", "network"))
import cluster_test as ctest  # noqa: E402  pylint: disable=wrong-import-position
import network_test  # noqa: E402  pylint: disable=wrong-import-position

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: host
        command:
        - python3
        - -c
        - |
          import http.server, os
          class Hello(http.server.BaseHTTPRequestHandler):
              def do_GET(self):
                  body = (os.environ["HOSTNAME"] + "\\n").encode()
                  self.send_response(200)
                  self.send_header("Content-Length", str(len(body)))
                  self.end_headers()
                  self.wfile.write(body)
              def log_message(self, fmt, *args):
                  pass
          http.server.ThreadingHTTPServer(("", 8080), Hello).serve_forever()
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web-svc}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 8081, targetPort: http}
---
apiVersion: v1
kind: Service
metadata: {name: empty-svc}
spec:
  selector: {app: nothing-here}
  ports:
  - {name: http, port: 80, targetPort: 8080}
"""

ECHO_SERVER = os.path.join(HERE, "..", "network", "echo_server.py")

# A UDP (and TCP) echo pod on a given node behind the UDP Service echo-udp.
ECHO = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s, labels: {app: echo}}
spec:
  nodeName: %(node)s
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: host
    command: ["python3", "%(server)s", "9000"]
---
apiVersion: v1
kind: Service
metadata: {name: echo-udp}
spec:
  selector: {app: echo}
  ports:
  - {name: dns, protocol: UDP, port: 5353, targetPort: 9000}
---
apiVersion: v1
kind: Service
metadata: {name: echo-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: echo}
  ports:
  - {name: tcp, port: 9000, targetPort: 9000}
"""

# One datagram to HOST:PORT from a fresh socket: prints the reply, or "timeout".
UDP = r"""
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
u.sendto(b"dgram", (sys.argv[1], int(sys.argv[2])))
try:
    print(u.recvfrom(2048)[0].decode())
except socket.timeout:
    print("timeout")
"""

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: %(name)s}
spec:
  nodeName: %(node)s
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: host
    command: ["sleep", "3600"]
"""

# N requests (a new connection each) to http://HOST:PORT/: prints one JSON line
# {"names": {name: count}, "errors": n}.
REQUESTS = r"""
import http.client, json, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names, errors = {}, 0
for _ in range(n):
    try:
        c = http.client.HTTPConnection(host, port, timeout=3)
        c.request("GET", "/")
        name = c.getresponse().read().decode().strip()
        c.close()
        names[name] = names.get(name, 0) + 1
    except Exception:
        errors += 1
print(json.dumps({"names": names, "errors": errors}))
"""

# Connects once to HOST:PORT; prints the outcome and how long it took.
CONNECT = r"""
import json, socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    r = "connected"
except ConnectionRefusedError:
    r = "refused"
except socket.timeout:
    r = "timeout"
except OSError as e:
    r = "error: %s" % e
print(json.dumps({"result": r, "seconds": time.monotonic() - t}))
"""

# Requests to http://HOST:PORT/ (a new connection each, every 50 ms) for SECONDS: prints one JSON
# line {"ok": n, "errors": [first few errors]}.
LOOP = r"""
import http.client, json, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ok, errors, end = 0, [], time.monotonic() + secs
while time.monotonic() < end:
    try:
        c = http.client.HTTPConnection(host, port, timeout=2)
        c.request("GET", "/")
        c.getresponse().read()
        c.close()
        ok += 1
    except Exception as e:
        errors.append("%.2f %r" % (end - time.monotonic(), e))
    time.sleep(0.05)
print(json.dumps({"ok": ok, "errors": errors[:5], "error_count": len(errors)}))
"""

HEALTHZ = r"""
import urllib.request, urllib.error, sys
try:
    r = urllib.request.urlopen("http://127.0.0.1:10256" + sys.argv[1], timeout=3)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"""


def wait_for(what, cond, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.time() >= deadline:
            raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces and links)")
class ServicesTest(unittest.TestCase):
    def setUp(self):
        self.c = ctest.Cluster(self, "sv", nodes=2)
        self.c.name = "s%05dsv" % (os.getpid() % 100000)
        self.addCleanup(self.c.cleanup)

    def kubectl(self, *args, **kw):
        return self.c.kubectl(*args, **kw)

    def requests(self, pod, host, port, n):
        p = self.kubectl("exec", pod, "--", "python3", "-c", REQUESTS, host, str(port), str(n),
                         check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def web_pods(self):
        """Names of the web pods that are not being deleted."""
        items = json.loads(self.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)
        return sorted(p["metadata"]["name"] for p in items["items"]
                      if not p["metadata"].get("deletionTimestamp"))

    def service(self, name):
        return json.loads(self.kubectl("get", "service", name, "-o", "json").stdout)

    def test_cluster_ip_nodeport_no_endpoints_scaling_and_healthz(self):
        c = self.c
        c.up()
        node_ips = {n["name"]: n["ip"] for n in c.manifest["nodes"]}
        self.kubectl("apply", "-f", "-", input=APP)
        self.kubectl("apply", "-f", "-", input=ECHO % {"name": "echo-a", "node": "node-2",
                                                       "server": ECHO_SERVER})
        for node in ("node-1", "node-2"):
            self.kubectl("apply", "-f", "-",
                         input=CLIENT % {"name": "client-" + node, "node": node})
        self.kubectl("wait", "--for=condition=Ready", "pod/client-node-1", "pod/client-node-2",
                     "--timeout=60s")
        wait_for("3 web pods", lambda: len(self.web_pods()) == 3, 30)
        self.kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=60s")
        web = self.web_pods()
        cluster_ip = self.service("web-svc")["spec"]["clusterIP"]
        empty_ip = self.service("empty-svc")["spec"]["clusterIP"]
        node_port = self.service("web-np")["spec"]["ports"][0]["nodePort"]
        self.assertTrue(cluster_ip and empty_ip and node_port)

        # From a client on each node: 60 requests reach every endpoint, none fails.
        for node in ("node-1", "node-2"):
            pod = "client-" + node
            seen = {}

            def all_answer():
                r = self.requests(pod, cluster_ip, 80, 60)
                seen.update(r)
                print("%s -> %s:80: %s" % (pod, cluster_ip, r), file=sys.stderr)
                return r["errors"] == 0 and sorted(r["names"]) == web

            wait_for("every web pod answering %s:80 from %s (last: %s)" % (cluster_ip, pod, seen),
                     all_answer, 30, 0.5)

        # Roughly uniform: 600 requests, chi-square over the 3 endpoints below the p = 0.001
        # critical value for 2 degrees of freedom (13.82).
        r = self.requests("client-node-1", cluster_ip, 80, 600)
        self.assertEqual(r["errors"], 0, r)
        chi2 = sum((n - 200) ** 2 / 200 for n in r["names"].values())
        print("600 requests: %s, chi-square %.2f" % (r["names"], chi2), file=sys.stderr)
        self.assertEqual(sorted(r["names"]), web)
        self.assertLess(chi2, 13.82, r)

        # No endpoints: refused at once, from both nodes.
        for node in ("node-1", "node-2"):
            p = self.kubectl("exec", "client-" + node, "--", "python3", "-c", CONNECT, empty_ip,
                             "80")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            print("client-%s -> %s:80 (no endpoints): %s" % (node, empty_ip, r), file=sys.stderr)
            self.assertEqual(r["result"], "refused", r)
            self.assertLess(r["seconds"], 1.0, r)

        # NodePort from the host netns (outside the cluster CIDR) via each node's underlay IP.
        for node, ip in node_ips.items():
            def nodeport_answers():
                try:
                    with urllib.request.urlopen("http://%s:%d/" % (ip, node_port),
                                                timeout=3) as r:
                        return r.read().decode().strip()
                except OSError:
                    return None
            name = wait_for("NodePort %s:%d (%s)" % (ip, node_port, node), nodeport_answers, 20)
            print("host -> %s:%d: %s" % (ip, node_port, name), file=sys.stderr)
            self.assertIn(name, web)

        # /healthz and /metrics of the proxy on each node.
        for node in ("node-1", "node-2"):
            p = c.exec(node, "python3", "-c", HEALTHZ, "/healthz")
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = p.stdout.splitlines()
            self.assertEqual(lines[0], "200", p.stdout)
            body = json.loads("\n".join(lines[1:]))
            self.assertIn("lastUpdated", body)
            self.assertIn("currentTime", body)
            p = c.exec(node, "python3", "-c", HEALTHZ, "/livez")
            self.assertEqual(p.stdout.splitlines()[0], "200", p.stdout)
            p = c.exec(node, "python3", "-c", HEALTHZ, "/metrics")
            self.assertIn("knet_proxy_sync_full_total", p.stdout)
            self.assertIn("knet_proxy_sync_errors_total 0", p.stdout)
            m = re.search(r"^knet_proxy_nft_elements (\d+)$", p.stdout, re.M)
            self.assertTrue(m and int(m.group(1)) > 0, p.stdout)

        # Hairpin: a web pod reaching its own Service gets answers, its own name among them.
        me = web[0]
        r = self.requests(me, cluster_ip, 80, 30)
        print("%s -> %s:80 (hairpin): %s" % (me, cluster_ip, r), file=sys.stderr)
        self.assertEqual(r["errors"], 0, r)
        self.assertIn(me, r["names"], r)

        # Restarting node-1's agent never removes the working rules: node-1's own connections to
        # the ClusterIP keep succeeding throughout (the new agent's first full sync replaces the
        # table atomically).
        net = network_test.Network(self, c)
        self.addCleanup(net.cleanup)
        loop = subprocess.Popen(
            [ctest.knet_bin(), "cluster", "exec", c.name, "node-1", "--state-dir", c.state, "--",
             "python3", "-c", LOOP, cluster_ip, "80", "8"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1)
            net.restart_agent("node-1")
            out, err = loop.communicate(timeout=30)
        finally:
            if loop.poll() is None:
                loop.kill()
                loop.wait()
        self.assertEqual(loop.returncode, 0, err)
        r = json.loads(out.strip().splitlines()[-1])
        print("node-1 -> %s:80 during an agent restart: %s" % (cluster_ip, r), file=sys.stderr)
        self.assertEqual(r["error_count"], 0, r)
        self.assertGreater(r["ok"], 50, r)
        wait_for("healthz 200 on node-1 after the restart",
                 lambda: c.exec("node-1", "python3", "-c", HEALTHZ,
                                "/healthz").stdout.startswith("200"), 15)

        # A UDP Service: answers, and keeps answering (new flows) after its endpoint moves.
        udp_ip = self.service("echo-udp")["spec"]["clusterIP"]
        client_ip = self.kubectl("get", "pod", "client-node-1", "-o",
                                 "jsonpath={.status.podIP}").stdout.strip()

        def udp_reply():
            out = self.kubectl("exec", "client-node-1", "--", "python3", "-c", UDP, udp_ip,
                               "5353").stdout.strip()
            return out if out.startswith("from ") else None

        self.kubectl("wait", "--for=condition=Ready", "pod/echo-a", "--timeout=60s")
        out = wait_for("a UDP reply from %s:5353" % udp_ip, udp_reply, 15)
        self.assertEqual(out, "from %s dgram" % client_ip)
        self.kubectl("apply", "-f", "-", input=ECHO % {"name": "echo-b", "node": "node-1",
                                                       "server": ECHO_SERVER})
        self.kubectl("wait", "--for=condition=Ready", "pod/echo-b", "--timeout=60s")
        echo_b = self.kubectl("get", "pod", "echo-b", "-o",
                              "jsonpath={.status.podIP}").stdout.strip()
        self.kubectl("delete", "pod", "echo-a", "--wait=false")

        def only_echo_b():
            slices = json.loads(self.kubectl("get", "endpointslices", "-l",
                                             "kubernetes.io/service-name=echo-udp", "-o",
                                             "json").stdout)["items"]
            ready = [a for s in slices for e in s.get("endpoints") or []
                     if (e.get("conditions") or {}).get("ready", True) for a in e["addresses"]]
            return ready == [echo_b]

        wait_for("echo-udp's only ready endpoint to be echo-b", only_echo_b, 30)
        out = wait_for("a UDP reply after the endpoint change", udp_reply, 5)
        self.assertEqual(out, "from %s dgram" % client_ip)

        # externalTrafficPolicy Local: the NodePort of the node with the endpoint (node-1) keeps
        # the client's source IP (the host's underlay address); the other node has no local
        # endpoint and drops.
        local_port = self.service("echo-local")["spec"]["ports"][0]["nodePort"]

        def greeting(ip, timeout=3):
            try:
                with socket.create_connection((ip, local_port), timeout=timeout) as s:
                    return s.makefile("rb").readline().decode().strip()
            except OSError as e:
                return "error: %s" % e

        out = wait_for("ETP Local NodePort %s:%d" % (node_ips["node-1"], local_port),
                       lambda: (lambda g: g if g.startswith("from ") else None)(
                           greeting(node_ips["node-1"])), 10)
        print("host -> %s:%d (ETP Local): %s" % (node_ips["node-1"], local_port, out),
              file=sys.stderr)
        self.assertEqual(out, "from %s" % c.manifest["gateway"])
        out = greeting(node_ips["node-2"], 1)
        print("host -> %s:%d (ETP Local, no local endpoint): %s" % (
            node_ips["node-2"], local_port, out), file=sys.stderr)
        self.assertIn("timed out", out)

        # Scale 3 -> 1: within a few seconds only the remaining pod answers, from both nodes.
        self.kubectl("scale", "deployment/web", "--replicas=1")
        left = wait_for("one web pod left", lambda: (lambda w: w if len(w) == 1 else None)(
            self.web_pods()), 15)
        start = time.time()
        for node in ("node-1", "node-2"):
            wait_for("only %s answering from %s" % (left[0], node),
                     lambda: (lambda r: r["errors"] == 0 and sorted(r["names"]) == left)(
                         self.requests("client-" + node, cluster_ip, 80, 20)), 10, 0.2)
        print("scaled to %s: only it answers after %.1fs" % (left, time.time() - start),
              file=sys.stderr)
        self.assertLess(time.time() - start, 10)
        m = c.manifest
        c.down()
        c.assert_nothing_left(m)

    # kube-proxy deletes the conntrack entries of a UDP endpoint that goes away, so a client that
    # keeps its socket (a DNS resolver) reaches the new endpoint; so does knet's proxy (without
    # it the old entry keeps DNATing the flow to the deleted pod until it times out).
    def test_udp_flow_follows_a_replaced_endpoint(self):
        c = self.c
        c.up()
        self.kubectl("apply", "-f", "-", input=CLIENT % {"name": "client", "node": "node-1"})
        self.kubectl("apply", "-f", "-", input=ECHO % {"name": "echo-a", "node": "node-2",
                                                       "server": ECHO_SERVER})
        self.kubectl("wait", "--for=condition=Ready", "pod/client", "pod/echo-a",
                     "--timeout=60s")
        udp_ip = self.service("echo-udp")["spec"]["clusterIP"]
        # One socket, one datagram a line on stdin, the replies (or "timeout") on stdout.
        script = (
            "import socket, sys\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)\n"
            "for line in sys.stdin:\n"
            "    for _ in range(5):\n"
            "        u.sendto(b'x', (sys.argv[1], 5353))\n"
            "        try:\n"
            "            print(u.recvfrom(2048)[0].decode(), flush=True); break\n"
            "        except socket.timeout:\n"
            "            pass\n"
            "    else:\n"
            "        print('timeout', flush=True)\n")
        env = dict(os.environ, KUBECONFIG=c.kubeconfig)
        flow = subprocess.Popen(["kubectl", "exec", "-i", "client", "--", "python3", "-c", script,
                                 udp_ip], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            def ask():
                flow.stdin.write("go\n")
                flow.stdin.flush()
                return flow.stdout.readline().strip()

            first = wait_for("a UDP reply", lambda: (lambda r: r if r.startswith("from ")
                                                     else None)(ask()), 20)
            self.kubectl("apply", "-f", "-", input=ECHO % {"name": "echo-b", "node": "node-1",
                                                           "server": ECHO_SERVER})
            self.kubectl("wait", "--for=condition=Ready", "pod/echo-b", "--timeout=60s")
            self.kubectl("delete", "pod", "echo-a", "--wait=false")
            wait_for("echo-a gone", lambda: self.kubectl(
                "get", "pod", "echo-a", check=False).returncode != 0, 30)
            # The same flow (socket) must reach echo-b within a few seconds.
            self.assertEqual(ask(), first)
        finally:
            flow.kill()
            flow.communicate()


if __name__ == "__main__":
    unittest.main()
