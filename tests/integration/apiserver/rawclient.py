"""Raw HTTPS to a KnetServer, for tests that assert exact status codes and Status bodies.

    c = RawClient(server)                       # the admin token, the server's CA
    r = c.request("POST", "/api/v1/namespaces", {"metadata": {"name": "x"}})
    assert r.status == 201, r.text
    r.json()["metadata"]["resourceVersion"]

Each thread keeps one keep-alive connection (TLS handshakes are slow under ASan), and opens a
new one when the server has closed it. Nothing raises on 4xx/5xx.
"""
import http.client
import json
import ssl
import threading
import urllib.parse

DEFAULT = object()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value), names as sent
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "Response(%d, %s)" % (self.status, self.text[:2000])


class RawClient:
    def __init__(self, server, token=DEFAULT, ca_file=None, url=None):
        self.url = urllib.parse.urlsplit(url or server.url)
        self.token = server.token if token is DEFAULT else token
        self.ctx = ssl.create_default_context(cafile=ca_file or server.ca_file)
        self.local = threading.local()

    def connect(self, timeout=60):
        return http.client.HTTPSConnection(self.url.hostname, self.url.port, context=self.ctx,
                                           timeout=timeout)

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = self.local.conn = self.connect()
        return c

    def close(self):
        c = getattr(self.local, "conn", None)
        if c is not None:
            c.close()
            self.local.conn = None

    def headers_for(self, headers, token, body):
        h = {}
        tok = self.token if token is DEFAULT else token
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return h

    def request(self, method, path, body=None, headers=None, token=DEFAULT):
        """body: bytes/str as is, anything else as JSON."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        h = self.headers_for(headers, token, body)
        for attempt in range(2):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return Response(r.status, r.getheaders(), data)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                self.close()
                if attempt == 1:
                    raise
            except Exception:
                self.close()  # a connection in an unknown state is not reused
                raise
        raise AssertionError("unreachable")

    def stream_lines(self, path, token=DEFAULT, timeout=60, on_line=None):
        """GET a watch on a new connection; returns (status, list of decoded JSON lines or the
        error body) once the server ends the response. on_line(event) is called as each
        arrives."""
        c = self.connect(timeout=timeout)
        try:
            c.request("GET", path, headers=self.headers_for(None, token, None))
            r = c.getresponse()
            if r.status != 200:
                return r.status, json.loads(r.read())
            lines = []
            while True:
                line = r.readline()
                if not line:
                    return r.status, lines
                lines.append(json.loads(line))
                if on_line is not None:
                    on_line(lines[-1])
        finally:
            c.close()


def status_of(test, resp, code, reason):
    """Asserts resp is a metav1.Status with this code and reason; returns its JSON."""
    test.assertEqual(resp.status, code, resp)
    test.assertIn("application/json", ";".join(resp.header("Content-Type")), resp.headers)
    s = resp.json()
    test.assertEqual(s.get("kind"), "Status", s)
    test.assertEqual(s.get("apiVersion"), "v1", s)
    test.assertEqual(s.get("status"), "Failure", s)
    test.assertEqual(s.get("code"), code, s)
    test.assertEqual(s.get("reason"), reason, s)
    test.assertTrue(s.get("message"), s)
    return s
