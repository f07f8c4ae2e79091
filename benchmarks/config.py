"""What reading the config costs `detect`, which loads it on every run.

Prints the medians of fresh processes (as in a workflow, bytecode already written), each after
what `detect` imports anyway: the whole first `parse_config` of a 100-component file (YAML,
fastjsonschema's import, compiling the schema once, validating, globs, references), and apart,
the import, the compilation, and the rest of that first `parse_config`.

    .venv/bin/python benchmarks/config.py [--components 100] [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys, time
import dualdeploy.cli, dualdeploy.jobs.detect  # what detect imports before it reads the config
from dualdeploy import config
text = sys.stdin.read()
if sys.argv[1] == "parts":
    started = time.perf_counter()
    import fastjsonschema
    imported = time.perf_counter()
    config._schema_validator()
    compiled = time.perf_counter()
    config.parse_config(text, "dual-deploy.yml")
    parsed = time.perf_counter()
    print(json.dumps({"import": imported - started, "compile": compiled - imported, "again": parsed - compiled}))
else:
    started = time.perf_counter()
    config.parse_config(text, "dual-deploy.yml")
    print(json.dumps({"first": time.perf_counter() - started}))
"""


def config_text(components: int) -> str:
    lines = ["version: 1", "components:"]
    for index in range(components):
        lines += [
            f"  svc{index}:",
            f"    deploy: {'manual' if index % 2 else 'auto'}",
            f'    paths: ["services/svc{index}/**", "!services/svc{index}/**/*.md", "libs/svc{index}/*/src/**"]',
            f"    uses: [group{index % 10}]",
            '    owners: ["@acme/team"]',
        ]
    lines.append("shared:")
    lines += [f'  group{group}: ["shared/group{group}/**"]' for group in range(10)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    options = parser.parse_args()
    text = config_text(options.components)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs: list[dict[str, float]] = []
    for index in range(options.runs + 1):  # the first round writes bytecode and is not counted
        round_ = {}
        for mode in ("parts", "whole"):
            result = subprocess.run(
                [sys.executable, "-c", PROBE, mode], input=text, capture_output=True, text=True, env=env, check=True
            )
            round_.update(json.loads(result.stdout))
        if index:
            runs.append(round_)

    def median_ms(key: str) -> str:
        return f"{1000 * statistics.median(run[key] for run in runs):.1f} ms"

    print(f"config: {options.components} components, {options.runs} fresh processes (medians)")
    print(f"import fastjsonschema: {median_ms('import')}")
    print(f"compile the schema (once per process): {median_ms('compile')}")
    print(f"first parse_config, all of it: {median_ms('first')}")
    print(f"the rest of that parse_config (YAML, validation, globs, references): {median_ms('again')}")


if __name__ == "__main__":
    main()
