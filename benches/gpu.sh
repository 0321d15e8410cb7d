#!/usr/bin/env bash
# The SVGP training step on a GPU, ours against JAX and GPyTorch on CUDA, in one run: rounds of
# our `vi-bench svgp --device wgpu --quick` (a plain `wgpu` build and, when it is there, a
# `wgpu,fusion` build) interleaved with `peers/svgp_jax_cuda.py`, then GPyTorch once
# (`peers/svgp_gpytorch_cuda.py`, 10–60× slower than JAX there), then `vi-bench compare` tables.
#
#   cargo build --release -p vi-benches --features wgpu
#   cargo build --release -p vi-benches --features wgpu,fusion --target-dir target/fusion  # optional
#   bash benches/gpu.sh OUT_DIR [SHARED_DIR]
#
# SHARED_DIR (default ../shared) holds peers/data/svgp_train.csv. Environment: VI_BENCH and
# VI_BENCH_FUSION (the two binaries, defaults as built above, or built elsewhere and copied to a
# GPU machine without Rust, stripped; a missing fusion build is skipped), PYTHON (default python3, with jax on CUDA, numpyro, torch and gpytorch),
# ROUNDS (default 2). Writes OUT_DIR/{ours-wgpu,ours-wgpu-fusion,jax-cuda}-ROUND.jsonl,
# gpytorch-cuda.jsonl, peers.jsonl (the last JAX round and GPyTorch) and compare.md.
set -euo pipefail

out=${1:?usage: bash benches/gpu.sh OUT_DIR [SHARED_DIR]}
shared=${2:-../shared}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
plain=${VI_BENCH:-$root/target/release/vi-bench}
fusion=${VI_BENCH_FUSION:-$root/target/fusion/release/vi-bench}
python=${PYTHON:-python3}
rounds=${ROUNDS:-2}
data="$shared/peers/data/svgp_train.csv"

[[ -x $plain ]] || { echo "gpu.sh: no $plain (build it first, see the header)" >&2; exit 2; }
[[ -f $data ]] || { echo "gpu.sh: no $data (give SHARED_DIR)" >&2; exit 2; }
builds=(wgpu)
[[ -x $fusion ]] && builds+=(wgpu-fusion)
mkdir -p "$out"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} PYTHONUNBUFFERED=1

for round in $(seq 1 "$rounds"); do
    for build in "${builds[@]}"; do
        bin=$plain
        [[ $build == wgpu-fusion ]] && bin=$fusion
        echo "== round $round: ours ($build)"
        "$bin" svgp --device wgpu --quick --shared "$shared" --json "$out/ours-$build-$round.jsonl"
    done
    echo "== round $round: JAX (CUDA)"
    "$python" "$here/peers/svgp_jax_cuda.py" "$data" | tee "$out/jax-cuda-$round.jsonl"
done
echo "== GPyTorch (CUDA)"
"$python" "$here/peers/svgp_gpytorch_cuda.py" "$data" | tee "$out/gpytorch-cuda.jsonl"

cat "$out/jax-cuda-$rounds.jsonl" "$out/gpytorch-cuda.jsonl" > "$out/peers.jsonl"
for build in "${builds[@]}"; do
    for round in $(seq 1 "$rounds"); do
        echo "### ours ($build), round $round"
        "$plain" compare "$out/peers.jsonl" "$out/ours-$build-$round.jsonl"
        echo
    done
done | tee "$out/compare.md"
