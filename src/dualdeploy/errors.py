"""The one error type a user sees: a message, where it points, and the exit status."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_GAP = 1
EXIT_USAGE = 2


@dataclass
class DualDeployError(Exception):
    """An error the user can fix; the CLI prints it as one line and an annotation, never a traceback."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None
    exit_status: int = EXIT_USAGE

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            if self.key:
                where += f": {self.key}"
            where += ": "
        elif self.key:
            where = f"{self.key}: "
        return f"{where}{self.message}".replace("\n", " ")


class ConfigError(DualDeployError):
    """The config file is not valid; always exit status 2."""


class GitError(DualDeployError):
    """Git could not answer (unknown ref, not a repository, shallow clone)."""
