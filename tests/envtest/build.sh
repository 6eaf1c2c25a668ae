#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Kubernetes and etcd Go modules (no release downloads)
# and prints the folder that holds them, the KUBEBUILDER_ASSETS convention.
#
# - If $KUBEBUILDER_ASSETS already holds both binaries, it is used as is.
# - Otherwise the binaries are built once into a cache outside the checkout, keyed by version,
#   so every clone on this machine reuses them: ${BERTH_ENVTEST_CACHE:-$XDG_CACHE_HOME/berth/envtest}/<k8s>-<etcd>.
set -euo pipefail

K8S=${BERTH_K8S_VERSION:-v1.36.3}
ETCD=${BERTH_ETCD_VERSION:-v3.6.16}

if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

CACHE=${BERTH_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth/envtest}
OUT="$CACHE/$K8S-$ETCD"
mkdir -p "$OUT"
log() { printf 'envtest: %s\n' "$*" >&2; }

export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0
export GOFLAGS=-buildvcs=false

# Builds the given commands of k8s.io/kubernetes (kube-apiserver, kubectl) in one wrapper module.
build_k8s() {
  local staging="v0.${K8S#v1.}" minor="${K8S#v1.}"
  minor=${minor%%.*}
  local w
  w=$(mktemp -d)
  log "building $* $K8S in $w"
  (
    cd "$w"
    go mod init berth.invalid/apiserver-build >/dev/null 2>&1
    go mod download "k8s.io/kubernetes@$K8S"
    local kmod
    kmod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S.mod"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces that only
    # apply in its own main module; map each to its published v0.X.Y tag.
    for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/k8s\.io/.*#\1#p' "$kmod"); do
      go mod edit -replace="$m=$m@$staging"
    done
    grep -E '^godebug [^(]' "$kmod" | while read -r _ kv; do go mod edit -godebug="$kv"; done || true
    go mod edit -require="k8s.io/kubernetes@$K8S"
    { printf '//go:build tools\n\npackage tools\n\nimport (\n'; for c in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done; printf ')\n'; } > tools.go
    go mod tidy
    local ldf="-s -w" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf="$ldf -X $p.gitVersion=$K8S -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    for c in "$@"; do
      go build -trimpath -tags=selinux,notest -ldflags="$ldf" -o "$OUT/$c.tmp" "k8s.io/kubernetes/cmd/$c"
      mv "$OUT/$c.tmp" "$OUT/$c"
    done
  )
  rm -rf "$w"
}

build_etcd() {
  local w
  w=$(mktemp -d)
  log "building etcd $ETCD in $w"
  (
    cd "$w"
    go mod init berth.invalid/etcd-build >/dev/null 2>&1
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > main.go
    go get "go.etcd.io/etcd/server/v3@$ETCD"
    go mod tidy
    go build -trimpath -ldflags="-s -w" -o "$OUT/etcd.tmp" .
    mv "$OUT/etcd.tmp" "$OUT/etcd"
  )
  rm -rf "$w"
}

# A lock so two clones building at once do not race on the same cache entry.
exec 9>"$OUT/.lock"
flock 9
[ -x "$OUT/etcd" ] || build_etcd
want=()
[ -x "$OUT/kube-apiserver" ] || want+=(kube-apiserver)
# kubectl: the machine's own when it has one, else built from the same modules.
if [ ! -e "$OUT/kubectl" ]; then
  if command -v kubectl >/dev/null 2>&1; then ln -s "$(command -v kubectl)" "$OUT/kubectl"; else want+=(kubectl); fi
fi
[ ${#want[@]} -eq 0 ] || build_k8s "${want[@]}"
echo "$OUT"
