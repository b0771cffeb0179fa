#!/usr/bin/env bash
# Conformance of a live credfed node against the Go sumdb/note + sumdb/tlog packages and the
# C2SP tlog-tiles / tlog-cosignature / tlog-witness texts (tests/tlog-conformance/main.go).
#
# Starts a two-city demo federation (credfed-node demo), pushes > 256 audit leaves into
# Xinyang's log through POST /v1/records/batch, waits for Suzhou's cosignature on Xinyang's
# checkpoint (the peer witness path), then runs the Go program: note.Open, tlog.CheckRecord /
# CheckTree on the JSON proof routes, tlog.TileHashReader over {prefix}/tile/..., an entry
# bundle, and cosignature/v1 checks, including one obtained through Suzhou's POST
# {prefix}/add-checkpoint as a tlog-witness client. Exits non-zero on any failure.
#
# Needs: go (Debian golang-go) and golang.org/x/mod (golang-golang-x-mod-dev) in GOPATH mode;
# python3; the credfed-node binary ($CREDFED_NODE, else $CARGO_TARGET_DIR/debug/credfed-node,
# built if missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
start=$(date +%s)

target="${CARGO_TARGET_DIR:-$root/target}"
bin="${CREDFED_NODE:-$target/debug/credfed-node}"
if [ ! -x "$bin" ]; then
  (cd "$root" && cargo build -q --locked -p credfed-node --bin credfed-node)
fi
command -v go >/dev/null || { echo "go not found: apt-get install -y golang-go golang-golang-x-mod-dev" >&2; exit 1; }
gopath="${TLOG_GOPATH:-/usr/share/gocode}"
[ -d "$gopath/src/golang.org/x/mod/sumdb/tlog" ] || { echo "golang.org/x/mod not under $gopath (golang-golang-x-mod-dev)" >&2; exit 1; }

work="$(mktemp -d)"
demo_pid=""
cleanup() {
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building the Go checker (GOPATH mode, no network)"
GO111MODULE=off GOPATH="$gopath" GOCACHE="$work/gocache" GOFLAGS= GOPROXY=off \
  go build -o "$work/tlog-conformance" "$here/main.go"

echo "== starting a two-city demo federation"
"$bin" demo --dir "$work/demo" --cities 2 >"$work/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 1 600); do [ -s "$work/demo/demo.json" ] && break; sleep 0.1; done
[ -s "$work/demo/demo.json" ] || { echo "demo did not start:" >&2; cat "$work/demo.out" >&2; exit 1; }

city() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["cities"] if isinstance(d,dict) and "cities" in d else d; c=[x for x in c if x["region"]==sys.argv[2]][0]; print(c[sys.argv[3]] if sys.argv[3]!="tok" else c["tokens"][sys.argv[4]])' "$work/demo/demo.json" "$@"; }
xy_api=$(city xinyang api); sz_api=$(city suzhou api)
submit=$(city xinyang tok submit); audit=$(city xinyang tok audit)
for u in "$xy_api" "$sz_api"; do
  for _ in $(seq 1 300); do curl -sf "$u/v1/health" >/dev/null && break; sleep 0.1; done
done

echo "== submitting 140 records to xinyang (two audit leaves each: > 256 leaves, one full tile)"
python3 - "$xy_api" "$submit" <<'PY'
import json, sys, urllib.request
api, token = sys.argv[1], sys.argv[2]
CH = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
def uscc(n):
    first = "91411500MA%07d" % (9000000 + n)
    s = sum(CH.index(c) * w for c, w in zip(first, W))
    return first + CH[(31 - s % 31) % 31]
rows = [{"kind": "administrative_penalty", "subject": {"uscc": uscc(i)}, "subject_name": "信阳某商贸有限公司",
         "authority": "信阳市市场监督管理局", "decision_no": "信市监罚〔2026〕%d号" % (9000 + i),
         "legal_basis": "《中华人民共和国食品安全法》第一百二十四条", "facts": "销售不符合食品安全标准的食品",
         "severity": "general", "sector": "market_regulation", "decided_on": "2026-03-02", "classification": "public"}
        for i in range(140)]
req = urllib.request.Request(api + "/v1/records/batch", data=json.dumps(rows).encode(), method="POST",
                             headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
res = json.load(urllib.request.urlopen(req, timeout=60))
bad = [r for r in res["results"] if r.get("status") not in ("accepted", "duplicate", "created")]
if bad:
    sys.exit("batch items refused: %s" % json.dumps(bad[:3], ensure_ascii=False))
print("batch: %d results" % len(res["results"]))
PY

xy_vkey=$(curl -sf "$xy_api/v1/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checkpoint_vkey"])')
sz_wvkey=$(curl -sf "$sz_api/v1/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["witness_vkey"])')
sz_name=${sz_wvkey%%+*}

echo "== waiting for suzhou's cosignature on a checkpoint of xinyang with > 256 leaves"
got=""
for _ in $(seq 1 120); do
  cp=$(curl -sf -H "Authorization: Bearer $audit" "$xy_api/tlog/checkpoint" || true)
  size=$(printf '%s' "$cp" | sed -n 2p)
  if [ -n "$size" ] && [ "$size" -gt 256 ] && printf '%s' "$cp" | grep -q "^— $sz_name "; then got=1; break; fi
  sleep 0.5
done
[ -n "$got" ] || { echo "no cosignature from $sz_name on a checkpoint above 256 leaves; last:" >&2; printf '%s\n' "$cp" >&2; exit 1; }

echo "== running the Go checker"
"$work/tlog-conformance" -url "$xy_api" -vkey "$xy_vkey" -token "$audit" -prefix /tlog \
  -witness-vkey "$sz_wvkey" -witness-url "$sz_api"
echo "== tlog conformance passed in $(( $(date +%s) - start )) s"
