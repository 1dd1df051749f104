#!/usr/bin/env bash
# A simulated rack: N ranks, each in its own network namespace, each joined by a veth link to a
# "switch" namespace holding a Linux bridge (the rack switch's fabric) and a `webccl switch`
# process on the bridge's address. Every link is shaped with tc htb to one rate on both ends (the
# rank's egress and the switch port's egress), as the full-duplex ports of a real switch are.
# In the same run, over the same links: ring allreduce over the tcp transport (rank-to-rank
# traffic crosses the bridge), then switch allreduce (every rank's packets go to the switch
# process and its results come back). Each prints its nccl-tests table (rank 0's output).
#
# A rank's link carries 2(n-1)/n of the data with the ring and 1x with the switch, so the switch
# can be up to 2(n-1)/n times faster when the links are the bottleneck.
#
# usage (as root): bench/switch-rack.sh [-n RANKS] [-r RATE] [-M MTU] [-b MINBYTES] [-e MAXBYTES] [-f FACTOR] [-i ITERS] [-w WARMUP] [-c CHECK] [-m MEM] [-s SLOW] [-S RANK] [-A ALGOS] [-N] [-d DTYPE] [-C COLLECTIVE] [-k DIR] [-v]
#   defaults: -n 4 -r 1gbit -M 9000 -b 1M -e 16M -f 2 -i 5 -w 2 -c 1 -m cpu (host buffers: the
#   links, not a software GPU, are what this measures; -m gpu uses the adapter) -s 1 -A "ring switch"
#   -M MTU: of every veth end and the bridge (jumbo frames, as datacenter switch ports run); the
#   ring's TCP segments and the switch's datagrams both use it: 'auto' switch packets carry 2048
#   values at 9000, 256 at 1500 (lib/switch/packet-size.ts); the switch's log line says which
#   -s SLOW: the last rank's link runs at RATE / SLOW (an uneven cluster; RATE in kbit, mbit or gbit)
#   -S RANK: which rank is behind the slow link (default the last; a tree's root/leaf or inner rank)
#   -A ALGOS: the sweeps to run, in order; "auto" first calibrates the cost model on these links
#   (webccl-perf --calibrate, with the switch: its π is timed too), prints its --explain, and runs
#   auto with the tuning file and the switch
#   -N: auto (its calibration and --explain too) without the switch: the model picks among the
#   rank-to-rank schedules
#   -d DTYPE: webccl-perf's datatype (float, int32, ...; default float)
#   -C COLLECTIVE: what the sweeps (not calibration) run: allreduce (default), broadcast or reduce
#   (rooted at rank 0: with -S, a slow rank that is an inner node of the rooted tree or a leaf)
#   -k DIR: keep every rank's output of each sweep there (ALGO.RANK.out; with WEBCCL_SWITCH_TRACE=1
#   the phase lines bench/switch-trace.ts reads)
#   -v: after each sweep, what each link's htb qdisc sent and dropped during it (rank end and switch
#   port end: bytes, packets, drops, overlimits) and the UDP counters since setup (receive-buffer
#   errors) of the switch's namespace and rank 0's
# Addresses: 10.77.X.0/24 of the namespaces created here only (X from this shell's pid);
# everything is removed on exit (trap), whether the runs pass or fail.
set -euo pipefail

ranks=4 rate=1gbit mtu=9000 minb=1M maxb=16M factor=2 iters=5 warmup=2 check=1 mem=cpu slow=1 algos='ring switch' dtype=float
verbose=0 keep='' slowrank='' autoswitch=1 collective=allreduce
while getopts 'n:r:M:b:e:f:i:w:c:m:s:S:A:d:C:k:Nvh' opt; do
  case $opt in
    n) ranks=$OPTARG ;; r) rate=$OPTARG ;; M) mtu=$OPTARG ;; b) minb=$OPTARG ;; e) maxb=$OPTARG ;;
    f) factor=$OPTARG ;; i) iters=$OPTARG ;; w) warmup=$OPTARG ;; c) check=$OPTARG ;; m) mem=$OPTARG ;;
    s) slow=$OPTARG ;; S) slowrank=$OPTARG ;; A) algos=$OPTARG ;; d) dtype=$OPTARG ;; C) collective=$OPTARG ;; k) keep=$OPTARG ;;
    v) verbose=1 ;; N) autoswitch=0 ;;
    *) sed -n '13,33p' "$0" >&2; exit 2 ;;
  esac
done
# The slow rank's rate in kbit (tc takes it as given).
[[ $rate =~ ^([0-9]+)(kbit|mbit|gbit)$ ]] || { echo "switch-rack: -r $rate: give kbit, mbit or gbit, e.g. 1gbit" >&2; exit 2; }
case ${BASH_REMATCH[2]} in kbit) kbit=1 ;; mbit) kbit=1000 ;; gbit) kbit=1000000 ;; esac
slowrate="$(( BASH_REMATCH[1] * kbit / slow ))kbit"
slowrank=${slowrank:-$(( ranks - 1 ))}
if ! [[ $slowrank =~ ^[0-9]+$ ]] || [ "$slowrank" -ge "$ranks" ]; then
  echo "switch-rack: -S $slowrank: give the slow rank, 0 to $(( ranks - 1 ))" >&2; exit 2
