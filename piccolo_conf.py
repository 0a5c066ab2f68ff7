"""Piccolo's configuration: the engine comes from settings (DATABASE_URL), one app per feature.

Each feature folder owns its tables and its migrations (under piccolo_migrations/<feature>/).
Order matters: an app comes after the apps whose tables it references.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from server.core.settings import get_settings

DB = PostgresEngine(config={"dsn": get_settings().database_url})

APP_REGISTRY = AppRegistry(
    apps=[
        "server.accounts.piccolo_app",
        "server.questions.piccolo_app",
        "server.tasks.piccolo_app",
        "server.resumes.piccolo_app",
        "server.interviews.piccolo_app",
    ]
)
