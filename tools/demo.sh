#!/usr/bin/env bash
# `make up`: start a knet API server on loopback, drive it with the real kubectl, and show what
# it serves. Today that is the control plane only (the node agent, pod network and service proxy
# follow in later issues); the server, its data dir and its kubeconfig are removed at the end
# unless KNET_KEEP=1 is set.
set -euo pipefail

KNET=${KNET:-build/release/src/cmd/knet}
PORT=${KNET_DEMO_PORT:-6443}
DIR=$(mktemp -d /tmp/knet-demo.XXXXXX)
export KUBECONFIG=$DIR/admin.kubeconfig

cleanup() {
  if [ -n "${SERVER_PID:-}" ] && [ -z "${KNET_KEEP:-}" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$DIR"
  fi
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "knet server --data-dir $DIR --listen 127.0.0.1:$PORT"
"$KNET" server --data-dir "$DIR" --listen "127.0.0.1:$PORT" >"$DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if [ -s "$KUBECONFIG" ] && kubectl get --raw /healthz >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$DIR/server.log"; exit 1; fi
  sleep 0.1
done
cat "$DIR/server.log"

step "the real kubectl against it"
run kubectl version
run kubectl get namespaces
run kubectl apply -f docs/examples/web.yaml
run kubectl get all -o wide
run kubectl get svc web-nodeport -o jsonpath='{.spec.clusterIP} {.spec.ports[0].nodePort}{"\n"}'
run kubectl scale deployment web --replicas=5
run kubectl label pod client tier=frontend
run kubectl get pods --show-labels
run kubectl describe service web
step "validation, as kube-apiserver does it"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  ports: [{port: 70000}]\n' \
  | kubectl apply -f - || true
run kubectl delete -f docs/examples/web.yaml
run kubectl get all

if [ -n "${KNET_KEEP:-}" ]; then
  step "still running (pid $SERVER_PID): export KUBECONFIG=$KUBECONFIG"
else
  step "done: the server is stopped and $DIR removed (KNET_KEEP=1 keeps it running)"
fi
