"""Tokens: who is calling, what they may do, and how much of their rate limit is left.

A token carries GitHub App style permissions (`issues: write`, `pull_requests: read`, ...), the
model of the workflow `GITHUB_TOKEN`. A route names the permissions any one of which lets the call
through; a token without one gets GitHub's 403 "Resource not accessible by integration", with the
`x-accepted-github-permissions` header GitHub sends so error messages can name the fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fakegithub.state import ApiError

SCOPES = (
    "actions",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "issues",
    "metadata",
    "pull_requests",
    "statuses",
)
LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
RATE_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
# Per hour for an installation token, per minute for search; anonymous callers get 60 an hour and no
# GraphQL at all. GraphQL counts points; the fake charges each query one point.
WINDOWS = {"core": 3600.0, "search": 60.0, "graphql": 3600.0}
DEFAULT_LIMITS = {"core": 5000, "search": 30, "graphql": 5000}
ANONYMOUS_LIMITS = {"core": 60, "search": 10, "graphql": 0}


@dataclass
class RateBucket:
    """One rate-limit resource of one caller. Reset times are wall-clock epoch seconds, not the
    fake's clock: clients sleep for real until `x-ratelimit-reset`."""

    limit: int
    window: float
    used: int = 0
    reset_at: float = 0.0

    def refresh(self) -> None:
        now = time.time()
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + self.window

    def take(self) -> bool:
        """Count one request; False when the limit is already spent."""
        self.refresh()
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def exhaust(self, reset_in: float) -> None:
        self.used = self.limit
        self.reset_at = time.time() + reset_in

    def as_json(self) -> dict[str, int]:
        self.refresh()
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.limit - self.used,
            "reset": int(self.reset_at),
        }

    def headers(self, resource: str) -> dict[str, str]:
        state = self.as_json()
        return {
            "x-ratelimit-limit": str(state["limit"]),
            "x-ratelimit-remaining": str(state["remaining"]),
            "x-ratelimit-reset": str(state["reset"]),
            "x-ratelimit-used": str(state["used"]),
            "x-ratelimit-resource": resource,
        }


@dataclass
class Token:
    value: str
    login: str
    permissions: dict[str, str]
    buckets: dict[str, RateBucket] = field(default_factory=dict)

    @classmethod
    def make(cls, value: str, login: str, permissions: dict[str, str], limits: dict[str, int]) -> Token:
        unknown = set(permissions) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown permissions {sorted(unknown)}; known: {', '.join(SCOPES)}")
        # Every GitHub App token may read metadata; nobody can take that away.
        permissions = {"metadata": "read", **permissions}
        buckets = {name: RateBucket(limit=limit, window=WINDOWS[name]) for name, limit in limits.items()}
        return cls(value=value, login=login, permissions=permissions, buckets=buckets)

    @property
    def anonymous(self) -> bool:
        return not self.value

    @property
    def is_app(self) -> bool:
        return self.login.endswith("[bot]")

    def grants(self, scopes: tuple[str, ...], level: str) -> bool:
        return any(LEVELS[self.permissions.get(scope, "none")] >= LEVELS[level] for scope in scopes)

    def require(self, scopes: tuple[str, ...], level: str, documentation_url: str) -> None:
        if self.anonymous and level != "read":
            raise ApiError(401, "Requires authentication", documentation_url=documentation_url)
        if not self.grants(scopes, level):
            accepted = "; ".join(f"{scope}={level}" for scope in scopes)
            raise ApiError(
                403,
                "Resource not accessible by integration",
                documentation_url=documentation_url,
                headers={"x-accepted-github-permissions": accepted},
            )

    def rate_limited(self, resource: str, account_id: int) -> ApiError:
        who = f"installation ID {account_id}" if self.is_app else f"user ID {account_id}"
        if self.anonymous:
            who = "127.0.0.1"
        return ApiError(
            403,
            f"API rate limit exceeded for {who}.",
            documentation_url=RATE_DOCS,
            headers=self.buckets[resource].headers(resource),
        )


def permissions_for(write: bool, permissions: dict[str, str] | None) -> dict[str, str]:
    if permissions is not None:
        return dict(permissions)
    level = "write" if write else "read"
    return {scope: level for scope in SCOPES}


def anonymous() -> Token:
    return Token.make("", "", {scope: "read" for scope in SCOPES}, ANONYMOUS_LIMITS)


def bad_credentials() -> ApiError:
    return ApiError(401, "Bad credentials")
