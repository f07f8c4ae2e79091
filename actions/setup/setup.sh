#!/usr/bin/env bash
# The Python environment every Dual Deploy Guard action runs in: a venv holding the hash-locked
# runtime dependencies (requirements/runtime.txt) and nothing else. The dualdeploy package is not
# installed into it: the run step imports it straight from the action's checkout with PYTHONPATH,
# which saves a wheel build per job and means the code that runs is the code at the action's ref.
#
# Each actions/<name>/action.yml starts with these two steps:
#
#   runs:
#     using: composite
#     steps:
#       - name: Set up Dual Deploy Guard
#         shell: bash
#         run: bash "$GITHUB_ACTION_PATH/../setup/setup.sh"
#       - name: Run dualdeploy <name>
#         shell: bash
#         env:
#           PYTHONPATH: ${{ github.action_path }}/../../src
#           PYTHONSAFEPATH: "1"
#           DD_SOME_INPUT: ${{ inputs.some-input }}
#         run: |
#           "$DD_PYTHON" -m dualdeploy <name>
#
# The top-level action.yml, whose action_path is the repository root, uses
# "$GITHUB_ACTION_PATH/actions/setup/setup.sh" and ${{ github.action_path }}/src instead; the
# script finds the root from its own location, so either way works.
#
# Why this shape:
# - `${{ github.action_path }}` is only in `env:`, never in `run:` (STYLE.md rule 4; zizmor). In
#   a composite step the runner sets $GITHUB_ACTION_PATH to actions/<name>, so the setup script
#   is its sibling ../setup and the package is ../../src.
# - PYTHONPATH comes from the step's own action_path rather than from $DD_ROOT, so each action
#   runs the code of its own checkout even when actions of two versions share a job.
# - `python -m` puts the working directory (the user's repository) first on sys.path, where a
#   top-level yaml.py or github/__init__.py would shadow the real package. PYTHONSAFEPATH=1 turns
#   that off on Python 3.11+ (3.10 ignores it).
#
# What this script does:
# - The venv lives in $RUNNER_TEMP/dualdeploy-<version>-<hash>: <version> is the suite's version
#   in pyproject.toml and <hash> the SHA-256 of requirements/runtime.txt (and of DD_SETUP_PYTHON
#   when set). A new version or a new lock gets a new venv; actions of one version in one job
#   share it. RUNNER_TEMP is emptied for every job, so nothing outlives the job.
# - The venv is trusted only once its marker file, written last, exists. A cancelled job leaves
#   a directory without it, which the next run removes and builds again. Steps of a job run one
#   after another, so two builds never race for the same directory.
# - The build uses uv when it is on PATH (about a second, downloads included), otherwise
#   `python -m venv` and pip. Either way --require-hashes, --no-deps (the lock lists every
#   package) and --only-binary :all: (no sdist builds: they are slow and run code at install).
# - It writes DD_PYTHON (the venv's interpreter) and DD_ROOT (the suite's checkout) to
#   $GITHUB_ENV. It never prints or reads a secret.
#
# Environment:
#   DD_SETUP_PYTHON  interpreter to build the venv from (default: python3, else python). 3.10+.
#   DD_VENV          an existing venv to use as is: nothing is created or installed. The
#                    project's end-to-end tests point it at the test venv, so each e2e run skips
#                    the package index and tests the dependencies already installed there; a
#                    self-hosted runner without index access can point it at a prepared venv.
#   RUNNER_TEMP      where venvs go (set by the runner; default $TMPDIR or /tmp).
set -euo pipefail

in_group=
die() {
  if [[ -n $in_group ]]; then echo "::endgroup::"; fi
  echo "::error title=Dual Deploy Guard setup::$*"
  exit 1
}

# The interpreter of a venv: bin/python, or Scripts/python.exe on Windows.
venv_python() {
  if [[ -x $1/bin/python ]]; then
    echo "$1/bin/python"
  elif [[ -x $1/Scripts/python.exe ]]; then
    echo "$1/Scripts/python.exe"
  fi
}

export_env() {
  if [[ -n ${GITHUB_ENV:-} ]]; then
    printf 'DD_PYTHON=%s\nDD_ROOT=%s\n' "$1" "$root" >>"$GITHUB_ENV"
  else
    printf 'DD_PYTHON=%s\nDD_ROOT=%s\n' "$1" "$root"
  fi
}

