#!/usr/bin/python3
"""knet-cni chained with Debian's reference `portmap` plugin in one conflist (issue 6).

Executes the conflist the way a runtime does (libcni semantics): ADD runs each plugin in order,
each one's config being the plugin entry plus the list's name and cniVersion, the previous
plugin's result as prevResult, and runtimeConfig.portMappings for a plugin whose capabilities
declare portMappings; DEL runs the plugins in reverse order with the final result as prevResult.

Then it proves the mapping works end to end, only between namespaces the test creates: a TCP
server inside the pod netns on <pod IP>:8080, a "client" netns joined to the host by its own veth
pair (client 10.247.N.2, host end 10.247.N.1), and a connect from the client to 10.247.N.1:18080,
which portmap's DNAT (hostPort 18080 -> 8080) sends to the pod; the client reads the server's reply.
After DEL: portmap's nat rules for this container are gone, knet-cni's host veth is gone and the
address reservation is released.

Needs root, iptables and /usr/lib/cni/portmap; exits 77 (ctest SKIP_RETURN_CODE) otherwise.
Removes every namespace, link, rule and directory it creates, also on failure.
KNET_CNI_BIN is the knet-cni binary (ctest sets it).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PORTMAP = "/usr/lib/cni/portmap"
SKIP = 77
failures = []


def check(cond, what):
    if cond:
        print("ok: " + what)
    else:
        print("FAIL: " + what)
        failures.append(what)
    return cond


def sh(*cmd, check_rc=True):
    p = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


class Runtime:
    """The part of libcni that executes a conflist (no caching; the test keeps the result)."""

    def __init__(self, conflist, plugin_dirs):
        self.conflist, self.plugin_dirs = conflist, plugin_dirs

    def binary(self, plugin_type):
        for d in self.plugin_dirs:
            p = os.path.join(d, plugin_type)
            if os.access(p, os.X_OK):
                return p
        raise RuntimeError("plugin %s not found in %s" % (plugin_type, self.plugin_dirs))

    def plugin_conf(self, plugin, prev_result, runtime_config):
        conf = dict(plugin)
        conf["name"] = self.conflist["name"]
        conf["cniVersion"] = self.conflist["cniVersion"]
        if prev_result is not None:
            conf["prevResult"] = prev_result
        caps = plugin.get("capabilities", {})
        rc = {k: v for k, v in runtime_config.items() if caps.get(k)}
        if rc:
            conf["runtimeConfig"] = rc
        return conf

    def exec_plugin(self, command, plugin, conf, container_id, netns):
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns,
               "CNI_IFNAME": "eth0", "CNI_PATH": ":".join(self.plugin_dirs),
               "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        p = subprocess.run([self.binary(plugin["type"])], input=json.dumps(conf).encode(), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if p.returncode != 0:
            raise RuntimeError("%s %s failed (exit %d): %s %s" % (
                plugin["type"], command, p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return json.loads(p.stdout) if p.stdout.strip() else None

    def add(self, container_id, netns, runtime_config):
        result = None
        for plugin in self.conflist["plugins"]:
            conf = self.plugin_conf(plugin, result, runtime_config)
            result = self.exec_plugin("ADD", plugin, conf, container_id, netns)
        return result

    def delete(self, container_id, netns, runtime_config, result):
        errors = []
        for plugin in reversed(self.conflist["plugins"]):
            conf = self.plugin_conf(plugin, result, runtime_config)
            try:
                self.exec_plugin("DEL", plugin, conf, container_id, netns)
            except RuntimeError as e:
                errors.append(str(e))
        return errors


SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(1); s.settimeout(20)
print("ready", flush=True)
c, peer = s.accept()
c.sendall(b"knet-pod " + peer[0].encode() + b"\n"); c.close()
"""

CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(c.recv(100).decode().strip())
"""


def nat_rules():
    return sh("iptables-save", "-t", "nat").stdout


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (creates network namespaces, a bridge and iptables rules)")
        return SKIP
    if not os.access(PORTMAP, os.X_OK):
        print("SKIP: %s is missing (Debian package containernetworking-plugins)" % PORTMAP)
        return SKIP
    if shutil.which("iptables-save") is None:
        print("SKIP: iptables is missing (portmap needs it)")
        return SKIP
    knet_bin = os.environ.get("KNET_CNI_BIN")
    if not knet_bin or not os.access(knet_bin, os.X_OK):
        print("FAIL: KNET_CNI_BIN is not set to the knet-cni binary")
        return 1

    tag = "%x" % (os.getpid() & 0xfffff)
    octet = os.getpid() % 200 + 20
    pod_ns, client_ns = "cpp" + tag, "cpc" + tag
    bridge, client_veth = "cpb" + tag, "cpv" + tag
    container_id = "portmap-test-%s-%d" % (tag, int(time.time()))
    host_ip, client_ip = "10.247.%d.1" % octet, "10.247.%d.2" % octet
    work = tempfile.mkdtemp(prefix="cni-portmap-")
    conflist = {
        "cniVersion": "1.0.0", "name": "cpnet" + tag,
        "plugins": [
            {"type": os.path.basename(knet_bin), "bridge": bridge, "isGateway": True,
             "isDefaultGateway": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "subnet": "10.246.%d.0/24" % octet, "dataDir": work}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    runtime_config = {"portMappings": [{"hostPort": 18080, "containerPort": 8080, "protocol": "tcp"}]}
    rt = Runtime(conflist, [os.path.dirname(os.path.abspath(knet_bin)), "/usr/lib/cni"])
    netns_path = "/var/run/netns/" + pod_ns
    store_dir = os.path.join(work, conflist["name"])
    created_ns, added, server = [], False, None
    result = None
    try:
        for ns in (pod_ns, client_ns):
            sh("ip", "netns", "add", ns)
            created_ns.append(ns)

        # ADD through the chain.
        added = True
        result = rt.add(container_id, netns_path, runtime_config)
        ips = result.get("ips", [])
        check(len(ips) == 1 and ips[0]["address"].startswith("10.246.%d." % octet),
              "chained result carries knet-cni's pod address: %s" % ips)
        pod_ip = ips[0]["address"].split("/")[0]
        host_veth = result["interfaces"][1]["name"] if len(result.get("interfaces", [])) > 1 else ""
        check(host_veth.startswith("knet"), "chained result carries knet-cni's host veth %r" % host_veth)
        check(result.get("cniVersion") == "1.0.0", "final result has the list's cniVersion")
        check(os.path.exists(os.path.join(store_dir, pod_ip)), "reservation file for %s exists" % pod_ip)
        rules = nat_rules()
        check(container_id in rules and "18080" in rules and pod_ip + ":8080" in rules,
              "portmap's DNAT rule 18080 -> %s:8080 for this container is in the nat table" % pod_ip)

        # A client namespace joined to the host by its own veth pair.
        sh("ip", "link", "add", client_veth, "type", "veth", "peer", "name", "eth0", "netns", client_ns)
        sh("ip", "addr", "add", host_ip + "/30", "dev", client_veth)
        sh("ip", "link", "set", client_veth, "up")
        sh("ip", "-n", client_ns, "addr", "add", client_ip + "/30", "dev", "eth0")
        sh("ip", "-n", client_ns, "link", "set", "eth0", "up")
        sh("ip", "-n", client_ns, "link", "set", "lo", "up")
        sh("ip", "-n", client_ns, "route", "add", "default", "via", host_ip)

        server = subprocess.Popen(["ip", "netns", "exec", pod_ns, sys.executable, "-c", SERVER, pod_ip],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready = server.stdout.readline().strip()
        check(ready == "ready", "server listens on %s:8080 in the pod netns (%r)" % (pod_ip, ready))
        c = sh("ip", "netns", "exec", client_ns, sys.executable, "-c", CLIENT, host_ip, "18080",
               check_rc=False)
        reply = c.stdout.strip()
        check(c.returncode == 0 and reply == "knet-pod " + client_ip,
              "client %s -> %s:18080 reaches the pod's server through portmap's DNAT (reply %r %s)" % (
                  client_ip, host_ip, reply, c.stderr.strip()[-200:]))

        # DEL through the chain, reverse order, with the final result as prevResult.
        errors = rt.delete(container_id, netns_path, runtime_config, result)
        added = False
        check(not errors, "DEL of both plugins succeeds %s" % errors)
        rules = nat_rules()
        check(container_id not in rules and pod_ip + ":8080" not in rules,
              "after DEL no nat rule for this container is left")
        gone = sh("ip", "link", "show", host_veth, check_rc=False).returncode != 0
        check(gone, "after DEL knet-cni's host veth %s is gone" % host_veth)
        pod_eth = sh("ip", "-n", pod_ns, "link", "show", "eth0", check_rc=False).returncode != 0
        check(pod_eth, "after DEL the pod's eth0 is gone")
        check(not os.path.exists(os.path.join(store_dir, pod_ip)),
              "after DEL the reservation of %s is released" % pod_ip)
    except Exception as e:  # noqa: BLE001 - any failure is reported, cleanup still runs
        check(False, "unexpected error: %s" % e)
    finally:
        if server is not None:
            if server.poll() is None:
                server.kill()
            server.communicate()
        if added:
            for e in rt.delete(container_id, netns_path, runtime_config, result):
                print("cleanup: " + e)
        sh("ip", "link", "del", client_veth, check_rc=False)
        for ns in created_ns:
            sh("ip", "netns", "del", ns, check_rc=False)
        sh("ip", "link", "del", bridge, check_rc=False)
        shutil.rmtree(work, ignore_errors=True)
    print("%s: %d failure(s)" % ("FAIL" if failures else "PASS", len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
