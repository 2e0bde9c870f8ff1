#!/usr/bin/env bash
# Builds the Debian packages anon-gateway, anon-client and anon-tools, with Debian's dpkg-deb:
#   deploy/debian/build.sh [ARCH...]      ARCH: amd64, arm64 (default: this machine's)
# into artifacts/deb/anon-{gateway,client,tools}_VERSION_ARCH.deb, VERSION being the project's
# (Directory.Build.props). The programs are Native AOT builds (profile "aot"); an arm64 build is
# cross-compiled (tests/arm/prepare.sh installs what that takes). ANON_DEB_PUBLISHED_ARCH=DIR
# (ANON_DEB_PUBLISHED_arm64, say) packages the programs already published in DIR instead (anonGateway,
# libsodium.so, anonclient and anon-lab).
# Needs help2man for the man pages (Debian's help2man package).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/deploy/debian"
out="$root/artifacts/deb"
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=("$(dpkg --print-architecture)")

need=()
command -v help2man >/dev/null 2>&1 || need+=(help2man)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
for arch in "${arches[@]}"; do
    # Cross-compiling for arm64 (Native AOT) takes a cross linker and clang/llvm, as tests/arm/prepare.sh says.
    if [ "$arch" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ] && [ -z "${ANON_DEB_PUBLISHED_arm64:-}" ]; then
        command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)
        [ -d /usr/aarch64-linux-gnu/lib ] || need+=(libc6-dev-arm64-cross)
        command -v clang >/dev/null 2>&1 || need+=(clang)
        command -v llvm-objcopy >/dev/null 2>&1 || need+=(llvm)
    fi
done
bash "$root/tools/apt-install.sh" deploy/debian/build.sh "${need[@]}"

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props")
changelog_version=$(sed -n '1s/^anon (\(.*\)) .*/\1/p' "$here/changelog")
if [ "$changelog_version" != "$version" ]; then
    echo "deploy/debian/build.sh: the project is version $version but deploy/debian/changelog's last entry is $changelog_version: add an entry" >&2
    exit 65
fi
# Reproducible: every date in the packages (file times, the man pages' date) is the last commit's.
SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
mkdir -p "$out"

rid_of() {
    case "$1" in
        amd64) echo linux-x64 ;;
        arm64) echo linux-arm64 ;;
        *) echo "deploy/debian/build.sh: no build for architecture '$1' (amd64 or arm64; a 32-bit Pi: README)" >&2; exit 64 ;;
    esac
}

