#!/usr/bin/env bash
# Makes a stand-in for the node:20-bookworm-slim image from this machine's own Node.js, for
# building Lectern's image where Docker Hub is out of reach (Dockerfile: --build-arg
# NODE_IMAGE=<the tag>). Lectern's Dockerfile only copies files out of NODE_IMAGE, at the
# places the official image has them: /usr/local/bin/node, /usr/local/lib/node_modules/npm and
# /usr/local/include/node (the headers node-gyp builds the native modules against).
#   bash scripts/node-image.sh [TAG] [--base IMAGE]
# TAG defaults to lectern/node:20; the base (a Debian bookworm image, for `node --version` to
# run in) to lectern/base:latest, which `bin/lectern runtimes build` makes. Prints the tag.
set -euo pipefail
tag=lectern/node:20; base=lectern/base:latest
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=${2:?--base IMAGE}; shift 2 ;;
    -*) echo "node-image: unknown option $1" >&2; exit 2 ;;
    *) tag=$1; shift ;;
  esac
done

node=$(readlink -f "$(command -v node)") || { echo "node-image: no node on PATH" >&2; exit 1; }
major=$("$node" -p 'process.versions.node.split(".")[0]')
# Lectern runs on 20 (>= 20.12) or 22+, as package.json's engines say.
if [ "$major" -lt 20 ] || [ "$major" -eq 21 ]; then
  echo "node-image: $node is Node.js $("$node" --version); Lectern needs 20 or 22+" >&2
  exit 1
fi
npm_cli=$(readlink -f "$(command -v npm)") || { echo "node-image: no npm on PATH" >&2; exit 1; }
npm_dir=${npm_cli%/bin/npm-cli.js}
[ -f "$npm_dir/package.json" ] || { echo "node-image: cannot find npm's directory from $npm_cli" >&2; exit 1; }
# The headers of this very build (Debian's and NodeSource's packages put them in
# /usr/include/node, a release tarball in <prefix>/include/node).
headers=""
for d in "$(dirname "$(dirname "$node")")/include/node" /usr/include/node; do
  [ -f "$d/node_version.h" ] && { headers=$d; break; }
done
[ -n "$headers" ] || { echo "node-image: no Node.js headers found beside $node (install the nodejs package's headers)" >&2; exit 1; }
hv=$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION /{v=v (v?".":"") $3} END{print v}' "$headers/node_version.h")
[ "v$hv" = "$("$node" --version)" ] || { echo "node-image: headers in $headers are $hv, node is $("$node" --version)" >&2; exit 1; }
# Debian's own nodejs package links against shared libraries (libnode, libuv...) a bare copy
# would lack; a release build (nodejs.org, NodeSource) needs only libc and libstdc++.
if ldd "$node" | grep -q -E 'libnode|libuv'; then
  echo "node-image: $node is linked against shared Node.js libraries; use a nodejs.org or NodeSource build" >&2
  exit 1
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/include"
cp -p "$node" "$ctx/usr/local/bin/node"
cp -a "$npm_dir" "$ctx/usr/local/lib/node_modules/npm"
cp -a "$headers" "$ctx/usr/local/include/node"
# As the official image does: only this architecture's OpenSSL configuration headers (50 MB less).
case "$(uname -m)" in x86_64) arch=linux-x86_64 ;; aarch64) arch=linux-aarch64 ;; *) arch="" ;; esac
if [ -n "$arch" ] && [ -d "$ctx/usr/local/include/node/openssl/archs/$arch" ]; then
  find "$ctx/usr/local/include/node/openssl/archs" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} +
fi
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
cat > "$ctx/Dockerfile" <<EOF
# A stand-in for node:$major-bookworm-slim: this machine's Node.js $("$node" --version) and npm $("$node" "$npm_cli" --version).
FROM $base
COPY usr/local/ /usr/local/
RUN node --version && npm --version
CMD ["node"]
EOF
# The legacy builder: Debian's engine has no BuildKit, and this client may lack buildx.
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" > /dev/null
echo "$tag"