fi
case $collective in allreduce|broadcast|reduce) ;; *) echo "switch-rack: -C $collective: give allreduce, broadcast or reduce" >&2; exit 2 ;; esac
if [ "$(id -u)" != 0 ]; then
  echo "switch-rack: needs root (it creates network namespaces, veth links and tc qdiscs); run it as root, e.g. sudo bench/switch-rack.sh" >&2
  exit 2
fi
for tool in ip tc; do
  command -v $tool >/dev/null || { echo "switch-rack: needs $tool (iproute2)" >&2; exit 2; }
done
if ! [[ $mtu =~ ^[0-9]+$ ]] || [ "$mtu" -lt 1280 ] || [ "$mtu" -gt 65535 ]; then
  echo "switch-rack: -M $mtu: give an MTU from 1280 to 65535 bytes, e.g. 9000" >&2; exit 2
fi
if ! [[ $ranks =~ ^[0-9]+$ ]] || [ "$ranks" -lt 2 ] || [ "$ranks" -gt 32 ]; then
  echo "switch-rack: -n $ranks: give 2 to 32 ranks (one switch job's bitmap)" >&2; exit 2
fi

cd "$(dirname "$0")/.."
source bench/netns-link.sh
tag=$(( $$ % 10000 ))
subnet="10.77.$(( $$ % 250 ))"
swns="wr${tag}s" bridge="wr${tag}br" swaddr="$subnet.254" swport=48864
rankns() { echo "wr${tag}r$1"; }
rankaddr() { echo "$subnet.$(( $1 + 1 ))"; }
work=$(mktemp -d)
switch_pid=''