script_dir=${BASH_SOURCE[0]%/*}
[[ $script_dir == "${BASH_SOURCE[0]}" ]] && script_dir=.
root=$(cd "$script_dir/../.." && pwd)
requirements=$root/requirements/runtime.txt

if [[ -n ${DD_VENV:-} ]]; then
  python=$(venv_python "$DD_VENV")
  [[ -n $python ]] || die "DD_VENV=$DD_VENV is not a virtual environment (no bin/python or Scripts/python.exe in it). Point it at an existing venv, or unset it to let the action build its own."
  echo "Dual Deploy Guard: using the environment in DD_VENV ($DD_VENV)"
  export_env "$python"
  exit 0
fi

[[ -f $requirements ]] || die "$requirements is missing: the action's checkout is incomplete."
version=
while IFS= read -r line || [[ -n $line ]]; do
  case $line in
    version*=*\"*)
      version=${line#*\"}
      version=${version%%\"*}
      break
      ;;
  esac
done <"$root/pyproject.toml"
[[ -n $version ]] || die "no version = \"...\" line in $root/pyproject.toml: the action's checkout is incomplete."
version=${version//[^A-Za-z0-9._+-]/_}

if command -v sha256sum >/dev/null 2>&1; then
  sha256=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then
  sha256=(shasum -a 256)
else
  sha256=(openssl dgst -sha256 -r)
fi
digest=$({ cat "$requirements"; printf '%s' "${DD_SETUP_PYTHON:-}"; } | "${sha256[@]}")
key=$version-${digest:0:16}
venv=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
venv=${venv%/}/dualdeploy-$key
marker=$venv/.dualdeploy-complete

if [[ -f $marker ]]; then
  python=$(venv_python "$venv")
  if [[ -n $python ]]; then
    echo "Dual Deploy Guard: reusing the Python environment in $venv"
    export_env "$python"
    exit 0
  fi
fi

python=${DD_SETUP_PYTHON:-}
if [[ -z $python ]]; then
  python=$(command -v python3 || command -v python || true)
  [[ -n $python ]] || die "no python3 on PATH. Add a step with actions/setup-python (3.10 or newer) before this action, or set DD_SETUP_PYTHON to an interpreter."
elif ! command -v "$python" >/dev/null 2>&1; then
  die "DD_SETUP_PYTHON=$python is not an interpreter on this runner. Set it to the path or name of a Python 3.10+ executable, or unset it to use python3 from PATH."
fi
# Also proves the interpreter runs at all; the message names what was found.
if ! python_version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3]); sys.exit(sys.version_info < (3, 10))' 2>&1); then
  die "Dual Deploy Guard needs Python 3.10 or newer, but $python is ${python_version:-not a working interpreter}. Add a step with actions/setup-python (python-version: '3.12') before this action, or set DD_SETUP_PYTHON to a 3.10+ interpreter."
fi

echo "::group::Dual Deploy Guard: creating the Python environment in $venv (Python $python_version)"
in_group=1
if [[ -e $venv ]]; then
  echo "Removing an incomplete environment left by an interrupted run."
  rm -rf "$venv"
fi
if command -v uv >/dev/null 2>&1; then
  # --no-config: the user's repository (the working directory) may configure uv for its own needs.
  uv venv --no-config --quiet --python "$python" "$venv" ||
    die "uv could not create a virtual environment with $python (see the log above)."
  new_python=$(venv_python "$venv")
  [[ -n $new_python ]] || die "the new environment in $venv has no interpreter."
  uv pip install --no-config --python "$new_python" --require-hashes --no-deps --only-binary :all: --compile-bytecode \
    --requirement "$requirements" ||
    die "uv could not install the action's dependencies (see the log above). Check that the runner reaches the package index (UV_INDEX_URL for a mirror) and that Python $python_version has wheels for them; Python 3.10 to 3.14 do."
else
  "$python" -m venv "$venv" ||
    die "$python could not create a virtual environment (see the log above). On Debian or Ubuntu install python3-venv, or use actions/setup-python or astral-sh/setup-uv before this action."
  new_python=$(venv_python "$venv")
  [[ -n $new_python ]] || die "the new environment in $venv has no interpreter."
  "$new_python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
    --require-hashes --no-deps --only-binary :all: --requirement "$requirements" ||
    die "pip could not install the action's dependencies (see the log above). Check that the runner reaches the package index (PIP_INDEX_URL for a mirror) and that Python $python_version has wheels for them; Python 3.10 to 3.14 do."
fi
printf '%s\n' "$key" >"$marker.tmp"
mv "$marker.tmp" "$marker"
echo "::endgroup::"
in_group=

export_env "$new_python"
