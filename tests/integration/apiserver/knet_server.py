"""Test harness: a real `knet server` on loopback, and kubectl pointed at it.

    with KnetServer() as s:
        out = s.kubectl("get", "ns").stdout

The server gets its own data dir (removed afterwards), listens on 127.0.0.1 with a port the
kernel picks, and is stopped with SIGTERM (SIGKILL after 10 s) even when a test fails. It runs
no controllers unless asked (controllers="*"): the API server tests see only what the API server
itself does.
KNET_BIN names the knet binary (set by ctest).
"""
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request

import yaml


def knet_bin():
    path = os.environ.get("KNET_BIN")
    if not path:
        raise RuntimeError("KNET_BIN is not set: run through ctest or set it to build/.../knet")
    return path


class KnetServer:
    def __init__(self, extra_args=(), data_dir=None, keep_dir=False, controllers="-*"):
        self.owns_dir = data_dir is None
        self.dir = data_dir or tempfile.mkdtemp(prefix="knet-apiserver-test-")
        self.keep_dir = keep_dir
        self.extra_args = ["--controllers=" + controllers] + list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.dir, "server.log")
        # A port the kernel picks; a restart (stop() then start()) keeps it, so clients that
        # hold the kubeconfig reconnect as they would to a restarted kube-apiserver.
        self.listen = "127.0.0.1:0"

    def start(self, timeout=60):
        self.kubeconfig = os.path.join(self.dir, "admin.kubeconfig")
        if os.path.exists(self.kubeconfig):
            os.remove(self.kubeconfig)
        self._log = open(self.log_path, "ab")
        log = self._log
        self.proc = subprocess.Popen(
            [knet_bin(), "server", "--data-dir", self.dir, "--listen", self.listen]
            + self.extra_args,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("knet server exited with %d:\n%s" % (self.proc.returncode, self.log()))
            if os.path.exists(self.kubeconfig):
                try:
                    self._load_kubeconfig()
                    if self.get_raw("/healthz")[0] == 200:
                        return self
                except Exception:
                    pass
            time.sleep(0.1)
        raise RuntimeError("knet server did not become healthy in %ds:\n%s" % (timeout, self.log()))

    def _load_kubeconfig(self):
        with open(self.kubeconfig) as f:
            cfg = yaml.safe_load(f)
        self.url = cfg["clusters"][0]["cluster"]["server"]
        self.listen = self.url[len("https://"):]
        self.token = cfg["users"][0]["user"]["token"]
        self.ca_file = os.path.join(self.dir, "pki", "ca.crt")

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def get_raw(self, path, token=None, method="GET", body=None, headers=None):
        """One HTTPS request; returns (status, headers, body bytes) without raising on 4xx/5xx."""
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def kubectl(self, *args, input=None, env=None, check=True, timeout=60):
        full_env = dict(os.environ)
        full_env["KUBECONFIG"] = self.kubeconfig
        full_env.update(env or {})
        p = subprocess.run(["kubectl"] + list(args), input=input, capture_output=True, text=True,
                           env=full_env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                                     p.stdout, p.stderr))
        return p

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc is not None else 0
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        return rc

    def cleanup(self):
        self.stop()
        if self.owns_dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()
