#!/usr/bin/env bash
# The test command (README "Tests"): installs the Debian programs that some end-to-end tests drive,
# when they are missing, then runs every test project with `dotnet test` (arguments pass through).
#   dumpcap, tshark   tshark       the Wireshark dissector decodes a captured transfer
#   nginx (stream)    nginx, libnginx-mod-stream   a fleet of gateways behind nginx's UDP proxy
#   chromium, a font  chromium, fonts-dejavu-core   the gateway's status page, rendered headless
#   systemd-analyze   systemd      deploy/'s units checked with `systemd-analyze verify` (no running systemd needed)
#   minisign          minisign     signs pages and makes wrong keys for the gateway's --page-key
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
# The status page's screenshot check needs text drawn: at least one font (chromium only recommends one).
[ -n "$(fc-list 2>/dev/null)" ] || missing+=(fontconfig fonts-dejavu-core)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else sudo=(none); fi
    if [ "${sudo[*]}" = none ]; then
        echo "tests/run.sh: cannot install ${missing[*]} (needs root or sudo); the tests that drive them will fail" >&2
    else
        echo "tests/run.sh: installing ${missing[*]}" >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

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

exec dotnet test "$@"
