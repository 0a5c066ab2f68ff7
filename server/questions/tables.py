"""The `questions` table: a queryable mirror of the question bank (the TOML files stay the source).

Rows are written only by `server.questions.seed` at start-up, keyed by the bank's stable ids.
Key points and model answers are stored for server-side evaluation; the API never returns them.
"""

from __future__ import annotations

from typing import ClassVar

from piccolo.columns import JSONB, UUID, Array, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Question(Table, tablename="questions"):
    # Reference data seeded once per test session; the suite's per-test TRUNCATE skips it.
    keep_between_tests: ClassVar[bool] = True

    id = UUID(primary_key=True)  # uuid5 of the slug, see bank.question_id_for
    slug = Varchar(length=120, unique=True)
    track = Varchar(length=64)  # (track, difficulty, slug) index in the follow-up migration
    difficulty = Integer()
    topic = Varchar(length=120, index=True)
    tags = Array(base_column=Varchar(length=64))
    company_styles = Array(base_column=Varchar(length=32), index=True, index_method=IndexMethod.gin)
    style = Varchar(length=16)
    warmup = Boolean(default=False)
    text = Text()
    key_points = JSONB()  # [{"label": str, "terms": [str]}]
    model_answer = JSONB()  # [str]
    updated_at = Timestamptz(default=TimestamptzNow())
