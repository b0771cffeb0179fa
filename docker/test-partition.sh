#!/usr/bin/env bash
# Multi-host partition test: five cities in five containers, one cut off, one killed with -9.
#
#   docker/test-partition.sh            exit 0 = pass; non-zero = fail (logs of every city shown)
#
# 1. builds the image credfed-node:dev if it is missing (docker/build-image.sh);
# 2. initialises the five cities in a temporary directory (docker/init-federation.sh) and
#    `compose up -d` (project credfed-partition);
# 3. waits until every node answers /v1/health with 4 peers;
# 4. submits a penalty at Xinyang and waits for it at Huanggang;
# 5. `docker network disconnect` Lu'an from the federation network (its API stays reachable on
#    its own network), publishes at Xinyang and at Lu'an and checks neither side sees the
#    other's new record; publishes at Anqing and `docker kill -s KILL`s it right after the
#    201, starts it again and checks the acknowledged record survived;
# 6. `docker pause`s Huanggang (cgroup freezer: the process is stopped, its sockets stay open),
#    publishes at Xinyang, checks after 3 s that the paused node answers nothing, unpauses it and
#    waits until it serves Xinyang's record;
# 7. reconnects Lu'an (same address) and asserts within 60 s that the five /v1/feeds heads are
#    equal, no equivocation is reported, and every record of the test is readable at every
#    node. Prints the convergence time.
# Each scenario prints one `FIGURE docker …` line (kill -9 recovery, pause catch-up, partition
# convergence).
# `compose down -v` and removal of the temporary directory run on exit (trap), pass or fail.
#
# Needs: docker (Compose v2 plugin or docker-compose v1), curl, jq, bc. Host ports 127.0.0.1:8541-8545.
# Not part of `cargo test` (it takes about a minute and needs a Docker engine).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${CREDFED_IMAGE:-credfed-node:dev}"
project="${CREDFED_PROJECT:-credfed-partition}"
converge_limit="${CREDFED_CONVERGE_SECS:-60}"
cities=(xinyang suzhou luan anqing huanggang)
declare -A port=([xinyang]=8541 [suzhou]=8542 [luan]=8543 [anqing]=8544 [huanggang]=8545)
declare -A uscc=([xinyang]=91411500MA0000001Y [luan]=91341500MA0000002P [anqing]=91340800MA00000041)

for tool in docker curl jq bc; do
  command -v "$tool" >/dev/null || { echo "test-partition: needs $tool" >&2; exit 2; }
done
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  echo "test-partition: needs Docker Compose (plugin or docker-compose)" >&2
  exit 2
fi

start=$(date +%s.%N)
log() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }

work="$(mktemp -d /tmp/credfed-partition.XXXXXX)"
export CREDFED_DATA="$work/federation" CREDFED_IMAGE="$image"
if [[ "$(id -u)" != 0 ]]; then export CREDFED_UID="$(id -u)" CREDFED_GID="$(id -g)"; fi
dc() { "${compose[@]}" -p "$project" -f "$here/compose.yaml" "$@"; }

cleanup() {
  local rc=$?
  if [[ $rc != 0 ]]; then
    echo "---- logs (last 40 lines per city) ----"
    dc logs --no-color --tail 40 2>&1 || true
  fi
  for c in "${cid[@]}"; do docker unpause "$c" >/dev/null 2>&1 || true; done
  dc down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  [[ $rc == 0 ]] && echo "test-partition: PASS" || echo "test-partition: FAIL (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers -------------------------------------------------------------------------------
token() { jq -r ".tokens.$2" "$CREDFED_DATA/$1/access.json"; }
api() { echo "http://127.0.0.1:${port[$1]}"; }
# http CITY SCOPE METHOD PATH [BODY] → prints "STATUS BODY"
http() {
  local out status
  out="$(curl -sS -m 5 -o - -w '\n%{http_code}' -X "$3" -H "Authorization: Bearer $(token "$1" "$2")" \
    -H 'content-type: application/json' ${5:+--data-binary "$5"} "$(api "$1")$4" 2>/dev/null)" || { echo "000"; return; }
  status="${out##*$'\n'}"
  echo "$status ${out%$'\n'*}"
}
health_peers() { curl -sS -m 3 "$(api "$1")/v1/health" 2>/dev/null | jq -r 'select(.status == "ok") | .peers' 2>/dev/null || true; }
has_record() { [[ "$(http "$1" query GET "/v1/records/$2" | cut -d' ' -f1)" == 200 ]]; }
heads() { http "$1" audit GET /v1/feeds | cut -d' ' -f2- | jq -c 'select(.equivocations == []) | .heads | sort_by(.origin)' 2>/dev/null || true; }
declare -A cid=()
container() { echo "${cid[$1]}"; }
# publish CITY N → prints the record id
publish() {
  local body resp
  body="$(jq -nc --arg u "${uscc[$1]}" --arg n "partition-test〔2026〕$2号" '{kind: "administrative_penalty",
    subject: {uscc: $u}, subject_name: "测试商贸有限公司", authority: "市场监督管理局", decision_no: $n,
    legal_basis: "《中华人民共和国食品安全法》第一百二十四条", facts: "docker partition test",
    severity: "general", sector: "market_regulation", decided_on: "2026-01-05", classification: "public"}')"
  resp="$(http "$1" submit POST /v1/records "$body")"
  [[ "${resp%% *}" == 201 ]] || fail "publish at $1: $resp"
  jq -r .id <<<"${resp#* }"
}
# wait_until SECS DESCRIPTION COMMAND… → polls every 0.5 s
wait_until() {
  local limit=$1 what=$2 t0
  shift 2
  t0=$(date +%s.%N)
  until "$@"; do
    (($(echo "$(date +%s.%N) - $t0 > $limit" | bc))) && fail "$what: not within ${limit}s"
    sleep 0.5
  done
  log "$what ($(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")s)"
}
all_peers_at_least() {
  local c p
  for c in "${@:2}"; do
    p="$(health_peers "$c")"
    [[ -n "$p" && "$p" -ge "$1" ]] || return 1
  done
}

