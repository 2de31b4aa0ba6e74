#!/usr/bin/python3
"""API server benchmarks (issue 4): list, create throughput and watch fan-out of `knet server`.

Starts its own `knet server` on 127.0.0.1 (a fresh data dir, removed afterwards), loads it,
measures and stops it. Run with Debian's /usr/bin/python3 (it needs python3-yaml):

    /usr/bin/python3 bench/apiserver/apiserver_bench.py --knet build/bench-rel/src/cmd/knet
    ... --only create,list            # a subset: create, list, watch
    ... --etcd                        # also create/list against a throwaway etcd (etcd-server)

Figures (printed as markdown tables):
  create  pods/s from --clients concurrent keep-alive HTTPS clients (one process each), and from
          one client as the reference; per-request latency p50/p99; server CPU per pod.
  list    `kubectl get pods -A` wall time with --pods pods (kubectl's own overhead: `kubectl get
          ns`), and the time of the HTTP requests kubectl makes, from a raw client: GET
          /api/v1/pods with kubectl's Table Accept header, unpaginated and in kubectl's pages
          of 500, plus the plain JSON list; server CPU per request.
  watch   --watchers concurrent watches (asyncio, one process) of one namespace's pods; a writer
          process patches pods at --rate writes/s, each patch carrying its send time
          (CLOCK_REALTIME ns) in an annotation; delay = receipt time - send time, over all
          deliveries; the same with 1 watcher as the reference.
"""
import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "apiserver"))
from knet_server import KnetServer  # noqa: E402

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
SENT_KEY = "bench.knet.dev/sent"


# ---------------------------------------------------------------------------------------------
# helpers

def pct(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def server_cpu_s(pid):
    """utime+stime of a process in seconds, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def connect(url, ca_file):
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca_file)
    return http.client.HTTPSConnection(host, int(port), context=ctx, timeout=60)


def request(conn, token, method, path, body=None, headers=None):
    h = {"Authorization": "Bearer " + token}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    return r.status, r.read()


def pod_body(ns, name):
    """A realistic small Pod, as `kubectl run` would send plus labels and resources."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"app": "bench", "tier": "web", "shard": name[-1]}},
        "spec": {"containers": [{
            "name": "web", "image": "registry.example/nginx:1.27",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
            "env": [{"name": "MODE", "value": "bench"}]}],
            "restartPolicy": "Always"}}).encode()


def ensure_namespaces(s, names):
    conn = connect(s.url, s.ca_file)
    for ns in names:
        st, body = request(conn, s.token, "POST", "/api/v1/namespaces",
                           json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": ns}}).encode())
        if st not in (201, 409):
            raise RuntimeError("create namespace %s: %d %s" % (ns, st, body[:300]))
    conn.close()


def kubectl_env(s):
    env = dict(os.environ)
    env["KUBECONFIG"] = s.kubeconfig
    return env


def kubectl_wall(s, args, runs):
    """Median wall time (s) of `kubectl ARGS` with output to /dev/null, after one warm-up run
    (which also fills kubectl's discovery cache in the server's data dir)."""
    cmd = ["kubectl", "--cache-dir", os.path.join(s.dir, "kubectl-cache")] + args
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=kubectl_env(s), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args), p.stderr.decode()[-500:]))
        if i > 0:
            times.append(dt)
    return statistics.median(times), p.stdout


# ---------------------------------------------------------------------------------------------
# create throughput

def _create_worker(args):
    url, ca_file, token, ns_list, prefix, count, start_evt, ready_q, out_q = args
    conn = connect(url, ca_file)
    conn.connect()  # TLS handshake before the clock starts
    request(conn, token, "GET", "/healthz")
    ready_q.put(1)
    start_evt.wait()
    lat = []
    errors = 0
    for i in range(count):
        ns = ns_list[i % len(ns_list)]
        body = pod_body(ns, "%s-%d" % (prefix, i))
        t0 = time.perf_counter()
        st, resp = request(conn, token, "POST", "/api/v1/namespaces/%s/pods" % ns, body)
        lat.append(time.perf_counter() - t0)
        if st != 201:
            errors += 1
            if errors < 3:
                sys.stderr.write("create: %d %s\n" % (st, resp[:200]))
    conn.close()
    out_q.put((lat, errors))


