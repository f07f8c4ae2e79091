import dataclasses
import json
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import jsonschema
import pytest
import yaml

from dualdeploy.config import (
    DEFAULT_CONFIG_PATH,
    Component,
    Config,
    DeployedSource,
    DocsSettings,
    MonitorSettings,
    SharedGroup,
    SlackSettings,
    load_config,
    parse_config,
)
from dualdeploy.errors import EXIT_USAGE, ConfigError, DualDeployError
from dualdeploy.patterns import FilterSet

ROOT = Path(__file__).parents[1]
CONFIGS = ROOT / "tests/data/configs"
SCHEMA_FILE = ROOT / "schema/dual-deploy.schema.json"
VALID_FILES = [
    CONFIGS / "full.yml",
    CONFIGS / "minimal.yml",
    ROOT / "examples/monorepo/.github/dual-deploy.yml",
]
INVALID_FILES = sorted(CONFIGS.glob("invalid-*.yml"))
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), "cfg.yml")
    return caught.value


# Loading a valid file


def test_full_config_loads_into_dataclasses() -> None:
    config = load_config(CONFIGS / "full.yml", display_path="cfg.yml")
    assert config == Config(
        path="cfg.yml",
        components=(
            Component(
                name="api",
                deploy="auto",
                paths=("server/**", "!server/src/agent-v2/**"),
                description="REST API, deployed by CI on every merge",
                deployed=DeployedSource("github-deployment", environment="api"),
                line=5,
            ),
            Component(
                name="tenant-agent",
                deploy="manual",
                paths=("server/src/agent-v2/deploy/tenant/**",),
                uses=("agent-shared",),
                deploy_workflow="deploy-agents.yml",
                owners=("@org/agents-team", "@alice"),
                description="Tenant-facing agent",
                deployed=DeployedSource("github-deployment", environment="tenant-production"),
                line=9,
            ),
            Component(
                name="support-agent",
                deploy="manual",
                paths=("server/src/agent-v2/deploy/support/**",),
                uses=("agent-shared",),
                deploy_workflow="deploy-agents.yaml",
                deployed=DeployedSource("workflow", workflow="deploy-agents.yaml", job="deploy (support-agent)"),
                line=18,
            ),
            Component(
                name="billing.agent_v2",
                deploy="manual",
                paths=(
                    "server/src/agent-v2/deploy/billing/**",
                    "!server/src/agent-v2/deploy/billing/**/*.test.ts",
                ),
                uses=("agent-shared", "billing-contracts"),
                deployed=DeployedSource("url", url="https://billing.example.com/version", field="git.sha"),
                line=26,
            ),
        ),
        shared=(
            SharedGroup("agent-shared", ("packages/contracts/src/**", "server/src/lib/**"), line=36),
            SharedGroup("billing-contracts", ("packages/billing/**",), line=37),
        ),
        slack=SlackSettings(webhook_secret="SLACK_WEBHOOK_URL", mention="<!subteam^S123>"),
        monitor=MonitorSettings(max_age_minutes=90, issue_mode="per-component", assignees=("alice", "bob-2")),
        docs=DocsSettings(quick_reference="handbook/DEPLOY_QUICK_REFERENCE.md", onboarding="docs/ONBOARDING.md"),
    )
    assert [component.manual for component in config.components] == [False, True, True, True]
    assert [component.name for component in config.manual_components()] == [
        "tenant-agent",
        "support-agent",
        "billing.agent_v2",
    ]


