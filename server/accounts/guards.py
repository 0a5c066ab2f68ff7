"""Role guards for route handlers: `guards=[requires_role("admin")]`."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from server.accounts.auth import AuthUser
from server.accounts.schemas import ROLES, Role
from server.core.errors import Forbidden, Unauthorized


def requires_role(*roles: Role) -> Guard:
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"requires_role needs roles out of {ROLES}, got {roles!r}")
    allowed = frozenset(roles)
    names = " or ".join(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, AuthUser):
            raise Unauthorized("This route needs an access token.")
        if user.role not in allowed:
            raise Forbidden(f"This action needs the {names} role.")

    return guard


admin_only = requires_role("admin")
moderator_or_admin = requires_role("moderator", "admin")
