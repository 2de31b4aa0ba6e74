#!/usr/bin/env bash
# Runs every benchmark from the release build and prints its figures. bench/results/*.md record
# them with the date and the machine; re-run this to refresh them.
#   bench/run.sh            all benchmarks
#   bench/run.sh codec      only those whose name contains "codec"
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
filter="${1:-}"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r), $(date -u +%F)"
for b in "$build"/bench/api/codec_bench "$build"/bench/store/store_bench; do
  name=$(basename "$b")
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  if [ ! -x "$b" ]; then
    echo "bench: $b is missing; run 'make build' first" >&2
    exit 1
  fi
  echo "== $name"
  "$b"
done
# Script benchmarks that drive the real system (each starts and stops its own servers).
for script in bench/controllers/endpoints_bench.py; do
  name=$(basename "$script" .py)
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  echo "== $name"
  /usr/bin/python3 "$script" --build "$build"
done
# Root-only benchmarks that build real namespaces (skipped with a note otherwise).
for script in bench/agent/pod_startup_bench.py bench/overlay/overlay_bench.py bench/proxy/clusterip_bench.py; do
  name=$(basename "$script" .py)
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  echo "== $name"
  if [ "$(id -u)" != 0 ]; then
    echo "skipped: needs root (network namespaces)"
    continue
  fi
  /usr/bin/python3 "$script" --build "$build"
done