def test_minimal_config_gets_defaults() -> None:
    config = parse_config(
        textwrap.dedent("""\
        version: 1
        components:
          tenant-agent:
            deploy: manual
            paths: ["agent/**"]
        """),
        "cfg.yml",
    )
    (agent,) = config.components
    # Without `deployed`, the deployed commit is the latest GitHub deployment to the environment
    # named like the component.
    assert agent.deployed == DeployedSource("github-deployment", environment="tenant-agent")
    assert agent.deploy_workflow is None and agent.uses == () and agent.owners == () and agent.description == ""
    assert config.shared == () and config.slack is None
    assert config.monitor == MonitorSettings(max_age_minutes=60, issue_mode="single", assignees=())
    assert config.docs == DocsSettings(
        quick_reference="docs/solutions/patterns/DUAL_DEPLOYMENT_QUICK_REFERENCE.md", onboarding="docs/ONBOARDING.md"
    )


def test_yaml_conveniences_work() -> None:
    config = parse_config(
        textwrap.dedent("""\
        # comments, anchors and merge keys are plain YAML
        version: 1
        components:
          tenant-agent: &agent
            deploy: manual
            paths: ["agent/tenant/**"]
            owners: &owners ["@org/agents"]
          support-agent:
            <<: *agent
            paths: ["agent/support/**"]
          "123":
            deploy: auto
            paths: [web/**]
            owners: *owners
        """),
        "cfg.yml",
    )
    assert [(c.name, c.deploy, c.paths, c.owners, c.line) for c in config.components] == [
        ("tenant-agent", "manual", ("agent/tenant/**",), ("@org/agents",), 4),
        ("support-agent", "manual", ("agent/support/**",), ("@org/agents",), 8),
        ("123", "auto", ("web/**",), ("@org/agents",), 11),
    ]


def test_lookups_and_filters() -> None:
    config = load_config(CONFIGS / "full.yml")
    assert config.path == str(CONFIGS / "full.yml")
    assert config.component("support-agent").deploy_workflow == "deploy-agents.yaml"
    assert config.shared_group("billing-contracts").paths == ("packages/billing/**",)
    filters = config.filters()
    assert list(filters) == [
        "component:api",
        "component:tenant-agent",
        "component:support-agent",
        "component:billing.agent_v2",
        "shared:agent-shared",
        "shared:billing-contracts",
    ]
    assert filters["component:api"] == ("server/**", "!server/src/agent-v2/**")
    assert FilterSet(filters).match_path("server/src/lib/db.ts") == ["component:api", "shared:agent-shared"]


def test_unknown_component_names_the_known_ones() -> None:
    config = load_config(CONFIGS / "full.yml", display_path=DEFAULT_CONFIG_PATH)
    with pytest.raises(DualDeployError) as caught:
        config.component("tenant-agnt")
    assert caught.value.exit_status == EXIT_USAGE
    assert str(caught.value) == (
        "no component 'tenant-agnt' in .github/dual-deploy.yml; its components are: api, tenant-agent, "
        "support-agent, billing.agent_v2; did you mean 'tenant-agent'?"
    )
    with pytest.raises(DualDeployError, match="no shared group 'nope'.*agent-shared, billing-contracts"):
        config.shared_group("nope")


# Reading the file


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / DEFAULT_CONFIG_PATH, display_path=DEFAULT_CONFIG_PATH)
    assert caught.value.exit_status == 2
    assert "no config file at .github/dual-deploy.yml" in caught.value.message
    assert "`dualdeploy init`" in caught.value.message


