#!/usr/bin/env bash
# hack/tools.sh — build and cache pinned third-party binaries (kube-apiserver,
# kube-controller-manager, kubectl, etcd, helm; on request coder and terraform) from Go
# modules, at the versions in hack/tools/versions.env.
#
# Usage:
#   hack/tools.sh ensure [tool...]   build whatever is missing (default: the Kubernetes tools,
#                                    kube-apiserver kube-controller-manager kubectl etcd helm;
#                                    `ensure coder terraform` builds the real Coder's, ~9 min cold)
#   hack/tools.sh path <tool>        print the binary's absolute path (builds first if needed)
#   hack/tools.sh versions [--paths] print the pins (and where each binary is)
#   hack/tools.sh prune              remove cached builds that no longer match the pins
#   hack/tools.sh sync [module...]   regenerate hack/tools/<module>/go.mod+go.sum from versions.env
#                                    (modules: kube etcd helm coder terraform; default: all)
#
# Binaries live outside the clone, one directory per tool, version and build-input
# hash, so they survive `git clean` and are shared by every clone on the machine:
#   ${CODER_K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coder-k8s/tools}/<tool>-<version>-<hash>/<tool>
# A tool is rebuilt only when its pin, go.mod/go.sum or the build recipe change.
# The fast path (already built) runs no Go command and prints only what was asked.
#
# Environment:
#   CODER_K8S_TOOLS_DIR   cache directory (see above)
#   CODER_K8S_TOOLS_NICE  niceness of builds (default 10)
#   GOPROXY, GOMODCACHE, GOCACHE, ... are honoured as usual.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_SRC="$HACK_DIR/tools"
# shellcheck source=hack/tools/versions.env
source "$TOOLS_SRC/versions.env"

TOOLS_DIR="${CODER_K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coder-k8s/tools}"
NICE="${CODER_K8S_TOOLS_NICE:-10}"
# Bump when the way binaries are built (flags below) changes, to force rebuilds.
RECIPE=1

# Built by a plain `ensure` (`make tools`).
ALL_TOOLS=(kube-apiserver kube-controller-manager kubectl etcd helm)
# A real Coder (hack/real-coder.ts): built only when asked for by name; known to versions/prune.
REAL_CODER_TOOLS=(coder terraform)
SYNC_MODULES=(kube etcd helm coder terraform)

die() { echo "hack/tools.sh: $*" >&2; exit 1; }
note() { echo "hack/tools.sh: $*" >&2; }

# tool_info TOOL: sets MOD (module dir under hack/tools), PKG (package to build),
# VERSION (pin), PIN_MOD (the module whose version is pinned).
tool_info() {
  case "$1" in
    kube-apiserver) MOD=kube PKG=k8s.io/kubernetes/cmd/kube-apiserver VERSION=$KUBERNETES_VERSION PIN_MOD=k8s.io/kubernetes ;;
    kube-controller-manager)
                    MOD=kube PKG=k8s.io/kubernetes/cmd/kube-controller-manager VERSION=$KUBERNETES_VERSION PIN_MOD=k8s.io/kubernetes ;;
    kubectl)        MOD=kube PKG=k8s.io/kubernetes/cmd/kubectl        VERSION=$KUBERNETES_VERSION PIN_MOD=k8s.io/kubernetes ;;
    etcd)           MOD=etcd PKG=.                                     VERSION=$ETCD_VERSION       PIN_MOD=go.etcd.io/etcd/server/v3 ;;
    helm)           MOD=helm PKG=helm.sh/helm/v3/cmd/helm              VERSION=$HELM_VERSION       PIN_MOD=helm.sh/helm/v3 ;;
    coder)          MOD=coder PKG=github.com/coder/coder/v2/cmd/coder   VERSION=$CODER_VERSION      PIN_MOD=github.com/coder/coder/v2 ;;
    terraform)      MOD=terraform PKG=github.com/hashicorp/terraform    VERSION=$TERRAFORM_VERSION  PIN_MOD=github.com/hashicorp/terraform ;;
    *) die "unknown tool '$1' (known: ${ALL_TOOLS[*]} ${REAL_CODER_TOOLS[*]})" ;;
  esac
}

# Prints the build tags for TOOL (comma-separated, may be empty).
tool_tags() {
  case "$1" in
    # As coder's scripts/build_go.sh: keeps tailscale from linking the AWS SDK and friends.
    # No `embed` (the web UI is a stub page; the API is complete) and no `slim` (that drops `coder server`).
    coder) echo "ts_omit_aws,ts_omit_bird,ts_omit_tap,ts_omit_kube" ;;
  esac
}

