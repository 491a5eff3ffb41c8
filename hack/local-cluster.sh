#!/usr/bin/env bash
# hack/local-cluster.sh — a throwaway Kubernetes control plane on loopback:
# etcd + kube-apiserver + kube-controller-manager (no scheduler, kubelet or
# nodes: Pods are created but stay Pending), with the aggregation layer
# configured so an out-of-cluster aggregated API server can be registered
# through an APIService.
#
# Usage:
#   hack/local-cluster.sh up             start (generates PKI on first use; idempotent)
#   hack/local-cluster.sh down [--purge] stop; --purge also deletes the state dir
#   hack/local-cluster.sh status         report; exit 0 only if all three processes run and are healthy
#   hack/local-cluster.sh env            print `export ...` lines (eval "$(hack/local-cluster.sh env)")
#
# State (PKI, etcd data, kubeconfig, logs, pid files) lives in
#   ${CODER_K8S_CLUSTER_DIR:-<repo>/.dev/cluster}
# Binaries come from hack/tools.sh (built once, cached outside the clone).
#
# Environment:
#   CODER_K8S_CLUSTER_DIR      state directory
#   CODER_K8S_CLUSTER_TIMEOUT  seconds to wait for readiness (default 120)
#   CODER_K8S_APISERVER_ARGS   extra kube-apiserver flags, whitespace-separated
#                              (applied when `up` starts the processes)
#   CODER_K8S_CONTROLLER_MANAGER_ARGS
#                              extra kube-controller-manager flags, likewise
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
STATE="${CODER_K8S_CLUSTER_DIR:-$REPO_DIR/.dev/cluster}"
TIMEOUT="${CODER_K8S_CLUSTER_TIMEOUT:-120}"
PKI="$STATE/pki"
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1 # first IP of SERVICE_CIDR: the `kubernetes` Service

die() { echo "hack/local-cluster.sh: $*" >&2; exit 1; }
note() { echo "hack/local-cluster.sh: $*" >&2; }

# --- processes ---------------------------------------------------------------

# pid_of NAME: prints the pid recorded for NAME if that process is still alive
# and still the binary we started (guards against pid reuse).
pid_of() {
  local f="$STATE/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$1" || return 1
  # A zombie (exited, not yet reaped) is not running.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  echo "$pid"
}

