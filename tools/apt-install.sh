#!/usr/bin/env bash
# Installs the Debian packages a script needs, with apt, as root or through sudo:
#   tools/apt-install.sh WHO PACKAGE...     WHO names the script in the messages
# Used by tests/run.sh, tests/arm/prepare.sh and deploy/debian/build.sh for what they find missing.
set -euo pipefail
who=$1
shift
[ $# -gt 0 ] || exit 0
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "$who: cannot install $* (needs root or sudo): sudo apt-get install $*" >&2
    exit 69
fi
echo "$who: installing $*" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
