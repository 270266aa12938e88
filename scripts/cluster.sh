#!/usr/bin/env bash
# The local Kubernetes loop: a kind cluster with a local registry and ingress-nginx, driven by Tilt.
#
#   scripts/cluster.sh up [--sample a-only|b-only|ab-rollout] [--operator cluster|host] [--ci]
#   scripts/cluster.sh down [--registry]      delete the cluster (and the registry container)
#   scripts/cluster.sh logs                   follow the operator's and the platform's logs
#   scripts/cluster.sh secrets <td> [<td>...] apply the generated dev Secrets (Tilt calls this)
#
# Needs docker (with a running daemon), kind, kubectl, helm and tilt. `make up|down|logs` call it.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${TUTORPLANE_CLUSTER:-tutorplane}
CONTEXT="kind-$CLUSTER"
NAMESPACE=tutorplane
REGISTRY_NAME=kind-registry
REGISTRY_PORT=5001
REGISTRY_IMAGE=registry:2.8.3
INGRESS_NGINX_VERSION=${INGRESS_NGINX_VERSION:-controller-v1.12.1}
INGRESS_NGINX_MANIFEST="https://raw.githubusercontent.com/kubernetes/ingress-nginx/$INGRESS_NGINX_VERSION/deploy/static/provider/kind/deploy.yaml"

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

install_hint() {
  case $1 in
    docker) echo "Docker Engine or Docker Desktop (docs.docker.com/get-docker)" ;;
    kind) echo "kind >= 0.27 (kind.sigs.k8s.io/docs/user/quick-start/#installation)" ;;
    kubectl) echo "kubectl >= 1.30 (kubernetes.io/docs/tasks/tools/)" ;;
    helm) echo "Helm >= 3.14 (helm.sh/docs/intro/install/)" ;;
    tilt) echo "Tilt >= 0.33 (docs.tilt.dev/install.html)" ;;
  esac
}

# Every missing tool is named at once, with where to get it; nothing runs until all are there.
require() {
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    {
      echo "cluster: missing tools: ${missing[*]}. Install them and run this again:"
      for tool in "${missing[@]}"; do echo "  - $tool: $(install_hint "$tool")"; done
      echo "Without Docker, \`make demo\` runs the whole platform as local processes instead."
    } >&2
    exit 1
  fi
  if [[ " $* " == *" docker "* ]] && ! docker info >/dev/null 2>&1; then
    die "docker is installed but its daemon does not answer (start Docker Desktop, or: sudo systemctl start docker)."
  fi
}

python_bin() {
  if [ -x .venv/bin/python ]; then echo .venv/bin/python; else echo python3; fi
}

ensure_registry() {
  if [ "$(docker inspect -f '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null || true)" != "true" ]; then
    docker rm -f "$REGISTRY_NAME" >/dev/null 2>&1 || true
    say "starting the local registry on 127.0.0.1:$REGISTRY_PORT"
    docker run -d --restart=always -p "127.0.0.1:$REGISTRY_PORT:5000" --network bridge \
      --name "$REGISTRY_NAME" "$REGISTRY_IMAGE" >/dev/null
  fi
}

ensure_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    say "kind cluster $CLUSTER exists"
  else
    say "creating kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --config manifests/kind/cluster.yaml --wait 120s
  fi
  # Nodes resolve localhost:5001 to the registry container (kind's local-registry recipe).
  local node dir="/etc/containerd/certs.d/localhost:$REGISTRY_PORT"
  for node in $(kind get nodes --name "$CLUSTER"); do
    docker exec "$node" mkdir -p "$dir"
    printf '[host."http://%s:5000"]\n' "$REGISTRY_NAME" | docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml"
  done
  if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY_NAME")" = "null" ]; then
    docker network connect kind "$REGISTRY_NAME"
  fi
  kubectl --context "$CONTEXT" apply -f manifests/kind/local-registry-hosting.yaml >/dev/null
}

