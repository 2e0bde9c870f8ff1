#!/usr/bin/env bash
# Builds what the emulated Raspberry Pi 3 Model B of the testbed boots (tools/testbed/README.md),
# from Debian's packages only, and prints the folder that holds it:
#   vmlinuz       Debian 12's arm64 kernel (linux-image-arm64)
#   pi3.dtb       the same package's Raspberry Pi 3 Model B device tree, without the Bluetooth node
#                 on the first UART (which the testbed uses as its control line)
#   initrd.img    a busybox initramfs (busybox-static) that loads the SD card's and ext4's modules
#   rootfs.img    a Debian 12 arm64 root file system (mmdebstrap), ext4, the SD card's whole
#                 content: systemd, apt, libgpiod2, libssl3, logrotate, curl, the kernel's modules
#                 and guest/ (the control line, the console login, the network)
# The packages under test are not in it: the testbed copies them onto each Pi's SD card.
#
#   tools/testbed/build-image.sh [CACHE]    CACHE defaults to ${XDG_CACHE_HOME:-~/.cache}/anon-testbed
#
# The image is kept in CACHE/KEY, KEY being a hash of everything that goes into it (this script,
# guest/, the initramfs, the kernel's version), and rebuilt only when that changes; older ones are
# deleted. It takes a few minutes: the root file system is made under QEMU user-mode emulation
# (binfmt_misc, registered here if it is not), the kernel and the initramfs without it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/anon-testbed}
say() { echo "tools/testbed/build-image.sh: $*" >&2; }

suite=bookworm
# What each Pi runs beside the packages under test: what a Pi OS Lite would have that they use
# (libgpiod2 for the LED, libssl3 for HTTPS, logrotate), and curl and less for the user at its shell.
guest_packages=systemd-sysv,udev,kmod,iproute2,procps,adduser,apt,logrotate,libgpiod2,libssl3,curl,less,nano

