"""Pagination shared by every list endpoint (api.md "Conventions").

Handlers take `page: PageParams` (the `page` dependency, registered on the API router) and
return `Page[T]`. `skip` < 0 or `limit` outside 1..100 are refused with 422 `validation_error`
by Litestar's parameter validation before the handler runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.di import Provide
from litestar.params import QueryParameter

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

T = TypeVar("T")


class PageParams(msgspec.Struct, frozen=True):
    skip: int = 0
    limit: int = DEFAULT_LIMIT


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    total: int
    skip: int
    limit: int
    has_more: bool

    @classmethod
    def of(cls, items: Sequence[T], *, total: int, params: PageParams) -> Page[T]:
        return cls(
            items=list(items),
            total=total,
            skip=params.skip,
            limit=params.limit,
            has_more=params.skip + len(items) < total,
        )


async def provide_page_params(
    skip: Annotated[int, QueryParameter(ge=0, description="Items to skip (0 or more).")] = 0,
    limit: Annotated[
        int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Items per page (1..{MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(skip=skip, limit=limit)


page_dependency = Provide(provide_page_params)
