#!/usr/bin/env bash
# ci/labvm.sh: a fresh Debian VM with systemd and the unified cgroup v2 hierarchy -- the lab VMs a class
# gets -- to try a checkout's README set-up (`bash setup.sh`, then `bash test.sh`) as a lab VM's user would.
# LABVM_SUITE=bookworm (Debian 12, Python 3.11, the default) or trixie (Debian 13, Python 3.13).
#
#   labvm build [--force]        debootstrap the suite's rootfs once, cache it as $LABVM/<suite>.img
#   labvm run [CHECKOUT] [-- PYTEST ARGS]
#                                build if needed; boot a fresh copy-on-write overlay of the image;
#                                git clone CHECKOUT (default: the git checkout you stand in; committed HEAD only) and copy
#                                it to /root/pydock_edu in the guest; run `bash setup.sh` then
#                                `bash test.sh [PYTEST ARGS]` as root; shut down; print a summary.
#                                Logs: $LABVM/logs/<stamp>/{setup,test,console,...}.log
#                                LABVM_KEEP=1 leaves the guest up afterwards, for digging.
#   labvm boot [CHECKOUT]        the same fresh boot + copy, then leave the guest up (for digging)
#   labvm ssh [CMD...]           a command (or a shell) in the guest that `boot` left up
#   labvm stop                   shut that guest down
#
# The guest: 2 vCPUs, 6 GiB (LABVM_CPUS, LABVM_MEM), KVM (TCG only if KVM fails, said in the summary;
# LABVM_ACCEL=auto|kvm|tcg). On these machines /dev/kvm is PVM (module kvm_pvm): `-cpu host` stops
# at once (failed to set MSR 0x10a), and with `-cpu host,-arch-capabilities` the stock Debian kernel
# never leaves its decompressor, so there the guest runs under TCG (about 10x slower).
# user-mode networking (the host's resolver and egress, so the same mirrors and PyPI), ssh on
# 127.0.0.1:$LABVM_PORT. Departures from a stock install, needed on this host only: the host's extra
# CA certificates (/usr/local/share/ca-certificates) are trusted in the guest too, the kernel is booted
# directly (-kernel/-initrd, no grub), and root logs in by an ssh key made here.
set -euo pipefail

