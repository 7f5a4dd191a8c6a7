# The residency controller image: `residency controller` (the kopf operator) and the other CLI commands.
#   docker build -t registry.example.cn/pushauction/residency:0.1.0 .
# Runs as an unprivileged user with a read-only root filesystem (see controllers/deploy/deployment.yaml).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY policies ./policies
COPY controllers ./controllers
COPY infra ./infra
RUN python -m venv /venv && /venv/bin/pip install ".[operator]"

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
COPY --from=build /venv /venv
RUN groupadd --gid 10001 residency && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin residency
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["residency"]
CMD ["controller", "--all-namespaces"]
