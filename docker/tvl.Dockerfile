# The real ts-tvl model server (TROPIC_TARGET=tvl-container), installed from a user-supplied wheel or
# source directory (TVL_WHEEL, a path inside the project) on BASE_IMAGE (TVL_BASE_IMAGE).
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}
ARG TVL_WHEEL
COPY ${TVL_WHEEL} /tmp/tvl/
RUN if ls /tmp/tvl/*.whl >/dev/null 2>&1; then pip install --no-cache-dir /tmp/tvl/*.whl; else pip install --no-cache-dir /tmp/tvl; fi
EXPOSE 28992
ENTRYPOINT ["model_server", "tcp"]
