#!/usr/bin/env bash
# Re-measures the README's "Performance at a glance" table, one row after the other, on a machine
# that should otherwise be idle (every figure is a ratio against a peer or limit measured in the
# same run, but a busy machine still moves them). Prints each command before its output and a
# log under $OUT_DIR (default /tmp/webccl-glance). Rows: compare (shm/tcp against Gloo and Open
# MPI at 2 and 4 ranks; the peers are named missing when not installed), latency (8-byte
# allreduce per transport), switch (aggregation rate against a UDP echo), rack (the simulated
# rack, root only), tune (the cost model's sweep), kernels (WGSL kernels against the copy kernel).
# usage: bench/glance.sh [ROW...]   (default: every row; about 25 minutes on 2 cores)
set -uo pipefail
cd "$(dirname "$0")/.."
rows=("$@")
[ ${#rows[@]} -eq 0 ] && rows=(compare latency switch rack tune kernels)
out=${OUT_DIR:-/tmp/webccl-glance}
mkdir -p "$out"
node=(node --import ./test/register.mjs)

run() { # name, command...
  local name=$1; shift
  echo "## $name: $*" | tee -a "$out/$name.log"
  echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/$name.log"
  "$@" 2>&1 | tee -a "$out/$name.log"
}

for row in "${rows[@]}"; do
  case $row in
    compare)
      run compare npm run -s bench:compare -- --np 2 -b 8 -e 16M -f 8 -n 5 -w 2 --transports tcp,shm --peers gloo,mpi-sm
      run compare npm run -s bench:compare -- --np 4 -b 1M -e 16M -f 4 -n 5 -w 2 --transports shm --peers gloo,mpi-sm ;;
    latency)
      for transport in inproc shm tcp; do
        run latency env WEBCCL_TRANSPORT=$transport CALLS=5000 WARMUP=2000 "${node[@]}" bench/allreduce-latency.ts
      done ;;
    switch)
      run switch "${node[@]}" bench/switch-rate.ts 1048576 3 2 native ;;
    rack)
      if [ "$(id -u)" -ne 0 ]; then echo "## rack: skipped (needs root for network namespaces)"; continue; fi
      run rack bench/switch-rack.sh -n 4 -r 1gbit -b 1M -e 16M -f 4 -i 3 -w 1 ;;
    tune)
      run tune "${node[@]}" bench/tune-sweep.ts inproc,tcp,shm 2,4 -e 64M -r 5 ;;
    kernels)
      run kernels npm run -s bench:kernels -- --runs 5 ;;
    *) echo "unknown row $row (compare latency switch rack tune kernels)" >&2; exit 2 ;;
  esac
done
echo "# logs in $out"
