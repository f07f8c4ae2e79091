"""The root action.yml offers every job of the suite: the same inputs, env variables and outputs as
the actions under actions/, so `uses: dualdeploy/dual-deploy-guard@v1` with `command:` is complete."""

import re
from pathlib import Path

import pytest
import yaml

from dualdeploy.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
ACTIONS = sorted((ROOT / "actions").glob("*/action.yml"))
JOB_ACTIONS = [path for path in ACTIONS if path.parent.name != "setup"]
COMMANDS = {
    "detect-agent-impact": "detect",
    "post-deploy-sync-check": "sync-check",
    "step-summary-dashboard": "status",
    "record-deployment": "record",
    "monitor-agents": "monitor",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def run_step(action: dict) -> dict:
    return next(step for step in action["runs"]["steps"] if "dualdeploy" in step.get("run", "") and "env" in step)


@pytest.mark.parametrize("path", JOB_ACTIONS, ids=lambda path: path.parent.name)
def test_root_action_has_every_input_env_and_output(path: Path) -> None:
    root, action = load(ROOT / "action.yml"), load(path)
    assert set(action.get("inputs", {})) <= set(root["inputs"])
    assert set(action.get("outputs", {})) <= set(root["outputs"])
    root_env, env = run_step(root)["env"], run_step(action)["env"]
    for name, value in env.items():
        if name.startswith("DD_"):
            assert root_env.get(name) == value, f"{name} differs in action.yml"


@pytest.mark.parametrize("path", JOB_ACTIONS, ids=lambda path: path.parent.name)
def test_each_action_runs_its_own_command(path: Path) -> None:
    assert run_step(load(path))["run"].split()[-1] == COMMANDS[path.parent.name]


def test_every_command_the_root_action_names_exists() -> None:
    description = load(ROOT / "action.yml")["inputs"]["command"]["description"]
    parser = build_parser()
    for command in COMMANDS.values():
        assert command in description
        required = ["--component", "tenant-agent"] if command == "record" else []
        assert parser.parse_args([command, *required]).job


def variables_read_by_the_cli() -> set[str]:
    """DD_* names the code reads: quoted literally, or derived from a `_switch(parser, "name", ...)`."""
    read = set()
    for source in (ROOT / "src/dualdeploy").rglob("*.py"):
        text = source.read_text()
        read.update(re.findall(r'"(DD_[A-Z_]+)"', text))
        read.update("DD_" + name.upper().replace("-", "_") for name in re.findall(r'_switch\(\w+, "([\w-]+)"', text))
    return read


@pytest.mark.parametrize("path", [ROOT / "action.yml", *JOB_ACTIONS], ids=lambda path: str(path.relative_to(ROOT)))
def test_every_dd_variable_is_read_by_the_cli(path: Path) -> None:
    """A DD_* variable that no option reads would be an input silently ignored."""
    passed = {name for name in run_step(load(path))["env"] if name.startswith("DD_")}
    unread = passed - variables_read_by_the_cli() - {"DD_COMMAND"}
    assert not unread, f"{path.name}: no option reads {sorted(unread)}"
