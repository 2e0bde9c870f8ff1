#!/usr/bin/env bash
# The test command (README "Tests"): installs the Debian programs that some end-to-end tests drive,
# when they are missing, then runs every test project with `dotnet test` (arguments pass through),
# then, when no argument was given, the system test on two emulated Pis (tests/system/run.sh;
# ANON_SKIP_SYSTEM=1 leaves it out).
#   dumpcap, tshark   tshark       the Wireshark dissector decodes a captured transfer
#   nginx (stream)    nginx, libnginx-mod-stream   a fleet of gateways behind nginx's UDP proxy
#   chromium, a font  chromium, fonts-dejavu-core   the gateway's status page, rendered headless
#   systemd-analyze   systemd      deploy/'s units checked with `systemd-analyze verify` (no running systemd needed)
#   minisign          minisign     signs pages and makes wrong keys for the gateway's --page-key
#   help2man, lintian help2man, lintian   the Debian packages' man pages, and Debian's check of the packages
#   adduser           adduser      what the packages' maintainer scripts call (dpkg -i installs no dependency)
#   logrotate         logrotate    rotates the installed gateway's log by the package's /etc/logrotate.d file
#   libgpiod          libgpiod2    the client's real GPIO driver, so its messages on a machine without GPIO are tested
# and, through tests/arm/prepare.sh, QEMU and a cross toolchain for the linux-arm64 builds.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dumpcap >/dev/null 2>&1 || missing+=(tshark)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/bin/systemd-analyze ] || missing+=(systemd)
command -v minisign >/dev/null 2>&1 || missing+=(minisign)
command -v help2man >/dev/null 2>&1 || missing+=(help2man)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
[ -x /usr/sbin/adduser ] || missing+=(adduser)
[ -x /usr/sbin/logrotate ] || missing+=(logrotate)
/sbin/ldconfig -p 2>/dev/null | grep -Eq 'libgpiod\.so\.[23] ' || missing+=(libgpiod2)
# The status page's screenshot check needs text drawn: at least one font (chromium only recommends one).
[ -n "$(fc-list 2>/dev/null)" ] || missing+=(fontconfig fonts-dejavu-core)

bash tools/apt-install.sh tests/run.sh "${missing[@]}" \
    || echo "tests/run.sh: the tests that drive ${missing[*]} will fail" >&2

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The ARM group (ArmTests) runs the linux-arm64 builds under QEMU: build them first, unless a folder
# of them is given (ANON_ARM_DIR) or ANON_SKIP_ARM=1 (then those tests report themselves skipped).
if [ -z "${ANON_ARM_DIR:-}" ] && [ "${ANON_SKIP_ARM:-0}" != 1 ]; then
    echo "tests/run.sh: building the linux-arm64 programs for the ARM group (tests/arm/prepare.sh)" >&2
    if arm_dir=$(bash tests/arm/prepare.sh); then
        export ANON_ARM_DIR=$arm_dir
    else
        echo "tests/run.sh: the arm64 build failed; the ARM group will report itself skipped" >&2
    fi
fi