need=()
command -v qemu-system-aarch64 >/dev/null 2>&1 || need+=(qemu-system-arm)
[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -e /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v arch-test >/dev/null 2>&1 || need+=(arch-test)    # mmdebstrap's check that arm64 runs here
command -v fdtput >/dev/null 2>&1 || need+=(device-tree-compiler)
[ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || need+=(kmod)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
command -v mke2fs >/dev/null 2>&1 || [ -x /sbin/mke2fs ] || need+=(e2fsprogs)
bash "$root/tools/apt-install.sh" tools/testbed/build-image.sh "${need[@]}"
export PATH=$PATH:/usr/sbin:/sbin

# apt's view of Debian's arm64 packages, beside this machine's own, without adding arm64 to dpkg.
arches=(-o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi
"${sudo[@]}" apt-get -qq "${arches[@]}" update
kernel_package=$(apt-cache "${arches[@]}" depends linux-image-arm64:arm64 | sed -n 's/.*Depends: \(linux-image-[0-9].*-arm64\).*/\1/p' | head -1)
kernel_version=$(apt-cache "${arches[@]}" show "$kernel_package:arm64" | sed -n 's/^Version: //p' | head -1)
if [ -z "$kernel_package" ] || [ -z "$kernel_version" ]; then
    say "apt knows no arm64 kernel (linux-image-arm64:arm64); check that apt reaches Debian's archive"
    exit 69
fi

key=$( { cat "$0" "$here/initramfs-init"; (cd "$here/guest" && find . -type f | sort | xargs sha256sum);
         echo "$suite $guest_packages $kernel_package $kernel_version"; } | sha256sum | cut -c1-16)
out="$cache/$key"
if [ -e "$out/complete" ]; then
    echo "$out"
    exit 0
fi

say "building the Pi image $key (Debian $suite arm64, $kernel_package $kernel_version); a few minutes"
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# The kernel, its device tree and its modules, from the package, without installing it anywhere.
# As root, apt downloads as its own user, who cannot reach a cache under /root: download as root.
(cd "$work" && apt-get -qq -o APT::Sandbox::User=root "${arches[@]}" download "$kernel_package:arm64" busybox-static:arm64)
dpkg -x "$work"/linux-image-*.deb "$work/kernel"
dpkg -x "$work"/busybox-static_*.deb "$work/busybox"
release=$(ls "$work/kernel/lib/modules")
depmod -b "$work/kernel" "$release"
modules=$work/kernel/lib/modules/$release
cp "$work/kernel/boot/vmlinuz-$release" "$work/vmlinuz"
cp "$work/kernel/usr/lib/linux-image-$release/broadcom/bcm2837-rpi-3-b.dtb" "$work/pi3.dtb"
# The first UART (PL011) carries the Bluetooth chip on a real Pi 3; a UART with a child node is not
# a tty. Without it, it is /dev/ttyAMA0: the control line. The console is the second UART, ttyS1.
fdtput -r "$work/pi3.dtb" /soc/serial@7e201000/bluetooth

# The initramfs: busybox, and the modules to mount the SD card, each after what it depends on.
initramfs=$work/initramfs
mkdir -p "$initramfs"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$work/busybox/bin/busybox" "$initramfs/bin/busybox"
install -m 755 "$here/initramfs-init" "$initramfs/init"
declare -A listed=()
: >"$initramfs/modules.list"
for wanted in kernel/crypto/crc32c_generic.ko kernel/fs/ext4/ext4.ko \
    kernel/drivers/mmc/host/sdhci-iproc.ko kernel/drivers/mmc/host/bcm2835.ko; do
    # modules.dep lists a module's dependencies, the ones loaded last first.
    for module in $(awk -v m="$wanted:" '$1 == m { for (i = NF; i >= 2; i--) print $i }' "$modules/modules.dep") "$wanted"; do
        [ -z "${listed[$module]:-}" ] || continue
        listed[$module]=1
        install -D -m 644 "$modules/$module" "$initramfs/lib/modules/$module"
        echo "$module" >>"$initramfs/modules.list"
    done
done
(cd "$initramfs" && find . | sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$work/initrd.img"

# The root file system. Its apt sources are this machine's (the same Debian archive).
sources=/etc/apt/sources.list.d/debian.sources
[ -e "$sources" ] || sources=/etc/apt/sources.list
# Running arm64 maintainer scripts needs binfmt_misc and QEMU's handler for arm64 registered.
[ -e /proc/sys/fs/binfmt_misc/register ] || "${sudo[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    # qemu-user-static's own registration line (what systemd-binfmt would write at boot).
    grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf | head -1 | "${sudo[@]}" tee /proc/sys/fs/binfmt_misc/register >/dev/null
fi
say "making the root file system with mmdebstrap (arm64 under emulation)"
"${sudo[@]}" mmdebstrap --quiet --architectures=arm64 --variant=minbase --include="$guest_packages" \
    --customize-hook="mkdir -p \"\$1/usr/lib/modules\" && cp -a '$modules' \"\$1/usr/lib/modules/\"" \
    --customize-hook="cp -R --preserve=mode '$here/guest/.' \"\$1/\"" \
    --customize-hook='chroot "$1" systemctl --quiet enable systemd-networkd testbed-clock testbed-agent' \
    --customize-hook='chroot "$1" systemctl --quiet disable apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer' \
    --customize-hook='chroot "$1" passwd --quiet -d root' \
    --customize-hook='echo pi >"$1/etc/hostname"; printf "127.0.0.1 localhost\n::1 localhost\n" >"$1/etc/hosts"' \
    --customize-hook='echo "/dev/mmcblk0 / ext4 defaults,noatime 0 0" >"$1/etc/fstab"' \
    "$suite" "$work/rootfs" "$sources"
# An SD card's size is a power of two for QEMU's raspi3b: 2 GiB, most of it free. As root, like
# mmdebstrap, to read every file of the tree; the image then belongs to whoever runs this.
"${sudo[@]}" mke2fs -q -t ext4 -L pi-root -d "$work/rootfs" -F "$work/rootfs.img" 2G >/dev/null
"${sudo[@]}" chown "$(id -u):$(id -g)" "$work/rootfs.img"
"${sudo[@]}" rm -rf "$work/rootfs"

mkdir -p "$out"
mv "$work/vmlinuz" "$work/pi3.dtb" "$work/initrd.img" "$work/rootfs.img" "$out/"
echo "$kernel_package $kernel_version, Debian $suite arm64: $guest_packages" >"$out/complete"
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name "build.*" -exec rm -rf {} +
say "built in $SECONDS s"
echo "$out"