# stop NAME: SIGTERM, wait up to 20s, then SIGKILL; waits until it is gone.
stop() {
  local name="$1" pid i
  pid="$(pid_of "$name")" || { rm -f "$STATE/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    pid_of "$name" >/dev/null || break
    sleep 0.1
  done
  if pid_of "$name" >/dev/null; then
    note "$name ($pid) did not exit after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_of "$name" >/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$STATE/$name.pid"
}

# start NAME BINARY ARGS...: starts a daemon in its own session, logging to
# $STATE/NAME.log (the previous run's log is kept as NAME.log.prev), and
# records its pid in $STATE/NAME.pid.
start() {
  local name="$1"
  shift
  # setsid: not part of the caller's process group, so a test runner killing
  # its group (or a closing terminal) does not take the control plane with it.
  # setsid execs in place here (a background job is never a group leader), so
  # $! is the daemon's own pid.
  [[ -f "$STATE/$name.log" ]] && mv -f "$STATE/$name.log" "$STATE/$name.log.prev"
  setsid "$@" </dev/null >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

# --- ports -------------------------------------------------------------------

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_ports N: prints N distinct currently-free loopback TCP ports.
free_ports() {
  if command -v python3 >/dev/null; then
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
  else
    local out=() p
    while ((${#out[@]} < $1)); do
      p=$((20000 + RANDOM % 30000))
      [[ " ${out[*]} " == *" $p "* ]] && continue
      port_free "$p" && out+=("$p")
    done
    echo "${out[*]}"
  fi
}

# Reuses the ports of a previous run when they are still free (so URLs and
# kubeconfigs stay valid across down/up), else picks new ones.
choose_ports() {
  local f="$STATE/ports.env"
  if [[ -f "$f" ]]; then
    # shellcheck disable=SC1090
    source "$f"
    if [[ -n "${CONTROLLER_MANAGER_PORT:-}" ]] && port_free "$ETCD_CLIENT_PORT" && port_free "$ETCD_PEER_PORT" &&
      port_free "$APISERVER_PORT" && port_free "$CONTROLLER_MANAGER_PORT"; then
      return 0
    fi
  fi
  read -r ETCD_CLIENT_PORT ETCD_PEER_PORT APISERVER_PORT CONTROLLER_MANAGER_PORT < <(free_ports 4)
  cat >"$f" <<EOF
ETCD_CLIENT_PORT=$ETCD_CLIENT_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
CONTROLLER_MANAGER_PORT=$CONTROLLER_MANAGER_PORT
EOF
}

# --- PKI -----------------------------------------------------------------------

# ossl ARGS...: openssl, quiet unless it fails.
ossl() {
  local out
  out="$(openssl "$@" 2>&1)" || { echo "$out" >&2; die "openssl $1 failed"; }
}

# new_ca NAME CN
new_ca() {
  ossl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
}

# new_cert NAME CA SUBJECT EXTKEYUSAGE [SAN]
new_cert() {
  local name="$1" ca="$2" subj="$3" eku="$4" san="${5:-}" ext="$PKI/$1.ext"
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subj"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$eku"
    if [[ -n "$san" ]]; then echo "subjectAltName=$san"; fi
  } >"$ext"
  ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -out "$PKI/$name.crt" -days 3650 -sha256 -extfile "$ext"
  rm -f "$PKI/$name.csr" "$ext"
}

ensure_pki() {
  [[ -f "$PKI/.complete" ]] && return 0
  command -v openssl >/dev/null || die "openssl is required"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  # Cluster CA: signs the apiserver's serving cert and client certs (--client-ca-file).
  new_ca ca coder-k8s-local-ca
  # Front-proxy CA: signs the aggregator's client cert (--requestheader-client-ca-file).
  new_ca front-proxy-ca coder-k8s-local-front-proxy-ca
  new_cert apiserver ca /CN=kube-apiserver serverAuth \
    "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  new_cert front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth
  new_cert admin ca "/O=system:masters/CN=admin" clientAuth
  # Service-account token signing key pair.
  ossl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key"
  ossl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
  rm -f "$PKI"/*.srl
  touch "$PKI/.complete"
}

# Certificates added after the first PKI layout, issued into older state dirs too.
ensure_later_certs() {
  # kube-controller-manager's own identity, as kubeadm issues it.
  [[ -f "$PKI/controller-manager.crt" ]] || new_cert controller-manager ca /CN=system:kube-controller-manager clientAuth
  rm -f "$PKI"/*.srl
}

# --- kubeconfig ----------------------------------------------------------------

# kubeconfig_for USER CERT FILE: a kubeconfig authenticating USER with PKI/CERT.{crt,key}.
kubeconfig_for() {
  local user="$1" cert="$2" file="$3" tmp="$3.tmp"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: coder-k8s-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI/$cert.crt
    client-key: $PKI/$cert.key
contexts:
- name: coder-k8s-local
  context:
    cluster: coder-k8s-local
    user: $user
    namespace: default
current-context: coder-k8s-local
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$file"
}

write_kubeconfigs() {
  kubeconfig_for admin admin "$STATE/kubeconfig"
  kubeconfig_for system:kube-controller-manager controller-manager "$STATE/controller-manager.kubeconfig"
}

# --- readiness -----------------------------------------------------------------

apiserver_readyz() {
  curl -fsS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz${1:-}" 2>/dev/null
}

controller_manager_healthz() {
  curl -fsSk --max-time 2 "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" 2>/dev/null
}

etcd_health() {
  curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"'
}

# wait_for NAME CHECK...: polls CHECK until it succeeds, NAME dies or the deadline passes.
wait_for() {
  local name="$1" deadline=$((SECONDS + TIMEOUT))
  shift
  until "$@" >/dev/null; do
    if ! pid_of "$name" >/dev/null; then
      tail -n 20 "$STATE/$name.log" >&2 || true
      die "$name exited during startup (log: $STATE/$name.log)"
    fi
    ((SECONDS < deadline)) || die "$name not ready after ${TIMEOUT}s (log: $STATE/$name.log)"
    sleep 0.2
  done
}

# --- commands ------------------------------------------------------------------

cmd_up() {
  local t0=$SECONDS
  mkdir -p "$STATE"
  command -v curl >/dev/null || die "curl is required"
  if pid_of etcd >/dev/null && pid_of kube-apiserver >/dev/null && pid_of kube-controller-manager >/dev/null; then
    # shellcheck disable=SC1091
    source "$STATE/ports.env"
    wait_for kube-apiserver apiserver_readyz
    wait_for kube-controller-manager controller_manager_healthz
    note "already running at https://127.0.0.1:$APISERVER_PORT (KUBECONFIG=$STATE/kubeconfig)"
    return 0
  fi
  # Partly up (a process died, or state from before the controller-manager): restart cleanly.
  stop_all

  local etcd apiserver controller_manager
  # On any failure below, do not leave part of a control plane running.
  trap stop_all EXIT
  "$HACK_DIR/tools.sh" ensure etcd kube-apiserver kube-controller-manager kubectl
  etcd="$("$HACK_DIR/tools.sh" path etcd)"
  apiserver="$("$HACK_DIR/tools.sh" path kube-apiserver)"
  controller_manager="$("$HACK_DIR/tools.sh" path kube-controller-manager)"

  ensure_pki
  ensure_later_certs
  choose_ports
  write_kubeconfigs

  mkdir -p "$STATE/etcd"
  chmod 700 "$STATE/etcd"
  start etcd "$etcd" \
    --name=default \
    --data-dir="$STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync=true \
    --log-level=warn
  wait_for etcd etcd_health

  # Audit what coder-k8s's ServiceAccounts (namespace coder-system) ask, and nothing else:
  # tests compare it with the RBAC the Helm chart grants (least privilege).
  cat >"$STATE/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:coder-system"]
  - level: None
POLICY

  local extra=()
  read -r -a extra <<<"${CODER_K8S_APISERVER_ARGS:-}"
  start kube-apiserver "$apiserver" \
    --audit-policy-file="$STATE/audit-policy.yaml" \
    --audit-log-path="$STATE/audit.log" \
    --audit-log-format=json \
    --audit-log-maxsize=50 \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --cert-dir="$PKI" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=false \
    --endpoint-reconciler-type=none \
    --profiling=false \
    --v=1 \
    "${extra[@]}"
  wait_for kube-apiserver apiserver_readyz

  grant_controller_roles
  extra=()
  read -r -a extra <<<"${CODER_K8S_CONTROLLER_MANAGER_ARGS:-}"
  # Upstream defaults (all default controllers, --use-service-account-credentials=false,
  # leader election on); only paths and ports are set, all inside the state directory.
  start kube-controller-manager "$controller_manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$CONTROLLER_MANAGER_PORT" \
    --cert-dir="$STATE/controller-manager" \
    --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --flex-volume-plugin-dir="$STATE/flexvolume" \
    --v=1 \
    "${extra[@]}"
  wait_for kube-controller-manager controller_manager_healthz
  trap - EXIT
  note "up in $((SECONDS - t0))s: https://127.0.0.1:$APISERVER_PORT (KUBECONFIG=$STATE/kubeconfig)"
}

# kube-controller-manager runs every controller with its own credentials (the upstream
# default, --use-service-account-credentials=false), so, as Kubernetes' RBAC
# documentation asks of such clusters, its user is granted every controller's
# bootstrap role (system:controller:*), besides its own system:kube-controller-manager.
grant_controller_roles() {
  local kubectl roles role list=""
  kubectl="$("$HACK_DIR/tools.sh" path kubectl)"
  roles="$(KUBECONFIG="$STATE/kubeconfig" "$kubectl" get clusterroles -o name)" || die "could not list ClusterRoles"
  for role in $roles; do
    role="${role#clusterrole.rbac.authorization.k8s.io/}"
    [[ "$role" == system:controller:* ]] || continue
    list+="
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: \"coder-k8s-local:kube-controller-manager:${role#system:controller:}\"}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: \"$role\"}
  subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: system:kube-controller-manager}]"
  done
  [[ -n "$list" ]] || die "kube-apiserver has no system:controller:* ClusterRoles"
  printf 'apiVersion: v1\nkind: List\nitems:%s\n' "$list" |
    KUBECONFIG="$STATE/kubeconfig" "$kubectl" apply -f - >/dev/null || die "could not grant the controller roles"
}

stop_all() {
  stop kube-controller-manager
  stop kube-apiserver
  stop etcd
}

cmd_down() {
  local purge=false
  case "${1:-}" in
    --purge) purge=true ;;
    "") ;;
    *) die "usage: hack/local-cluster.sh down [--purge]" ;;
  esac
  [[ -d "$STATE" ]] || return 0
  stop_all
  if $purge; then
    rm -rf "$STATE"
    note "stopped and removed $STATE"
  else
    note "stopped (state kept in $STATE; 'down --purge' removes it)"
  fi
}

cmd_status() {
  local ok=0 pid
  for name in etcd kube-apiserver kube-controller-manager; do
    if pid="$(pid_of "$name")"; then echo "$name: running (pid $pid)"; else echo "$name: stopped"; ok=1; fi
  done
  if [[ -f "$STATE/ports.env" ]]; then
    # shellcheck disable=SC1091
    source "$STATE/ports.env"
    echo "apiserver: https://127.0.0.1:$APISERVER_PORT"
    echo "etcd: http://127.0.0.1:$ETCD_CLIENT_PORT"
    echo "controller-manager: https://127.0.0.1:${CONTROLLER_MANAGER_PORT:-?}"
    if [[ $ok == 0 ]] && apiserver_readyz >/dev/null; then echo "readyz: ok"; else echo "readyz: not ready"; ok=1; fi
    if [[ $ok == 0 ]] && controller_manager_healthz >/dev/null; then echo "controller-manager healthz: ok"; else echo "controller-manager healthz: not ok"; ok=1; fi
  fi
  echo "state: $STATE"
  return $ok
}

cmd_env() {
  [[ -f "$STATE/ports.env" && -f "$STATE/kubeconfig" ]] || die "no cluster state in $STATE; run 'hack/local-cluster.sh up' first"
  # shellcheck disable=SC1091
  source "$STATE/ports.env"
  q() { printf 'export %s=%q\n' "$1" "$2"; }
  q KUBECONFIG "$STATE/kubeconfig"
  q CODER_K8S_CLUSTER_DIR "$STATE"
  q CODER_K8S_APISERVER_URL "https://127.0.0.1:$APISERVER_PORT"
  q CODER_K8S_ETCD_URL "http://127.0.0.1:$ETCD_CLIENT_PORT"
  # CA that signed the apiserver's serving cert and that verifies client certs.
  q CODER_K8S_CLUSTER_CA "$PKI/ca.crt"
  q CODER_K8S_ADMIN_CERT "$PKI/admin.crt"
  q CODER_K8S_ADMIN_KEY "$PKI/admin.key"
  # CA an aggregated API server must trust for front-proxy (request-header) auth,
  # and the client cert the apiserver presents when proxying to it.
  q CODER_K8S_FRONT_PROXY_CA "$PKI/front-proxy-ca.crt"
  q CODER_K8S_FRONT_PROXY_CLIENT_CERT "$PKI/front-proxy-client.crt"
  q CODER_K8S_FRONT_PROXY_CLIENT_KEY "$PKI/front-proxy-client.key"
  q CODER_K8S_SERVICE_ACCOUNT_KEY "$PKI/sa.key"
  local t
  for t in kubectl helm; do
    local p
    p="$("$HACK_DIR/tools.sh" path "$t")"
    q "CODER_K8S_$(echo "$t" | tr '[:lower:]' '[:upper:]')" "$p"
  done
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    ""|-h|--help|help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: up, down, status, env)" ;;
  esac
}

main "$@"
