"""InterviewAce: a real-time AI interview practice server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("interviewace")
except PackageNotFoundError:  # pragma: no cover - only when run from a bare source tree
    __version__ = "0.0.0"
