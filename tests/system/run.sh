#!/usr/bin/env bash
# The system test (docs/TESTING.md, "The whole system"): the project's arm64 packages installed with
# apt on two emulated Raspberry Pi 3 Model B, under their own systemd, the LED on GPIO 17 of the
# device Pi, the device Pi on the device network only; one line per check, then "N passed, N failed".
#   bash tests/system/run.sh [CHECK...]      every check, or only those named (and install)
# It builds the Pi image or finds it in its cache (tools/testbed/build-image.sh, which installs with
# apt what that takes: QEMU's system and user emulators, mmdebstrap, ...), and takes the arm64
# packages from ANON_DEB_DIR (tests/run.sh builds them) or builds them (deploy/debian/build.sh arm64). What it leaves, in artifacts/system/: both
# consoles, the kernel's view of the GPIO lines at each LED check, both services' journals,
# latency.csv and summary.txt. Exit 0 when every check passed, 1 when one failed, 77 when this
# machine cannot run it (no root or sudo to install what it needs).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
artifacts=$root/artifacts/system
say() { echo "tests/system/run.sh: $*" >&2; }

# What it runs with (QEMU's system and user emulators, mmdebstrap, the device tree compiler...),
# tools/testbed/build-image.sh installs when it lacks it, as it builds the Pis' file system: as root.
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
    say "skipped: it installs what it needs with apt and builds the Pis' file system as root: run it as root or with sudo"
    exit 77
fi

# The check rogue-gateway-refused signs its pages with Debian's minisign, as README "Signed pages" does.
command -v minisign >/dev/null 2>&1 || bash tools/apt-install.sh tests/system/run.sh minisign

# The packages under test: those tests/run.sh built, or built now from this tree.
packages=${ANON_DEB_DIR:-}
if [ -z "$packages" ] || ! ls "$packages"/anon-client_*_arm64.deb >/dev/null 2>&1; then
    say "building the arm64 packages (deploy/debian/build.sh arm64)"
    rm -f artifacts/deb/*_arm64.deb
    bash deploy/debian/build.sh arm64 >/dev/null
    packages=$root/artifacts/deb
fi

dotnet build tools/Anon.Lab -v q -nologo >/dev/null
lab=$root/tools/Anon.Lab/bin/Debug/net10.0/anon-lab

# QEMU is started by anon-lab and stopped by it on every way out but a SIGKILL; then by this trap,
# from the pid files it leaves, and only if that pid is still a QEMU of this run.
stop_strays() {
    for pidfile in "$artifacts"/*-qemu.pid; do
        [ -e "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "qemu-system-aarch64.*$artifacts"; then
            kill "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}
trap stop_strays EXIT

only=()
for check in "$@"; do only+=(--only "$check"); done
# Each check has its own timeout; this one bounds the whole, image build included.
timeout --kill-after=60 60m "$lab" testbed check --packages "$packages" --artifacts "$artifacts" "${only[@]}"