# The package group (PackageTests) checks and installs the Debian packages: build them for amd64 and
# arm64 (the arm64 programs are the ones just built), unless ANON_DEB_DIR names a folder of them or
# ANON_SKIP_DEB=1. A failed build leaves no package behind, so those tests then fail.
if [ -z "${ANON_DEB_DIR:-}" ] && [ "${ANON_SKIP_DEB:-0}" != 1 ]; then
    echo "tests/run.sh: building the Debian packages for the package group (deploy/debian/build.sh amd64 arm64)" >&2
    arches=(amd64)
    [ -n "${ANON_ARM_DIR:-}" ] && arches+=(arm64)
    rm -f artifacts/deb/*.deb
    ANON_DEB_PUBLISHED_arm64=${ANON_ARM_DIR:+$ANON_ARM_DIR/bin} bash deploy/debian/build.sh "${arches[@]}" >/dev/null \
        || echo "tests/run.sh: the packages did not build; the package group will fail" >&2
    export ANON_DEB_DIR=$PWD/artifacts/deb
fi

# The .NET tool package of anon-lab (PackageTests installs it with dotnet tool install), packed as
# README says, unless ANON_NUPKG_DIR names a folder holding it or ANON_SKIP_DEB=1.
if [ -z "${ANON_NUPKG_DIR:-}" ] && [ "${ANON_SKIP_DEB:-0}" != 1 ]; then
    echo "tests/run.sh: packing anon-lab as a .NET tool for the package group (dotnet pack tools/Anon.Lab)" >&2
    rm -f artifacts/nupkg/anon-lab.*.nupkg
    dotnet pack tools/Anon.Lab -v quiet -nologo >/dev/null \
        || echo "tests/run.sh: anon-lab did not pack; the package group will fail" >&2
    export ANON_NUPKG_DIR=$PWD/artifacts/nupkg
fi

# Everything the tests print is kept, to total their results in the last line.
results=$(mktemp)
trap 'rm -f "$results"' EXIT
set +e
dotnet test "$@" | tee "$results"
status=${PIPESTATUS[0]}
set -e

# The soak: the gateway for 10 minutes under sustained load with loss, restarting and vanishing
# devices and a flood every minute; its memory must stay flat and what the load held come back
# (bench/Anon.LoadGenerator, docs/RELIABILITY.md). ANON_SKIP_SOAK=1 leaves it out.
if [ $# -eq 0 ] && [ "${ANON_SKIP_SOAK:-0}" != 1 ]; then
    echo "tests/run.sh: the soak test, 10 minutes of the gateway under load (anon-load soak)" >&2
    mkdir -p artifacts/soak
    set +e
    # The gateway devices run: the Native AOT build the packages hold, when the package step made it.
    aot=artifacts/deb/publish/$(dpkg --print-architecture)/anonGateway
    dotnet run -c Release --project bench/Anon.LoadGenerator -- soak --minutes 10 \
        $([ -x "$aot" ] && echo "--gateway $aot") \
        --csv artifacts/soak/samples.csv --svg artifacts/soak/soak.svg > artifacts/soak/soak.txt 2>&1
    soak=$?
    set -e
    grep -E '^soak: (ok|FAILED) ' artifacts/soak/soak.txt || true
    if ! grep -E '^soak test: ' artifacts/soak/soak.txt | tee -a "$results"; then
        tail -20 artifacts/soak/soak.txt
        echo "soak test: 0 passed, 1 failed (it did not run to its end: artifacts/soak/soak.txt)" | tee -a "$results"
    fi
    [ "$soak" -eq 0 ] || status=1
fi

# The whole system on two emulated Raspberry Pis, with the arm64 packages just built (about 15
# minutes; it installs what it needs, and builds the Pi image the first time).
if [ $# -eq 0 ] && [ "${ANON_SKIP_SYSTEM:-0}" != 1 ]; then
    echo "tests/run.sh: the system test on two emulated Raspberry Pis (tests/system/run.sh)" >&2
    set +e
    bash tests/system/run.sh | tee -a "$results"
    system=${PIPESTATUS[0]}
    set -e
    case $system in
        0) ;;
        77) echo "tests/run.sh: the system test was skipped (its line above says why)" >&2 ;;
        *) status=1 ;;
    esac
fi
# One line for all of it: every test assembly's "Passed!"/"Failed!" summary, the soak's checks and the system test's.
{
    grep -E '^(Passed|Failed|Skipped)!' "$results" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' || true
    grep -E '^system test: [0-9]+ passed, [0-9]+ failed' "$results" | sed -E 's/^system test: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2 0/' || true
    grep -E '^soak test: [0-9]+ passed, [0-9]+ failed' "$results" | sed -E 's/^soak test: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2 0/' || true
} | awk '{passed += $1; failed += $2; skipped += $3} END {printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped}'
exit "$status"
