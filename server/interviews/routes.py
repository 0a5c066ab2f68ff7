"""REST routes of the "Interviews" section of api.md."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server.accounts.auth import AuthUser
from server.core.pagination import Page, PageParams
from server.interviews import service
from server.interviews.observers import (
    DEFAULT_EXPIRES_IN,
    MAX_EXPIRES_IN,
    MIN_EXPIRES_IN,
    create_invitation,
    revoke_invitations,
)
from server.interviews.service import CreateInterview, InterviewOut, TracksOut, Transcript
from server.interviews.socket import LiveInterviews
from server.llm.chain import ProviderChain
from server.questions.bank import get_bank
from server.resumes.profile import Profile

AuthRequest = Request[AuthUser, Any, Any]


class InviteObserver(msgspec.Struct, kw_only=True):
    expires_in: Annotated[int, msgspec.Meta(ge=MIN_EXPIRES_IN, le=MAX_EXPIRES_IN)] = DEFAULT_EXPIRES_IN


class ObserverInvitationOut(msgspec.Struct, kw_only=True):
    observer_token: str
    expires_at: datetime


class InterviewController(Controller):
    path = "/interviews"
    tags = ["interviews"]

    @get(
        "/tracks",
        summary="What the server can serve now",
        description=(
            "Tracks with their question counts, company styles, the difficulty range and the interview "
            "languages that the configured providers can serve."
        ),
    )
    async def tracks(self, llm: NamedDependency[ProviderChain]) -> TracksOut:
        return service.tracks_overview(get_bank(), llm)

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create an interview",
        description=(
            "Creates an interview in status `created`. Join it on the websocket and send `start`. "
            "422 `language_unavailable` when no configured provider serves the language; 404 "
            "`resume_not_found` for a resume that is not yours; 422 `resume_not_parsed` before parsing ends."
        ),
    )
    async def create(
        self, request: AuthRequest, data: JSONBody[CreateInterview], llm: NamedDependency[ProviderChain]
    ) -> InterviewOut:
        resume: Profile | None = None
        if data.resume_id is not None:
            from server.resumes.service import profile_for_interview

            resume = await profile_for_interview(request.user.id, data.resume_id)
        return await service.create_interview(
            request.user.id, data, bank=get_bank(), chain=llm, resume=resume
        )

    @get("/", summary="Your interviews, newest first", description="Paginated; `?status=` filters by status.")
    async def list_interviews(
        self,
        request: AuthRequest,
        page: NamedDependency[PageParams],
        status: Annotated[
            str | None, Parameter(description="created | in_progress | completed | abandoned")
        ] = None,
    ) -> Page[InterviewOut]:
        return await service.list_interviews(request.user.id, page, status)

    @get("/{interview_id:uuid}", summary="One interview")
    async def read(self, request: AuthRequest, interview_id: FromPath[uuid.UUID]) -> InterviewOut:
        return service.interview_out(await service.owned_interview(request.user.id, interview_id))

    @get(
        "/{interview_id:uuid}/transcript",
        summary="Every durable event so far",
        description="In `seq` order: the same objects the websocket delivers.",
    )
    async def transcript(self, request: AuthRequest, interview_id: FromPath[uuid.UUID]) -> Transcript:
        return await service.transcript(request.user.id, interview_id)

    @get(
        "/{interview_id:uuid}/report",
        summary="The final report",
        description="200 once the interview is completed; 409 `not_completed` before.",
    )
    async def report(self, request: AuthRequest, interview_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        return await service.report(request.user.id, interview_id)

    @post(
        "/{interview_id:uuid}/observers",
        status_code=HTTP_201_CREATED,
        summary="Invite an observer",
        description=(
            "A read-only invitation to watch this interview live (`hello` with the observer token). "
            f"`expires_in` in seconds, {MIN_EXPIRES_IN}..{MAX_EXPIRES_IN}, default {DEFAULT_EXPIRES_IN}."
        ),
    )
    async def invite(
        self,
        request: AuthRequest,
        interview_id: FromPath[uuid.UUID],
        data: JSONBody[InviteObserver | None] = None,
    ) -> ObserverInvitationOut:
        await service.owned_interview(request.user.id, interview_id)
        expires_in = data.expires_in if data is not None else DEFAULT_EXPIRES_IN
        token, expires_at = await create_invitation(interview_id, request.user.id, expires_in)
        return ObserverInvitationOut(observer_token=token, expires_at=expires_at)

    @delete(
        "/{interview_id:uuid}/observers",
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke every observer invitation",
        description="Connected observers that joined with an invitation are disconnected (4401).",
    )
    async def revoke_observers(
        self, request: AuthRequest, interview_id: FromPath[uuid.UUID], live: NamedDependency[LiveInterviews]
    ) -> None:
        await service.owned_interview(request.user.id, interview_id)
        await revoke_invitations(interview_id)
        live.hub.publish_control(interview_id, "drop_observers")

    @delete(
        "/{interview_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an interview",
        description="Soft delete: hidden everywhere at once; connected sockets are closed with 4404.",
    )
    async def remove(
        self, request: AuthRequest, interview_id: FromPath[uuid.UUID], live: NamedDependency[LiveInterviews]
    ) -> None:
        await service.soft_delete(request.user.id, interview_id)
        live.hub.publish_control(interview_id, "close_all", code=4404)
