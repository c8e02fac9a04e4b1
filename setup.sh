#!/usr/bin/env bash
# Set up pydock_edu on a Debian 12 lab VM: system packages, a virtualenv at /opt/pydock/venv with this
# repository installed editable, the `pydock` command, the Jupyter kernel and the built-in busybox image.
# Run as root (`sudo bash setup.sh`). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

VENV=/opt/pydock/venv
export DEBIAN_FRONTEND=noninteractive

step() { echo "==> $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh must run as root: sudo bash setup.sh" >&2
  exit 1
fi

step "system packages"
# Without systemd (containers, sandboxes), a package's postinst must not try to start its service
# (docker-registry has one): a temporary policy-rc.d tells invoke-rc.d "not now" (exit 101).
policy=/usr/sbin/policy-rc.d
if [ ! -d /run/systemd/system ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq \
  busybox-static iptables iproute2 graphviz docker-registry skopeo apache2-utils openssl \
  python3-venv util-linux procps gcc libc6-dev >/dev/null

step "virtualenv $VENV"
# The distribution's /usr/bin/python3 where it is new enough: every user can run it, so every user can
# start the installed pydock (a python3 found first on root's PATH may be a pyenv build inside root's
# home, mode 700). Otherwise the first python3 on PATH.
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
PYTHON=
for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && new_enough "$candidate"; then PYTHON=$candidate; break; fi
done
if [ -z "$PYTHON" ]; then
  echo "no Python 3.11 or newer: /usr/bin/python3 and the python3 on PATH are missing or older" >&2
  exit 1
fi
echo "    Python: $PYTHON ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'), $(readlink -f "$PYTHON"))"
# A venv made from another interpreter (say, by an older setup.sh from PATH's python3) is made again, once.
built_from() { sed -n 's/^executable = //p' "$VENV/pyvenv.cfg" 2>/dev/null; }
if ! "$VENV/bin/python" -c '' 2>/dev/null \
   || [ "$(readlink -f "$(built_from)")" != "$(readlink -f "$PYTHON")" ]; then
  [ -e "$VENV" ] && echo "    rebuilding $VENV: it was made from $(built_from || true)"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
# compat mode: a plain path entry in a .pth file, the cheapest editable install at interpreter start-up.
"$VENV/bin/python" -m pip install -qq -e ".[test]" --config-settings editable_mode=compat
ln -sfn "$VENV/bin/pydock" /usr/local/bin/pydock

if [ -f pydock_edu/kernel.py ] || [ -f pydock_edu/kernel/__main__.py ]; then
  step "Jupyter kernelspec"
  "$VENV/bin/python" -m pydock_edu.kernel install --sys-prefix
fi

step "busybox image"
"$VENV/bin/pydock" image bootstrap busybox

step "first container"
"$VENV/bin/pydock" run --rm busybox echo hello from a container