def test_directory_and_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(b"version: 1\ncomponents:\n  caf\xe9: {deploy: auto, paths: [a/**]}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(latin1, display_path="cfg.yml")
    assert (caught.value.file, caught.value.line, caught.value.exit_status) == ("cfg.yml", 3, 2)
    assert "not UTF-8" in caught.value.message


# Every error: file, line, key, message and exit status


class Case(NamedTuple):
    id: str
    text: str
    line: int
    key: str | None
    message: str
    # Whether the JSON schema rejects it too: True/False, or None when it is not even YAML for a
    # plain loader. False marks what only the loader can check (references, duplicates, names).
    schema_rejects: bool | None


# fmt: off
CASES = [
    # YAML itself
    Case("yaml-unquoted-star", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: [*.md]
        """, 5, None, "a pattern that starts with '*' must be quoted", None),
    Case("yaml-unclosed-flow-list", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**", !server/tests/**]
        shared: {}
        """, 6, None, "YAML syntax error", None),
    Case("yaml-tabs", """\
        version: 1
        components:
        \tapi: {}
        """, 3, None, "YAML does not allow tabs", None),
    Case("yaml-two-documents", """\
        version: 1
        ---
        version: 1
        """, 2, None, "expected a single document", None),
    Case("yaml-unquoted-exclusion-is-a-tag", """\
        version: 1
        components:
          api:
            deploy: auto
            paths:
              - server/**
              - !server/tests/**
        """, 7, "components.api.paths[1]", "'!server/tests/**' is read as a YAML tag; quote it", None),
    Case("yaml-python-tag", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
            description: !!python/object/apply:os.system ["true"]
        """, 6, "components.api.description", "YAML tags are not supported", None),
    Case("empty-file", """\
        # nothing yet
        """, 1, None, "the file is empty", True),
    Case("top-level-list", """\
        - version: 1
        """, 1, None, "the top level must be a mapping", True),
    # version
    Case("version-missing", """\
        components:
          api: {deploy: auto, paths: ["server/**"]}
        """, 1, "version", "missing 'version'; add 'version: 1'", True),
    Case("version-unsupported", """\
        version: 2
        components:
          api: {deploy: auto, paths: ["server/**"]}
        """, 1, "version", "unsupported version 2", True),
    Case("version-string", """\
        version: "1"
        components:
          api: {deploy: auto, paths: ["server/**"]}
        """, 1, "version", "'version' must be the integer 1, not a string", True),
    Case("version-comes-first-even-when-later", """\
        colour: blue
        version: 3
        """, 2, "version", "unsupported version 3", True),
    # unknown keys
    Case("unknown-top-level-key", """\
        version: 1
        component:
          api: {deploy: auto, paths: ["server/**"]}
        """, 2, "component", "unknown key 'component'; did you mean 'components'?", True),
    Case("component-outside-components", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        worker:
          deploy: auto
          paths: ["worker/**"]
        """, 4, "worker", "components go under 'components:'", True),
    Case("unknown-component-key", """\
        version: 1
        components:
          tenant-agent:
            deploy: manual
            paths: ["agent/**"]
            deploy_workflow: deploy-agents.yml
        """, 6, "components.tenant-agent.deploy_workflow",
         "unknown key 'deploy_workflow'; did you mean 'deploy-workflow'?", True),
    Case("unknown-key-without-suggestion", """\
        version: 1
        components:
          api:
            deploy: auto
            colour: blue
            paths: ["server/**"]
        """, 5, "components.api.colour", "unknown key 'colour'; expected one of: deploy, paths, uses", True),
    Case("unknown-deployed-key", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
            deployed:
              workflw: deploy.yml
        """, 7, "components.api.deployed.workflw", "did you mean 'workflow'?", True),
    Case("unknown-slack-key", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        notify:
          slack:
            webhook: SLACK_WEBHOOK_URL
        """, 6, "notify.slack.webhook", "unknown key 'webhook'; did you mean 'webhook-secret'?", True),
    Case("unknown-notify-key", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        notify:
          email: ops@example.com
        """, 5, "notify.email", "unknown key 'email'; expected one of: slack", True),
    Case("unknown-monitor-key", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        monitor:
          max_age: 30
        """, 5, "monitor.max_age", "did you mean 'max-age-minutes'?", True),
    # wrong types
    Case("string-expected", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
            description: 2024
        """, 6, "components.api.description",
         'expected a string, got an integer (2024); quote it: "2024"', True),
    Case("list-expected", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: "server/**"
        """, 5, "components.api.paths",
         'expected a list of path patterns, got a string; write ["server/**"]', True),
    Case("list-of-strings-expected", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
            owners:
              - "@alice"
              - {team: agents}
        """, 8, "components.api.owners[1]", "expected a string, got a mapping", True),
    Case("mapping-expected-for-components", """\
        version: 1
        components: [api, web]
        """, 2, "components", "expected a mapping of component names to their settings, got a list", True),
    Case("mapping-expected-for-component", """\
        version: 1
        components:
          api: auto
        """, 3, "components.api", "expected a mapping with 'deploy' and 'paths', got a string", True),
    Case("mapping-expected-for-empty-value", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        notify:
        """, 4, "notify", "expected a mapping, got nothing", True),
    Case("integer-expected", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        monitor:
          max-age-minutes: 1h
        """, 5, "monitor.max-age-minutes", "expected an integer (minutes), got a string", True),
    Case("integer-not-positive", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        monitor:
          max-age-minutes: 0
        """, 5, "monitor.max-age-minutes", "must be a positive number of minutes", True),
    # values
    Case("unknown-deploy-value", """\
        version: 1
        components:
          tenant-agent:
            deploy: manualy
            paths: ["agent/**"]
        """, 4, "components.tenant-agent.deploy",
         "unknown value 'manualy'; expected 'auto' (CI deploys it on every merge to main) or 'manual'", True),
    Case("deploy-not-a-string", """\
        version: 1
        components:
          tenant-agent:
            deploy: yes
            paths: ["agent/**"]
        """, 4, "components.tenant-agent.deploy", "got a boolean (yes)", True),
    Case("missing-deploy", """\
        version: 1
        components:
          api:
            paths: ["server/**"]
        """, 3, "components.api.deploy", "missing required key 'deploy' in 'components.api'", True),
    Case("unknown-issue-mode", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        monitor:
          issue-mode: per_component
        """, 5, "monitor.issue-mode", "did you mean 'per-component'?", True),
    # uses
    Case("uses-unknown-group", """\
        version: 1
        components:
          tenant-agent:
            deploy: manual
            paths: ["agent/**"]
            uses: [agent-shared, agent-contract]
        shared:
          agent-shared: ["packages/shared/**"]
          agent-contracts: ["packages/contracts/**"]
        """, 6, "components.tenant-agent.uses[1]",
         "no shared group 'agent-contract'; the shared groups are: agent-shared, "
         "agent-contracts; did you mean 'agent-contracts'?", False),
    Case("uses-without-shared-section", """\
        version: 1
        components:
          tenant-agent:
            deploy: manual
            paths: ["agent/**"]
            uses:
              - agent-shared
        """, 7, "components.tenant-agent.uses[0]", "the file has no 'shared:' section; add one", False),
    Case("uses-names-a-component", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
          agent: {deploy: manual, paths: ["agent/**"], uses: [api]}
        shared:
          lib: ["lib/**"]
        """, 4, "components.agent.uses[0]", "'api' is a component, not a shared group", False),
    # names
    Case("duplicate-component", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
          api:
            deploy: manual
            paths: ["api/**"]
        """, 6, "components.api", "duplicate key 'api' (first on line 3)", False),
    Case("duplicate-key-in-component", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
            deploy: manual
        """, 6, "components.api.deploy", "duplicate key 'deploy' (first on line 4)", False),
    Case("duplicate-top-level-key", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        shared:
          lib: ["lib/**"]
        shared:
          contracts: ["contracts/**"]
        """, 6, "shared", "duplicate key 'shared' (first on line 4)", False),
    Case("component-and-shared-group", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
        shared:
          agent: ["packages/agent/**"]
        """, 7, "shared.agent", "'agent' is both a component and a shared group (line 3)", False),
    Case("component-name-with-space", """\
        version: 1
        components:
          tenant agent:
            deploy: manual
            paths: ["agent/**"]
        """, 3, "components.tenant agent", "component name 'tenant agent' is not allowed", True),
    Case("shared-group-name", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        shared:
          -lib: ["lib/**"]
        """, 5, "shared.-lib", "shared group name '-lib' is not allowed", True),
    # patterns
    Case("pattern-absolute", """\
        version: 1
        components:
          api:
            deploy: auto
            paths:
              - server/**
              - /docs/**
        """, 7, "components.api.paths[1]",
         "pattern '/docs/**' can never match: paths are relative to the repository root", True),
    Case("pattern-directory", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/"]
        """, 5, "components.api.paths[0]", "use 'dir/**' for everything under a folder", True),
    Case("pattern-dot-dot", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        shared:
          lib: ["lib/**", "lib/../vendor/**"]
        """, 5, "shared.lib[1]", "'../' never appear", True),
    Case("pattern-empty", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**", ""]
        """, 5, "components.api.paths[1]", "an empty pattern matches nothing", True),
    Case("exclusion-first", """\
        version: 1
        components:
          api:
            deploy: auto
            paths:
              - "!server/tests/**"
              - server/**
        """, 6, "components.api.paths[0]", "an exclusion must follow the patterns it narrows", True),
    Case("exclusion-first-in-shared-group", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        shared:
          lib: ["!lib/tests/**"]
        """, 5, "shared.lib[0]", "an exclusion must follow the patterns it narrows", True),
    Case("component-without-paths", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: []
        """, 5, "components.api.paths", "component 'api' has no paths", True),
    Case("component-paths-missing", """\
        version: 1
        components:
          api:
            deploy: auto
        """, 3, "components.api.paths", "missing required key 'paths'", True),
    Case("shared-group-without-paths", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        shared:
          lib: []
        """, 5, "shared.lib", "shared group 'lib' has no paths", True),
    # deploy-workflow and owners
    Case("deploy-workflow-with-directory", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deploy-workflow: .github/workflows/deploy-agents.yml
        """, 6, "components.agent.deploy-workflow",
         "give the file name only, like 'deploy-agents.yml'", True),
    Case("deploy-workflow-not-yaml", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deploy-workflow: deploy-agents
        """, 6, "components.agent.deploy-workflow", "'deploy-agents' is not a workflow file name", True),
    Case("deploy-inputs-without-workflow", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deploy-inputs: {agent: tenant}
        """, 6, "components.agent.deploy-inputs", "'deploy-inputs' are the inputs of 'deploy-workflow'", True),
    Case("deploy-inputs-not-a-mapping", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deploy-workflow: deploy.yml
            deploy-inputs: [agent, tenant]
        """, 7, "components.agent.deploy-inputs", "expected a mapping of the deploy workflow's input names", True),
    Case("deploy-inputs-value-not-a-string", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deploy-workflow: deploy.yml
            deploy-inputs:
              dry-run: false
        """, 8, "components.agent.deploy-inputs.dry-run", 'expected a string, got a boolean (false); quote it: "false"',
         True),
    Case("deploy-inputs-bad-name", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deploy-workflow: deploy.yml
            deploy-inputs: {"the agent": tenant}
        """, 7, "components.agent.deploy-inputs.the agent", "'the agent' is not a workflow input name", True),
    Case("docs-path-absolute", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        docs:
          onboarding: /docs/ONBOARDING.md
        """, 5, "docs.onboarding", "'/docs/ONBOARDING.md' is not a file path in the repository", True),
    Case("docs-path-outside", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        docs:
          quick-reference: ../QUICK.md
        """, 5, "docs.quick-reference", "write it relative to the root", True),
    Case("docs-unknown-key", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        docs:
          quickreference: QUICK.md
        """, 5, "docs.quickreference", "did you mean 'quick-reference'?", True),
    Case("owner-without-at", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            owners: ["@org/agents", "alice"]
        """, 6, "components.agent.owners[1]", "'alice' is not an @-handle; write '@alice'", True),
    Case("owner-email", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            owners:
              - alice@example.com
        """, 7, "components.agent.owners[0]", "write '@user' for a person or '@org/team' for a team", True),
    # deployed
    Case("deployed-empty", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed: {}
        """, 6, "components.agent.deployed", "give exactly one of 'github-deployment: <environment>'", True),
    Case("deployed-only-job", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              job: deploy
        """, 6, "components.agent.deployed",
         "says nothing about where the deployed commit is read from", True),
    Case("deployed-two-kinds", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              github-deployment: production
              workflow: deploy.yml
        """, 8, "components.agent.deployed.workflow",
         "'github-deployment' and 'workflow' both say where the deployed commit is read from; "
         "keep one", True),
    Case("deployed-url-without-field", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              url: https://agent.example.com/version
        """, 7, "components.agent.deployed.field", "'url' needs 'field'", True),
    Case("deployed-job-without-workflow", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              github-deployment: production
              job: deploy
        """, 8, "components.agent.deployed.job", "'job' names a job of 'workflow'", True),
    Case("deployed-field-without-url", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              workflow: deploy.yml
              field: git.sha
        """, 8, "components.agent.deployed.field", "'field' is read from the JSON of 'url'", True),
    Case("deployed-url-not-http", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              url: agent.example.com/version
              field: sha
        """, 7, "components.agent.deployed.url", "is not an http(s) URL", True),
    Case("deployed-workflow-path", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              workflow: workflows/deploy.yml
        """, 7, "components.agent.deployed.workflow", "give the file name only, like 'deploy.yml'", True),
    Case("deployed-field-not-dotted-path", """\
        version: 1
        components:
          agent:
            deploy: manual
            paths: ["agent/**"]
            deployed:
              url: https://agent.example.com/version
              field: git..sha
        """, 8, "components.agent.deployed.field", "'git..sha' is not a dotted path", True),
    # no components
    Case("components-empty-mapping", """\
        version: 1
        components: {}
        """, 2, "components", "no components; add at least one", True),
    Case("components-empty-value", """\
        version: 1
        components:
        shared:
          lib: ["lib/**"]
        """, 2, "components", "no components; add at least one", True),
    Case("components-missing", """\
        version: 1
        shared:
          lib: ["lib/**"]
        """, 1, "components", "no 'components:' mapping; add one", True),
    # notify and monitor
    Case("slack-webhook-url-in-the-repo", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        notify:
          slack:
            webhook-secret: https://hooks.slack.com/services/T0/B0/x
        """, 6, "notify.slack.webhook-secret",
         "Store it as a repository secret and give the secret's name", True),
    Case("slack-webhook-secret-missing", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        notify:
          slack:
            mention: "@here"
        """, 5, "notify.slack.webhook-secret", "missing required key 'webhook-secret'", True),
    Case("assignee-with-at", """\
        version: 1
        components:
          api: {deploy: auto, paths: ["server/**"]}
        monitor:
          assignees: ["@alice"]
        """, 5, "monitor.assignees[0]", "GitHub logins without '@'; write 'alice'", True),
    # merge keys
    Case("merge-of-a-list", """\
        version: 1
        components:
          api:
            <<: [[deploy, auto]]
            paths: ["server/**"]
        """, 4, "components.api.<<", "'<<' merges mappings only", None),
    # file order: the first problem in the file wins, whichever section is checked first
    Case("first-problem-in-file-order", """\
        version: 1
        shared:
          lib: ["lib/"]
        components:
          api:
            deploy: sometimes
            paths: ["server/**"]
        """, 3, "shared.lib[0]", "can never match", True),
    Case("first-problem-in-file-order-reverse", """\
        version: 1
        components:
          api:
            deploy: sometimes
            paths: ["server/**"]
        shared:
          lib: ["lib/"]
        """, 4, "components.api.deploy", "unknown value 'sometimes'", True),
    Case("first-problem-in-file-order-within-a-component", """\
        version: 1
        components:
          api:
            owners: [alice]
            deploy: sometimes
            paths: ["server/**"]
        """, 4, "components.api.owners[0]", "'alice' is not an @-handle", True),
    Case("first-problem-in-file-order-unknown-key-last", """\
        version: 1
        components:
          api:
            deploy: auto
            paths: ["server/**"]
            owners: [alice]
          web: {deploy: auto, paths: ["web/**"], colour: blue}
        monitor:
          issue-mode: every
        """, 6, "components.api.owners[0]", "'alice' is not an @-handle", True),
    Case("unknown-key-before-a-bad-value", """\
        version: 1
        components:
          api:
            colour: blue
            deploy: sometimes
            paths: ["server/**"]
        """, 4, "components.api.colour", "unknown key 'colour'", True),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_error_points_at_file_line_and_key(case: Case) -> None:
    error = error_of(case.text)
    assert (error.file, error.line, error.key) == ("cfg.yml", case.line, case.key), error.one_line()
    assert case.message in error.message
    assert error.exit_status == 2
    assert "\n" not in error.one_line()


def test_manual_component_without_deploy_workflow_is_fine() -> None:
    config = parse_config(
        textwrap.dedent("""\
        version: 1
        components:
          agent: {deploy: manual, paths: ["agent/**"]}
        """),
        "cfg.yml",
    )
    assert config.component("agent").manual and config.component("agent").deploy_workflow is None


def test_control_character_is_reported_with_its_line() -> None:
    error = error_of('version: 1\ncomponents:\n  api: {deploy: auto, paths: ["a\x07"]}\n')
    assert (error.line, error.key) == (3, None) and "control character U+0007" in error.message


# The JSON schema describes the same shape


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda path: path.name)
def test_schema_and_loader_accept_the_valid_files(path: Path, schema_validator: jsonschema.Draft7Validator) -> None:
    load_config(path)
    assert list(schema_validator.iter_errors(yaml.safe_load(path.read_text()))) == []


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case.schema_rejects is not None],
    ids=[case.id for case in CASES if case.schema_rejects is not None],
)
def test_schema_agrees_with_the_loader(case: Case, schema_validator: jsonschema.Draft7Validator) -> None:
    document = yaml.safe_load(textwrap.dedent(case.text))
    assert schema_validator.is_valid(document) is not case.schema_rejects


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), *map(str, args)], check=False, capture_output=True, text=True, timeout=120
    )


def test_check_jsonschema_accepts_the_schema_and_the_valid_files() -> None:
    assert INVALID_FILES, "fixtures missing"
    meta = check_jsonschema("--check-metaschema", SCHEMA_FILE)
    assert meta.returncode == 0, meta.stdout + meta.stderr
    valid = check_jsonschema("--schemafile", SCHEMA_FILE, *VALID_FILES)
    assert valid.returncode == 0, valid.stdout + valid.stderr


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda path: path.name)
def test_check_jsonschema_and_loader_reject_the_invalid_files(path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(path)
    result = check_jsonschema("--schemafile", SCHEMA_FILE, path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Schema validation errors" in result.stdout + result.stderr


def test_the_schema_is_the_only_description_of_the_shape() -> None:
    """The loader validates with the schema itself, so the two cannot disagree about what is valid;
    what is left to keep in step is where valid data lands: every key the schema allows has a field
    of the same name (kebab-case to snake_case) with the schema's default, and the other way round."""
    from dualdeploy import config as module

    schema = json.loads(SCHEMA_FILE.read_text())
    assert module.schema() == schema
    component = schema["definitions"]["component"]
    deployed = component["properties"]["deployed"]
    objects = [
        (component, Component, {"name", "line"}),
        (deployed, DeployedSource, {"kind", "environment"}),
        (schema["properties"]["notify"]["properties"]["slack"], SlackSettings, set()),
        (schema["properties"]["monitor"], MonitorSettings, set()),
        (schema["properties"]["docs"], DocsSettings, set()),
    ]
    for definition, cls, extra in objects:
        fields = {field.name: field for field in dataclasses.fields(cls)}
        keys = {key.replace("-", "_") for key in definition["properties"]}
        assert keys - {"github_deployment"} == set(fields) - extra, cls.__name__
        for key, prop in definition["properties"].items():
            if "default" in prop:
                assert fields[key.replace("-", "_")].default == prop["default"], key
    sections = set(schema["properties"]) - {"version", "notify"}
    assert sections == {field.name for field in dataclasses.fields(Config)} - {"path", "slack"}
    assert tuple(option["required"][0] for option in deployed["oneOf"]) == module.DEPLOYED_KINDS
    for section in ("components", "shared"):
        assert schema["properties"][section]["propertyNames"]["pattern"] == f"^{module.NAME_RE.pattern}$"
    # The message tables only name keys the schema has.
    keys = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    for table in (
        module._REQUIRED_HINTS,
        module._CHOICES,
        module._LISTS,
        module._EXPLAIN_PATTERN,
        module._DEPENDENCY_MESSAGES,
        module._MAPPINGS,
        module._NAME_PROBLEMS,
    ):
        assert set(table) <= keys, set(table) - keys

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is not True and "additionalProperties" in node, where
            for key, value in node.get("properties", {}).items():
                assert value.get("description"), f"{where}.{key} has no description"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(schema, "schema")


# deploy-inputs and the deploy instruction


def test_deploy_inputs_load_in_file_order_and_make_the_gh_command() -> None:
    config = parse_config(
        textwrap.dedent("""\
            version: 1
            components:
              agent:
                deploy: manual
                paths: ["agent/**"]
                deploy-workflow: deploy-agents.yml
                deploy-inputs:
                  agent: tenant
                  note: "it's live; rm -rf /"
            """),
        "cfg.yml",
    )
    agent = config.component("agent")
    assert agent.deploy_inputs == (("agent", "tenant"), ("note", "it's live; rm -rf /"))
    instruction = agent.deploy_instruction("release")
    assert (instruction.workflow, instruction.ref, instruction.inputs) == (
        "deploy-agents.yml",
        "release",
        agent.deploy_inputs,
    )
    command = agent.deploy_command("release")
    assert command == (
        "gh workflow run deploy-agents.yml --ref release -f agent=tenant -f 'note=it'\"'\"'s live; rm -rf /'"
    )
    assert shlex.split(command)[-1] == "note=it's live; rm -rf /"


def test_no_deploy_workflow_means_no_deploy_instruction() -> None:
    component = Component(name="web", deploy="auto", paths=("web/**",))
    assert component.deploy_instruction() is None
    assert component.deploy_command() is None
    assert Component(name="a", deploy="manual", paths=("a/**",), deploy_workflow="d.yml").deploy_command() == (
        "gh workflow run d.yml --ref main"
    )


def test_a_key_added_to_the_schema_gets_messages_without_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """One place to add a key: the schema. Its type, bounds and name already give clear messages."""
    from dualdeploy import config as module

    schema = json.loads(SCHEMA_FILE.read_text())
    schema["properties"]["monitor"]["properties"]["lag-target-minutes"] = {
        "description": "test key",
        "type": "integer",
        "minimum": 1,
    }
    monkeypatch.setattr(module, "schema", lambda: schema)
    module._compiled.cache_clear()
    try:
        head = 'version: 1\ncomponents:\n  api: {deploy: auto, paths: ["server/**"]}\nmonitor:\n'
        for value, message in [
            ("soon", "expected an integer (minutes), got a string"),
            ("0", "must be a positive number of minutes, not 0"),
        ]:
            error = error_of(head + f"  lag-target-minutes: {value}\n")
            assert (error.line, error.key, error.message) == (5, "monitor.lag-target-minutes", message)
        error = error_of(head + "  lag-target: 5\n")
        assert error.message == "unknown key 'lag-target'; did you mean 'lag-target-minutes'?"
    finally:
        module._compiled.cache_clear()