def create_pods(s, total, clients, ns_list, tag):
    """Creates `total` pods spread over ns_list from `clients` processes, each with one keep-alive
    connection. Returns a dict of figures."""
    ctx = multiprocessing.get_context("fork")
    start_evt = ctx.Event()
    ready_q, out_q = ctx.Queue(), ctx.Queue()
    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    procs = []
    for c in range(clients):
        a = (s.url, s.ca_file, s.token, ns_list, "%s-c%d" % (tag, c), per[c], start_evt,
             ready_q, out_q)
        p = ctx.Process(target=_create_worker, args=(a,))
        p.start()
        procs.append(p)
    for _ in range(clients):
        ready_q.get(timeout=120)
    cpu0 = server_cpu_s(s.proc.pid)
    t0 = time.perf_counter()
    start_evt.set()
    results = [out_q.get(timeout=1200) for _ in range(clients)]
    wall = time.perf_counter() - t0
    cpu1 = server_cpu_s(s.proc.pid)
    for p in procs:
        p.join(30)
    lat = [x for r in results for x in r[0]]
    errors = sum(r[1] for r in results)
    if errors:
        raise RuntimeError("%d of %d creates failed" % (errors, total))
    return {"pods": total, "clients": clients, "wall_s": wall, "pods_per_s": total / wall,
            "p50_ms": 1e3 * pct(lat, 50), "p99_ms": 1e3 * pct(lat, 99),
            "server_cpu_ms_per_pod": 1e3 * (cpu1 - cpu0) / total}


# ---------------------------------------------------------------------------------------------
# list

def time_get(s, path, accept, runs):
    """Median over `runs` of one GET on a warm keep-alive connection: (seconds, bytes,
    server CPU seconds per request). For a paged path (limit=N) it follows `continue` tokens and
    times the whole sequence, as kubectl does."""
    conn = connect(s.url, s.ca_file)
    request(conn, s.token, "GET", "/healthz")
    times, size = [], 0
    cpu0 = server_cpu_s(s.proc.pid)
    for _ in range(runs):
        t0 = time.perf_counter()
        size, cont, pages = 0, None, 0
        while True:
            p = path + ("&continue=" + urllib.request.quote(cont) if cont else "")
            st, body = request(conn, s.token, "GET", p, headers={"Accept": accept})
            if st != 200:
                raise RuntimeError("GET %s: %d %s" % (p, st, body[:300]))
            size += len(body)
            pages += 1
            cont = json.loads(body).get("metadata", {}).get("continue") if "limit=" in path \
                else None
            if not cont:
                break
        # The JSON decode of each page for the continue token is client work; it is inside the
        # timed region only for the paged variant, like kubectl's own decode.
        times.append(time.perf_counter() - t0)
    cpu1 = server_cpu_s(s.proc.pid)
    conn.close()
    return statistics.median(times), size, (cpu1 - cpu0) / runs, pages


