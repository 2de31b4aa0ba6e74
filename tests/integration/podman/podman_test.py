#!/usr/bin/python3
"""knet-cni under a real container runtime: podman (CNI backend) with runc.

Two busybox containers on a knet network get addresses from knet-cni and reach each other over
TCP both ways; the store holds exactly their two reservations. Stopping one (DEL) leaves one port
and one reservation; starting it again (ADD in a new netns) gives it an address A reaches. After
both are removed, knet-cni's DEL has left no veth on the bridge and no reservation.
Everything lives in a private temp dir (containers.conf, conflist, plugin dir, podman storage,
IPAM store, rootfs); the bridge, the containers and the dirs are removed even on failure.

Needs root and podman + runc + busybox-static; otherwise exits 77 (ctest SKIP_RETURN_CODE) with
the reason. The plugin binary comes from the environment variable KNET_CNI_BIN.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
BUSYBOX = "/bin/busybox"


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


class Failure(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def run(cmd, env=None, check=True, timeout=120, quiet=False):
    log("+ " + " ".join(cmd))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if p.stdout.strip() and not quiet:
        log(p.stdout.rstrip())
    if p.stderr.strip():
        log("stderr: " + p.stderr.rstrip())
    if check and p.returncode != 0:
        raise Failure("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def bridge_ports(bridge):
    """Names of the links whose master is the bridge (empty if the bridge does not exist)."""
    p = subprocess.run(["ip", "-j", "link", "show", "master", bridge], capture_output=True,
                       text=True)
    if p.returncode != 0 or not p.stdout.strip():
        return []
    return [link["ifname"] for link in json.loads(p.stdout)]


def link_exists(name):
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def reservations(store):
    """The reservation files of a host-local store: everything but the lock and rotation files."""
    if not os.path.isdir(store):
        return []
    return [f for f in os.listdir(store) if f != "lock" and not f.startswith("last_reserved_ip")]


def make_rootfs(root):
    os.makedirs(os.path.join(root, "bin"))
    for d in ("proc", "sys", "dev", "etc", "tmp", "run", "var"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(root, "bin", "busybox"))
    for applet in ("sh", "sleep", "nc", "ip", "cat", "echo", "ls"):
        os.symlink("busybox", os.path.join(root, "bin", applet))
    # Podman bind-mounts these over the rootfs; they must exist as files.
    for f in ("hosts", "resolv.conf", "hostname", "passwd", "group"):
        with open(os.path.join(root, "etc", f), "w") as out:
            if f == "passwd":
                out.write("root:x:0:0:root:/:/bin/sh\n")
            elif f == "group":
                out.write("root:x:0:\n")


def main():
    if os.geteuid() != 0:
        skip("needs root (creates a bridge and runs containers)")
    plugin = os.environ.get("KNET_CNI_BIN", "")
    if not plugin or not os.access(plugin, os.X_OK):
        raise SystemExit("KNET_CNI_BIN is not set to an executable knet-cni (got %r)" % plugin)
    for tool in ("podman", "runc", "ip"):
        if shutil.which(tool) is None:
            skip("%s is not installed (Debian packages podman, runc, iproute2)" % tool)
    if not os.access(BUSYBOX, os.X_OK):
        skip("%s is missing (Debian package busybox-static)" % BUSYBOX)

    pid = os.getpid()
    # A test-unique /24 from 10.214.0.0/16 and a bridge name of at most 15 bytes.
    third = pid % 250 + 1
    subnet = "10.214.%d.0/24" % third
    gateway = "10.214.%d.1" % third
    bridge = "knpod%d" % (pid % 1000000)
    net = "knetpod%d" % pid

    tmp = tempfile.mkdtemp(prefix="knet-podman-")
    os.chmod(tmp, 0o755)
    plugin_dir = os.path.join(tmp, "cni-bin")
    conf_dir = os.path.join(tmp, "cni-conf")
    data_dir = os.path.join(tmp, "ipam")
    rootfs = os.path.join(tmp, "rootfs")
    for d in (plugin_dir, conf_dir, data_dir):
        os.makedirs(d)
    os.symlink(os.path.abspath(plugin), os.path.join(plugin_dir, "knet-cni"))
    make_rootfs(rootfs)

    conflist = {
        "cniVersion": "1.0.0",
        "name": net,
        "plugins": [{
            "type": "knet-cni",
            "bridge": bridge,
            "isGateway": True,
            "isDefaultGateway": True,
            "ipam": {
                "type": "host-local",
                "dataDir": data_dir,
                "ranges": [[{"subnet": subnet, "gateway": gateway}]],
            },
        }],
    }
    with open(os.path.join(conf_dir, net + ".conflist"), "w") as f:
        json.dump(conflist, f, indent=2)
    containers_conf = os.path.join(tmp, "containers.conf")
    with open(containers_conf, "w") as f:
        f.write('[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["%s"]\n'
                'network_config_dir = "%s"\n\n[engine]\ncgroup_manager = "cgroupfs"\n'
                'events_logger = "file"\nruntime = "runc"\n\n[containers]\n'
                'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
                % (plugin_dir, conf_dir))

    env = dict(os.environ)
    env["CONTAINERS_CONF"] = containers_conf
    env["TMPDIR"] = tmp
    podman = ["podman", "--root", os.path.join(tmp, "storage"),
              "--runroot", os.path.join(tmp, "runroot"), "--storage-driver", "vfs",
              "--tmpdir", os.path.join(tmp, "libpod-tmp"), "--cgroup-manager", "cgroupfs",
              "--events-backend", "file", "--runtime", "runc",
              "--cni-config-dir", conf_dir, "--network-backend", "cni"]
    names = ["knet-a-%d" % pid, "knet-b-%d" % pid]
    store = os.path.join(data_dir, net)
    # libcni's cache (podman does not let us move it); removed afterwards if this test made it.
    cni_cache = "/var/lib/cni"
    cni_cache_existed = os.path.exists(cni_cache)
    failed = None
    try:
        ips = {}
        for name in names:
            run(podman + ["run", "-d", "--name", name, "--network", net,
                          "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                          "--rootfs", rootfs, "/bin/busybox", "sleep", "600"], env=env)
            info = json.loads(run(podman + ["inspect", name], env=env, quiet=True).stdout)[0]
            addr = info["NetworkSettings"]["Networks"][net]["IPAddress"]
            log("%s has %s" % (name, addr))
            ips[name] = addr
        a, b = names
        for name in names:
            o = ips[name].split(".")
            if ".".join(o[:3]) != "10.214.%d" % third or ips[name] == gateway:
                raise Failure("%s got %r, not an address of %s" % (name, ips[name], subnet))
        if ips[a] == ips[b]:
            raise Failure("both containers got %s" % ips[a])
        # The pod side as knet-cni set it up: eth0 with the address, default route via the bridge.
        out = run(podman + ["exec", a, "/bin/busybox", "ip", "-4", "addr", "show", "eth0"],
                  env=env).stdout
        if ips[a] + "/24" not in out:
            raise Failure("eth0 of %s lacks %s/24: %s" % (a, ips[a], out))
        out = run(podman + ["exec", a, "/bin/busybox", "ip", "route"], env=env).stdout
        if "default via " + gateway not in out:
            raise Failure("no default route via %s in %s: %s" % (gateway, a, out))
        if len(bridge_ports(bridge)) != 2:
            raise Failure("bridge %s has ports %s, want 2" % (bridge, bridge_ports(bridge)))

        def reach(server, client):
            """server serves one line over TCP; client connects to server's address and reads it."""
            token = "hello-from-%s" % server
            run(podman + ["exec", "-d", server, "/bin/sh", "-c",
                          "echo %s | /bin/busybox nc -l -p 8080" % token], env=env)
            got = ""
            for _ in range(50):  # the listener starts asynchronously
                p = run(podman + ["exec", client, "/bin/sh", "-c",
                                  "/bin/busybox nc -w 3 %s 8080 </dev/null" % ips[server]],
                        env=env, check=False)
                got = p.stdout.strip()
                if got:
                    break
                time.sleep(0.2)
            if got != token:
                raise Failure("%s read %r from %s:8080, want %r" % (client, got, ips[server],
                                                                    token))
            log("%s -> %s: ok" % (client, server))

        def expect_store(want):
            held = sorted(reservations(store))
            if held != sorted(want):
                raise Failure("store %s holds %s, want %s" % (store, held, sorted(want)))

        reach(a, b)
        reach(b, a)
        # knet-cni's host-local store holds exactly the two reservations.
        expect_store(ips.values())

        # Stop B (podman runs DEL) and start it again (a new netns, ADD): one port and one
        # reservation while it is down; afterwards it has an address again and A reaches it.
        run(podman + ["stop", "-t", "0", b], env=env)
        if len(bridge_ports(bridge)) != 1:
            raise Failure("with %s stopped, %s has ports %s, want 1" % (b, bridge,
                                                                       bridge_ports(bridge)))
        expect_store([ips[a]])
        run(podman + ["start", b], env=env)
        info = json.loads(run(podman + ["inspect", b], env=env, quiet=True).stdout)[0]
        ips[b] = info["NetworkSettings"]["Networks"][net]["IPAddress"]
        log("%s has %s after restart" % (b, ips[b]))
        if not ips[b] or ips[b] == ips[a]:
            raise Failure("restarted %s got %r (A has %s)" % (b, ips[b], ips[a]))
        if len(bridge_ports(bridge)) != 2:
            raise Failure("after restart %s has ports %s, want 2" % (bridge, bridge_ports(bridge)))
        expect_store(ips.values())
        reach(b, a)

        for name in names:
            run(podman + ["rm", "-f", "-t", "0", name], env=env)
        ports = bridge_ports(bridge)
        if ports:
            raise Failure("DEL left veths on %s: %s" % (bridge, ports))
        left = reservations(store)
        if left:
            raise Failure("DEL left reservations in %s: %s" % (store, left))
        log("PASS: two podman containers on knet network %s (%s, %s) reached each other; DEL "
            "left no veth and no reservation" % (net, ips[a], ips[b]))
    except (Failure, subprocess.TimeoutExpired, KeyError, IndexError, ValueError) as e:
        failed = e
    finally:
        for name in names:
            subprocess.run(podman + ["rm", "-f", "-t", "0", name], env=env, capture_output=True,
                           timeout=120)
        subprocess.run(podman + ["system", "reset", "-f"], env=env, capture_output=True,
                       timeout=120)
        if link_exists(bridge):
            subprocess.run(["ip", "link", "del", "dev", bridge], capture_output=True)
        # vfs layers and runroot may hold mounts until podman is gone; unmount leftovers first.
        with open("/proc/self/mounts") as m:
            mounts = [line.split()[1] for line in m if line.split()[1].startswith(tmp)]
        for mp in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if not cni_cache_existed:
            for d in (os.path.join(cni_cache, "results"), cni_cache):
                try:
                    os.rmdir(d)  # only if empty: anything else is not ours
                except OSError:
                    pass
    if failed is not None:
        log("FAIL: %s" % failed)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