ensure_ingress() {
  if ! kubectl --context "$CONTEXT" -n ingress-nginx get deployment ingress-nginx-controller >/dev/null 2>&1; then
    say "installing ingress-nginx $INGRESS_NGINX_VERSION"
    kubectl --context "$CONTEXT" apply -f "$INGRESS_NGINX_MANIFEST" >/dev/null
  fi
  kubectl --context "$CONTEXT" -n ingress-nginx wait --for=condition=Available \
    deployment/ingress-nginx-controller --timeout=180s >/dev/null
}

cmd_up() {
  local sample=a-only operator=cluster ci=false
  while [ $# -gt 0 ]; do
    case $1 in
      --sample) sample=${2:?--sample needs a value}; shift 2 ;;
      --operator) operator=${2:?--operator needs a value}; shift 2 ;;
      --ci) ci=true; shift ;;
      *) die "unknown option for up: $1 (see scripts/cluster.sh header)" ;;
    esac
  done
  [ -f "manifests/samples/$sample.yaml" ] || die "no sample named $sample (manifests/samples/: a-only, b-only, ab-rollout)"
  require docker kind kubectl helm tilt
  ensure_registry
  ensure_cluster
  ensure_ingress
  if [ "$ci" = true ]; then
    say "tilt ci (sample $sample): exits when every resource is ready, or fails"
    tilt ci --context "$CONTEXT" --timeout 30m -- --sample "$sample" --operator "$operator"
  else
    say "tilt up (sample $sample); the UI is at http://localhost:10350"
    tilt up --context "$CONTEXT" -- --sample "$sample" --operator "$operator"
  fi
}

cmd_down() {
  require docker kind
  if command -v tilt >/dev/null 2>&1 && kubectl config get-contexts "$CONTEXT" >/dev/null 2>&1; then
    tilt down --context "$CONTEXT" >/dev/null 2>&1 || true
  fi
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    kind delete cluster --name "$CLUSTER"
  else
    say "no kind cluster named $CLUSTER"
  fi
  if [ "${1:-}" = --registry ]; then
    docker rm -f "$REGISTRY_NAME" >/dev/null 2>&1 && say "removed the registry container" || true
  fi
}

cmd_logs() {
  require kubectl
  kubectl config get-contexts "$CONTEXT" >/dev/null 2>&1 || die "no kube context $CONTEXT: run \`make up\` first"
  kubectl --context "$CONTEXT" logs -n tutorplane-system -l app.kubernetes.io/name=tutor-operator \
    --all-containers --prefix --tail=50 --max-log-requests 10 -f &
  kubectl --context "$CONTEXT" logs -n "$NAMESPACE" -l app.kubernetes.io/part-of=tutorplane \
    --all-containers --prefix --tail=50 --max-log-requests 30 -f &
  trap 'kill $(jobs -p) 2>/dev/null' EXIT INT TERM
  wait
}

cmd_secrets() {
  [ $# -gt 0 ] || die "secrets needs the TutorDeployment names, e.g. scripts/cluster.sh secrets tutor-a"
  require kubectl
  local python args=() td
  python=$(python_bin)
  "$python" -c 'import yaml, tutorplane.operator.credentials' 2>/dev/null || die "the project is not installed for $python: run \`make install\` first"
  for td in "$@"; do args+=(--deployment "$td"); done
  kubectl --context "$CONTEXT" create namespace "$NAMESPACE" --dry-run=client -o yaml \
    | kubectl --context "$CONTEXT" apply -f - >/dev/null
  "$python" scripts/dev-secrets.py --namespace "$NAMESPACE" "${args[@]}" \
    | kubectl --context "$CONTEXT" apply -f -
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  logs) shift; cmd_logs "$@" ;;
  secrets) shift; cmd_secrets "$@" ;;
  *) die "usage: scripts/cluster.sh up|down|logs|secrets (details at the top of the script)" ;;
esac