def bench_list(s, npods, runs):
    rows = []
    out = {}
    for label, path, accept in [
            ("GET /api/v1/pods, Table (kubectl's Accept), unpaginated", "/api/v1/pods",
             TABLE_ACCEPT),
            ("GET /api/v1/pods?limit=500, Table, all pages (what kubectl sends)",
             "/api/v1/pods?limit=500", TABLE_ACCEPT),
            ("GET /api/v1/pods, plain JSON list, unpaginated", "/api/v1/pods",
             "application/json"),
            ("GET /api/v1/pods?limit=500, JSON, all pages", "/api/v1/pods?limit=500",
             "application/json")]:
        t, size, cpu, pages = time_get(s, path, accept, runs)
        rows.append((label, t, size, cpu, pages))
    kget, stdout = kubectl_wall(s, ["get", "pods", "-A"], runs)
    lines = stdout.count(b"\n") - 1
    if lines != npods:
        raise RuntimeError("kubectl get pods -A printed %d pods, expected %d" % (lines, npods))
    # kubectl pages by 500 and client-go's rate limiter (5 QPS, burst 10) delays pages 11-20;
    # --chunk-size=0 asks for one unpaginated Table instead.
    kget0, stdout0 = kubectl_wall(s, ["get", "pods", "-A", "--chunk-size=0"], runs)
    if stdout0.count(b"\n") - 1 != npods:
        raise RuntimeError("kubectl get pods -A --chunk-size=0 printed the wrong number of pods")
    kns, _ = kubectl_wall(s, ["get", "ns"], runs)
    kone, _ = kubectl_wall(s, ["get", "pods", "-n", "bench-0", "--field-selector",
                               "metadata.name=nonexistent"], runs)
    out["rows"] = rows
    out["kubectl_get_pods_A_s"] = kget
    out["kubectl_get_pods_A_chunk0_s"] = kget0
    out["kubectl_get_ns_s"] = kns
    out["kubectl_get_pods_empty_s"] = kone
    return out


# ---------------------------------------------------------------------------------------------
# watch fan-out

SENT_RE = re.compile(rb'"' + re.escape(SENT_KEY.encode()) + rb'":"(\d+)"')


class Watcher:
    __slots__ = ("delays", "events", "sentinels", "buf", "chunk_left", "body")

    def __init__(self):
        self.delays = []      # ns, measured events only
        self.events = 0
        self.sentinels = 0
        self.buf = b""        # raw bytes not yet de-chunked
        self.chunk_left = 0   # bytes of the current chunk still to read
        self.body = b""       # de-chunked bytes not yet split into lines

    def feed(self, data, now_ns):
        self.buf += data
        while self.buf:
            if self.chunk_left == 0:
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return
                line = self.buf[:i]
                if not line:  # CRLF after a chunk's data
                    self.buf = self.buf[2:]
                    continue
                self.chunk_left = int(line.split(b";")[0], 16)
                self.buf = self.buf[i + 2:]
                if self.chunk_left == 0:
                    return  # end of stream
            take = self.buf[:self.chunk_left]
            self.buf = self.buf[len(take):]
            self.chunk_left -= len(take)
            self.body += take
        while True:
            i = self.body.find(b"\n")
            if i < 0:
                break
            ev, self.body = self.body[:i], self.body[i + 1:]
            m = SENT_RE.search(ev)
            if m is None:
                continue
            sent = int(m.group(1))
            if sent == 0:
                self.sentinels += 1
            else:
                self.events += 1
                self.delays.append(now_ns - sent)


async def watch_conn(host, port, ctx, token, path, w, connected, sem):
    async with sem:
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
        writer.write(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
                      "Accept: application/json\r\n\r\n" % (path, host, port, token)).encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200") or b"chunked" not in head.lower():
            raise RuntimeError("watch: %r" % head[:200])
    connected.append(1)
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            w.feed(data, time.time_ns())
    finally:
        writer.close()


def _writer_proc(url, ca_file, token, ns, names, writes, rate, start_evt, out_q):
    conn = connect(url, ca_file)
    request(conn, token, "GET", "/healthz")
    start_evt.wait()
    commit = []
    period = 1.0 / rate
    t_next = time.perf_counter()
    for i in range(writes):
        t_next += period
        name = names[i % len(names)]
        sent = time.time_ns()
        body = json.dumps({"metadata": {"annotations": {SENT_KEY: str(sent)}}}).encode()
        t0 = time.perf_counter()
        st, resp = request(conn, token, "PATCH", "/api/v1/namespaces/%s/pods/%s" % (ns, name),
                           body, {"Content-Type": "application/merge-patch+json"})
        commit.append(time.perf_counter() - t0)
        if st != 200:
            out_q.put(("error", st, resp[:300]))
            return
        d = t_next - time.perf_counter()
        if d > 0:
            time.sleep(d)  # pacing the writer, not synchronisation
    out_q.put(("ok", commit))


