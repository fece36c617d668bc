#!/usr/bin/env bash
# A full-kernel guest for the tests that need one (kernel ESP over XFRM interfaces, netem), on a
# host whose own kernel lacks them. Debian 12 built with mmdebstrap from the same packages
# scripts/setup.sh installs, booted with QEMU: KVM where a guest boots under it, TCG (software
# emulation, some ten times slower) where not. The guest sees this checkout and its virtualenv
# over 9p at the same path, so it runs this very code; it needs no network.
#
#   scripts/vm.sh build            build the cached image (again only when its inputs change)
#   scripts/vm.sh test [ARGS]      the tests marked fullkernel in the guest (pytest ARGS added)
#   scripts/vm.sh run CMD...       a command in the guest, in the checkout, venv active (one
#                                  argument: a shell command line)
#
# Environment: TESTBED_VM_CACHE (default /var/cache/testbed-vm), TESTBED_VM_ACCEL (kvm, tcg;
# default: kvm if a guest boots under it here, else tcg), TESTBED_VM_TIMEOUT (s, default 3600),
# TESTBED_VM_CPUS (default: the host's), TESTBED_VM_MEMORY_MB (default 4096).
# Run as root on a Debian 12 host (the guest uses the host's virtualenv, so the same Python).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TESTBED_VM_CACHE:-/var/cache/testbed-vm}"
suite=bookworm
mirror=http://deb.debian.org/debian

die() { echo "vm: $*" >&2; exit 1; }

# --- the guest half: this script is what the guest's init runs (see guest_init below) ---
if [ "${1:-}" = guest ]; then
    io=/io
    cd "$here"
    # shellcheck disable=SC1091
    . .venv/bin/activate
    export PYTHONDONTWRITEBYTECODE=1   # the checkout is the host's: leave no files of the guest's in it
    # no udev here to make /dev/net/tun, which vpn.dataplane=libipsec needs: the module makes it
    modprobe tun || echo "testbed-guest: modprobe tun failed: vpn.dataplane=libipsec will be refused"
    echo "testbed-guest: kernel $(uname -r), $(nproc) cpus, running: $(cat "$io/cmd")"
    set +e
    bash -c "$(cat "$io/cmd")" </dev/null
    echo "$?" > "$io/rc"
    sync
    echo o > /proc/sysrq-trigger   # power off; QEMU exits
    sleep 60
    exit 1
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, QEMU's 9p shares): try 'sudo $0 $*'."

# PID 1 in the guest: mounts, the checkout over 9p, then "scripts/vm.sh guest" from it.
guest_init() {
    cat <<'EOF'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# the initramfs has moved /proc, /sys and /dev over; mount what is not there yet
mnt() { mountpoint -q "$3" || mount -t "$1" "$2" "$3"; }
mnt proc proc /proc; mnt sysfs sys /sys; mnt devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp; mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -o remount,rw /
hostname testbed-guest; ip link set lo up
src=$(sed -n 's/.*testbed\.src=\([^ ]*\).*/\1/p' /proc/cmdline)
modprobe 9pnet_virtio
mkdir -p "$src" /io
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 checkout "$src"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 io /io
if [ ! -f "$src/scripts/vm.sh" ] || [ ! -f /io/cmd ]; then
    echo "testbed-guest: the host's shares did not mount (checkout $src, io)"
    echo o > /proc/sysrq-trigger; sleep 60
fi
echo "testbed-guest: up"
exec /bin/bash "$src/scripts/vm.sh" guest
EOF
}

# What the image is made of: its hash names the cached image, so a change rebuilds it.
packages() {
    bash "$here/scripts/setup.sh" --packages
    # the venv holds every Python requirement (setup.sh), so the guest's system needs only
    # what the venv takes from it: Debian's mininet, among setup.sh's packages
    printf '%s\n' linux-image-amd64 kmod mount
}
image_key() { { packages; guest_init; echo "$suite $mirror"; } | sha256sum | cut -c1-16; }

build() {
    local key dir tmp
    key="$(image_key)"
    dir="$cache/$key"
    if [ -f "$dir/rootfs.img" ]; then
        echo "vm: image $dir is built"
        return
    fi
    bash "$here/scripts/setup.sh" --vm >/dev/null
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "vm: building the $suite guest in $tmp (mmdebstrap, a few minutes)"
    guest_init > "$tmp/init"
    # --no-install-recommends keeps firmware and openvswitch out, as on the host
    mmdebstrap --mode=root --variant=apt --format=directory \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --aptopt='APT::Install-Recommends "false"' \
        --include="$(packages | paste -sd,)" \
        --customize-hook="install -m 755 $tmp/init \"\$1/usr/local/sbin/testbed-init\"" \
        --customize-hook='echo testbed-guest > "$1/etc/hostname"' \
        "$suite" "$tmp/root" "deb $mirror $suite main" "deb $mirror $suite-updates main" \
        "deb ${mirror}-security $suite-security main"
    cp "$tmp"/root/boot/vmlinuz-* "$tmp/vmlinuz"
    cp "$tmp"/root/boot/initrd.img-* "$tmp/initrd.img"
    # an ext4 image of the tree, with room for what the tests write outside the checkout
    local size_mb=$(( $(du -sm "$tmp/root" | cut -f1) + 1024 ))
    mke2fs -q -t ext4 -L testbed-root -d "$tmp/root" "$tmp/rootfs.img" "${size_mb}M"
    rm -rf "$tmp/root"
    mkdir -p "$dir"
    mv "$tmp/vmlinuz" "$tmp/initrd.img" "$tmp/rootfs.img" "$dir/"
    rm -rf "$tmp"
    # images of earlier inputs are not used again
    find "$cache" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{16}' ! -name "$key" -exec rm -rf {} +
    trap - EXIT
    echo "vm: image $dir built ($(du -sh "$dir" | cut -f1))"
}

