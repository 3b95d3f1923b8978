# Lectern, packaged: the server with the content runtimes its local backend runs (R, Python and
# bubblewrap, from the runtime image), as an unprivileged user. docs/install.md says how to
# build and run it. The legacy builder (DOCKER_BUILDKIT=0) builds it as well as BuildKit.
#
# RUNTIME_BASE: Debian bookworm with R and Python, as `bin/lectern runtimes build` makes it
#   from debootstrap (no registry needed). Both stages start from it, so the native modules
#   are built against the very libraries they run with.
# NODE_IMAGE: where Node.js and npm come from (only files are copied out of it, from the
#   places the official image keeps them). Without Docker Hub, scripts/node-image.sh makes a
#   stand-in from the host's Node.js.
ARG RUNTIME_BASE=lectern/r-python:latest
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS node

FROM ${RUNTIME_BASE} AS build
USER root
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends build-essential python3 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
COPY --from=node /usr/local/include/node /usr/local/include/node
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /opt/lectern
# The dependencies before the sources: a change to the code alone reuses this layer.
COPY package.json package-lock.json ./
# Behind a TLS-intercepting proxy, the PEM certificates of its CA (this stage only: they are
# not in the final image). npm_config_nodedir: node-gyp builds better-sqlite3 against the
# headers at hand rather than downloading them.
ARG EXTRA_CA_CERTS=
RUN set -e; \
    if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi; \
    npm_config_nodedir=/usr/local npm ci --omit=dev --no-audit --no-fund; \
    rm -rf /root/.npm /tmp/extra-ca.pem

FROM ${RUNTIME_BASE}
USER root
# bubblewrap: the local backend's sandbox (docs/install.md says what it needs from Docker);
# git: git-backed content; tini: PID 1, reaping what content processes leave behind and
# handing SIGTERM to the server, which drains its requests; nginx-light and its JavaScript
# module: the optional nginx front (LECTERN_PROXY_FRONT=nginx). apt-get clean: the downloaded
# packages and apt's caches would be 270 MB of this layer.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends bubblewrap git tini nginx-light libnginx-mod-http-js \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# Node.js content runs /usr/bin/node (runtimes/app-modes/nodejs.ts).
RUN ln -s /usr/local/bin/node /usr/bin/node
# A fixed uid and gid, so a data directory from the host can be given to it (chown 10000).
RUN groupadd --gid 10000 lectern \
 && useradd --uid 10000 --gid 10000 --home-dir /var/lib/lectern --no-create-home --shell /usr/sbin/nologin lectern \
 && install -d -o lectern -g lectern -m 0700 /var/lib/lectern
WORKDIR /opt/lectern
# The code belongs to root: the server cannot change what it runs.
COPY --from=build /opt/lectern/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY scheduler ./scheduler
COPY views ./views
COPY proxy ./proxy
COPY runtimes ./runtimes
COPY src ./src
RUN ln -s /opt/lectern/bin/lectern /usr/local/bin/lectern
ENV LECTERN_DATA_DIR=/var/lib/lectern NODE_ENV=production
VOLUME /var/lib/lectern
# Lectern's own port and the content origin's.
EXPOSE 3939 3940
USER lectern
# No curl in the image: Node's fetch asks /__ping__.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.LECTERN_PORT || 3939) + '/__ping__').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/main.ts"]
