#!/usr/bin/env bash
# `make up`: a 3-node knet cluster on this machine (`knet cluster up --backend vxlan`: nodes are
# network namespaces on an underlay bridge, each running `knet agent`), the example application of
# docs/examples/web.yaml, cross-node pod-to-pod traffic and the Service's ClusterIP load-balancing
# across the nodes, shown with the real kubectl. The
# cluster stays up for you to explore; `knet cluster down knet` removes all of it.
#   KNET_BACKEND=host-gw|bgp   another backend      KNET_CLUSTER=name   another cluster name
set -euo pipefail

KNET=${KNET:-build/release/src/cmd/knet}
NAME=${KNET_CLUSTER:-knet}
BACKEND=${KNET_BACKEND:-vxlan}
STATE=/var/lib/knet/clusters/$NAME
export KUBECONFIG=$STATE/kubeconfig

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

if [ "$(id -u)" != 0 ]; then
  echo "make up: knet cluster makes network namespaces and links: run as root (or with sudo)" >&2
  exit 1
fi
if [ -e "$STATE/manifest.json" ]; then
  step "an earlier cluster \"$NAME\" exists: removing it first"
  run "$KNET" cluster down "$NAME"
fi

step "a 3-node cluster on this machine"
run "$KNET" cluster up --name "$NAME" --nodes 3 --backend "$BACKEND"
run kubectl get nodes -o wide

step "the example application: Deployment web (3 replicas), Service web-svc, pod client"
run kubectl apply -f docs/examples/web.yaml
run kubectl rollout status deployment/web --timeout=120s
run kubectl wait pod/client --for=condition=Ready --timeout=60s
run kubectl get pods -o wide

step "pod to pod across nodes, by pod IP, no NAT ($BACKEND)"
client_node=$(kubectl get pod client -o jsonpath='{.spec.nodeName}')
client_ip=$(kubectl get pod client -o jsonpath='{.status.podIP}')
echo "client is $client_ip on $client_node"
for pod in $(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}'); do
  ip=$(kubectl get pod "$pod" -o jsonpath='{.status.podIP}')
  node=$(kubectl get pod "$pod" -o jsonpath='{.spec.nodeName}')
  printf '$ kubectl exec client -- busybox wget -qO- http://%s:8080/     # %s on %s\n' "$ip" "$pod" "$node"
  kubectl exec client -- busybox wget -qO- "http://$ip:8080/"
done
step "through the Service: web-svc's ClusterIP, load-balanced by each node's knet proxy (nftables)"
svc_ip=$(kubectl get service web-svc -o jsonpath='{.spec.clusterIP}')
run kubectl get service web-svc
printf '$ for i in 1..6: kubectl exec client -- busybox wget -qO- http://%s/\n' "$svc_ip"
for _ in 1 2 3 4 5 6; do kubectl exec client -- busybox wget -qO- "http://$svc_ip/"; done
first=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
run kubectl logs "$first" --tail=3
run kubectl exec client -- ping -c 2 -W 2 "$(kubectl get pod "$first" -o jsonpath='{.status.podIP}')"

step "what the $BACKEND backend programmed on node-1"
run "$KNET" cluster exec "$NAME" node-1 -- ip route
if [ "$BACKEND" = vxlan ]; then
  run "$KNET" cluster exec "$NAME" node-1 -- bridge fdb show dev knet.1
fi

step "the cluster is up; try next"
cat <<EOM
  export KUBECONFIG=$KUBECONFIG
  kubectl get pods -o wide
  kubectl exec -it client -- sh                     # a shell inside the client pod's network
  kubectl scale deployment web --replicas=6
  kubectl logs -f deployment/web
  $KNET cluster status $NAME
  $KNET cluster exec $NAME node-2 -- ip route
  $KNET cluster down $NAME                          # removes everything it made
Cluster DNS (web-svc.default.svc.cluster.local) comes in a later issue; use the ClusterIP for now.
EOM
