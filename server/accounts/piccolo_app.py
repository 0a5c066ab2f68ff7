"""Piccolo app of the accounts feature: its tables and where its migrations live."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS_FOLDER = Path(__file__).resolve().parents[2] / "piccolo_migrations" / "accounts"

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(MIGRATIONS_FOLDER),
    table_classes=table_finder(["server.accounts.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
