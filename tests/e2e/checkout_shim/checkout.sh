#!/usr/bin/env bash
# Body of the actions/checkout stand-in (see action.yml beside this file for why it exists).
# Inputs come in as SHIM_* env vars; the repository to check out is the local folder
# $DD_E2E_SOURCE_REPO, fetched over file:// so that shallow fetches behave as on GitHub.
set -euo pipefail

fail() {
  echo "::error title=actions/checkout shim::$*"
  exit 1
}

src=${DD_E2E_SOURCE_REPO:-}
[[ -n $src ]] || fail "DD_E2E_SOURCE_REPO is not set: run this workflow through tests/e2e/act.py"
src=$(cd "$src" && pwd -P) || fail "DD_E2E_SOURCE_REPO=$DD_E2E_SOURCE_REPO is not a folder"
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || fail "$src is not a git repository"

if [[ -n ${SHIM_REPOSITORY:-} && ${SHIM_REPOSITORY,,} != "${GITHUB_REPOSITORY,,}" ]]; then
  fail "only the repository under test ($GITHUB_REPOSITORY) can be checked out, not $SHIM_REPOSITORY"
fi

depth=${SHIM_FETCH_DEPTH:-1}
[[ $depth =~ ^[0-9]+$ ]] || fail "fetch-depth must be a number, got '$depth'"

in_src() { git -C "$src" "$@"; }
resolves() { in_src rev-parse --verify --quiet "$1^{commit}" >/dev/null; }

# What to check out: kind (branch, tag, ref or sha), its short name and the commit.
ref=${SHIM_REF:-}
if [[ -z $ref ]]; then
  # actions/checkout's default: the event's commit, on its branch for a branch ref.
  commit=${GITHUB_SHA:-}
  resolves "$commit" || fail "GITHUB_SHA '$commit' is not a commit of $src"
  if [[ ${GITHUB_REF:-} == refs/heads/* ]] && resolves "$GITHUB_REF"; then
    kind=branch name=${GITHUB_REF#refs/heads/}
  else
    kind=sha name=$commit
  fi
elif [[ $ref =~ ^[0-9a-fA-F]{40}$ ]]; then
  resolves "$ref" || fail "commit $ref is not in $src"
  kind=sha name=$ref
elif [[ $ref == refs/heads/* ]] && resolves "$ref"; then
  kind=branch name=${ref#refs/heads/}
elif [[ $ref == refs/tags/* ]] && resolves "$ref"; then
  kind=tag name=${ref#refs/tags/}
elif [[ $ref == refs/* ]] && resolves "$ref"; then
  kind=ref name=$ref
elif resolves "refs/heads/$ref"; then
  kind=branch name=$ref
elif resolves "refs/tags/$ref"; then
  kind=tag name=$ref
else
  fail "ref '$ref' is not a branch, tag, ref or full sha of $src"
fi
if [[ -z ${commit:-} ]]; then
  case $kind in
    branch) commit=$(in_src rev-parse "refs/heads/$name^{commit}") ;;
    tag) commit=$(in_src rev-parse "refs/tags/$name^{commit}") ;;
    *) commit=$(in_src rev-parse "$name^{commit}") ;;
  esac
fi

dest=$GITHUB_WORKSPACE
[[ -n ${SHIM_PATH:-} ]] && dest=$GITHUB_WORKSPACE/$SHIM_PATH
mkdir -p "$dest"
cd "$dest"
git init --quiet
git remote add origin "file://$src"

refspecs=()
case $kind in
  branch) refspecs+=("+$commit:refs/remotes/origin/$name") ;;
  tag) refspecs+=("+$commit:refs/tags/$name") ;;
  ref) refspecs+=("+$commit:refs/remotes/${name#refs/}") ;;
  sha) refspecs+=("$commit") ;;
esac
if [[ $depth == 0 ]]; then
  # Full history: every branch and tag first, as actions/checkout does with fetch-depth: 0.
  git fetch --quiet --prune --no-recurse-submodules origin \
    '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*'
  git fetch --quiet --no-recurse-submodules origin "${refspecs[@]}"
else
  if [[ ${SHIM_FETCH_TAGS:-false} == true ]]; then
    refspecs+=('+refs/tags/*:refs/tags/*')
  fi
  git fetch --quiet --no-tags --no-recurse-submodules --depth="$depth" origin "${refspecs[@]}"
fi

if [[ $kind == branch ]]; then
  git checkout --quiet --force -B "$name" "refs/remotes/origin/$name"
else
  git checkout --quiet --force --detach "$commit"
fi

echo "actions/checkout shim: $kind $name at $(git rev-parse HEAD) from $src (fetch-depth $depth)"
{
  echo "ref=$name"
  echo "commit=$(git rev-parse HEAD)"
} >>"$GITHUB_OUTPUT"
