# Baton's image, for both the API and the workers (docker-compose.yml builds it; docs/production.md).
#   API:     uvicorn api.app:create_app --factory --host 0.0.0.0 --port 8000 --timeout-keep-alive 75   (the default command)
#   worker:  python worker.py
#   schema:  alembic -c alembic.ini upgrade head
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# The runtime dependencies first, read from pyproject.toml alone, so a code change does not reinstall them.
# No dev extras: no test tools in the image.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then Baton itself: only what runs (.dockerignore keeps everything else out of the build context).
COPY README.md alembic.ini worker.py devstack.py backtest.py ./
COPY models/ models/
COPY workflows/ workflows/
COPY activities/ activities/
COPY api/ api/
COPY migrations/ migrations/
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin baton

# The code stays root-owned and read-only to the process.
USER baton
EXPOSE 8000
CMD ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--timeout-keep-alive", "75"]