# publish ARCH: sets published[ARCH] to the folder holding anonGateway, libsodium.so, anonclient and anon-lab.
declare -A published
publish() {
    local given="ANON_DEB_PUBLISHED_$1"
    [ -z "${published[$1]:-}" ] || return 0
    if [ -n "${!given:-}" ]; then
        for program in anonGateway libsodium.so anonclient anon-lab; do
            if [ ! -e "${!given}/$program" ]; then
                echo "deploy/debian/build.sh: $given=${!given} holds no $program (publish it there first)" >&2
                exit 66
            fi
        done
        published[$1]=${!given}
        return 0
    fi
    local rid dir="$root/artifacts/deb/publish/$1"
    rid=$(rid_of "$1")
    # Each Native AOT build takes about a minute on 2 cores and prints nothing at this verbosity:
    # a line before and after each says the script is working, and how long each took.
    local started
    for path in src/Anon.Gateway src/Anon.Client tools/Anon.Lab; do
        project=${path#*/}
        echo "deploy/debian/build.sh: publishing $project for $rid (Native AOT, about a minute)..." >&2
        started=$SECONDS
        if ! dotnet publish "$root/$path" -p:PublishProfile=aot -p:RuntimeIdentifier="$rid" \
            -p:PublishDir="$dir/" -v quiet -nologo > "$out/publish-$project-$1.log" 2>&1; then
            cat "$out/publish-$project-$1.log" >&2
            echo "deploy/debian/build.sh: publishing $project for $rid failed (above)" >&2
            exit 1
        fi
        rm -f "$out/publish-$project-$1.log"
        echo "deploy/debian/build.sh: published $project for $rid in $((SECONDS - started)) s" >&2
    done
    published[$1]=$dir
}

# man PROGRAM NAME-LINE DEST: the man page from the program's own --help and --version, with the
# sections help cannot give (deploy/debian/PROGRAM.h2m). The build for this machine writes it for
# every architecture (the text is the same), so an arm64 package built on amd64 publishes both.
man_page() {
    mkdir -p "$(dirname "$3")"
    help2man --no-info --no-discard-stderr --section 1 --name "$2" --include "$here/$(basename "$1").h2m" "$1" \
        | gzip -9n > "$3"
}

# docs PACKAGE TREE: copyright and changelog where Debian keeps them.
docs() {
    local doc="$2/usr/share/doc/$1"
    install -d "$doc"
    install -m 644 "$here/copyright" "$doc/copyright"
    gzip -9nc "$here/changelog" > "$doc/changelog.gz"
}

# finish PACKAGE ARCH TREE: control, conffiles, maintainer scripts, md5sums; then dpkg-deb.
finish() {
    local package=$1 arch=$2 tree=$3
    install -d "$tree/DEBIAN"
    local size
    size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
    sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
        "$here/$package/control" > "$tree/DEBIAN/control"
    for script in preinst postinst prerm postrm; do
        if [ -e "$here/$package/$script" ]; then install -m 755 "$here/$package/$script" "$tree/DEBIAN/$script"; fi
    done
    if [ -d "$tree/etc" ]; then
        (cd "$tree" && find etc -type f | sed 's:^:/:' | sort) > "$tree/DEBIAN/conffiles"
        chmod 644 "$tree/DEBIAN/conffiles"
    fi
    (cd "$tree" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's: \./: :') > "$tree/DEBIAN/md5sums"
    chmod 644 "$tree/DEBIAN/control" "$tree/DEBIAN/md5sums"
    find "$tree" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
    dpkg-deb --root-owner-group -Zxz --build "$tree" "$out/${package}_${version}_${arch}.deb" >/dev/null
    echo "$out/${package}_${version}_${arch}.deb"
}

# package PACKAGE PROGRAM SETTINGS NAME-LINE: what both packages hold beside their program (already
# in $tree): the units of deploy/ named after the package, its settings as /etc/anon/SETTINGS, its
# logrotate file and lintian overrides, the man page, the docs; then the package itself for $arch.
package() {
    local package=$1 program=$2 settings=$3
    install -d "$tree/usr/lib/systemd/system"
    for unit in "$root/deploy/$package.service" "$root/deploy/$package.socket"; do
        if [ -e "$unit" ]; then install -m 644 "$unit" "$tree/usr/lib/systemd/system/"; fi
    done
    install -D -m 644 "$root/deploy/$settings" "$tree/etc/anon/$settings"
    install -D -m 644 "$here/$package.logrotate" "$tree/etc/logrotate.d/$package"
    install -D -m 644 "$here/$package.lintian-overrides" "$tree/usr/share/lintian/overrides/$package"
    man_page "$host_bin/$program" "$4" "$tree/usr/share/man/man1/$program.1.gz"
    docs "$package" "$tree"
    finish "$package" "$arch" "$tree"
}

host=$(dpkg --print-architecture)
publish "$host"
host_bin=${published[$host]}
for arch in "${arches[@]}"; do
    publish "$arch"
    bin=${published[$arch]}
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT

    # anon-gateway: the program lives in /usr/lib/anon-gateway beside the libsodium it loads (NSec
    # needs 1.0.22 or later; Debian's libsodium23 is older), /usr/bin holds a link to it.
    tree="$stage/anon-gateway"
    install -d "$tree/usr/bin" "$tree/usr/lib/anon-gateway"
    install -m 755 "$bin/anonGateway" "$tree/usr/lib/anon-gateway/anonGateway"
    install -m 644 "$bin/libsodium.so" "$tree/usr/lib/anon-gateway/libsodium.so"
    ln -s ../lib/anon-gateway/anonGateway "$tree/usr/bin/anonGateway"
    package anon-gateway anonGateway gateway.env "serves a command page to the devices of a local network over UDP"

    # anon-client: the program, beside the libsodium it loads for --page-key (as the gateway's), a
    # link to it in /usr/bin, and the udev rule that opens the GPIO chips to the gpio group.
    tree="$stage/anon-client"
    install -d "$tree/usr/bin" "$tree/usr/lib/anon-client"
    install -m 755 "$bin/anonclient" "$tree/usr/lib/anon-client/anonclient"
    install -m 644 "$bin/libsodium.so" "$tree/usr/lib/anon-client/libsodium.so"
    ln -s ../lib/anon-client/anonclient "$tree/usr/bin/anonclient"
    install -D -m 644 "$here/anon-client.udev" "$tree/usr/lib/udev/rules.d/60-anon-client-gpio.rules"
    package anon-client anonclient client.env "fetches the command page from the gateway and switches the LED"

    # anon-tools: anon-lab alone, no service, no settings: the conformance suite and bench for
    # whoever implements the spec (docs/CONFORMANCE.md), without a clone or a .NET SDK.
    tree="$stage/anon-tools"
    install -D -m 755 "$bin/anon-lab" "$tree/usr/bin/anon-lab"
    man_page "$host_bin/anon-lab" "conformance suite and test bench for anon gateways and clients" "$tree/usr/share/man/man1/anon-lab.1.gz"
    docs anon-tools "$tree"
    finish anon-tools "$arch" "$tree"

    rm -rf "$stage"
    trap - EXIT
done
