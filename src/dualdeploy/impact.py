"""Which components a change touches: a pure function from config and changed paths to an Impact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dualdeploy.changes import ChangedFile
from dualdeploy.config import Config
from dualdeploy.patterns import FilterSet


@dataclass(frozen=True)
class ComponentImpact:
    """One impacted component: the changed paths that reached it, and the shared groups they came through."""

    name: str
    deploy: str
    files: tuple[str, ...]
    via: tuple[str, ...]
    deploy_workflow: str | None = None
    owners: tuple[str, ...] = ()

    @property
    def manual(self) -> bool:
        return self.deploy == "manual"


@dataclass(frozen=True)
class Impact:
    base: str
    head: str
    changed_files: int
    components: tuple[ComponentImpact, ...]

    @property
    def manual_components(self) -> tuple[ComponentImpact, ...]:
        return tuple(component for component in self.components if component.manual)

    @property
    def requires_manual_deploy(self) -> bool:
        return bool(self.manual_components)

    def to_json(self) -> dict:
        return {
            "base": self.base,
            "head": self.head,
            "changed_files": self.changed_files,
            "components": [
                {"name": c.name, "deploy": c.deploy, "files": list(c.files), "via": list(c.via)}
                for c in self.components
            ],
            "requires_manual_deploy": self.requires_manual_deploy,
        }


def changed_paths(changes: Sequence[ChangedFile]) -> list[str]:
    """Every path the changes touch, each once, in order."""
    return list(dict.fromkeys(path for change in changes for path in change.paths()))


def compute_impact(config: Config, changes: Sequence[ChangedFile], *, base: str, head: str) -> Impact:
    return impact_of_paths(config, changed_paths(changes), base=base, head=head, changed_files=len(changes))


def impact_of_paths(
    config: Config, paths: Sequence[str], *, base: str, head: str, changed_files: int | None = None
) -> Impact:
    """The impact of changed paths (each once); `changed_files` defaults to their number."""
    matched = FilterSet(config.filters()).match(paths)
    impacted: list[ComponentImpact] = []
    for component in config.components:
        files = set(matched.get(f"component:{component.name}", ()))
        via = []
        for group in component.uses:
            group_files = matched.get(f"shared:{group}")
            if group_files:
                via.append(group)
                files.update(group_files)
        if files:
            impacted.append(
                ComponentImpact(
                    name=component.name,
                    deploy=component.deploy,
                    files=tuple(sorted(files)),
                    via=tuple(sorted(via)),
                    deploy_workflow=component.deploy_workflow,
                    owners=component.owners,
                )
            )
    impacted.sort(key=lambda component: component.name)
    count = len(paths) if changed_files is None else changed_files
    return Impact(base=base, head=head, changed_files=count, components=tuple(impacted))
