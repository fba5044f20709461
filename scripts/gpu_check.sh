#!/usr/bin/env bash
# Ghostpen on a GPU (issue 15): build llama-cpp-python with CUDA, then compare the engine on
# the CPU and the GPU, run `complete` and the headless bench with GPU layers, and print one
# summary. Run from anywhere; Ghostpen runs from this checkout (PYTHONPATH, nothing installed).
#
#   scripts/gpu_check.sh [--arch 90-real] [--llama-src DIR | --llama-version 0.3.36]
#                        [--target DIR] [--no-build] [--gpu-layers N] [--model GGUF]
#                        [--quick] [--python PY] [--out DIR]
#
#   --arch A         CUDA architecture (90, 9.0 or 90-real); default: what nvidia-smi reports
#   --llama-src DIR  build from this source tree (made by /work/shared/gpu/prepare-payload.sh
#                    on a machine with pip; its whl/ folder beside it is installed too);
#                    default: the llama-cpp-python sdist from pip
#   --target DIR     where the CUDA build is installed (default: OUT/site)
#   --no-build       use the llama_cpp already importable (a CPU build: use --gpu-layers 0)
#   --gpu-layers N   layers on the GPU, -1 = all (default); 0 compares the CPU with itself
#   --model GGUF     a model for every step (default: the bench's random GPT-2 124M,
#                    Q8_0 and F16 for the comparison, Q8_0 for complete and the bench)
#   --quick          small sizes (a try of the script, not figures)
#   --out DIR        logs and JSON (default: a new folder under /tmp)
#
# Exit status 0 when every step ran and every target was met, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
arch=""
llama_src=""
llama_version=0.3.36
target=""
build=1
gpu_layers=-1
model=""
quick=0
out=""

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "gpu_check: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --llama-src) llama_src=${2:?--llama-src needs a folder}; shift 2 ;;
    --llama-version) llama_version=${2:?--llama-version needs a value}; shift 2 ;;
    --target) target=${2:?--target needs a folder}; shift 2 ;;
    --no-build) build=0; shift ;;
    --gpu-layers) gpu_layers=${2:?--gpu-layers needs a number}; shift 2 ;;
    --model) model=${2:?--model needs a file}; shift 2 ;;
    --quick) quick=1; shift ;;
    --python) python=${2:?--python needs an interpreter}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $gpu_layers =~ ^(-1|[0-9]+)$ ]] || die "--gpu-layers must be -1 (all), 0 or more, got $gpu_layers"
