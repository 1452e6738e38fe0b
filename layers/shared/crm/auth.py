"""Who is calling: the principal the authorizer put in the request context, and its scopes."""

from __future__ import annotations

from dataclasses import dataclass

from crm.errors import Forbidden, Unauthorized

READ, WRITE, ADMIN = "read", "write", "admin"
# A scope grants itself and every scope before it.
SCOPE_LEVELS = (READ, WRITE, ADMIN)


def granted_scopes(scope: str) -> tuple[str, ...]:
    """`write` also reads; `admin` also writes and reads."""
    if scope not in SCOPE_LEVELS:
        raise ValueError(f"unknown scope {scope!r}; choose one of {', '.join(SCOPE_LEVELS)}")
    return SCOPE_LEVELS[: SCOPE_LEVELS.index(scope) + 1]


@dataclass(frozen=True)
class FormGrant:
    """What a form key allows: creating contacts in ``project``, at most ``per_minute`` a minute."""

    project: str
    per_minute: int


@dataclass(frozen=True)
class Principal:
    account_id: str
    user_id: int
    scopes: frozenset[str]
    key_id: str
    # Set for a form key. Such a principal never passes the authorizer; only the web form's
    # handler accepts it.
    form: FormGrant | None = None

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This key lacks the '{scope}' scope")

    def to_context(self) -> dict[str, str | int]:
        """The authorizer context API Gateway hands to every handler (values must be scalars)."""
        return {
            "account_id": self.account_id,
            "user_id": self.user_id,
            "scopes": " ".join(s for s in SCOPE_LEVELS if s in self.scopes),
            "key_id": self.key_id,
        }

    @classmethod
    def from_context(cls, context: dict | None) -> Principal:
        """Read the principal back; anything missing means the request did not pass the authorizer."""
        context = context or {}
        try:
            return cls(
                account_id=str(context["account_id"]),
                user_id=int(context["user_id"]),
                scopes=frozenset(str(context["scopes"]).split()),
                key_id=str(context["key_id"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Unauthorized() from exc
