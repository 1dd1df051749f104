#!/usr/bin/env bash
# One prepared run on a GPU machine (issue 12): the GPU kernel suites, then the kernel benchmark
# in JSON, within about 8 minutes, results under $OUT. The machine has no Node and no Vulkan
# loader: pack them first with ../shared/gpu/pack.sh (read its header), then, through the device
# tool, from the project root with .gpu carried:
#   source .gpu/env.sh && bash bench/gpu-run.sh
# (env.sh puts node on PATH, installs the loader, points Vulkan at NVIDIA's ICD and cd's into the
# unpacked project). Writes to $OUT (./gpu-out when unset):
#   gpu-info.txt      nvidia-smi, the adapter Dawn picked, node version
#   suites.txt        test/run.mjs 'gpu-|comm-gpu' (bit-exact kernels against the CPU oracle)
#   kernels.json      npm run bench:kernels -- --json (1 GiB payload: the binding limit allows it)
#   kernels.txt       the same as a table (stderr included), run only if time is left
# Each step has its own time limit so that a hang in one still leaves the others' results.
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
start=$SECONDS
left() { echo $(( 470 - (SECONDS - start) )); }

{
  nvidia-smi 2>&1 | head -20 || true
  node --version
  node -e "import('webgpu').then(async ({ create, globals }) => { Object.assign(globalThis, globals); const a = await create(['disable-dawn-features=timestamp_quantization']).requestAdapter(); console.log(JSON.stringify({ info: a?.info, features: [...(a?.features ?? [])], maxStorageBufferBindingSize: a?.limits.maxStorageBufferBindingSize })); })"
} > "$OUT/gpu-info.txt" 2>&1

timeout 200 node test/run.mjs 'test/(gpu-|comm-gpu)' > "$OUT/suites.txt" 2>&1
echo "suites: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/suites.txt"

timeout "$(left)" node --import ./test/register.mjs bench/kernels.ts --json > "$OUT/kernels.json" 2> "$OUT/kernels.stderr.txt"
echo "kernels --json: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/kernels.stderr.txt"

if [ "$(left)" -gt 90 ]; then
  timeout "$(left)" node --import ./test/register.mjs bench/kernels.ts --runs 3 > "$OUT/kernels.txt" 2>&1
  echo "kernels table: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/kernels.txt"
fi
tail -3 "$OUT/suites.txt"
