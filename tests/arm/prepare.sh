#!/usr/bin/env bash
# Builds the programs for linux-arm64 (a 64-bit Raspberry Pi OS) with Native AOT and makes them
# runnable here under QEMU user-mode emulation, for the ARM group of the end-to-end tests
# (ArmTests). Prints the folder to give the tests as ANON_ARM_DIR.
#   tests/arm/prepare.sh [OUT]     OUT defaults to artifacts/arm64-aot
# What it takes, all from Debian: qemu-user-static (no binfmt_misc needed: the wrappers call it),
# a cross linker (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross) and clang/llvm for the AOT
# compiler, and an arm64 sysroot of what the programs load (libc6, libgcc-s1, libstdc++6, libssl3,
# zlib1g), downloaded as .deb files and unpacked with dpkg -x, without adding arm64 to dpkg.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/artifacts/arm64-aot}
mkdir -p "$out"
out=$(cd "$out" && pwd)

need=()
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)
[ -d /usr/aarch64-linux-gnu/lib ] || need+=(libc6-dev-arm64-cross)
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-objcopy >/dev/null 2>&1 || need+=(llvm)
bash "$root/tools/apt-install.sh" tests/arm/prepare.sh "${need[@]}"
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi

sysroot="$out/sysroot"
if [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
    debs=$(mktemp -d)
    arches=(-o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
    "${sudo[@]}" apt-get -qq "${arches[@]}" update
    (cd "$debs" && chmod 777 . && apt-get -qq "${arches[@]}" download libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 libssl3:arm64 zlib1g:arm64 2>/dev/null)
    mkdir -p "$sysroot"
    for deb in "$debs"/*.deb; do dpkg -x "$deb" "$sysroot"; done
    rm -rf "$debs"
fi

# Both ways a Pi user may take: Native AOT (bin/, what the tests run) and the self-contained single
# file of the "pi" profile (pi/, whose JIT is slow under emulation: smoke-tested only).
# Each a minute or more, said on stderr as it goes (the folder alone goes to stdout).
for project in Anon.Gateway Anon.Client; do
    for profile in aot pi; do
        started=$SECONDS
        echo "tests/arm/prepare.sh: publishing $project for linux-arm64 ($profile profile)..." >&2
        if [ "$profile" = aot ]; then
            dotnet publish "$root/src/$project" -p:PublishProfile=aot -p:RuntimeIdentifier=linux-arm64 \
                -p:PublishDir="$out/bin/" -v quiet -nologo >/dev/null
        else
            dotnet publish "$root/src/$project" -p:PublishProfile=pi -p:PublishDir="$out/pi/" -v quiet -nologo >/dev/null
        fi
        echo "tests/arm/prepare.sh: published $project ($profile) in $((SECONDS - started)) s" >&2
    done
done

# anon-lab too, Native AOT only: the anon-tools package of deploy/debian/build.sh carries it.
started=$SECONDS
echo "tests/arm/prepare.sh: publishing Anon.Lab for linux-arm64 (aot profile)..." >&2
dotnet publish "$root/tools/Anon.Lab" -p:PublishProfile=aot -p:RuntimeIdentifier=linux-arm64 \
    -p:PublishDir="$out/bin/" -v quiet -nologo >/dev/null
echo "tests/arm/prepare.sh: published Anon.Lab (aot) in $((SECONDS - started)) s" >&2

# A wrapper per program and build (PROGRAM for AOT, PROGRAM-pi for the single file) that runs it under QEMU; exec keeps the pid, so signals and LISTEN_PID hold.
# DOTNET_GCRegionRange: a smaller reservation for the GC's regions, which QEMU maps slowly (a start
# takes 0.2 s instead of 0.9 s); for emulation only, a real Pi does not need it.
for program in anonGateway anonclient; do
    for build in bin pi; do
        wrapper="$out/$program"
        [ "$build" = pi ] && wrapper="$out/$program-pi"
        cat > "$wrapper" <<WRAPPER
#!/bin/sh
export QEMU_LD_PREFIX="$sysroot" DOTNET_GCRegionRange=100000000
exec qemu-aarch64-static "$out/$build/$program" "\$@"
WRAPPER
        chmod +x "$wrapper"
    done
done

"$out/anonclient" --version >/dev/null
echo "$out"
