#!/usr/bin/env bash
# Multi-host on one machine, for the TCP transports against Gloo: N ranks, each in its own
# network namespace (its own "host": its own address, loopback and TCP stack), each joined by a
# veth pair to a bridge in a namespace of its own (the top-of-rack switch). No rank shares a
# socket path with another, so every byte crosses a veth and the bridge as it would cross NICs.
# In one run, over the same links: webccl-perf allreduce over each transport of -T (default the
# native tcp provider `ntcp`, then Node's sockets `tcp` for reference), then torch.distributed's
# gloo backend (bench/peers/gloo_allreduce.py); each webccl sweep prints its nccl-tests table
# (rank 0's), then one table gives busbw per size for every contestant and the ratio of each
# webccl transport to Gloo (>1: webccl faster). Times are in place (torch's all_reduce always is).
#
# usage (as root): bench/tcp-netns.sh [-n RANKS] [-r RATE] [-M MTU] [-b MINBYTES] [-e MAXBYTES] [-f FACTOR] [-i ITERS] [-w WARMUP] [-c CHECK] [-T TRANSPORTS] [-G 0|1] [-R ROUNDS]
#   defaults: -n 2 -r none (unshaped veths) -M 1500 -b 1M -e 64M -f 4 -i 10 -w 2 -c 0 -T "ntcp tcp" -G 1 -R 1
#   -r RATE: shape every link to RATE (tc htb, both ends: the rank's egress and the bridge port's), e.g. 10gbit
#   -M MTU: of every veth end and the bridge (1500 as most networks; 9000 for jumbo frames)
#   -T TRANSPORTS: each ntcp, tcp or websocket, optionally with a chunk size (WEBCCL_CHUNK_BYTES):
#   -T "ntcp ntcp:1M" runs ntcp at its default chunk and at 1 MiB side by side; a pipeline depth
#   (WEBCCL_PIPELINE_DEPTH) may follow the chunk after +: -T "ntcp:16M+1" (one chunk pipeline)
#   and optionally an algorithm (WEBCCL_ALGO) after @: -T "ntcp ntcp@mesh" runs auto's choice and the mesh
#   -c CHECK: 1 checks every webccl result (#wrong column) outside the timed loop
#   -G 0: no Gloo run (the table then has no ratio)
#   -R ROUNDS: run every contestant ROUNDS times, alternating, each round starting one contestant
#   later (ntcp, tcp, gloo; tcp, gloo, ntcp; ...), and
#   end with a table of each contestant's median time per size over the rounds: on a shared,
#   loaded machine one round can be off by 2-10x either way
# Addresses: 10.78.X.0/24 (X from this shell's pid); everything created is removed on exit (trap),
# whether the runs pass or fail.
set -euo pipefail

ranks=2 rate=none mtu=1500 minb=1M maxb=64M factor=4 iters=10 warmup=2 check=0 transports='ntcp tcp' gloo=1 rounds=1
while getopts 'n:r:M:b:e:f:i:w:c:T:G:R:h' opt; do
  case $opt in
    n) ranks=$OPTARG ;; r) rate=$OPTARG ;; M) mtu=$OPTARG ;; b) minb=$OPTARG ;; e) maxb=$OPTARG ;;
    f) factor=$OPTARG ;; i) iters=$OPTARG ;; w) warmup=$OPTARG ;; c) check=$OPTARG ;; T) transports=$OPTARG ;;
    G) gloo=$OPTARG ;; R) rounds=$OPTARG ;;
    *) sed -n '12,25p' "$0" >&2; exit 2 ;;
  esac