[[ -z $llama_src || -d $llama_src ]] || die "--llama-src $llama_src: no such folder"
[[ -z $model || -f $model ]] || die "--model $model: no such file"
given_model=""
[[ -n $model ]] && model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model") && given_model=$model
out=${out:-$(mktemp -d /tmp/ghostpen-gpu-check.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

step_names=()
step_results=()

# run_step NAME COMMAND...: show and log the command's output; record ok or FAILED; go on.
run_step() {
  local name=$1; shift
  local log
  log="$out/step$(( ${#step_names[@]} + 1 ))-${name//[^A-Za-z0-9]/-}.log"
  echo
  echo "== $name"
  echo "\$ $*"
  set +e
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  step_names+=("$name")
  if [[ $rc -eq 0 ]]; then
    step_results+=("ok")
  elif grep -q "targets MISSED" "$log"; then
    step_results+=("ran; targets MISSED (see the summary below and $log)")
  elif grep -q "unrecognized arguments" "$log"; then
    step_results+=("FAILED (exit $rc): this checkout's CLI lacks an option used here; see $log")
  else
    step_results+=("FAILED (exit $rc); see $log")
  fi
}

# ---------------------------------------------------------------------------- the machine
gpu="none seen (nvidia-smi not found)"
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 \
        | head -n 1) || gpu="nvidia-smi failed: $gpu"
fi
cuda="no nvcc"
if command -v nvcc >/dev/null 2>&1; then
  cuda=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/CUDA \1/p' | head -n 1)
fi

# (a) the architecture: given, or what the GPU reports (9.0 -> 90-real)
normalize_arch() {
  local a=${1//./}
  [[ $a == *-* || $a == native || $a == all* ]] && { echo "$a"; return; }
  echo "$a-real"
}
if [[ -n $arch ]]; then
  arch=$(normalize_arch "$arch")
elif [[ $build -eq 1 ]]; then
  command -v nvidia-smi >/dev/null 2>&1 || die "no nvidia-smi to read the architecture: give --arch"
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d ' ')
  [[ $cap =~ ^[0-9]+\.[0-9]+$ ]] || die "nvidia-smi reported compute capability '$cap': give --arch"
  arch=$(normalize_arch "$cap")
fi

# (b) llama-cpp-python with CUDA, into its own folder (flash attention off: a faster build)
build_note="skipped (--no-build: the llama_cpp already importable)"
if [[ $build -eq 1 ]]; then
  target=${target:-$out/site}
  mkdir -p "$target"
  target=$(cd "$target" && pwd)
  cmake_args="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$arch -DGGML_CUDA_FA=OFF"
  cmake_args+=" -DLLAVA_BUILD=OFF -DLLAMA_BUILD_MTMD=OFF -DLLAMA_BUILD_TESTS=OFF"
  cmake_args+=" -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
  # A toolkit without libcuda.so (only the driver's libcuda.so.1): link to it for the linker.
  if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so '; then
    driver=$(ldconfig -p 2>/dev/null | sed -n 's/.*libcuda\.so\.1 .*=> \(.*\)/\1/p' | head -n 1)
    if [[ -n $driver ]]; then
      mkdir -p "$out/libcuda" && ln -sf "$driver" "$out/libcuda/libcuda.so"
      cmake_args+=" -DCMAKE_LIBRARY_PATH=$out/libcuda"
    fi
  fi
  cmake_args+=" ${EXTRA_CMAKE_ARGS:-}"
  started=$SECONDS
  if [[ -n $llama_src ]]; then
    wheels=$(dirname "$llama_src")/whl
    if compgen -G "$wheels/*.whl" >/dev/null; then
      "$python" -m pip install -q --no-index --no-deps --target "$target" "$wheels"/*.whl
    fi
    run_step "build llama-cpp-python (CUDA $arch)" env CMAKE_ARGS="$cmake_args" \
      CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$python" -m pip install --no-deps \
      --no-build-isolation --no-index --target "$target" "$llama_src"
  else
    # --no-cache-dir: a wheel cached from an earlier CPU build would otherwise be reused.
    run_step "build llama-cpp-python (CUDA $arch)" env CMAKE_ARGS="$cmake_args" \
      CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$python" -m pip install --no-deps --no-cache-dir \
      --no-binary llama-cpp-python --target "$target" "llama-cpp-python==$llama_version"
  fi
  build_note="${step_results[-1]}, $(( SECONDS - started )) s, into $target"
  export PYTHONPATH="$target${PYTHONPATH:+:$PYTHONPATH}"
fi

offload="not checked"
# A failed build stops here: the steps would run on whatever llama_cpp is installed instead.
if [[ $build -eq 0 || ${step_results[-1]} == ok ]]; then
  # (c) Ghostpen from this checkout, before any installed copy
  export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
  cd "$root"
  run_step "import" "$python" -c "import app, llama_cpp, app.core.engine, app.bench.gpu_compare
print('ghostpen from', app.__file__)
print('llama_cpp', llama_cpp.__version__, 'from', llama_cpp.__file__)
print('can offload to a GPU:', bool(llama_cpp.llama_supports_gpu_offload()))"
  offload=$("$python" -c "import app, llama_cpp; print(bool(llama_cpp.llama_supports_gpu_offload()))" \
            2>/dev/null || echo unknown)

  # The model for complete and the bench: given, or the bench's random GPT-2 124M in Q8_0.
  if [[ -z $model ]]; then
    model=$("$python" -c "from app.bench.random_model import build_gpt2_124m; print(build_gpt2_124m('Q8_0'))" \
            2>"$out/model.log") || { cat "$out/model.log" >&2; die "the random GPT-2 124M could not be built"; }
  fi

  # (d) the engine on the CPU against the GPU
  compare_args=(--gpu-layers "$gpu_layers" --json "$out/gpu_compare.json")
  [[ -n $given_model ]] && compare_args+=(--model "$given_model")
  [[ $quick -eq 1 ]] && compare_args+=(--tokens 128 --greedy 16 --repeats 1)
  run_step "compare CPU and GPU" "$python" scripts/gpu_compare.py "${compare_args[@]}"

  # (e) the command line with every layer on the GPU
  run_step "complete" "$python" -m app complete --gpu-layers "$gpu_layers" --model "$model" \
    --max-tokens 16 --timings "The ship"

  # (f) the headless bench: throughput (CPU and GPU side by side) and footprint, no Qt
  bench_args=(--no-replay --gpu-layers "$gpu_layers" --no-offline --model "$model"
              --json "$out/bench.json")
  [[ $quick -eq 1 ]] && bench_args+=(--repeats 1 --sizes 64)
  run_step "bench" "$python" -m app bench "${bench_args[@]}"
fi

# (g) one summary
echo
echo "== summary"
echo "machine: $(uname -srm), $(nproc) cores; GPU: $gpu; toolkit: $cuda"
echo "CUDA architecture: ${arch:-not needed (no build)}"
echo "build: $build_note"
echo "llama_cpp can offload to a GPU: $offload; GPU layers asked: $gpu_layers"
failed=0
for i in "${!step_names[@]}"; do
  printf '  %-40s %s\n' "${step_names[$i]}" "${step_results[$i]}"
  [[ ${step_results[$i]} == ok ]] || failed=1
done
if [[ -f $out/gpu_compare.json ]]; then
  "$python" -c "
import json, sys
from app.bench.gpu_compare import summary_line
for r in json.load(open(sys.argv[1])):
    print(summary_line(r))" "$out/gpu_compare.json" || failed=1
fi
echo "logs and JSON: $out"
exit $failed
