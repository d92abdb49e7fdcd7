# NetSec Contest: one image for the web server (default command), RQ workers and the CLI.
#   docker build -t netsec-contest .
#   docker run --rm netsec-contest contest --help
# Configuration is CONTEST_* environment variables (README); docker-compose.yml shows a deployment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the installed app needs: not .venv, .git, tests, or instance/ (which may hold a
# generated secret key and a SQLite database).
COPY pyproject.toml README.md ./
COPY contest ./contest
COPY question_bank ./question_bank
COPY workers ./workers
COPY templates ./templates
COPY migrations ./migrations

# Editable install: the app finds templates/ and migrations/ next to the contest package.
RUN pip install -e . \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home contest \
    && mkdir -p /app/instance \
    && chown contest:contest /app/instance

USER contest

EXPOSE 8000

CMD ["gunicorn", "-c", "python:contest.gunicorn_conf", "contest.wsgi:app"]
