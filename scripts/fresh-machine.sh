#!/usr/bin/env bash
# Runs the README's test command on a fresh machine: a new Debian bookworm root file system
# holding only what a new machine of this kind has (Node.js and npm, with node-gyp's compiler,
# python3 and git), a fresh clone of this repository, and nothing Lectern's suite needs
# beyond that. Proves `npm ci && npm test` installs what it is missing, and times it.
#   sudo bash scripts/fresh-machine.sh [root-dir] [log]
# Must run as root on the host (debootstrap, mounts). Takes about 25 minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/lectern-fresh}
log=${2:-$root.log}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "fresh-machine: run as root" >&2; exit 2; }
[ -e "$root" ] && { echo "fresh-machine: $root exists; remove it first" >&2; exit 2; }

exec > >(tee "$log") 2>&1
started=$(date +%s)
debootstrap --variant=minbase --include=ca-certificates,python3,make,g++,git bookworm "$root" "$mirror"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
# Node.js exactly as the host has it (its nodejs package's files: node, npm, the headers
# node-gyp builds against), and the host's npm settings and certificate authorities.
dpkg -L nodejs | while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done |
  tar -cf - --no-recursion -T - 2> /dev/null | tar -xf - -C "$root"
# npm as the machine has it (a new machine updates npm past its package's at first boot).
rm -rf "$root/usr/lib/node_modules"
cp -a /usr/lib/node_modules "$root/usr/lib/node_modules"
for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do if [ -e "$f" ]; then install -D -m 644 "$f" "$root$f"; fi; done
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
# The machine image's local Python package index and wheels (docs/environment.md), and the pip
# settings that point at them: mounted read-only below, as they are part of every machine.
for f in /etc/pip.conf /etc/xdg/pip/pip.conf /etc/xdg/pip/constraints.txt /root/.config/pip/pip.conf; do
  if [ -e "$f" ]; then install -D -m 644 "$f" "$root$f"; fi
done
indexes=()
for d in /opt/pypi /opt/pypi-more /opt/wheels; do
  if [ -d "$d" ]; then mkdir -p "$root$d"; indexes+=("$d"); fi
done
chroot "$root" update-ca-certificates > /dev/null
git clone -q --no-local "$repo" "$root/work/repo"
cp -a "$repo/../shared" "$root/work/shared"
echo "fresh-machine: root file system ready in $(( $(date +%s) - started )) s"

# A mount and PID namespace of its own, entered with pivot_root rather than chroot: the kernel
# refuses user namespaces (bubblewrap's sandbox) to a chrooted process. Every process the run
# starts (PostgreSQL, dockerd, content) ends with it.
unshare --mount --pid --fork --propagation private bash -euo pipefail -c '
  root=$1
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=755 tmpfs "$root/run"
  for d in "${@:2}"; do mount --bind -o ro "$d" "$root$d"; done
  cd "$root"; mkdir -p .old; pivot_root . .old
  exec chroot . /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    /bin/bash -euo pipefail -c "umount -l /.old; rmdir /.old; cd /work/repo
      t0=\$(date +%s); npm ci --no-audit --no-fund; t1=\$(date +%s)
      npm test; t2=\$(date +%s)
      echo \"fresh-machine: npm ci took \$((t1 - t0)) s, npm test \$((t2 - t1)) s\""
' bash "$root" "${indexes[@]}"
echo "fresh-machine: finished in $(( $(date +%s) - started )) s"
