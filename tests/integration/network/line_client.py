"""The client pod of the agent-restart test: one long-lived TCP connection to echo_server.py.

It sends a numbered line every INTERVAL_MS and checks that the echo comes back, in order, on the
same connection; it never reconnects. Progress goes to OUT_FILE (rewritten as "ok <lines>"); when
STOP_FILE appears it writes "done <lines>" and exits 0; the first error (connect, timeout, reset,
a wrong or missing echo) is written as "broken after <lines> lines: <error>" and it exits 1.

    python3 line_client.py HOST PORT INTERVAL_MS OUT_FILE STOP_FILE
"""
import os
import socket
import sys
import time


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def main():
    host, port, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000.0
    out, stop = sys.argv[4], sys.argv[5]
    n = 0
    try:
        s = socket.create_connection((host, port), timeout=10)
        f = s.makefile("rwb")
        greeting = f.readline()
        if not greeting.startswith(b"from "):
            raise RuntimeError("unexpected greeting %r" % greeting)
        write(out, "ok 0 " + greeting.decode().strip())
        while not os.path.exists(stop):
            line = b"line %d\n" % (n + 1)
            f.write(line)
            f.flush()
            echo = f.readline()
            if echo != line:
                raise RuntimeError("sent %r, got %r back" % (line, echo))
            n += 1
            write(out, "ok %d" % n)
            time.sleep(interval)
        s.close()
    except Exception as e:  # pylint: disable=broad-except
        write(out, "broken after %d lines: %s: %s" % (n, type(e).__name__, e))
        sys.exit(1)
    write(out, "done %d" % n)


if __name__ == "__main__":
    main()
