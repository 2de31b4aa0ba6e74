"""The server pod of the network tests: a TCP line echo and a UDP echo on one port.

TCP: on each connection it first sends "from <peer IP>\\n", then echoes every line back. UDP: it
answers each datagram with "from <peer IP> <datagram>". Each accepted TCP connection is appended as
"<peer IP>:<port>" to the file named by the second argument (if any), so a test can tell a
reconnect from one long-lived connection.

    python3 echo_server.py PORT [CONNECTIONS_FILE]
"""
import os
import socket
import socketserver
import sys
import threading


class Tcp(socketserver.StreamRequestHandler):
    def handle(self):
        peer = self.client_address
        log = self.server.connections_file
        if log:
            with open(log, "a") as f:
                f.write("%s:%d\n" % peer)
        self.wfile.write(("from %s\n" % peer[0]).encode())
        for line in self.rfile:
            self.wfile.write(line)


class TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve_udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(b"from " + peer[0].encode() + b" " + data, peer)


def main():
    port = int(sys.argv[1])
    tcp = TcpServer(("0.0.0.0", port), Tcp)
    tcp.connections_file = sys.argv[2] if len(sys.argv) > 2 else None
    threading.Thread(target=serve_udp, args=(port,), daemon=True).start()
    print("listening on tcp and udp port %d (pid %d)" % (port, os.getpid()), flush=True)
    tcp.serve_forever()


if __name__ == "__main__":
    main()
