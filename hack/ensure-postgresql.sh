#!/usr/bin/env bash
# hack/ensure-postgresql.sh — a real Coder (hack/lib/real-coder.ts) needs PostgreSQL's server
# binaries, from Debian's package; this installs them when /usr/lib/postgresql/*/bin/initdb is
# missing (as root, as CI runs, or through sudo). Nothing is started: every real Coder runs its
# own cluster in its own data directory.
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then exit 0; fi
if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "hack/ensure-postgresql.sh: PostgreSQL is missing; install it (apt-get install -y postgresql) or run as root" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "hack/ensure-postgresql.sh: no apt-get here; install PostgreSQL's server binaries by hand" >&2; exit 1; }
echo "hack/ensure-postgresql.sh: installing PostgreSQL (Debian package postgresql) ..." >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package index (fresh machine) fails the first try; refresh it once.
"${as_root[@]}" apt-get install -y --no-install-recommends postgresql ||
  { "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends postgresql; }
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || { echo "hack/ensure-postgresql.sh: installed, but no initdb under /usr/lib/postgresql" >&2; exit 1; }
