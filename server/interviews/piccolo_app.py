from pathlib import Path

from piccolo.conf.apps import AppConfig

from server.interviews.tables import Interview, InterviewEvent, InterviewNote, ObserverInvitation

APP_CONFIG = AppConfig(
    app_name="interviews",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "piccolo_migrations" / "interviews"),
    table_classes=[Interview, InterviewEvent, ObserverInvitation, InterviewNote],
    migration_dependencies=["server.accounts.piccolo_app"],
    commands=[],
)
