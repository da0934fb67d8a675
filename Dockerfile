# carepath's image: the API, the workers and the migration all run from it
# (temporal-compose.yml, docs/deploy.md). Everything is installed here, at build time:
# a container starts the installed code and never installs anything itself.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package is built from (.dockerignore keeps the rest out of the context).
WORKDIR /src
COPY pyproject.toml README.md worker.py ./
COPY rules rules
COPY engine engine
COPY workflows workflows
COPY activities activities
COPY api api
COPY simulators simulators
COPY cli cli
RUN pip install . && rm -rf /src

# Run from an empty folder, so `python -m worker` and `api.main:app` import the
# installed package and nothing else; no root inside the container.
RUN useradd --system --create-home --uid 10001 carepath
WORKDIR /home/carepath
USER carepath

EXPOSE 8000
CMD ["python", "-m", "worker"]
