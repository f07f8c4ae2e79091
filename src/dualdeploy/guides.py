"""What the guides the suite writes for people are rendered from: the config, and links.

The generated files (`dualdeploy docs`) link to each other relatively, as GitHub resolves links in
a repository's Markdown files; the announcement (`dualdeploy announce`) is a discussion, where only
absolute links work. Both hand the same values to the same templates, with their own `link`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dualdeploy.config import Config
from dualdeploy.render import SafeMarkdown

RUNBOOK_PATH = "docs/DEPLOYMENT_RUNBOOK.md"
STATUS_PATH = "docs/DEPLOYMENT_STATUS.md"


def anchor(heading: str) -> SafeMarkdown:
    """The fragment GitHub gives a heading: lower case, punctuation other than '-' and '_' dropped."""
    return SafeMarkdown(re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-"))


def guide_values(
    config: Config,
    source: str,
    *,
    link: Callable[[str], SafeMarkdown],
    workflow_link: Callable[[str], SafeMarkdown],
    branch: str = "main",
) -> dict[str, object]:
    """The templates' values: `link(path)` points at a file of the repository, `workflow_link(file)`
    at a workflow of .github/workflows/; `branch` is the one deploys run from (`gh workflow run --ref`)."""
    components = config.components
    manual = config.manual_components()
    return {
        "config": config,
        "branch": branch,
        "source": SafeMarkdown(source),
        "components": components,
        "manual": manual,
        "auto": tuple(component for component in components if not component.manual),
        "shared": config.shared,
        "workflow_links": {
            component.name: workflow_link(component.deploy_workflow)
            for component in components
            if component.deploy_workflow
        },
        "runbook_link": link(RUNBOOK_PATH),
        "status_link": link(STATUS_PATH),
        "config_link": link(source),
        "quick_reference_link": link(config.docs.quick_reference),
        "onboarding_link": link(config.docs.onboarding),
        # Shared group -> the manual components that use it (the quick reference's "through shared code").
        "group_users": {
            group.name: tuple(component.name for component in manual if group.name in component.uses)
            for group in config.shared
        },
        "manual_workflows": tuple(
            dict.fromkeys(component.deploy_workflow for component in manual if component.deploy_workflow)
        ),
        "owner_handles": tuple(dict.fromkeys(owner for component in components for owner in component.owners)),
        "rendered": SafeMarkdown,
        "anchor": anchor,
    }
