#!/usr/bin/python3
"""TCP request/response latency: a 1-byte request, a 1-byte reply, N round trips.

    pingpong.py server PORT               echo every byte back (TCP_NODELAY), any number of
                                          connections at once
    pingpong.py client HOST PORT [N]      N round trips (default 2000, after 100 not counted);
                                          prints JSON {"n", "p50_us", "p90_us", "p99_us",
                                          "mean_us", "min_us", "max_us"}

The round trip is timed in the client with time.perf_counter_ns() around send + recv of one
byte, so each figure includes both Python loops and both kernels' socket paths; the same code
runs pod-to-pod and node-to-node, so the ratio compares the network paths.
"""
import json
import socket
import statistics
import sys
import threading
import time

WARMUP = 100


def serve_conn(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while True:
            b = conn.recv(1)
            if not b:
                return
            conn.sendall(b)


def server(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(16)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def pct(sorted_values, p):
    # Nearest rank.
    i = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[i]


def client(host, port, n):
    deadline = time.time() + 30
    while True:
        try:
            s = socket.create_connection((host, port), timeout=10)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    clock = time.perf_counter_ns
    for i in range(WARMUP + n):
        t0 = clock()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            raise RuntimeError("pingpong: short or wrong reply from %s:%d" % (host, port))
        if i >= WARMUP:
            out.append((clock() - t0) / 1000.0)
    s.close()
    v = sorted(out)
    print(json.dumps({"n": n, "p50_us": pct(v, 50), "p90_us": pct(v, 90), "p99_us": pct(v, 99),
                      "mean_us": statistics.mean(v), "min_us": v[0], "max_us": v[-1]}))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        server(int(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 2000)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
