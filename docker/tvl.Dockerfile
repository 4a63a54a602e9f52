# The real ts-tvl model server (TROPIC_TARGET=tvl-container). The context (assembled by
# harness/targets/container.ts) holds this file and tvl/: the user's ts-tvl wheel (TVL_WHEEL=*.whl)
# or source checkout (tvl/src). BASE_IMAGE (TVL_BASE_IMAGE) needs Python 3.8+ with pip; PIP_ARGS
# (TVL_PIP_ARGS) e.g. "--no-deps --no-build-isolation" where the base already has the dependencies
# and no package index is reachable.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}
ARG PIP_ARGS=
COPY tvl /tmp/tvl
RUN set -e; if ls /tmp/tvl/*.whl >/dev/null 2>&1; then pip install --no-cache-dir $PIP_ARGS /tmp/tvl/*.whl; \
    else pip install --no-cache-dir $PIP_ARGS /tmp/tvl/src; fi; rm -rf /tmp/tvl
EXPOSE 28992
ENTRYPOINT ["model_server", "tcp"]
