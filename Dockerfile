# syntax=docker/dockerfile:1
# Build stage: resolve the locked dependencies into a virtual environment with uv.
FROM python:3.12-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv>=0.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY server ./server
COPY piccolo_conf.py ./
COPY piccolo_migrations ./piccolo_migrations
RUN uv sync --frozen --no-dev

# Runtime stage: the environment and the code, run as an unprivileged user.
FROM python:3.12-slim
RUN useradd --create-home --uid 10001 interviewace
WORKDIR /app
COPY --from=build --chown=interviewace:interviewace /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    DATA_DIR=/data
RUN mkdir -p /data && chown interviewace:interviewace /data
USER interviewace
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
CMD ["interviewace", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-worker"]