# boot ACCEL CMD: boots the guest with CMD; prints its console; returns CMD's exit code. With
# kvm, a guest that is not up within 30 s (here the kernel hangs after decompression) is
# stopped and reported as 124, so the caller falls back to tcg.
boot() {
    local accel="$1" cmd="$2" dir io console qpid up_s rc
    dir="$cache/$(image_key)"
    io="$(mktemp -d "$cache/io.XXXXXX")"
    console="$io/console"
    # under TCG the tests' timing windows mean nothing: they relax them (tests/live/test_fullkernel_live.py)
    { [ "$accel" = tcg ] && echo "export TESTBED_TIMING=relaxed"; printf '%s\n' "$cmd"; } > "$io/cmd"
    local accel_opts=(-accel tcg,thread=multi -cpu max)
    [ "$accel" = kvm ] && accel_opts=(-accel kvm -cpu host)
    qemu-system-x86_64 -machine q35 "${accel_opts[@]}" -smp "${TESTBED_VM_CPUS:-$(nproc)}" -m "${TESTBED_VM_MEMORY_MB:-4096}" \
        -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 panic=1 quiet init=/usr/local/sbin/testbed-init testbed.src=$here" \
        -drive "file=$dir/rootfs.img,if=virtio,format=raw,snapshot=on" \
        -virtfs "local,path=$here,mount_tag=checkout,security_model=passthrough,id=checkout" \
        -virtfs "local,path=$io,mount_tag=io,security_model=passthrough,id=io" \
        -nic none -display none -serial "file:$console" -monitor none -no-reboot \
        </dev/null >"$io/qemu.log" 2>&1 &
    qpid=$!
    # Ctrl-C or an error stops this guest (by its pid) and drops its files
    trap 'kill "$qpid" 2>/dev/null; rm -rf "$io"' EXIT
    trap 'exit 130' INT TERM
    local limit=300; [ "$accel" = kvm ] && limit=30
    for ((up_s = 0; up_s < limit; up_s++)); do
        grep -q 'testbed-guest: up' "$console" 2>/dev/null && break
        kill -0 "$qpid" 2>/dev/null || break
        sleep 1
    done
    if ! grep -q 'testbed-guest: up' "$console" 2>/dev/null; then
        kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null || true
        if [ "$accel" = kvm ]; then
            echo "vm: the guest did not come up under KVM within ${limit} s: using TCG" >&2
            trap - EXIT INT TERM; rm -rf "$io"
            return 124
        fi
        tail -n 20 "$console" "$io/qemu.log" >&2 || true
        die "the guest did not come up within ${limit} s (${accel}); its console is above."
    fi
    echo "vm: guest up in ${up_s} s (${accel})"
    local deadline=$(( SECONDS + ${TESTBED_VM_TIMEOUT:-3600} ))
    tail -n +1 -f --pid="$qpid" "$console" &
    local tailpid=$!
    while kill -0 "$qpid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            kill "$qpid"; echo "vm: the guest ran past TESTBED_VM_TIMEOUT; stopped." >&2
        fi
        sleep 1
    done
    wait "$tailpid" 2>/dev/null || true
    rc="$(cat "$io/rc" 2>/dev/null || echo 125)"
    [ "$rc" = 125 ] && { echo "vm: the guest ended before the command did; QEMU said:" >&2; cat "$io/qemu.log" >&2; }
    trap - EXIT INT TERM
    rm -rf "$io"
    return "$rc"
}

# run CMD with the accelerator that works here (remembered per host kernel)
run_guest() {
    local cmd="$1" verdict="$cache/kvm-$(uname -r)" rc=0
    [ -f "$here/.venv/bin/python" ] || die "no virtualenv in $here: run 'bash scripts/setup.sh' first."
    grep -q '^version = 3\.11\.' "$here/.venv/pyvenv.cfg" ||
        die "the virtualenv is not Debian 12's Python 3.11, which the guest runs: rebuild it on a Debian 12 host."
    build
    local accel="${TESTBED_VM_ACCEL:-}"
    if [ -z "$accel" ]; then
        if [ -e /dev/kvm ] && [ "$(cat "$verdict" 2>/dev/null || echo untried)" != hangs ]; then accel=kvm; else accel=tcg; fi
    fi
    boot "$accel" "$cmd" || rc=$?
    if [ "$rc" -eq 124 ] && [ "$accel" = kvm ] && [ -z "${TESTBED_VM_ACCEL:-}" ]; then
        echo hangs > "$verdict"
        rc=0; boot tcg "$cmd" || rc=$?
    elif [ "$accel" = kvm ]; then
        echo boots > "$verdict"
    fi
    return "$rc"
}

case "${1:-}" in
    build) build ;;
    test) shift
        results="$here/results/vm-$(date -u +%Y%m%dT%H%M%SZ)"
        echo "vm: the scenarios' results go to $results"
        args=""; [ "$#" -eq 0 ] || args="$(printf '%q ' "$@")"   # printf of nothing is '', a path
        run_guest "export TESTBED_VM_RESULTS=$results; python -m pytest -q -p no:cacheprovider -m fullkernel tests/live $args" ;;
    run) shift; [ "$#" -gt 0 ] || die "run wants a command: scripts/vm.sh run uname -r"
        # one argument is a shell command line ('uname -r; lsmod'), several are one command's words
        if [ "$#" -eq 1 ]; then run_guest "$1"; else run_guest "$(printf '%q ' "$@")"; fi ;;
    *) die "usage: scripts/vm.sh build | test [PYTEST ARGS] | run CMD..." ;;
esac
