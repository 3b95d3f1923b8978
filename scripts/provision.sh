#!/usr/bin/env bash
# Installs the Debian packages Lectern needs, only those missing (fast when all are there).
# Always --no-install-recommends: with recommends the R stack pulls in TeX (2.35 GB).
#   (no argument)   everything the test suite needs
#   --serve         only what the server needs to run content (npm start's prestart)
#   --check         install nothing: list what is missing and exit 3
#   --if-root       as another user, say what is missing and the command, and exit 0
set -euo pipefail
check=0; serve=0; ifroot=0
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    --serve) serve=1 ;;
    --if-root) ifroot=1 ;;
    *) echo "provision: unknown argument $a" >&2; exit 2 ;;
  esac
done
# What running content needs: the runtimes, and the sandbox (bubblewrap; socat bridges each
# sandboxed process's port to a Unix socket and Lectern's API into it; slirp4netns links it out).
serve_packages=(
  ca-certificates r-base-core r-cran-shiny r-cran-plumber r-cran-rmarkdown r-cran-knitr pandoc
  python3 python3-venv python3-pip python3-flask python3-fastapi python3-uvicorn python3-gunicorn
  jupyter-nbconvert python3-ipykernel bubblewrap socat slirp4netns
)
packages=(
  ca-certificates
  build-essential   # node-gyp builds better-sqlite3 and argon2 from source here
  python3           # node-gyp
  postgresql        # the integration suite runs on PostgreSQL as well as SQLite
  # The real R publishing client, and the packages it snapshots for Shiny, Plumber and
  # R Markdown bundles (it refuses to bundle content whose packages are not installed).
  r-base-core r-cran-rsconnect r-cran-shiny r-cran-plumber r-cran-rmarkdown r-cran-knitr pandoc
  chromium          # browser tests, driven by playwright-core (never a downloaded browser)
  # Content runtimes: Debian's Python web stack, Jupyter, and the bubblewrap sandbox.
  python3-flask python3-fastapi python3-uvicorn python3-gunicorn jupyter-nbconvert python3-ipykernel
  python3-venv python3-pip python3-numpy bubblewrap
  # Each sandboxed process's network namespace: socat bridges its port to a Unix socket and
  # Lectern's API into it; slirp4netns links it to the outside.
  socat slirp4netns
  nginx-light wrk   # bench/proxy: the reverse proxy to compare with, and the load generator
  libnginx-mod-http-js   # proxy.front nginx (proxy/front): its response filter is nginx JavaScript
  iproute2   # ss: the proxy workers' test sees which process holds which connection
  systemd    # systemd-analyze verify checks the packaged install's unit (deploy/lectern.service)
  # The Docker backend: Debian's engine, and debootstrap for a base image without a registry;
  # a registry (Docker's distribution) for the Swarm backend's push test.
  docker.io debootstrap docker-registry
  # LDAP logins: Debian's OpenLDAP server, which the tests start on loopback with a
  # configuration of their own, and its tools (ldapadd, ldapmodify) to load it.
  slapd ldap-utils
)
[ "$serve" = 1 ] && packages=("${serve_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "provision: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$check" = 1 ]; then
  echo "${missing[*]}"
  exit 3
fi
if [ "$ifroot" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "provision: missing ${missing[*]}; install them with: sudo bash scripts/provision.sh$([ "$serve" = 1 ] && echo ' --serve')" >&2
  exit 0
fi
echo "provision: installing ${missing[*]}"
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (slapd, nginx, docker.io) must not start it system-wide on install:
# the tests and .ci/run start their own, on ports of their own. A policy-rc.d saying 101
# ("not allowed") does that while we install, unless the machine already has one.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" > /dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
