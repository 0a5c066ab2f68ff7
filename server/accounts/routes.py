"""HTTP routes of api.md "Auth and account" and "Admin" (under /api/v1)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from redis.asyncio import Redis

from server.accounts import admin, service
from server.accounts.admin_stats import admin_stats
from server.accounts.audit import list_audit_entries
from server.accounts.auth import AuthUser, auth_middleware
from server.accounts.docs import AUTH_REQUIRED, STAFF_ONLY, problems
from server.accounts.guards import admin_only, moderator_or_admin
from server.accounts.ratelimit import (
    OWN_RATE_LIMIT_OPT,
    api_rate_limit,
    client_address,
    login_rate_limit,
    register_rate_limit,
)
from server.accounts.schemas import (
    AdminStats,
    AdminUserUpdate,
    AuditEntryOut,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokenPair,
    UpdateMeRequest,
    UserOut,
    VerifyEmailRequest,
)
from server.accounts.sessions import rotate_refresh_token
from server.accounts.users import auth_user_out
from server.core.pagination import Page, PageParams
from server.core.settings import Settings

AuthRequest = Request[AuthUser, str, Any]
PUBLIC: dict[str, Any] = {"exclude_from_auth": True}
WEAK_PASSWORD = "weak_password: shorter than 10 characters, too common, or contains the email's name part"  # noqa: S105
BAD_BODY = "validation_error: the body is not valid"


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        summary="Create an account",
        description=(
            "Creates a `user` account and mails a link to confirm the address (valid 48 h). The "
            "password must have at least 10 characters, must not be a common password and must not "
            "contain the part of the email before the @. Limited to 5 a minute per client address."
        ),
        middleware=[register_rate_limit.middleware],
        opt={OWN_RATE_LIMIT_OPT: True},
        responses=problems(
            {409: "email_taken: an account with this email exists", 422: WEAK_PASSWORD, 429: "rate_limited"}
        ),
        **PUBLIC,
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegisterRequest],
        settings: NamedDependency[Settings],
    ) -> UserOut:
        return await service.register(settings, data, client=client_address(request))

    @post(
        "/verify-email",
        status_code=HTTP_200_OK,
        summary="Confirm an email address",
        description="Spends the token from the verification mail's link (`#token=...`).",
        responses=problems({400: "invalid_token: unknown, used or expired token"}),
        **PUBLIC,
    )
    async def verify_email(
        self, data: JSONBody[VerifyEmailRequest], redis: NamedDependency[Redis]
    ) -> UserOut:
        return await service.verify_email(redis, data.token)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Log in",
        description=(
            "Exchanges email and password for an access token (15 min) and a refresh token (7 days). "
            "Unknown email and wrong password get the same answer. 5 failed attempts for one email "
            "within 15 minutes lock it for 15 minutes. Limited to 10 a minute per client address."
        ),
        middleware=[login_rate_limit.middleware],
        opt={OWN_RATE_LIMIT_OPT: True},
        responses=problems(
            {
                401: "invalid_credentials: wrong email or password",
                403: "email_not_verified: confirm the address first; or account_disabled",
                423: "account_locked: too many failed attempts; see Retry-After",
                429: "rate_limited",
            }
        ),
        **PUBLIC,
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
    ) -> TokenPair:
        return await service.login(settings, redis, data, client=client_address(request))

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        summary="Get a new token pair",
        description=(
            "Spends the refresh token and returns a new pair of the same session. Presenting an "
            "already spent refresh token ends the whole session (`token_reused`)."
        ),
        responses=problems(
            {401: "invalid_token: bad, expired or revoked refresh token; or token_reused: session ended"}
        ),
        **PUBLIC,
    )
    async def refresh(
        self,
        data: JSONBody[RefreshRequest],
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
    ) -> TokenPair:
        return await rotate_refresh_token(settings, redis, data.refresh_token)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="Log out",
        description=(
            "Ends the session of the access token used: it and the session's refresh token stop "
            "working at once, on every server. A refresh token of another of your sessions, if "
            "given, ends that session too."
        ),
        responses=problems(AUTH_REQUIRED),
    )
    async def logout(
        self,
        request: AuthRequest,
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
        data: JSONBody[LogoutRequest | None] = None,
    ) -> None:
        await service.logout(settings, redis, request.user, None if data is None else data.refresh_token)

    @get("/me", summary="Your account", responses=problems(AUTH_REQUIRED))
    async def me(self, request: AuthRequest) -> UserOut:
        return auth_user_out(request.user)

    @patch(
        "/me",
        summary="Change your name or preferences",
        description=(
            "`full_name` and/or `preferences` (`language`, `default_track`, `default_difficulty`). "
            "Preference keys left out are kept; a key set to null is cleared."
        ),
        responses=problems({**AUTH_REQUIRED, 422: BAD_BODY}),
    )
    async def update_me(
        self, request: AuthRequest, data: JSONBody[UpdateMeRequest], redis: NamedDependency[Redis]
    ) -> UserOut:
        return await service.update_me(redis, request.user, data)

    @post(
        "/password/change",
        status_code=HTTP_204_NO_CONTENT,
        summary="Change your password",
        description=(
            "Every other session is ended; this one keeps working. The last 5 passwords cannot be "
            "used again. Wrong current passwords count towards the login lockout."
        ),
        responses=problems(
            {
                **AUTH_REQUIRED,
                422: f"invalid_current_password; {WEAK_PASSWORD}; or password_reused: one of the last 5",
                423: "account_locked",
            }
        ),
    )
    async def change_password(
        self,
        request: AuthRequest,
        data: JSONBody[ChangePasswordRequest],
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
    ) -> None:
        await service.change_password(settings, redis, request.user, data, client=client_address(request))

    @post(
        "/password/forgot",
        status_code=HTTP_202_ACCEPTED,
        summary="Ask for a password reset link",
        description=(
            "Always 202, whether or not an account has this email; when one has, a link valid for "
            "30 minutes is mailed. Limited to 3 an hour per email."
        ),
        responses=problems({429: "rate_limited"}),
        **PUBLIC,
    )
    async def forgot_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ForgotPasswordRequest],
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
    ) -> None:
        await service.forgot_password(settings, redis, data.email, client=client_address(request))

    @post(
        "/password/reset",
        status_code=HTTP_204_NO_CONTENT,
        summary="Set a new password from a reset link",
        description="Spends the token from the link; every session of the account is ended.",
        responses=problems(
            {
                400: "invalid_token: unknown, used or expired token",
                422: f"{WEAK_PASSWORD}; or password_reused",
            }
        ),
        **PUBLIC,
    )
    async def reset_password(
        self,
        data: JSONBody[ResetPasswordRequest],
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
    ) -> None:
        await service.reset_password(settings, redis, data)


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    guards = [moderator_or_admin]

    @get(
        "/users",
        summary="List users",
        description="Newest first. `q` matches part of the email or the name, ignoring case.",
        responses=problems(STAFF_ONLY),
    )
    async def list_users(
        self,
        page: NamedDependency[PageParams],
        q: Annotated[
            str | None, QueryParameter(max_length=200, description="Part of an email or name")
        ] = None,
    ) -> Page[UserOut]:
        return await admin.list_users(page, q)

    @patch(
        "/users/{user_id:uuid}",
        guards=[admin_only],
        summary="Change a user's role or activation",
        description=(
            "Admins only. A role change revokes the user's access tokens (a new one from refresh "
            "carries the new role); deactivation ends all their sessions and closes their sockets. "
            "The last active admin cannot be demoted or deactivated."
        ),
        responses=problems(
            {**STAFF_ONLY, 404: "not_found", 409: "last_admin: promote someone else first", 422: BAD_BODY}
        ),
    )
    async def update_user(
        self,
        request: AuthRequest,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[AdminUserUpdate],
        settings: NamedDependency[Settings],
        redis: NamedDependency[Redis],
    ) -> UserOut:
        return await admin.update_user(settings, redis, request.user, user_id, data)

    @get(
        "/stats",
        summary="System counts",
        description="Users by role and state, rows by status per feature, live sockets, queued jobs.",
        responses=problems(STAFF_ONLY),
    )
    async def stats(self, redis: NamedDependency[Redis]) -> AdminStats:
        return await admin_stats(redis)

    @get(
        "/audit-log",
        summary="Audit log",
        description="Newest first; filter by `action`, `actor_id` or `target_id`.",
        responses=problems(STAFF_ONLY),
    )
    async def audit_log(
        self,
        page: NamedDependency[PageParams],
        action: Annotated[str | None, QueryParameter(max_length=64)] = None,
        actor_id: FromQuery[uuid.UUID | None] = None,
        target_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> Page[AuditEntryOut]:
        return await list_audit_entries(page, action=action, actor_id=actor_id, target_id=target_id)


route_handlers = [AuthController, AdminController]


def api_middleware() -> list[DefineMiddleware]:
    """For the /api/v1 router: authentication first, then the per-user limit (which needs the user)."""
    return [auth_middleware(), api_rate_limit.middleware]