done
fail() { echo "tcp-netns: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "needs root (it creates network namespaces, veth links and tc qdiscs); run it as root, e.g. sudo bench/tcp-netns.sh"
command -v ip >/dev/null && command -v tc >/dev/null || fail "needs ip and tc (iproute2)"
[ "$rate" = none ] || [[ $rate =~ ^[0-9]+(kbit|mbit|gbit)$ ]] || fail "-r $rate: give none or a rate in kbit, mbit or gbit, e.g. 10gbit"
[[ $mtu =~ ^[0-9]+$ ]] && (( mtu >= 1280 && mtu <= 65535 )) || fail "-M $mtu: give an MTU from 1280 to 65535 bytes, e.g. 1500 or 9000"
[[ $ranks =~ ^[0-9]+$ ]] && (( ranks >= 2 && ranks <= 64 )) || fail "-n $ranks: give 2 to 64 ranks"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || fail "-R $rounds: give a number of rounds, 1 or more"
for size in "$minb" "$maxb"; do
  [[ $size =~ ^[0-9]+[KMGkmg]?$ ]] || fail "$size: give a size in bytes with an optional K, M or G, e.g. 1M"
done
for t in $transports; do
  [[ $t =~ ^(ntcp|tcp|websocket)(:[0-9]+[KMkm]?(\+[1-9][0-9]*)?)?(@[a-z]+)?$ ]] || fail "-T: $t is not a network transport (ntcp, tcp, websocket) with an optional :CHUNK[+DEPTH] and @ALGORITHM (e.g. ntcp:1M, ntcp:16M+1, ntcp@mesh)"
done

cd "$(dirname "$0")/.."
source bench/netns-link.sh
tag=$(( $$ % 10000 ))
subnet="10.78.$(( $$ % 250 ))"
brns="wt${tag}s" bridge="wt${tag}br"
rankns() { echo "wt${tag}r$1"; }
rankdev() { echo "wt${tag}a$1"; }
rankaddr() { echo "$subnet.$(( $1 + 1 ))"; }
work=$(mktemp -d)

teardown() {
  set +e
  # Ranks still running (a failed sweep, an interrupt) would keep their namespaces busy.
  for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ((i = 0; i < ranks; i++)); do ip netns del "$(rankns $i)" 2>/dev/null; done
  ip netns del "$brns" 2>/dev/null   # takes the bridge and the bridge ends of the veths with it
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# htb at RATE on a device's egress; the burst holds at least two frames, as a port's buffer does.
limit() { # ns dev
  local burst=$(( 2 * mtu > 15000 ? 2 * mtu : 15000 ))
  ip netns exec "$1" tc qdisc add dev "$2" root handle 1: htb default 1
  ip netns exec "$1" tc class add dev "$2" parent 1: classid 1:1 htb rate "$rate" burst "$burst" cburst "$burst" quantum $(( mtu + 14 ))
}

ip netns add "$brns"
ip -n "$brns" link add "$bridge" type bridge
ip -n "$brns" link set "$bridge" mtu "$mtu" up
for ((i = 0; i < ranks; i++)); do
  ns=$(rankns $i) dev=$(rankdev $i) port="wt${tag}p$i"
  netns_rank_link "$ns" "$dev" "$port" "$brns" "$bridge" "$(rankaddr $i)/24" "$mtu"
  if [ "$rate" != none ]; then limit "$ns" "$dev"; limit "$brns" "$port"; fi
done

node_ts=(node --import ./test/register.mjs)
secret=$(node -e "console.log(require('node:crypto').randomBytes(16).toString('hex'))")
python=''
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c 'import torch.distributed' 2>/dev/null; then python=$candidate; break; fi
done

echo "# tcp-netns: $ranks ranks, each in its own netns on a veth link (MTU $mtu, $([ "$rate" = none ] && echo unshaped || echo "shaped to $rate, htb both ends")) to a bridge in $brns; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# Starts `command...` once per rank namespace (rank 0's output in $work/NAME.0.out, ...) and waits
# for all; the rank's index, address and device are in RANK_INDEX, RANK_ADDR, RANK_DEV.
on_ranks() { # name command...
  local name=$1 pids=() status=0
  shift
  for ((i = 0; i < ranks; i++)); do
    # A host of its own (WEBCCL_HOST_ID): the namespaces simulate one rank a host.
    ip netns exec "$(rankns $i)" env WEBCCL_HOST_ID="netns-$i" RANK_INDEX=$i RANK_ADDR="$(rankaddr $i)" RANK_DEV="$(rankdev $i)" "$@" > "$work/$name.$i.out" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  if [ "$status" != 0 ]; then
    echo "tcp-netns: the $name run failed (exit $status); the ranks said:" >&2
    for ((i = 0; i < ranks; i++)); do echo "## rank $i" >&2; cat "$work/$name.$i.out" >&2; done
    return 1
  fi
}

# One webccl-perf per rank, each under its own `webccl-run --nnodes N` (node 0 hosts the
# rendezvous); only rank 0 writes the JSON report (-J).
webccl_rank() { # transport[:chunk[+depth]][@algorithm] masterport
  local spec=${1%%@*} algo=''
  [ "$spec" = "$1" ] || algo=${1#*@}
  local t=${spec%%:*} chunk='' depth=''
  if [ "$t" != "$spec" ]; then
    chunk=${spec#*:}
    [ "${chunk%%+*}" = "$chunk" ] || depth=${chunk#*+}
    chunk=$(bytes "${chunk%%+*}")
  fi
  exec env ${chunk:+WEBCCL_CHUNK_BYTES=$chunk} ${depth:+WEBCCL_PIPELINE_DEPTH=$depth} ${algo:+WEBCCL_ALGO=$algo} WEBCCL_TRANSPORT="$t" WEBCCL_SOCKET_IFNAME="$RANK_DEV" WEBCCL_SECRET="$secret" \
    node --import ./test/register.mjs bin/webccl-run.ts -np 1 --nnodes "$ranks" --node-rank "$RANK_INDEX" --master-addr "$master" --master-port "$2" \
    bin/webccl-perf.ts allreduce --mem cpu --transport "$t" -d float -o sum -a 1 -c "$check" \
    -b "$minb" -e "$maxb" -f "$factor" -n "$iters" -w "$warmup" -J "$work/$1.json"
}
# Gloo: torch.distributed's env:// rendezvous on rank 0's address, every rank's sockets on its veth.
gloo_rank() { # masterport
  exec env RANK="$RANK_INDEX" WORLD_SIZE="$ranks" MASTER_ADDR="$master" MASTER_PORT="$1" GLOO_SOCKET_IFNAME="$RANK_DEV" OMP_NUM_THREADS=1 \
    "$python" bench/peers/gloo_allreduce.py --min-bytes "$(bytes "$minb")" --max-bytes "$(bytes "$maxb")" --factor "$factor" --iters "$iters" --warmup "$warmup"
}
bytes() { # 64M -> 67108864 (webccl-perf's suffixes: K, M, G, binary)
  case $1 in
    *[Kk]) echo $(( ${1%?} << 10 )) ;; *[Mm]) echo $(( ${1%?} << 20 )) ;; *[Gg]) echo $(( ${1%?} << 30 )) ;; *) echo "$1" ;;
  esac
}
master=$(rankaddr 0)
export -f webccl_rank gloo_rank bytes
export ranks secret check minb maxb factor iters warmup work python master

mport=29600
report=()
# Each round starts one contestant later than the round before (a, b, gloo; b, gloo, a; ...):
# with a fixed order, the same configuration measured twice in one round differed by 1.8x by its
# place alone (docs/PERFORMANCE.md, ntcp16), so a fixed place would bias every ratio.
contestants=($transports)
[ "$gloo" = 1 ] && [ -n "$python" ] && contestants+=(gloo)
for ((round = 1; round <= rounds; round++)); do
  for ((place = 0; place < ${#contestants[@]}; place++)); do
    t=${contestants[(place + round - 1) % ${#contestants[@]}]}
    if [ "$t" = gloo ]; then
      on_ranks gloo bash -c 'gloo_rank "$@"' _ $(( mport++ ))
      mv "$work/gloo.0.out" "$work/gloo-round$round.out"
      report+=(--gloo "$work/gloo-round$round.out")
      continue
    fi
    on_ranks "$t" bash -c 'webccl_rank "$@"' _ "$t" $(( mport++ ))
    echo "# transport: $t$([ "$rounds" = 1 ] || echo ", round $round of $rounds")"
    sed -e 's/^\[rank[0-9]*\]: //' "$work/$t.0.out"
    mv "$work/$t.json" "$work/$t.$round.json"
    report+=(--webccl "$t=$work/$t.$round.json")
  done
done
[ "$gloo" = 1 ] && [ -z "$python" ] && echo "# gloo: not measured, python3 with torch not found (apt-get install python3-torch)"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"${node_ts[@]}" bench/tcp-netns-report.ts --np "$ranks" "${report[@]}"
