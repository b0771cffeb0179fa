#!/usr/bin/env bash
# Builds the credfed-node image FROM scratch, without pulling anything.
#
#   docker/build-image.sh [--no-cargo] [TAG]        (TAG default: credfed-node:dev)
#
# 1. `cargo build --release -p credfed-node`, for x86_64-unknown-linux-musl when that target
#    is installed (a static binary, nothing else needed), otherwise for the host's glibc.
# 2. Assembles docker/rootfs/: the stripped binary, and for a glibc build exactly the shared
#    libraries `ldd` lists plus the dynamic loader, /etc/passwd and /etc/group (root and
#    credfed 10001), /tmp (1777) and /data.
# 3. `docker build` docker/Dockerfile (FROM scratch, COPY rootfs/ /).
#
# Environment: CARGO_TARGET_DIR (honoured), CREDFED_NODE_BIN (use this binary, skip cargo).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
tag="credfed-node:dev"
cargo=1
for a in "$@"; do
  case "$a" in
    --no-cargo) cargo=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) tag="$a" ;;
  esac
done

target_dir="${CARGO_TARGET_DIR:-$repo/target}"
musl=x86_64-unknown-linux-musl
if [[ -n "${CREDFED_NODE_BIN:-}" ]]; then
  bin="$CREDFED_NODE_BIN"
elif command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
  [[ $cargo == 1 ]] && (cd "$repo" && cargo build --release --locked -p credfed-node --target "$musl")
  bin="$target_dir/$musl/release/credfed-node"
else
  [[ $cargo == 1 ]] && (cd "$repo" && cargo build --release --locked -p credfed-node)
  bin="$target_dir/release/credfed-node"
fi
[[ -x "$bin" ]] || { echo "build-image: no binary at $bin" >&2; exit 1; }

rootfs="$here/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/data"
chmod 1777 "$rootfs/tmp"
cp "$bin" "$rootfs/bin/credfed-node"
# Debug info stays in the build tree; the image carries symbols only.
strip --strip-debug "$rootfs/bin/credfed-node"
chmod 0755 "$rootfs/bin/credfed-node"

# For a dynamically linked binary: every library ldd resolves, at the path ldd names (the
# loader looks there first), plus the interpreter. vdso has no file.
if ldd "$bin" 2>/dev/null | grep -q "=>"; then
  kind="dynamic (glibc; libraries copied from this host)"
  while read -r path; do
    [[ -n "$path" ]] || continue
    mkdir -p "$rootfs$(dirname "$path")"
    cp -L "$path" "$rootfs$path"
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
else
  kind="static"
fi

cat > "$rootfs/etc/passwd" <<'EOT'
root:x:0:0:root:/:/bin/credfed-node
credfed:x:10001:10001:credfed node:/data:/bin/credfed-node
EOT
cat > "$rootfs/etc/group" <<'EOT'
root:x:0:
credfed:x:10001:
EOT

echo "build-image: $bin is $kind; rootfs:"
(cd "$rootfs" && find . -type f -printf '  %p %s bytes\n' | sort)
docker build -t "$tag" "$here"
docker image inspect -f 'build-image: {{.RepoTags}} {{.Size}} bytes' "$tag"
# Smoke test: the image starts and the binary runs inside it.
docker run --rm "$tag" --version
