# carepath's image: the API, the workers and the migration all run from it
# (temporal-compose.yml, docs/deploy.md). Everything is installed here, at build time:
# a container starts the installed code and never installs anything itself.
# The console's browser assets, pinned by package-lock.json (as `make assets` does).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && mkdir vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js vendor/

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
COPY --from=assets /assets/vendor api/console/static/vendor
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
