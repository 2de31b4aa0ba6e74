#!/usr/bin/env bash
# `make up`: start a knet server (API server + controllers) on loopback, drive it with the real
# kubectl, and show the control plane at work: the scheduler, ReplicaSets and Deployments, node
# IPAM, EndpointSlices and Endpoints. The node agent (pod runtime, pod network, service proxy)
# follows in later issues; until then this script plays the nodes' part with kubectl, as the
# controller tests do. The server, its data dir and its kubeconfig are removed at the end unless
# KNET_KEEP=1 is set.
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
run kubectl get svc web-nodeport -o jsonpath='{.spec.clusterIP} {.spec.ports[0].nodePort}{"\n"}'
step "no nodes yet: the scheduler says why the pods wait"
sleep 1
run kubectl get pods -o wide
run kubectl get events --field-selector reason=FailedScheduling -o custom-columns=OBJECT:.involvedObject.name,MESSAGE:.message

step "two nodes register (the agent's part, played with kubectl)"
for n in node-1 node-2; do
  printf 'apiVersion: v1\nkind: Node\nmetadata: {name: %s, labels: {kubernetes.io/hostname: %s}}\n' "$n" "$n" \
    | kubectl apply -f - >/dev/null
  kubectl patch node "$n" --subresource=status --type=merge -p \
    '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"}],"allocatable":{"pods":"110"}}}' >/dev/null
  printf 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: %s, namespace: kube-node-lease}\nspec: {holderIdentity: %s, renewTime: "%s"}\n' \
    "$n" "$n" "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" | kubectl apply -f - >/dev/null
done
sleep 1
run kubectl get nodes -o custom-columns=NAME:.metadata.name,STATUS:.status.conditions[0].type,PODCIDR:.spec.podCIDR
run kubectl get pods -o wide

step "the pods start (the kubelet's part): Ready, with an IP from their node's podCIDR"
IP_N=10
mark_ready() {
  for pod in $(kubectl get pods -l app=web -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.name}:{.spec.nodeName}{" "}{end}'); do
    local name=${pod%%:*} node=${pod##*:}
    if [ -n "$(kubectl get pod "$name" -o jsonpath='{.status.podIP}')" ]; then continue; fi
    local cidr ip
    cidr=$(kubectl get node "$node" -o jsonpath='{.spec.podCIDR}')
    IP_N=$((IP_N + 1))
    ip="${cidr%.*}.$IP_N"
    local started
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    kubectl patch pod "$name" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$ip\",\"podIPs\":[{\"ip\":\"$ip\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"ContainersReady\",\"status\":\"True\"}],\"containerStatuses\":[{\"name\":\"web\",\"ready\":true,\"started\":true,\"restartCount\":0,\"image\":\"nginx:1.27\",\"imageID\":\"\",\"state\":{\"running\":{\"startedAt\":\"$started\"}}}]}}" >/dev/null
  done
}
mark_ready
run kubectl rollout status deployment/web --timeout=30s
run kubectl get deployment web
run kubectl get endpointslices -l kubernetes.io/service-name=web
run kubectl get endpoints web

step "scale up: new pods are spread over the nodes and join the Service when Ready"
run kubectl scale deployment web --replicas=5
sleep 1
mark_ready
run kubectl rollout status deployment/web --timeout=30s
run kubectl get pods -l app=web -o wide
run kubectl describe service web

step "validation, as kube-apiserver does it"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  ports: [{port: 70000}]\n' \
  | kubectl apply -f - || true
run kubectl delete -f docs/examples/web.yaml --wait=false
sleep 1
run kubectl get pods
step "the kubelet's part again: it stops the containers and confirms, and the pods go away"
for _ in $(seq 1 50); do
  terminating=$(kubectl get pods -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name}{" "}{end}')
  if [ -n "$terminating" ]; then
    # shellcheck disable=SC2086
    kubectl delete pod $terminating --grace-period=0 --force >/dev/null 2>&1 || true
  fi
  if [ -z "$(kubectl get pods -o name)" ]; then break; fi
  sleep 0.2
done
run kubectl get all

if [ -n "${KNET_KEEP:-}" ]; then
  step "still running (pid $SERVER_PID): export KUBECONFIG=$KUBECONFIG"
else
  step "done: the server is stopped and $DIR removed (KNET_KEEP=1 keeps it running)"
fi
