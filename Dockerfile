# syntax=docker/dockerfile:1
#
# mldeploy inference image: `mldeploy serve` on Node 20 slim, as a non-root user.
#
# Model mounted at run time (any models dir or version dir works as /models):
#   docker build -t mldeploy .
#   docker run --rm -p 8000:8000 -v "$PWD/saved_models:/models:ro" mldeploy
#
# Model baked into the image: pass the version directory as the named build context
# `model` (BuildKit, the default builder since Docker 23). The main context never sees
# saved_models/ (.dockerignore), so the image holds exactly one model version:
#   docker build -t mldeploy:model --build-context model="$(readlink -f saved_models/latest)" .
#   docker run --rm -p 8000:8000 mldeploy:model
#
# Options of `mldeploy serve` go after the image name, e.g.
#   docker run ... mldeploy serve --model /models --workers 2 --api-key "$KEY"
# or through the env variables PORT, HOST and MLDEPLOY_API_KEY.

ARG NODE_IMAGE=node:20-slim

# Replaced by `--build-context model=<version dir>`; by default it holds only a note
# saying that no model was baked in, and the container serves what is mounted at /models.
FROM scratch AS model
COPY deploy/docker/model-placeholder/ /

# Compile TypeScript with the full (dev) dependency set.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

# Production dependencies only. @tensorflow/tfjs-node is an optional dependency whose
# install script downloads libtensorflow (package.json "allowScripts" lets npm run it). The
# image claims native TensorFlow only after a real op ran on it: the download can fail, and
# on arm64 (no libtensorflow build for it) or under emulation the binding may not load or
# may crash. Otherwise the package is removed and `--backend auto` uses wasm.
# onnxruntime-node ships binaries for every OS and CPU (288 MB); only this image's linux/<arch> stays.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && if npm rebuild @tensorflow/tfjs-node \
       && TF_CPP_MIN_LOG_LEVEL=2 node -e "const tf = require('@tensorflow/tfjs-node'); const v = tf.add(tf.tensor1d([1, 2]), 1).dataSync(); process.exit(tf.getBackend() === 'tensorflow' && v[0] === 2 && v[1] === 3 ? 0 : 1)"; \
    then echo "engine: native TensorFlow (tfjs-node), verified with a real op on $(uname -m)"; \
    else echo "engine: tfjs-node does not run on $(uname -m) here; the image uses the wasm backend"; rm -rf node_modules/@tensorflow/tfjs-node; fi \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path "*/linux/$(node -p process.arch)" -exec rm -rf {} + \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# XDG_CACHE_HOME: where the engine remembers whether tfjs-node runs on this machine (a
# writable place for the non-root user; /tmp is an emptyDir under the Kubernetes manifest).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    XDG_CACHE_HOME=/tmp/.cache
WORKDIR /app
# Fixed ids so Kubernetes can check runAsNonRoot/runAsUser against them.
RUN groupadd --system --gid 10001 mldeploy \
 && useradd --system --uid 10001 --gid mldeploy --home-dir /app --shell /usr/sbin/nologin mldeploy \
 && mkdir -p /app/logs /models \
 && chown mldeploy:mldeploy /app/logs
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY --from=model / /models/
USER mldeploy
EXPOSE 8000
# serve drains in-flight requests on SIGTERM and exits 0; give `docker stop -t` enough time.
STOPSIGNAL SIGTERM
# curl is not in the slim image; node's built-in fetch is.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/ping').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/mldeploy"]
CMD ["serve", "--model", "/models", "--log-dir", "/app/logs"]