def patch_sentinel(s, ns, name):
    conn = connect(s.url, s.ca_file)
    body = json.dumps({"metadata": {"annotations": {SENT_KEY: "0"}}}).encode()
    st, resp = request(conn, s.token, "PATCH", "/api/v1/namespaces/%s/pods/%s" % (ns, name), body,
                       {"Content-Type": "application/merge-patch+json"})
    conn.close()
    if st != 200:
        raise RuntimeError("sentinel patch: %d %s" % (st, resp[:300]))


async def _watch_child(s, nwatchers, ns, sentinel_name, path, writes, ready_q, start_evt,
                       out_q):
    """One client process: nwatchers watch streams on one asyncio loop. Reports ready once every
    stream has delivered a sentinel write, then collects `writes` deliveries on each."""
    host, port = s.url.split("//", 1)[1].rsplit(":", 1)
    port = int(port)
    ctx = ssl.create_default_context(cafile=s.ca_file)
    watchers = [Watcher() for _ in range(nwatchers)]
    connected = []
    sem = asyncio.Semaphore(64)  # TLS handshakes in flight
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(watch_conn(host, port, ctx, s.token, path, w, connected, sem))
             for w in watchers]
    loop = asyncio.get_running_loop()

    async def wait_for(pred, timeout, what):
        deadline = time.perf_counter() + timeout
        while not pred():
            for t in tasks:
                if t.done() and t.exception():
                    raise t.exception()
            if time.perf_counter() > deadline:
                raise RuntimeError("timed out waiting for " + what)
            await asyncio.sleep(0.05)

    try:
        await wait_for(lambda: len(connected) == nwatchers, 120, "watch connections")
        connect_s = time.perf_counter() - t0
        # Every stream is live once it has delivered a sentinel write (sent time 0, not measured).
        await loop.run_in_executor(None, patch_sentinel, s, ns, sentinel_name)
        await wait_for(lambda: all(w.sentinels >= 1 for w in watchers), 60, "sentinel")
        ready_q.put(connect_s)
        await loop.run_in_executor(None, start_evt.wait, 120)
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        await wait_for(lambda: all(w.events >= writes for w in watchers), 300, "all deliveries")
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        out_q.put(("ok", [d for w in watchers for d in w.delays],
                   sum(w.events for w in watchers) - writes * nwatchers,
                   ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime))
    except Exception as e:  # noqa: BLE001 - reported to the parent
        ready_q.put(None)
        out_q.put(("error", repr(e)))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _watch_child_main(*args):
    asyncio.run(_watch_child(*args))


def bench_watch(s, nwatchers, writes, rate, procs):
    ns = "bench-watch"
    ensure_namespaces(s, [ns])
    names = ["w-%d" % i for i in range(10)]
    conn = connect(s.url, s.ca_file)
    for n in names:
        st, body = request(conn, s.token, "POST", "/api/v1/namespaces/%s/pods" % ns,
                           pod_body(ns, n))
        if st not in (201, 409):
            raise RuntimeError("create %s: %d %s" % (n, st, body[:300]))
    # Start from the current resourceVersion so no initial ADDED events are replayed.
    st, body = request(conn, s.token, "GET", "/api/v1/namespaces/%s/pods?limit=1" % ns)
    conn.close()
    rv = json.loads(body)["metadata"]["resourceVersion"]
    path = "/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s" % (ns, rv)
    procs = max(1, min(procs, nwatchers))
    mp = multiprocessing.get_context("fork")
    start_evt, ready_q, out_q, wq = mp.Event(), mp.Queue(), mp.Queue(), mp.Queue()
    children = []
    try:
        for i in range(procs):
            n = nwatchers // procs + (1 if i < nwatchers % procs else 0)
            c = mp.Process(target=_watch_child_main,
                           args=(s, n, ns, names[0], path, writes, ready_q, start_evt, out_q))
            c.start()
            children.append(c)
        connect_s = [ready_q.get(timeout=300) for _ in children]
        if None in connect_s:
            raise RuntimeError("watch client: %r" % (out_q.get(timeout=10),))
        wp = mp.Process(target=_writer_proc,
                        args=(s.url, s.ca_file, s.token, ns, names, writes, rate, start_evt, wq))
        wp.start()
        children.append(wp)
        cpu0 = server_cpu_s(s.proc.pid)
        start_evt.set()
        outs = [out_q.get(timeout=writes / rate + 300) for _ in range(procs)]
        cpu1 = server_cpu_s(s.proc.pid)
        res = wq.get(timeout=60)
    finally:
        start_evt.set()
        for c in children:
            c.join(30)
            if c.is_alive():
                c.kill()
                c.join()
    for o in outs:
        if o[0] != "ok":
            raise RuntimeError("watch client: %r" % (o,))
    if res[0] != "ok":
        raise RuntimeError("writer: %r" % (res,))
    delays = [d / 1e6 for o in outs for d in o[1]]
    return {"watchers": nwatchers, "procs": procs, "writes": writes, "rate": rate,
            "deliveries": len(delays), "extra_events": sum(o[2] for o in outs),
            "connect_s": max(connect_s),
            "p50_ms": pct(delays, 50), "p99_ms": pct(delays, 99), "max_ms": max(delays),
            "patch_p50_ms": 1e3 * pct(res[1], 50), "patch_p99_ms": 1e3 * pct(res[1], 99),
            "server_cpu_ms_per_write": 1e3 * (cpu1 - cpu0) / writes,
            # The watch clients' own CPU: each process reads and scans its deliveries on one
            # thread, so at 1,000 watchers the client is part of the measured delay.
            "client_cpu_ms_per_write": 1e3 * sum(o[3] for o in outs) / writes}


