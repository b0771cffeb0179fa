#!/usr/bin/env bash
# Prepares data/<region>/ for the configs in this directory: a local federation on loopback.
#
#   configs/init-local.sh [REGION…]     (default: xinyang suzhou luan anqing huanggang)
#
# For each region: `credfed-node init --dir data/<region>` with the API and libp2p ports its
# configs/<region>.toml names and one shared person-digest secret (data/person.secret); then
# every region pins every other region's anchor.json with `credfed-node pin` (offline, nodes
# stopped). Afterwards: `credfed-node run --config configs/<region>.toml` for each region.
#
# CREDFED_NODE: the binary (default: credfed-node on PATH, then target/release/credfed-node).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
node="${CREDFED_NODE:-$(command -v credfed-node || echo "${CARGO_TARGET_DIR:-$repo/target}/release/credfed-node")}"
[[ -x "$node" ]] || { echo "init-local: no credfed-node binary (set CREDFED_NODE or cargo build --release)" >&2; exit 1; }
regions=("$@")
[[ ${#regions[@]} -gt 0 ]] || regions=(xinyang suzhou luan anqing huanggang)

# The value of `key = "…"` in a [section] of a config (enough for the files shipped here).
value() { awk -v s="[$2]" -v k="$3" '$0 == s {in_s = 1; next} /^\[/ {in_s = 0}
  in_s && $1 == k { match($0, /"[^"]*"/); print substr($0, RSTART + 1, RLENGTH - 2); exit }' "$1"; }

data="$repo/data"
mkdir -p "$data"
umask 077
[[ -s "$data/person.secret" ]] || od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' > "$data/person.secret"
for r in "${regions[@]}"; do
  cfg="$here/$r.toml"
  [[ -f "$cfg" ]] || { echo "init-local: no $cfg" >&2; exit 1; }
  api="$(value "$cfg" api listen)"
  p2p="$(awk '/^\[p2p\]/ {p = 1} p && $1 == "listen" { match($0, /"[^"]*"/); print substr($0, RSTART + 1, RLENGTH - 2); exit }' "$cfg")"
  "$node" init --region "$r" --dir "$data/$r" --api-listen "$api" --p2p-listen "$p2p" \
    --person-secret "$data/person.secret" >/dev/null
  echo "init-local: $r in data/$r (api $api, p2p $p2p)"
done
for r in "${regions[@]}"; do
  for o in "${regions[@]}"; do
    [[ "$o" == "$r" ]] || "$node" pin --config "$here/$r.toml" --anchor "$data/$o/anchor.json"
  done
done
echo "init-local: tokens in data/<region>/access.json; run each city with"
echo "  credfed-node run --config configs/<region>.toml"
