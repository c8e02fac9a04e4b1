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
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "python3 on PATH is older than 3.11: $(python3 --version)" >&2
  exit 1
}
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
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
