"""Piccolo app of the question bank: the `questions` table and where its migrations live."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS_FOLDER = Path(__file__).resolve().parents[2] / "piccolo_migrations" / "questions"

APP_CONFIG = AppConfig(
    app_name="questions",
    migrations_folder_path=str(MIGRATIONS_FOLDER),
    table_classes=table_finder(["server.questions.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
