"""Piccolo app of the resumes feature: its table and where its migrations live."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS_FOLDER = Path(__file__).resolve().parents[2] / "piccolo_migrations" / "resumes"

APP_CONFIG = AppConfig(
    app_name="resumes",
    migrations_folder_path=str(MIGRATIONS_FOLDER),
    table_classes=table_finder(["server.resumes.tables"], exclude_imported=True),
    migration_dependencies=["server.accounts.piccolo_app"],
    commands=[],
)
