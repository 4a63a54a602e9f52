# This project's embedded model as an image (TROPIC_TARGET=model-container). The context is not the
# project root: harness/targets/image-context.ts assembles dist/, the default configuration and the
# model server's run-time packages, from a checkout or from an installed node_modules/tropic-harness.
# BASE_IMAGE needs Node 20 on PATH (.ci/docker-engine builds tropic-harness/base:bookworm; an
# official node:20 image works too).
ARG BASE_IMAGE=tropic-harness/base:bookworm
FROM ${BASE_IMAGE}
# The package's folder in the context: `.` from a checkout, node_modules/tropic-harness from an
# installed package (its dependencies keep their node_modules layout around it).
ARG PACKAGE_DIR=.
WORKDIR /app
COPY . .
WORKDIR /app/${PACKAGE_DIR}
EXPOSE 28992
# The model server entry alone (ts-tvl's `model_server tcp` command line): it loads only the model,
# not the CLI's rig, report and exploration commands and their packages.
ENTRYPOINT ["node", "dist/harness/cli/model-server.js", "tcp"]