# Prints the -ldflags for TOOL (after tool_info).
tool_ldflags() {
  local flags="-s -w"
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl)
      local v="${KUBERNETES_VERSION#v}" major minor pkg
      major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
      # Same as kubernetes' hack/lib/version.sh: both packages get the stamp.
      for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit="
      done ;;
    helm)
      # Same as helm's Makefile: the default Kubernetes version helm assumes for
      # `helm template`/lint is derived from the client-go it was built with.
      local cg cmaj cmin
      cg="$(awk '$1=="k8s.io/client-go"{print $2; exit}' "$TOOLS_SRC/helm/go.mod")"
      cg="${cg#v}"; cmaj=$(( ${cg%%.*} + 1 )); cmin="${cg#*.}"; cmin="${cmin%%.*}"
      flags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
      flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$cmaj -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$cmin"
      flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$cmaj -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$cmin" ;;
    coder)
      # As coder's scripts/build_go.sh --agpl: /api/v2/buildinfo and `coder version` report v2.30.0.
      flags+=" -X github.com/coder/coder/v2/buildinfo.tag=${CODER_VERSION#v} -X github.com/coder/coder/v2/buildinfo.agpl=true" ;;
    terraform)
      # As terraform's .github/scripts/get_product_version.sh for a release.
      flags+=" -X github.com/hashicorp/terraform/version.Version=${TERRAFORM_VERSION#v} -X github.com/hashicorp/terraform/version.Prerelease=" ;;
  esac
  echo "$flags"
}

# tool_dir TOOL: prints the cache directory for the current pins (after tool_info).
# Also checks that the module's go.mod agrees with versions.env.
tool_dir() {
  local tool="$1" dir="$TOOLS_SRC/$MOD" re
  re="${PIN_MOD//./\\.}[[:space:]]+${VERSION//./\\.}"
  grep -Eq "^(require)?[[:space:]]*$re([[:space:]]|\$)" "$dir/go.mod" ||
    die "$dir/go.mod does not require $PIN_MOD $VERSION (pinned in hack/tools/versions.env); run 'hack/tools.sh sync'"
  local hash
  hash="$( { echo "recipe=$RECIPE tool=$tool version=$VERSION"; grep -Ev '^[[:space:]]*(//.*)?$' "$dir"/go.mod; cat "$dir"/go.sum; cat "$dir"/*.go 2>/dev/null || true; } |
    sha256sum | cut -c1-12)"
  echo "$TOOLS_DIR/$tool-$VERSION-$hash"
}

tool_path() {
  tool_info "$1"
  echo "$(tool_dir "$1")/$1"
}

LOCK_FD=""
take_lock() {
  [[ -n "$LOCK_FD" ]] && return 0
  mkdir -p "$TOOLS_DIR"
  exec {LOCK_FD}>"$TOOLS_DIR/.lock"
  if ! flock -n "$LOCK_FD"; then
    note "waiting for another build in $TOOLS_DIR ..."
    flock "$LOCK_FD"
  fi
}

# build_tool TOOL: builds TOOL into its cache directory unless it is already there.
build_tool() {
  local tool="$1" out bin
  tool_info "$tool"
  bin="$(tool_dir "$tool")/$tool"
  [[ -x "$bin" ]] && return 0
  take_lock
  [[ -x "$bin" ]] && return 0 # built by someone else while we waited
  command -v go >/dev/null || die "go is not installed (needed once to build $tool)"
  out="$(dirname "$bin")"
  local tmp log start
  tmp="$(mktemp -d "$TOOLS_DIR/.build-$tool.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  log="$tmp/build.log"
  start=$SECONDS
  note "building $tool $VERSION from Go modules (once per pin; minutes on a cold Go build cache) ..."
  if ! (
    cd "$TOOLS_SRC/$MOD" &&
      GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
        nice -n "$NICE" go build -trimpath -tags "$(tool_tags "$tool")" -ldflags "$(tool_ldflags "$tool")" -o "$tmp/$tool" "$PKG"
  ) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    mv "$log" "$TOOLS_DIR/$tool-$VERSION.failed.log" 2>/dev/null || true
    rm -rf "$tmp"
    die "building $tool failed (log: $TOOLS_DIR/$tool-$VERSION.failed.log)"
  fi
  rm -f "$log"
  chmod 755 "$tmp"
  rm -rf "$out"
  mv -T "$tmp" "$out"
  trap - EXIT
  note "built $tool $VERSION in $((SECONDS - start))s -> $bin"
}