# ---- 1-3: image, cities, federation up ----------------------------------------------------
if ! docker image inspect "$image" >/dev/null 2>&1; then
  log "image $image missing: building it"
  "$here/build-image.sh" "$image"
fi
dc down -v --remove-orphans >/dev/null 2>&1 || true
"$here/init-federation.sh" "$CREDFED_DATA" >/dev/null
log "five cities initialised in $CREDFED_DATA"
dc up -d >/dev/null 2>&1 || { dc up -d; fail "compose up"; }
for c in "${cities[@]}"; do
  cid[$c]="$(dc ps -q "$c")"
  [[ -n "${cid[$c]}" ]] || fail "no container for $c"
done
log "compose up: ${cities[*]}"
wait_until 60 "all five healthy with 4 peers each" all_peers_at_least 4 "${cities[@]}"

# ---- 4: a penalty travels from Xinyang to Huanggang ---------------------------------------
r1="$(publish xinyang 1)"
log "penalty ${r1:0:12}… published at xinyang"
wait_until 30 "penalty ${r1:0:12}… readable at huanggang" has_record huanggang "$r1"

# ---- 5: partition Lu'an, publish on both sides, kill -9 Anqing ------------------------------
luan_id="$(container luan)"
fed_net="$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$luan_id" | tr ' ' '\n' | grep '_fed$')"
luan_ip="$(docker inspect -f "{{(index .NetworkSettings.Networks \"$fed_net\").IPAddress}}" "$luan_id")"
docker network disconnect "$fed_net" "$luan_id"
t_cut=$(date +%s.%N)
log "luan disconnected from $fed_net (was $luan_ip)"
r2="$(publish xinyang 2)"
r3="$(publish luan 3)"
log "during the partition: ${r2:0:12}… at xinyang, ${r3:0:12}… at luan"
r4="$(publish anqing 4)"
docker kill -s KILL "$(container anqing)" >/dev/null
log "anqing acknowledged ${r4:0:12}… and was killed with SIGKILL"
sleep 3
has_record xinyang "$r3" && fail "xinyang has luan's record during the partition: no partition"
has_record luan "$r2" && fail "luan has xinyang's record during the partition: no partition"
log "partition holds: luan and xinyang do not see each other's new records after 3s"
t_kill=$(date +%s.%N)
docker start "$(container anqing)" >/dev/null
wait_until 30 "anqing back after kill -9 (3 peers)" all_peers_at_least 3 anqing
has_record anqing "$r4" || fail "anqing lost acknowledged record $r4 to kill -9"
log "anqing still holds its acknowledged record ${r4:0:12}…"
echo "FIGURE docker kill -9: anqing restarted → healthy with 3 peers and its acked record in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t_kill" | bc)")s"

# ---- 6: pause Huanggang, publish at Xinyang, unpause --------------------------------------
docker pause "$(container huanggang)" >/dev/null
t_pause=$(date +%s.%N)
log "huanggang paused"
r5="$(publish xinyang 5)"
sleep 3
[[ -z "$(health_peers huanggang)" ]] || fail "huanggang answered /v1/health while paused: no pause"
docker unpause "$(container huanggang)" >/dev/null
paused="$(printf '%.1f' "$(echo "$(date +%s.%N) - $t_pause" | bc)")"
t_unpause=$(date +%s.%N)
log "huanggang unpaused after ${paused}s"
wait_until 30 "xinyang's ${r5:0:12}… readable at huanggang after the pause" has_record huanggang "$r5"
echo "FIGURE docker pause: huanggang frozen ${paused}s; unpause → holds the record published meanwhile in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t_unpause" | bc)")s"

# ---- 7: heal and converge ------------------------------------------------------------------
ids=("$r1" "$r2" "$r3" "$r4" "$r5")
converged() {
  local c id first="" h
  for c in "${cities[@]}"; do
    h="$(heads "$c")"
    [[ -n "$h" && "$h" != null ]] || return 1
    if [[ -z "$first" ]]; then first="$h"; elif [[ "$h" != "$first" ]]; then return 1; fi
  done
  for c in "${cities[@]}"; do
    for id in "${ids[@]}"; do has_record "$c" "$id" || return 1; done
  done
}
docker network connect --ip "$luan_ip" "$fed_net" "$luan_id"
log "luan reconnected to $fed_net at $luan_ip"
t0=$(date +%s.%N)
wait_until "$converge_limit" "converged: five equal feed heads, ${#ids[@]} records at all five" converged
elapsed="$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")"
for c in "${cities[@]}"; do
  printf '  %-10s %s\n' "$c" "$(heads "$c" | jq -c 'map("\(.origin):\(.seq)") | join(" ")')"
done
log "convergence time after healing the partition: ${elapsed}s (limit ${converge_limit}s)"
echo "FIGURE docker partition: luan cut off $(printf '%.1f' "$(echo "$t0 - $t_cut" | bc)")s; reconnect → five equal heads, ${#ids[@]} records at all five in ${elapsed}s (limit ${converge_limit}s)"
