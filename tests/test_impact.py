import textwrap

from dualdeploy.changes import ChangedFile
from dualdeploy.config import parse_config
from dualdeploy.impact import compute_impact

CONFIG = parse_config(
    textwrap.dedent("""\
    version: 1
    components:
      api:
        deploy: auto
        paths: ["server/**", "!server/src/agent-v2/**"]
      client:
        deploy: auto
        paths: ["apps/web/**"]
      tenant-agent:
        deploy: manual
        paths: ["server/src/agent-v2/deploy/tenant/**"]
        uses: [agent-shared]
        deploy-workflow: deploy-agents.yml
      support-agent:
        deploy: manual
        paths: ["server/src/agent-v2/deploy/support/**"]
        uses: [agent-shared]
        deploy-workflow: deploy-agents.yml
    shared:
      agent-shared: ["packages/contracts/src/**", "server/src/lib/**"]
    """),
    "dual-deploy.yml",
)


def impact_of(*changes: ChangedFile):
    return compute_impact(CONFIG, list(changes), base="b" * 40, head="h" * 40)


def modified(path: str) -> ChangedFile:
    return ChangedFile(path=path, status="M")


def test_direct_change_to_one_agent() -> None:
    impact = impact_of(modified("server/src/agent-v2/deploy/tenant/index.ts"))
    assert impact.to_json() == {
        "base": "b" * 40,
        "head": "h" * 40,
        "changed_files": 1,
        "components": [
            {
                "name": "tenant-agent",
                "deploy": "manual",
                "files": ["server/src/agent-v2/deploy/tenant/index.ts"],
                "via": [],
            }
        ],
        "requires_manual_deploy": True,
    }


def test_shared_group_reaches_every_component_that_uses_it() -> None:
    impact = impact_of(modified("server/src/lib/x.ts"))
    by_name = {c.name: c for c in impact.components}
    # sorted by name; the API also owns server/src/lib directly
    assert [c.name for c in impact.components] == ["api", "support-agent", "tenant-agent"]
    assert by_name["tenant-agent"].via == ("agent-shared",) and by_name["tenant-agent"].files == (
        "server/src/lib/x.ts",
    )
    assert by_name["api"].via == ()


def test_files_are_sorted_and_only_those_that_matter() -> None:
    impact = impact_of(
        modified("server/src/agent-v2/deploy/tenant/z.ts"),
        modified("packages/contracts/src/a.ts"),
        modified("apps/web/page.tsx"),
        modified("README.md"),
    )
    tenant = next(c for c in impact.components if c.name == "tenant-agent")
    assert tenant.files == ("packages/contracts/src/a.ts", "server/src/agent-v2/deploy/tenant/z.ts")
    assert tenant.via == ("agent-shared",)
    assert impact.changed_files == 4


def test_excluded_agent_folder_is_not_the_apis() -> None:
    impact = impact_of(modified("server/src/agent-v2/deploy/support/a.ts"))
    assert [c.name for c in impact.components] == ["support-agent"]


def test_rename_out_of_an_agent_impacts_the_agent_and_the_new_place() -> None:
    impact = impact_of(
        ChangedFile(
            path="server/src/routes/moved.ts", status="R", old_path="server/src/agent-v2/deploy/tenant/moved.ts"
        )
    )
    assert [c.name for c in impact.components] == ["api", "tenant-agent"]
    assert impact.changed_files == 1


def test_deletion_counts() -> None:
    impact = impact_of(ChangedFile(path="server/src/agent-v2/deploy/support/old.ts", status="D"))
    assert impact.requires_manual_deploy


def test_nothing_impacted() -> None:
    impact = impact_of(modified("docs/README.md"))
    assert impact.components == () and not impact.requires_manual_deploy


def test_auto_only_change_needs_no_manual_deploy() -> None:
    impact = impact_of(modified("apps/web/x.ts"))
    assert [c.name for c in impact.components] == ["client"] and not impact.requires_manual_deploy
