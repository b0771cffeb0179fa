#!/usr/bin/env bash
# Prepares the five cities of docker/compose.yaml on the host.
#
#   docker/init-federation.sh [DIR]          (DIR default: docker/federation; must not exist
#                                             or be empty)
#
# For xinyang, suzhou, luan, anqing and huanggang it runs `credfed-node init` into DIR/<region>
# with one shared person-digest secret, listening on 0.0.0.0:8440 (API) and
# /ip4/0.0.0.0/tcp/9440 (libp2p) inside the container; writes every node's bootstrap list (the
# other four as /ip4/<fixed address>/tcp/9440/p2p/<PeerId>); cross-pins every anchor offline
# with `credfed-node pin` (in a real federation each administrator does this after comparing
# the root fingerprint out of band); and rewrites access.json's "api" to the host URL
# http://127.0.0.1:854N. Then `docker compose -f docker/compose.yaml up -d`.
#
# Environment:
#   CREDFED_NODE        credfed-node binary to run on the host (default: docker/rootfs's copy,
#                       then $CARGO_TARGET_DIR/release, then target/release, then PATH)
#   CREDFED_NET_PREFIX  first two octets of the compose subnets (default 172.28), as in compose.yaml
#   CREDFED_SYNC_MS     anti-entropy interval written to the configs (default 2000)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
dir="${1:-$here/federation}"
prefix="${CREDFED_NET_PREFIX:-172.28}"
sync_ms="${CREDFED_SYNC_MS:-2000}"

# region  fixed address  host API port   (same order and numbers as compose.yaml)
cities=(xinyang suzhou luan anqing huanggang)
declare -A ip=([xinyang]=11 [suzhou]=12 [luan]=13 [anqing]=14 [huanggang]=15)
declare -A port=([xinyang]=8541 [suzhou]=8542 [luan]=8543 [anqing]=8544 [huanggang]=8545)

node="${CREDFED_NODE:-}"
if [[ -z "$node" ]]; then
  for c in "$here/rootfs/bin/credfed-node" "${CARGO_TARGET_DIR:-/nonexistent}/release/credfed-node" \
    "$repo/target/release/credfed-node" "$(command -v credfed-node || true)"; do
    if [[ -n "$c" && -x "$c" ]]; then node="$c"; break; fi
  done
fi
[[ -n "$node" && -x "$node" ]] || { echo "init-federation: no credfed-node binary (set CREDFED_NODE or run docker/build-image.sh)" >&2; exit 1; }

if [[ -e "$dir" && -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
  echo "init-federation: $dir is not empty; remove it first (it holds keys and stores)" >&2
  exit 1
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
umask 077

# One person-digest secret for the whole federation (32 random bytes, hex).
od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' > "$dir/person.secret"

for r in "${cities[@]}"; do
  "$node" init --region "$r" --dir "$dir/$r" --api-listen 0.0.0.0:8440 \
    --p2p-listen /ip4/0.0.0.0/tcp/9440 --person-secret "$dir/person.secret" >/dev/null
  sed -i "s#\"api\": \"http://0.0.0.0:8440\"#\"api\": \"http://127.0.0.1:${port[$r]}\"#" "$dir/$r/access.json"
done

peer_id() { sed -n 's/.*"peer_id": *"\([^"]*\)".*/\1/p' "$dir/$1/anchor.json"; }

for r in "${cities[@]}"; do
  cfg="$dir/$r/node.toml"
  list=""
  for o in "${cities[@]}"; do
    [[ "$o" == "$r" ]] && continue
    list+="${list:+, }\"/ip4/$prefix.0.${ip[$o]}/tcp/9440/p2p/$(peer_id "$o")\""
  done
  # init writes `bootstrap = []` and the default interval; replace both and check it worked.
  sed -i -e "s#^bootstrap = \[\]\$#bootstrap = [$list]#" -e "s#^sync_interval_ms = .*#sync_interval_ms = $sync_ms#" "$cfg"
  grep -q "^bootstrap = \[\"/ip4/" "$cfg" || { echo "init-federation: could not set bootstrap in $cfg" >&2; exit 1; }
  for o in "${cities[@]}"; do
    [[ "$o" == "$r" ]] && continue
    "$node" pin --config "$cfg" --anchor "$dir/$o/anchor.json" >/dev/null
  done
done

# The containers run as 10001 (the image's credfed user) unless CREDFED_UID says otherwise.
if [[ "$(id -u)" == 0 ]]; then
  chown -R "${CREDFED_UID:-10001}:${CREDFED_GID:-10001}" "${cities[@]/#/$dir/}"
  owner="${CREDFED_UID:-10001}:${CREDFED_GID:-10001}"
else
  owner="$(id -u):$(id -g)"
  echo "init-federation: not root, so the containers must run as you:"
  echo "  export CREDFED_UID=$(id -u) CREDFED_GID=$(id -g)"
fi

echo "init-federation: five cities in $dir (owner $owner), anchors cross-pinned:"
for r in "${cities[@]}"; do
  printf '  %-10s %s:9440  api http://127.0.0.1:%s  peer %s\n' "$r" "$prefix.0.${ip[$r]}" "${port[$r]}" "$(peer_id "$r")"
done
echo "tokens: $dir/<region>/access.json; start: docker compose -f $here/compose.yaml up -d"
[[ "$dir" == "$here/federation" ]] || echo "  (with CREDFED_DATA=$dir)"