cmd_ensure() {
  local tools=("$@") t
  [[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")
  for t in "${tools[@]}"; do tool_info "$t"; done # validate names first
  for t in "${tools[@]}"; do build_tool "$t"; done
}

cmd_path() {
  [[ $# -eq 1 ]] || die "usage: hack/tools.sh path <tool>"
  build_tool "$1"
  tool_path "$1"
}

cmd_versions() {
  echo "KUBERNETES_VERSION=$KUBERNETES_VERSION"
  echo "KUBERNETES_STAGING_VERSION=$KUBERNETES_STAGING_VERSION"
  echo "ETCD_VERSION=$ETCD_VERSION"
  echo "HELM_VERSION=$HELM_VERSION"
  echo "CODER_VERSION=$CODER_VERSION"
  echo "TERRAFORM_VERSION=$TERRAFORM_VERSION"
  if [[ "${1:-}" == "--paths" ]]; then
    local t p
    for t in "${ALL_TOOLS[@]}" "${REAL_CODER_TOOLS[@]}"; do
      p="$(tool_path "$t")"
      if [[ -x "$p" ]]; then echo "$t $p"; else echo "$t $p (not built)"; fi
    done
  fi
}

cmd_prune() {
  [[ -d "$TOOLS_DIR" ]] || return 0
  take_lock
  local keep=() t d
  for t in "${ALL_TOOLS[@]}" "${REAL_CODER_TOOLS[@]}"; do keep+=("$(dirname "$(tool_path "$t")")"); done
  for d in "$TOOLS_DIR"/*/ "$TOOLS_DIR"/.build-*/; do
    [[ -d "$d" ]] || continue
    d="${d%/}"
    if [[ " ${keep[*]} " != *" $d "* ]]; then
      note "removing $d"
      rm -rf "$d"
    fi
  done
}

# tidy_module DIR: recomputes DIR/go.sum (and indirect requirements) from scratch.
tidy_module() {
  local dir="$1"
  rm -f "$dir/go.sum"
  (cd "$dir" && GOWORK=off GOFLAGS="-mod=mod" go mod tidy)
}

SYNC_HEADER="// Code generated by hack/tools.sh sync from hack/tools/versions.env. DO NOT EDIT."

# module_file MODULE@VERSION FIELD: downloads the module and prints a path from
# `go mod download -json` (GoMod: its go.mod; Dir: its extracted source).
module_file() {
  local tmp out
  tmp="$(mktemp -d)"
  out="$(cd "$tmp" && GOWORK=off GOFLAGS= go mod download -json "$1" | awk -F'"' -v f="$2" '$2==f{print $4}')" || true
  rm -rf "$tmp"
  [[ -e "$out" ]] || die "could not download $1"
  echo "$out"
}

# godebug_of GOMOD: `godebug default=go1.N` from an upstream go.mod's `go` line, so the
# binary keeps the runtime defaults upstream builds it with (our go line must be >= 1.24
# for `tool`).
godebug_of() {
  awk '$1=="go"{split($2,v,"."); print "godebug default=go" v[1] "." v[2]; exit}' "$1"
}

sync_kube() {
  local k8smod godebug staging m
  # kube: k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
  # with ./staging/src/... directories; replace directives do not apply to
  # dependents, so pin every one of them to the matching published version here.
  k8smod="$(cd "$TOOLS_SRC/kube" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    awk -F'"' '$2=="GoMod"{print $4}')"
  [[ -f "$k8smod" ]] || die "could not download k8s.io/kubernetes@$KUBERNETES_VERSION"
  godebug="$(grep -E '^godebug ' "$k8smod" || true)"
  staging="$(awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r&&$2=="=>"&&$3~/^\.\/staging\//{print $1}' "$k8smod")"
  {
    echo "$SYNC_HEADER"
    echo
    echo "module github.com/coder/coder-k8s/hack/tools/kube"
    echo
    echo "go 1.26.0"
    [[ -n "$godebug" ]] && { echo; echo "$godebug"; }
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo "	k8s.io/kubernetes/cmd/kubectl"
    echo ")"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "// k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them"
    echo "// with ./staging/src/... paths, which do not apply here: pin them instead."
    echo "replace ("
    for m in $staging; do
      # Only modules kubernetes actually requires (the sample-* ones are not published).
      if awk -v m="$m" '$1==m && $2=="v0.0.0"{f=1} END{exit !f}' "$k8smod"; then
        echo "	$m => $m $KUBERNETES_STAGING_VERSION"
      fi
    done
    echo ")"
  } >"$TOOLS_SRC/kube/go.mod"
  tidy_module "$TOOLS_SRC/kube"
}

sync_etcd() {
  cat >"$TOOLS_SRC/etcd/go.mod" <<EOF
$SYNC_HEADER

module github.com/coder/coder-k8s/hack/tools/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  tidy_module "$TOOLS_SRC/etcd"
}

sync_helm() {
  cat >"$TOOLS_SRC/helm/go.mod" <<EOF
$SYNC_HEADER

module github.com/coder/coder-k8s/hack/tools/helm

go 1.26.0

tool helm.sh/helm/v3/cmd/helm

require helm.sh/helm/v3 $HELM_VERSION
EOF
  tidy_module "$TOOLS_SRC/helm"
}

sync_coder() {
  # `go install github.com/coder/coder/v2/cmd/coder@v2.30.0` refuses a module with replace
  # directives, and coder has many (forks of tailscale, pq, ...), which do not apply to
  # dependents. So: require coder, copy every replace line, and start from coder's own go.sum
  # (the checksum database does not know some of those forks' pseudo-versions; with their
  # go.sum lines it is never asked). Then tidy drops what cmd/coder does not need.
  local dir="$TOOLS_SRC/coder" src replaces
  src="$(module_file "github.com/coder/coder/v2@$CODER_VERSION" Dir)"
  # Single-line `replace old [v] => new v` only (all coder has); a block would need parsing.
  ! grep -Eq '^replace[[:space:]]*\(' "$src/go.mod" || die "$src/go.mod has a replace block; teach sync_coder to copy it"
  replaces="$(grep -E '^replace[[:space:]]' "$src/go.mod")"
  grep -q '=> *\.' <<<"$replaces" && die "coder's go.mod replaces a module with a local path; cannot copy that"
  mkdir -p "$dir"
  {
    echo "$SYNC_HEADER"
    echo
    echo "module github.com/coder/coder-k8s/hack/tools/coder"
    echo
    echo "go 1.26.0"
    echo
    godebug_of "$src/go.mod"
    echo
    echo "tool github.com/coder/coder/v2/cmd/coder"
    echo
    echo "require github.com/coder/coder/v2 $CODER_VERSION"
    echo
    echo "// Copied from coder's go.mod at $CODER_VERSION: replace directives do not apply to dependents."
    echo "replace ("
    sed -E 's/^replace[[:space:]]+/\t/' <<<"$replaces"
    echo ")"
  } >"$dir/go.mod"
  cp "$src/go.sum" "$dir/go.sum"
  chmod 644 "$dir/go.sum"
  (cd "$dir" && GOWORK=off GOFLAGS="-mod=mod" go mod tidy)
}

sync_terraform() {
  local dir="$TOOLS_SRC/terraform" gomod
  gomod="$(module_file "github.com/hashicorp/terraform@$TERRAFORM_VERSION" GoMod)"
  grep -Eq '^replace' "$gomod" && die "terraform's go.mod has replace directives; copy them as sync_coder does"
  mkdir -p "$dir"
  {
    echo "$SYNC_HEADER"
    echo
    echo "module github.com/coder/coder-k8s/hack/tools/terraform"
    echo
    echo "go 1.26.0"
    echo
    godebug_of "$gomod"
    echo
    echo "tool github.com/hashicorp/terraform"
    echo
    echo "require github.com/hashicorp/terraform $TERRAFORM_VERSION"
  } >"$dir/go.mod"
  tidy_module "$dir"
}

cmd_sync() {
  command -v go >/dev/null || die "go is not installed"
  local mods=("$@") m
  [[ ${#mods[@]} -gt 0 ]] || mods=("${SYNC_MODULES[@]}")
  for m in "${mods[@]}"; do
    [[ " ${SYNC_MODULES[*]} " == *" $m "* ]] || die "unknown module '$m' (known: ${SYNC_MODULES[*]})"
  done
  for m in "${mods[@]}"; do
    note "sync $m ..."
    "sync_$m"
  done
  note "go.mod/go.sum regenerated; review and commit hack/tools/"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    ensure) cmd_ensure "$@" ;;
    path) cmd_path "$@" ;;
    versions) cmd_versions "$@" ;;
    prune) cmd_prune ;;
    sync) cmd_sync "$@" ;;
    ""|-h|--help|help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: ensure, path, versions, prune, sync)" ;;
  esac
}

main "$@"