teardown() {
  set +e
  if [ -n "$switch_pid" ]; then kill -TERM "$switch_pid" 2>/dev/null; wait "$switch_pid" 2>/dev/null; fi
  for ((i = 0; i < ranks; i++)); do ip netns del "$(rankns $i)" 2>/dev/null; done
  ip netns del "$swns" 2>/dev/null   # takes the bridge and the switch ends of the veths with it
  rm -rf "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# One rate for every port, both directions; burst 15k as a switch port's shallow buffer allows
# (at least two frames of the MTU); a quantum of one frame.
burst=$(( 2 * mtu > 15000 ? 2 * mtu : 15000 ))
shape() { # ns dev rate
  ip netns exec "$1" tc qdisc add dev "$2" root handle 1: htb default 1
  ip netns exec "$1" tc class add dev "$2" parent 1: classid 1:1 htb rate "$3" burst "$burst" cburst "$burst" quantum $(( mtu + 14 ))
}

ip netns add "$swns"
ip -n "$swns" link set lo up
ip -n "$swns" link add "$bridge" type bridge
ip -n "$swns" link set "$bridge" mtu "$mtu"
ip -n "$swns" addr add "$swaddr/24" dev "$bridge"
ip -n "$swns" link set "$bridge" up
for ((i = 0; i < ranks; i++)); do
  ns=$(rankns $i) host="wr${tag}a$i" port="wr${tag}b$i"
  netns_rank_link "$ns" "$host" "$port" "$swns" "$bridge" "$(rankaddr $i)/24" "$mtu"
  linkrate=$rate
  [ "$i" = "$slowrank" ] && [ "$slow" != 1 ] && linkrate=$slowrate
  shape "$ns" "$host" "$linkrate"
  shape "$swns" "$port" "$linkrate"
done

node_ts=(node --import ./test/register.mjs)
secret=$(node -e "console.log(require('node:crypto').randomBytes(16).toString('hex'))")
printf '%s\n' "$secret" > "$work/switch-secret"
chmod 600 "$work/switch-secret"

# INFO logging: the switch names each job's packet size ('auto' chose it from the veths' MTU).
ip netns exec "$swns" env WEBCCL_DEBUG=INFO "${node_ts[@]}" bin/webccl.ts switch --host "$swaddr" --port "$swport" --secret-file "$work/switch-secret" > "$work/switch.out" 2>&1 &
switch_pid=$!
for ((t = 0; t < 200; t++)); do
  grep -q '^switch ' "$work/switch.out" 2>/dev/null && break
  kill -0 "$switch_pid" 2>/dev/null || { echo "switch-rack: the switch did not start:" >&2; cat "$work/switch.out" >&2; exit 1; }
  sleep 0.1
done
grep -q '^switch ' "$work/switch.out" || { echo "switch-rack: the switch did not start within 20 s" >&2; exit 1; }

echo "# switch-rack: $ranks ranks, each on its own netns and a veth link (MTU $mtu) shaped to $rate (htb, both ends)$([ "$slow" != 1 ] && echo ", rank $slowrank at $slowrate"), bridged in $swns; switch at $swaddr:$swport"

# -v: the links' qdisc counters since the last call (each sweep's own), one line per link end.
declare -A last_tc=()
link_stats() {
  local i end ns dev now
  for ((i = 0; i < ranks; i++)); do
    for end in rank port; do
      if [ $end = rank ]; then ns=$(rankns $i) dev="wr${tag}a$i"; else ns=$swns dev="wr${tag}b$i"; fi
      # "Sent B bytes P pkt (dropped D, overlimits O requeues R) backlog Xb Yp" of the htb root.
      now=$(ip netns exec "$ns" tc -s qdisc show dev "$dev" | awk '/^qdisc htb/ { h = 1 } h && /Sent/ { gsub(/[,()]/, ""); print $2, $4, $7, $9; exit }')
      read -r b p d o <<< "$now"
      read -r b0 p0 d0 o0 <<< "${last_tc[$end$i]:-0 0 0 0}"
      last_tc[$end$i]=$now
      echo "# link $i $end egress: $(( b - b0 )) bytes, $(( p - p0 )) packets, dropped $(( d - d0 )), overlimits $(( o - o0 ))"
    done
  done
  for ns in "$swns" "$(rankns 0)"; do
    echo "# udp in $ns: $(ip netns exec "$ns" awk '/^Udp:/ { if (h) { for (i = 2; i <= NF; i++) printf "%s %s ", n[i], $i; print ""; exit } h = 1; for (i = 2; i <= NF; i++) n[i] = $i }' /proc/net/snmp)"
  done
}

# One sweep of -C's collective: one `webccl-run --nnodes N` per rank namespace; rank 0's output is
# the table. --calibrate runs the same way (an allreduce run: webccl-perf's arguments after the
# master port).
sweep() { # algo masterport [webccl-perf arguments instead of the sweep's]
  local algo=$1 mport=$2 pids=() status=0 run_collective=$collective
  shift 2
  local run=(-b "$minb" -e "$maxb" -f "$factor" -n "$iters" -w "$warmup" -c "$check" -d "$dtype" --algo "$algo")
  [ "$algo" = switch ] || { [ "$algo" = auto ] && [ "$autoswitch" = 1 ]; } && run+=(--switch "$swaddr:$swport")
  [ $# -gt 0 ] && run=("$@") run_collective=allreduce
  for ((i = 0; i < ranks; i++)); do
    # Each namespace a host of its own (WEBCCL_HOST_ID): the rack simulates one rank a host, and
    # ranks that name one host are calibrated as one (no slow-link probe, host rates timed once).
    ip netns exec "$(rankns $i)" env WEBCCL_TRANSPORT=tcp WEBCCL_SOCKET_IFNAME="wr${tag}a" WEBCCL_SECRET="$secret" WEBCCL_HOST_ID="rack-$i" \
      ${tuning:+WEBCCL_TUNING_FILE="$tuning"} \
      "${node_ts[@]}" bin/webccl-run.ts -np 1 --nnodes "$ranks" --node-rank "$i" --master-addr "$(rankaddr 0)" --master-port "$mport" \
      bin/webccl-perf.ts "$run_collective" --mem "$mem" --transport tcp "${run[@]}" > "$work/$algo.$i.out" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  [ -n "$keep" ] && mkdir -p "$keep" && cp "$work/$algo".*.out "$keep/"
  echo "# algorithm: $algo"
  # webccl-run prefixes each line with the rank; the table is rank 0's.
  sed -e 's/^\[rank[0-9]*\]: //' "$work/$algo.0.out"
  [ "$verbose" = 1 ] && link_stats
  if [ "$status" != 0 ]; then
    echo "switch-rack: the $algo run failed (exit $status); the other ranks said:" >&2
    for ((i = 1; i < ranks; i++)); do cat "$work/$algo.$i.out" >&2; done
    return 1
  fi
}

tuning=''
mport=29500
for algo in $algos; do
  if [ "$algo" = auto ]; then
    explained=(); [ "$autoswitch" = 1 ] && explained=(--switch "$swaddr:$swport")
    # With the switch, as auto runs: calibration times it too and fits its π (else π stays at its default).
    sweep calibrate $(( mport++ )) --calibrate "$work/tuning.json" "${explained[@]}"
    # In rank 0's namespace: its path to the switch gives the packet size the ranks agree.
    ip netns exec "$(rankns 0)" env WEBCCL_TUNING_FILE="$work/tuning.json" "${node_ts[@]}" bin/webccl-perf.ts "$collective" --explain --transport tcp --np "$ranks" "${explained[@]}" -b "$minb" -e "$maxb" -f "$factor"
    tuning="$work/tuning.json"
  fi
  sweep "$algo" $(( mport++ ))
done

# The switch's own account: each job's packet size, and on exit its counters (packets in and
# out, retransmissions: what the switch sweeps cost it).
kill -TERM "$switch_pid" 2>/dev/null
wait "$switch_pid" 2>/dev/null || true
switch_pid=''
echo "# switch: $(grep -o '[0-9]* values a packet' "$work/switch.out" | sort -u | paste -sd, -)"
{ grep -E '^switch \(|^  job ' "$work/switch.out" || true; } | sed -e 's/^/# /'
