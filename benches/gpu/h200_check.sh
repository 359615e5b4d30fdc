#!/bin/bash
# The one device check for issue 14 (run from the repo root on the GPU machine, files in .gpu/).
# .gpu/ holds: grokscope.xz (the stripped cuda binary, xz), libcurand.so.10.xz (used only when the machine
# has no cuRAND), pytorch_transformer.py (benches/ of the fast-CPU branch), compare.py and the three TOMLs
# beside this script. Writes everything to $OUT; each step is bounded.
set -u
G=.gpu
O=${OUT:-/tmp/out}
mkdir -p "$O"
exec > >(tee "$O/log.txt") 2>&1
T0=$(date +%s)
el() { echo "[t+$(( $(date +%s) - T0 ))s] $*"; }

el "unpack"
xz -dc $G/grokscope.xz > /tmp/grokscope && chmod +x /tmp/grokscope
B=/tmp/grokscope
(readelf -d $B 2>/dev/null || echo "no readelf") | grep -E "NEEDED|readelf"

# the CUDA 13 libraries of the machine's PyTorch (cuBLAS, cudart, nvrtc); cuRAND from ours if missing
SP=$(python3 -c 'import site; print(site.getsitepackages()[0])')
LIBS=$(find "$SP/nvidia" -name 'libcublas.so.13' -printf '%h\n' 2>/dev/null | head -1)
el "cublas in: $LIBS"
if ! find "$SP/nvidia" /usr/lib /usr/local -name 'libcurand.so.10*' 2>/dev/null | grep -q .; then
  el "no libcurand.so.10 on the machine: using the one brought"
  mkdir -p /tmp/curand && xz -dc $G/libcurand.so.10.xz > /tmp/curand/libcurand.so.10
  LIBS=$LIBS:/tmp/curand
else
  CR=$(find "$SP/nvidia" /usr/lib /usr/local -name 'libcurand.so.10*' 2>/dev/null | head -1)
  el "libcurand found: $CR"; LIBS=$LIBS:$(dirname "$CR")
fi
export LD_LIBRARY_PATH=$LIBS:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,memory.used,utilization.gpu --format=csv

el "1. starts, and which device auto picks"
$B --version
timeout 60 $B bench --only transformer97 --secs 2 2>&1 | tail -3

el "2. transformer97 on the GPU (ours), GPU load sampled by nvidia-smi"
nvidia-smi dmon -s u -d 1 -c 14 > "$O/dmon_ours.txt" 2>&1 & DM=$!
timeout 90 $B bench --only transformer97 --secs 12 --device cuda 2>&1 | tee "$O/bench_ours.txt"
# not a bare wait: that would also wait for the tee of the exec line above, for ever
wait $DM
el "2b. repeat"
timeout 90 $B bench --only transformer97 --secs 8 --device cuda 2>&1 | tee -a "$O/bench_ours.txt"

el "3. PyTorch, same model, same GPU"
PYTHONUNBUFFERED=1 timeout 120 python3 $G/pytorch_transformer.py --case transformer97 --device cuda --secs 8 --variant both 2>&1 | tee "$O/bench_torch.txt"

el "4. same seed twice on the GPU, once on the CPU (tolerance)"
for r in gpu1 gpu2; do
  timeout 60 $B run --config $G/seed.toml --out /tmp/$r --device cuda 2>&1 | tail -2
done
timeout 60 $B run --config $G/seed_cpu.toml --out /tmp/cpu1 --device cpu 2>&1 | tail -2
mkdir -p "$O/seed"
for r in gpu1 gpu2 cpu1; do cp /tmp/$r/metrics.csv "$O/seed/$r.csv" 2>/dev/null; done
python3 $G/compare.py "$O/seed/gpu1.csv" "$O/seed/gpu2.csv" "$O/seed/cpu1.csv" 2>&1 | tee "$O/seed_compare.txt"

el "5. sweep throughput: one GPU thread, many GPU threads, all CPU cores"
for mode in "cuda 1" "cuda 12" "cpu 16"; do
  set -- $mode
  rm -rf /tmp/sw; s=$(date +%s.%N)
  timeout 100 $B sweep --config $G/sweep.toml --out /tmp/sw --threads $2 --device $1 > /tmp/sw.log 2>&1
  rc=$?; e=$(date +%s.%N)
  echo "sweep device=$1 threads=$2 rc=$rc wall_s=$(python3 -c "print(round($e-$s,2))") results=$(ls /tmp/sw | grep -c json)"
  tail -2 /tmp/sw.log
done | tee "$O/sweep.txt"

el "6. fallback: no GPU visible, then no CUDA libraries"
CUDA_VISIBLE_DEVICES= timeout 60 $B bench --only transformer97 --secs 2 2>&1 | tail -2
(unset LD_LIBRARY_PATH; timeout 60 $B bench --only transformer97 --secs 2 2>&1 | tail -2)
CUDA_VISIBLE_DEVICES= timeout 60 $B bench --only transformer97 --secs 1 --device cuda; echo "explicit cuda without a GPU: exit $?"
el "end"
