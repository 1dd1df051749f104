#!/usr/bin/env bash
# The prepared run for a lent 16-core GPU machine (H200), in one device call of under 10 minutes:
# the tables a 2-vCPU host cannot give. In priority order, each step with its own time limit and
# skipped when too little of BUDGET (seconds, default 555) is left:
#   cpu.txt     issue 10: native reduction against memcpy; shm allreduce against Open MPI (vader)
#               and Gloo at 2/4/8 ranks, 16 B-256 MiB, and 8-byte latency; ntcp at 4 ranks on
#               loopback against Gloo and Open MPI's TCP
#   suites.txt  every WGSL kernel and GPU collective against the CPU oracle on the real GPU
#   gpu.txt     issue 15: 4 launched ranks on GPU memory calibrated, then auto/ring/tree measured
#               beside the prediction; bench/tune-sweep.ts --mem gpu at 2 and 4 ranks (sweepg.json)
#   tune.txt    issue 15: calibration at 8 ranks on 16 cores (its time) and auto against each
#               fixed algorithm with that tuning file
#   kernels.json  the kernel table (bench/kernels.ts --json) with what time is left
# Pack first (bench/device/pack.sh), then through the device tool, with carry [".dev"]:
#   source .dev/setup.sh && bash .dev/run.sh
# SMALL=1 runs every step at toy sizes (a dry run on any machine: OUT=/tmp/x bash bench/device/run.sh).
set -uo pipefail
OUT=${OUT:-/tmp/devout}; mkdir -p "$OUT"
SMALL=${SMALL:-0}; BUDGET=${BUDGET:-560}
start=$SECONDS
export PATH=/tmp/ompi/bin:$PATH WEBCCL_DEBUG=${WEBCCL_DEBUG:-WARN}
left() { echo $(( BUDGET - (SECONDS - start) )); }
step() { # FILE LIMIT cmd...
  local file=$1 lim=$2; shift 2
  local l; l=$(left); if [ "$l" -lt 20 ]; then echo "## skipped (only $l s left): $*" >> "$OUT/$file"; return; fi
  [ "$lim" -gt "$l" ] && lim=$l
  echo "## $(date -u +%T) +$((SECONDS-start))s load $(cut -d' ' -f1 /proc/loadavg) limit ${lim}s: $*" >> "$OUT/$file"
  timeout -k 5 "$lim" "$@" >> "$OUT/$file" 2>&1
  echo "## exit $? at +$((SECONDS-start))s" >> "$OUT/$file"
}
R='node --import ./test/register.mjs'
if [ "$SMALL" = 1 ]; then MAXB=1M; GMAX=1M; N=3; W=1; LATN=200; else MAXB=256M; GMAX=64M; N=10; W=3; LATN=2000; fi

{ nvidia-smi 2>&1 | head -15; nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; node --version
  $R --input-type=module -e "const m = await import('./lib/native/load.ts'); const l = m.loadNative(); console.log('native', 'addon' in l ? 'loaded' : JSON.stringify(l));" 2>&1 | tail -2
  node -e "import('webgpu').then(async ({ create, globals }) => { Object.assign(globalThis, globals); const a = await create([]).requestAdapter(); console.log(JSON.stringify({ info: a?.info, maxStorageBufferBindingSize: a?.limits.maxStorageBufferBindingSize })); })"
  which mpirun mpicc gcc python3; mpirun --version | head -1; python3 -c 'import torch; print("torch", torch.__version__)'
} > "$OUT/info.txt" 2>&1

# issue 10: native reduction against memcpy; shm against Open MPI (vader) and Gloo at 2/4/8 ranks
step cpu.txt 40 $R bench/native-reduce.ts --sizes 64K,1M,64M --dtypes float32,float16,bfloat16,int32 --ops sum,avg --oracle-runs 0 --runs 5 --variants avx2+f16c
for np in 2 4 8; do
  step cpu.txt 80 $R bench/compare.ts --np $np -b 16 -e $MAXB -f 4 -n $N -w $W --transports shm --peers mpi-sm,gloo
done
for np in 2 4 8; do
  step cpu.txt 25 $R bench/compare.ts --np $np -b 8 -e 8 -n $LATN -w 200 --transports shm --peers mpi-sm
done

# every kernel and GPU collective against the CPU oracle on the H200 (fma-strict premulSum included)
step suites.txt 110 node test/run.mjs 'test/(gpu-|comm-gpu)'

# issue 15 on the GPU: 4 launched ranks on GPU memory, calibrated, then measured beside the prediction
step gpu.txt 40 bash -c "time node dist/bin/webccl-perf.js allreduce --np 4 --transport shm --mem gpu --calibrate /tmp/g4.json"
cat /tmp/g4.json >> "$OUT/gpu.txt" 2>/dev/null
for algo in auto ring tree; do
  step gpu.txt 40 env WEBCCL_TUNING_FILE=/tmp/g4.json node dist/bin/webccl-perf.js allreduce --np 4 --transport shm --mem gpu --algo $algo -b 8 -e $GMAX -f 8 -n $N -w $W
done

# issue 15: calibration at 8 ranks on 16 cores, auto against every fixed choice
step tune.txt 30 bash -c "time node dist/bin/webccl-perf.js allreduce --np 8 --transport shm --mem cpu --calibrate /tmp/t8.json"
cat /tmp/t8.json >> "$OUT/tune.txt" 2>/dev/null
for algo in auto ring tree board; do
  step tune.txt 35 env WEBCCL_TUNING_FILE=/tmp/t8.json node dist/bin/webccl-perf.js allreduce --np 8 --transport shm --mem cpu --algo $algo -b 8 -e $MAXB -f 8 -n $N -w $W -c 0
done

step gpu.txt 100 env WEBCCL_SWEEP_JSON="$OUT/sweepg.json" $R bench/tune-sweep.ts shm 2,4 -b 8 -e $GMAX -f 8 -r 3 --mem gpu
step cpu.txt 50 $R bench/compare.ts --np 4 -b 1M -e 64M -f 4 -n $N -w $W --transports ntcp --peers gloo,mpi-tcp
step kernels.txt 200 bash -c "node --import ./test/register.mjs bench/kernels.ts --json --runs 3 $( [ "$SMALL" = 1 ] && echo --short ) > \"$OUT/kernels.json\""
echo "done at +$((SECONDS-start))s" >> "$OUT/info.txt"
