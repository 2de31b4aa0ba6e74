#!/usr/bin/env bash
# Installs everything knet's build, tests and benchmarks need, from Debian's packages only.
# Idempotent: when every package is already installed it changes nothing and asks no registry.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build ccache clang libclang-rt-14-dev clang-format clang-tidy
  git make pkg-config python3
  # libraries
  nlohmann-json3-dev libyaml-dev libboost-dev libboost-system-dev libssl-dev openssl libyaml-cpp-dev libcli11-dev libsqlite3-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libmnl-dev libnftnl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  etcd-server iproute2 python3-kubernetes python3-yaml containernetworking-plugins iptables podman runc busybox-static bird2
  iperf3 iputils-ping
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