LABVM=${LABVM:-/var/tmp/labvm}
SUITE=${LABVM_SUITE:-bookworm}
case $SUITE in bookworm|trixie) ;; *) echo "labvm: LABVM_SUITE must be bookworm or trixie, not $SUITE" >&2; exit 2 ;; esac
CPUS=${LABVM_CPUS:-2}
MEM=${LABVM_MEM:-6144}
PORT=${LABVM_PORT:-10022}
ACCEL=${LABVM_ACCEL:-auto}   # auto: KVM if qemu starts with it, else TCG; or kvm, tcg
MIRROR=${LABVM_MIRROR:-http://deb.debian.org/debian}
SIZE=${LABVM_SIZE:-16G}
ROOTFS=$LABVM/rootfs-$SUITE
BASE=$LABVM/$SUITE.img
KERNEL=$LABVM/vmlinuz-$SUITE
INITRD=$LABVM/initrd.img-$SUITE
KEY=$LABVM/id_ed25519
PIDF=$LABVM/qemu.pid
ACCELF=$LABVM/accel
PACKAGES=systemd,systemd-sysv,dbus,linux-image-amd64,openssh-server,ca-certificates,sudo,git,python3,curl

log() { echo "labvm: $*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s; }

SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
          -o ConnectTimeout=5 -o ServerAliveInterval=30 -o ServerAliveCountMax=20 -i "$KEY" -p "$PORT")
gssh() { ssh "${SSH_OPTS[@]}" root@127.0.0.1 "$@"; }

build() {
  [ "$(id -u)" -eq 0 ] || die "build must run as root"
  if [ -f "$BASE" ] && [ "${1:-}" != --force ]; then log "image cached: $BASE"; return 0; fi
  local t0; t0=$(now)
  mkdir -p "$LABVM/logs"
  [ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -f "$KEY" -C labvm
  rm -rf "$ROOTFS" "$BASE" "$BASE.tmp"
  log "debootstrap $SUITE into $ROOTFS (log $LABVM/logs/debootstrap-$SUITE.log)"
  debootstrap --arch=amd64 --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" \
    >"$LABVM/logs/debootstrap-$SUITE.log" 2>&1 || { tail -20 "$LABVM/logs/debootstrap-$SUITE.log"; die "debootstrap failed"; }

  log "configure the rootfs"
  echo labvm > "$ROOTFS/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tlabvm\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOTFS/etc/hosts"
  printf '/dev/vda\t/\text4\terrors=remount-ro\t0\t1\n' > "$ROOTFS/etc/fstab"
  # The sources a Debian install has: main, updates, security.
  rm -f "$ROOTFS/etc/apt/sources.list"
  cat > "$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # DHCP on the first wired link whatever its predictable name (slirp: 10.0.2.15, DNS 10.0.2.3).
  mkdir -p "$ROOTFS/etc/systemd/network"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' > "$ROOTFS/etc/systemd/network/20-wired.network"
  rm -f "$ROOTFS/etc/resolv.conf"; echo 'nameserver 10.0.2.3' > "$ROOTFS/etc/resolv.conf"
  chroot "$ROOTFS" systemctl enable systemd-networkd >/dev/null 2>&1
  # root: ssh key, and a password for the serial console.
  install -d -m 700 "$ROOTFS/root/.ssh"
  install -m 600 "$KEY.pub" "$ROOTFS/root/.ssh/authorized_keys"
  echo 'root:labvm' | chroot "$ROOTFS" chpasswd
  # This host's egress re-signs TLS with its own CAs: trust them in the guest as the host does.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
    chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1
  fi
  : > "$ROOTFS/etc/machine-id"          # systemd makes a new one at first boot
  chroot "$ROOTFS" apt-get clean
  # The newest kernel in /boot (trixie no longer makes the /vmlinuz symlinks by default).
  local kernel; kernel=$(ls "$ROOTFS"/boot/vmlinuz-* | sort -V | tail -1)
  cp "$kernel" "$KERNEL"
  cp "$ROOTFS/boot/initrd.img-${kernel##*/vmlinuz-}" "$INITRD"

  log "make the ext4 image ($SIZE, sparse)"
  truncate -s "$SIZE" "$BASE.tmp"
  mkfs.ext4 -q -L labroot -d "$ROOTFS" "$BASE.tmp"
  mv "$BASE.tmp" "$BASE"
  rm -rf "$ROOTFS"
  log "image built in $(( $(now) - t0 ))s: $BASE"
}

running() { [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }

# boot LOGDIR: a fresh overlay of the base image, up and reachable by ssh.
boot_vm() {
  local logdir=$1 t0 overlay=$LABVM/run.qcow2
  running && die "a guest is already running (pid $(cat "$PIDF")): labvm stop"
  [ -f "$BASE" ] || build
  rm -f "$overlay"
  qemu-img create -q -f qcow2 -b "$BASE" -F raw "$overlay"
  ss -ltn | grep -q "127.0.0.1:$PORT " && die "port $PORT is taken (LABVM_PORT=...)"
  local common=(-machine q35 -smp "$CPUS" -m "$MEM" -display none -no-reboot
    -kernel "$KERNEL" -initrd "$INITRD"
    -append "root=/dev/vda ro console=ttyS0"
    -drive "file=$overlay,if=virtio,format=qcow2,cache=unsafe"
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22" -device virtio-net-pci,netdev=n0
    -serial "file:$logdir/console.log" -daemonize -pidfile "$PIDF")
  t0=$(now)
  : > "$logdir/qemu.err"
  if [ "$ACCEL" != tcg ] && qemu-system-x86_64 -accel kvm -cpu host "${common[@]}" 2>"$logdir/qemu.err"; then
    echo kvm > "$ACCELF"
  else
    [ "$ACCEL" = kvm ] && die "KVM failed: $(head -1 "$logdir/qemu.err")"
    [ "$ACCEL" = tcg ] || log "KVM failed ($(head -1 "$logdir/qemu.err")); falling back to TCG"
    qemu-system-x86_64 -accel tcg -cpu max "${common[@]}" 2>>"$logdir/qemu.err" || die "qemu failed: $(cat "$logdir/qemu.err")"
    echo tcg > "$ACCELF"
  fi
  log "qemu pid $(cat "$PIDF") ($(cat "$ACCELF")), waiting for ssh on 127.0.0.1:$PORT"
  for _ in $(seq 120); do
    gssh true 2>/dev/null && break
    running || die "qemu exited; see $logdir/console.log"
    sleep 2
  done
  gssh true || die "no ssh after 4 minutes; see $logdir/console.log"
  gssh 'systemctl is-system-running --wait' >/dev/null 2>&1 || true
  log "guest up in $(( $(now) - t0 ))s"
}

copy_in() {
  local checkout=$1 tmp
  tmp=$(mktemp -d "$LABVM/clone.XXXXXX")
  git clone -q "$checkout" "$tmp/pydock_edu"
  log "copy $(git -C "$tmp/pydock_edu" rev-parse --short HEAD) of $checkout to the guest's /root/pydock_edu"
  tar -C "$tmp" -cf - pydock_edu | gssh 'rm -rf /root/pydock_edu && tar -C /root -xf -'
  rm -rf "$tmp"
}

stop_vm() {
  running || return 0
  local pid; pid=$(cat "$PIDF")
  gssh 'systemctl poweroff' >/dev/null 2>&1 || true
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then log "guest did not power off; killing qemu $pid"; kill "$pid"; fi
  rm -f "$PIDF"
}

facts() {  # what the guest is, for the summary
  gssh 'echo "os: $(. /etc/os-release; echo $PRETTY_NAME), kernel $(uname -r)";
        echo "init: $(ps -p 1 -o comm=), $(systemctl is-system-running 2>/dev/null)";
        echo "cgroup fs: $(stat -fc %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null)";
        echo "root subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null)";
        echo "python: $(python3 --version)"'
}

cmd_run() {
  local checkout; checkout=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
  if [ $# -gt 0 ] && [ "$1" != -- ]; then checkout=$1; shift; fi
  [ "${1:-}" = -- ] && shift
  local stamp logdir t0 ts tt rc_setup rc_test=skipped t_setup t_test
  stamp=$SUITE-$(date +%Y%m%d-%H%M%S); logdir=$LABVM/logs/$stamp; mkdir -p "$logdir"
  ln -sfn "$stamp" "$LABVM/logs/latest"
  t0=$(now)
  [ -f "$BASE" ] || build
  trap 'stop_vm' EXIT
  boot_vm "$logdir"
  copy_in "$checkout"
  facts | tee "$logdir/guest.txt"
  log "bash setup.sh (log $logdir/setup.log)"
  ts=$(now)
  set +e
  gssh 'cd /root/pydock_edu && bash setup.sh' >"$logdir/setup.log" 2>&1; rc_setup=$?
  t_setup=$(( $(now) - ts ))
  if [ "$rc_setup" -eq 0 ]; then
    log "bash test.sh $* (log $logdir/test.log)"
    tt=$(now)
    gssh "cd /root/pydock_edu && timeout 3h bash test.sh $(printf '%q ' "$@")" >"$logdir/test.log" 2>&1; rc_test=$?
    t_test=$(( $(now) - tt ))
  fi
  gssh 'journalctl -b --no-pager' >"$logdir/journal.log" 2>&1
  gssh 'dmesg' >"$logdir/dmesg.log" 2>&1
  set -e
  trap - EXIT
  if [ "${LABVM_KEEP:-0}" = 1 ]; then log "LABVM_KEEP=1: guest left up (labvm ssh; labvm stop)"; else stop_vm; fi
  {
    echo "== labvm summary ($stamp) =="
    echo "checkout: $checkout; suite: $SUITE; accel: $(cat "$ACCELF"); ${CPUS} vCPUs, ${MEM} MiB"
    cat "$logdir/guest.txt"
    echo "setup.sh: rc=$rc_setup in ${t_setup}s"
    [ "$rc_setup" -eq 0 ] || tail -5 "$logdir/setup.log" | sed 's/^/  | /'
    if [ "$rc_test" != skipped ]; then
      echo "test.sh: rc=$rc_test in ${t_test}s"
      grep -E '^(FAILED|ERROR) ' "$logdir/test.log" | sed 's/^/  /' || true
      tail -1 "$logdir/test.log" | sed 's/^/  | /'
    else
      echo "test.sh: not run (setup failed)"
    fi
    echo "total: $(( $(now) - t0 ))s; logs: $logdir"
  } | tee "$logdir/summary.txt"
}

case ${1:-} in
build) shift; build "$@" ;;
run) shift; cmd_run "$@" ;;
boot)
  shift; d=$LABVM/logs/boot-$(date +%Y%m%d-%H%M%S); mkdir -p "$d"
  boot_vm "$d"; copy_in "${1:-$(git rev-parse --show-toplevel 2>/dev/null || pwd)}"; facts
  log "guest up: labvm ssh [CMD]; labvm stop" ;;
ssh) shift; running || die "no guest running (labvm boot)"
  if [ $# -gt 0 ]; then gssh "$@"; else ssh -t "${SSH_OPTS[@]}" root@127.0.0.1; fi ;;
stop) stop_vm ;;
*) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
