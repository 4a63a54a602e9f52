# This project's embedded model as an image (TROPIC_TARGET=model-container). Build context: the
# project root after `npm ci` (dist/ and node_modules/ present). BASE_IMAGE needs Node 20.
ARG BASE_IMAGE=tropic-harness/base:bookworm
FROM ${BASE_IMAGE}
WORKDIR /app
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY dist ./dist
COPY harness/model/default-config ./harness/model/default-config
EXPOSE 28992
ENTRYPOINT ["node", "dist/harness/cli/main.js", "model", "serve"]