# ---------------------------------------------------------------------------------------------
# etcd

def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


class Etcd:
    """A throwaway one-member etcd on loopback with its data in a temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="knet-bench-etcd-")
        self.proc = None

    def __enter__(self):
        try:
            self.port, peer = free_port(), free_port()
            client = "http://127.0.0.1:%d" % self.port
            peer_url = "http://127.0.0.1:%d" % peer
            self.log = open(os.path.join(self.dir, "etcd.log"), "wb")
            self.proc = subprocess.Popen(
                ["etcd", "--name=bench", "--data-dir=" + os.path.join(self.dir, "data"),
                 "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                 "--listen-peer-urls=" + peer_url, "--initial-advertise-peer-urls=" + peer_url,
                 "--initial-cluster=bench=" + peer_url, "--initial-cluster-state=new",
                 "--logger=zap", "--log-level=error"],
                stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
            deadline = time.time() + 30
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("etcd exited %d" % self.proc.returncode)
                try:
                    with urllib.request.urlopen(client + "/health", timeout=2) as r:
                        if b"true" in r.read():
                            return self
                except OSError:
                    pass
                if time.time() > deadline:
                    raise RuntimeError("etcd did not become healthy")
                time.sleep(0.1)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------

def run_backend(label, extra_args, a, only, report):
    with KnetServer(extra_args=extra_args) as s:
        ns_list = ["bench-%d" % i for i in range(a.namespaces)]
        ensure_namespaces(s, ns_list)
        if "create" in only or "list" in only:
            ref = create_pods(s, a.seq_pods, 1, ns_list, "seq")
            report.setdefault("create", []).append((label, "1 client", ref))
            print("create %s 1 client: %r" % (label, ref), flush=True)
            r = create_pods(s, a.pods - a.seq_pods, a.clients, ns_list, "par")
            report["create"].append((label, "%d clients" % a.clients, r))
            print("create %s %d clients: %r" % (label, a.clients, r), flush=True)
            # The server's background CPU with the pods loaded and no clients (a measurement
            # window, not synchronisation): part of every "server CPU per operation" below.
            c0 = server_cpu_s(s.proc.pid)
            time.sleep(5)
            report.setdefault("idle", []).append((label, (server_cpu_s(s.proc.pid) - c0) / 5))
            print("idle %s: %.1f ms CPU/s" % (label, 1e3 * report["idle"][-1][1]), flush=True)
        if "list" in only:
            r = bench_list(s, a.pods, a.runs)
            report.setdefault("list", []).append((label, r))
            print("list %s: %r" % (label, r), flush=True)
        if "watch" in only:
            cases = [(1, 1), (a.watchers, 1)] + ([(a.watchers, a.watch_procs)]
                                                  if a.watch_procs > 1 else [])
            for n, procs in cases:
                r = bench_watch(s, n, a.writes, a.rate, procs)
                report.setdefault("watch", []).append((label, r))
                print("watch %s: %r" % (label, r), flush=True)
        if s.proc.poll() is not None:
            raise RuntimeError("server died:\n" + s.log())


def print_report(report):
    print("\n## results\n")
    if "create" in report:
        print("| store | clients | pods | pods/s | p50 ms | p99 ms | server CPU ms/pod |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, cl, r in report["create"]:
            print("| %s | %s | %d | %.0f | %.2f | %.2f | %.2f |" % (
                label, cl, r["pods"], r["pods_per_s"], r["p50_ms"], r["p99_ms"],
                r["server_cpu_ms_per_pod"]))
        print()
    for label, v in report.get("idle", []):
        print("idle server with the pods loaded (%s): %.1f ms CPU per second\n" % (label, 1e3 * v))
    if "list" in report:
        print("| store | request | ms (median) | bytes | pages | server CPU ms |")
        print("|---|---|---:|---:|---:|---:|")
        for label, r in report["list"]:
            for name, t, size, cpu, pages in r["rows"]:
                print("| %s | %s | %.1f | %d | %d | %.1f |" % (label, name, 1e3 * t, size, pages,
                                                              1e3 * cpu))
            print("| %s | `kubectl get pods -A` wall | %.1f | | | |" % (
                label, 1e3 * r["kubectl_get_pods_A_s"]))
            print("| %s | `kubectl get pods -A --chunk-size=0` wall | %.1f | | | |" % (
                label, 1e3 * r["kubectl_get_pods_A_chunk0_s"]))
            print("| %s | `kubectl get ns` wall (kubectl overhead) | %.1f | | | |" % (
                label, 1e3 * r["kubectl_get_ns_s"]))
            print("| %s | `kubectl get pods -n bench-0 --field-selector` (0 pods) wall | %.1f "
                  "| | | |" % (label, 1e3 * r["kubectl_get_pods_empty_s"]))
        print()
    if "watch" in report:
        print("| store | watchers | client procs | writes | deliveries | p50 ms | p99 ms | max ms |"
              " PATCH p50 ms | server CPU ms/write | client CPU ms/write | connect s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, r in report["watch"]:
            print("| %s | %d | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f |" % (
                label, r["watchers"], r["procs"], r["writes"], r["deliveries"], r["p50_ms"],
                r["p99_ms"],
                r["max_ms"], r["patch_p50_ms"], r["server_cpu_ms_per_write"],
                r["client_cpu_ms_per_write"], r["connect_s"]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--knet", default=os.path.join(ROOT, "build", "release", "src", "cmd", "knet"))
    p.add_argument("--only", default="create,list,watch")
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--seq-pods", type=int, default=500, help="of --pods, created by 1 client")
    p.add_argument("--namespaces", type=int, default=10)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--watchers", type=int, default=1000)
    p.add_argument("--writes", type=int, default=100)
    p.add_argument("--rate", type=float, default=5.0, help="watch writes per second")
    p.add_argument("--watch-procs", type=int, default=2,
                   help="also run the --watchers case split over this many client processes")
    p.add_argument("--etcd", action="store_true", help="also run everything with --store etcd://")
    a = p.parse_args()
    os.environ["KNET_BIN"] = os.path.abspath(a.knet)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, a.watchers + 1024)), hard))
    only = set(a.only.split(","))
    print("machine: %d cores, %s, kernel %s, %s" % (
        os.cpu_count(), cpu_model(), os.uname().release,
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())), flush=True)
    report = {}
    run_backend("sqlite", [], a, only, report)
    if a.etcd:
        with Etcd() as e:
            run_backend("etcd", ["--store", "etcd://127.0.0.1:%d" % e.port], a, only, report)
    print_report(report)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


if __name__ == "__main__":
    main()
