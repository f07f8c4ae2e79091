#!/usr/bin/env bash
# Time actions/setup/setup.sh, the first step of every action, as a runner would run it.
#
#   cold, empty uv cache  a fresh RUNNER_TEMP and a fresh UV_CACHE_DIR: what a hosted runner
#                         pays in the first action of a job (downloads every wheel)
#   cold, warm uv cache   a fresh RUNNER_TEMP each run, the uv cache kept (median)
#   warm reuse            the venv already built: every later action of the job (median)
#   cold, pip             with --pip: no uv on PATH, python -m venv + pip (one run)
#
# Targets: cold <= 3 s with uv, warm <= 0.3 s. uv is taken from PATH, else .venv/bin/uv.
#
#   bash benchmarks/bootstrap.sh [--runs N] [--pip]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

runs=7
with_pip=
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --pip) with_pip=1; shift ;;
    *) echo "usage: $0 [--runs N] [--pip]" >&2; exit 2 ;;
  esac
done

uv=$(command -v uv || echo "$root/.venv/bin/uv")
[[ -x $uv ]] || { echo "no uv on PATH and no .venv/bin/uv: run tests/run.sh first" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/uvbin" "$scratch/nouv"
ln -s "$uv" "$scratch/uvbin/uv"
# PATH without any uv, for --pip: drop every PATH entry that holds one.
no_uv_path=
IFS=: read -r -a path_entries <<<"$PATH"
for entry in "${path_entries[@]}"; do
  [[ -x $entry/uv ]] || no_uv_path=${no_uv_path:+$no_uv_path:}$entry
done

now() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}

# Runs setup.sh once in RUNNER_TEMP=$1 with PATH=$2 (plus extra VAR=value arguments) and prints
# the seconds it took.
time_setup() {
  local runner_temp=$1 path=$2 start end
  shift 2
  : >"$scratch/github_env"
  start=$(now)
  env -u DD_VENV -u DD_SETUP_PYTHON PATH="$path" RUNNER_TEMP="$runner_temp" \
    GITHUB_ENV="$scratch/github_env" "$@" bash "$root/actions/setup/setup.sh" >"$scratch/log" 2>&1 ||
    { cat "$scratch/log" >&2; exit 1; }
  end=$(now)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "setup.sh with $("$uv" --version), $(python3 --version)"

mkdir "$scratch/cold-empty"
cold_empty=$(time_setup "$scratch/cold-empty" "$scratch/uvbin:$PATH" UV_CACHE_DIR="$scratch/uv-cache")
printf '%-32s %8s s\n' "cold, empty uv cache:" "$cold_empty"

cold_times=()
for i in $(seq "$runs"); do
  mkdir "$scratch/cold-$i"
  cold_times+=("$(time_setup "$scratch/cold-$i" "$scratch/uvbin:$PATH" UV_CACHE_DIR="$scratch/uv-cache")")
done
printf '%-32s %8s s   (median of %d)\n' "cold, warm uv cache:" "$(printf '%s\n' "${cold_times[@]}" | median)" "$runs"

warm_times=()
for i in $(seq "$runs"); do
  warm_times+=("$(time_setup "$scratch/cold-1" "$scratch/uvbin:$PATH")")
done
printf '%-32s %8s s   (median of %d)\n' "warm reuse:" "$(printf '%s\n' "${warm_times[@]}" | median)" "$runs"

if [[ -n $with_pip ]]; then
  mkdir "$scratch/cold-pip"
  printf '%-32s %8s s\n' "cold, pip (no uv):" "$(time_setup "$scratch/cold-pip" "$no_uv_path")"
fi
