#!/usr/bin/env bash
# Builds the tiny real test guest into ${PKV_CACHE:-~/.cache/pulumi-kubevirt}/guest/:
#   vmlinuz     the kernel of the newest Debian linux-image-6.1.0-*-cloud-amd64
#   initrd.img  busybox-static + the kernel modules for virtio disk/NIC and the
#               ACPI power button + an /init shell script (the guest "OS")
#   VERSION     stamp (kernel package+version, busybox version, hash of this
#               script); the build is skipped when it matches.
#
# The guest's /init speaks a line protocol on the serial console (ttyS0):
#   PKV-GUEST-BOOTED                 once, first thing after /proc,/sys,/dev
#   PKV-KERNEL <release>
#   PKV-ACPI-READY                   acpid runs: from now on virsh shutdown works
#   PKV-DISK <name> <size-bytes>     one per block device
#   PKV-DISK-LABEL <name> <text>     when the disk's first line is a printable label
#   PKV-IP <iface> <addr>            per ethN, DHCP (udhcpc) or static (pkv.ip=)
#   PKV-IP-FAIL <iface>              no DHCP lease
#   PKV-PING ok|fail <ip>            every 2 s when the cmdline has pkv.ping=<ip>
#   PKV-READY                        after the above
#   PKV-HEARTBEAT <n>                every second, forever
#   PKV-GUEST-SHUTDOWN               on the ACPI power button (virsh shutdown)
# Kernel cmdline knobs: pkv.ip=<cidr> (eth0), pkv.ip.<iface>=<cidr>,
# pkv.gw=<ip>, pkv.ping=<ip>.
set -euo pipefail

CACHE=${PKV_CACHE:-$HOME/.cache/pulumi-kubevirt}
OUT=$CACHE/guest
DEBS=$CACHE/debs
SELF=$(readlink -f "$0")
BUSYBOX=/bin/busybox

log() { printf '[build-guest] %s\n' "$*"; }
die() { printf '[build-guest] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT" "$DEBS"
exec 9>"$OUT/.lock"
flock -w 600 9 || die "another build holds $OUT/.lock for more than 600 s"

# --- what to build ----------------------------------------------------------
KPKG=${PKV_GUEST_KERNEL_PKG:-$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
    grep -E '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' | sort -V | tail -n 1 || true)}
if [[ -z $KPKG ]]; then
    if [[ -s $OUT/VERSION && -s $OUT/vmlinuz && -s $OUT/initrd.img ]]; then
        log "apt lists have no linux-image-6.1.0-*-cloud-amd64; keeping the existing guest:"
        sed 's/^/  /' "$OUT/VERSION"
        exit 0
    fi
    die "no linux-image-6.1.0-*-cloud-amd64 in the apt lists; run 'apt-get update' first"
fi
KVER=$(apt-cache show --no-all-versions "$KPKG" | awk '/^Version:/ {print $2; exit}')
[[ -n $KVER ]] || die "apt-cache show $KPKG gave no version"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
    die "busybox-static is not installed (scripts/install-debs.sh installs it)"
BBVER=$(dpkg-query -W -f='${Version}' busybox-static)
SCRIPT_HASH=$(sha256sum "$SELF" | cut -c1-16)
WANT=$(printf 'kernel_package=%s\nkernel_version=%s\nbusybox_static=%s\nbuild_script=%s\n' \
    "$KPKG" "$KVER" "$BBVER" "$SCRIPT_HASH")

if [[ -s $OUT/vmlinuz && -s $OUT/initrd.img && -f $OUT/VERSION ]] &&
    [[ $(grep -v '^kernel_release=' "$OUT/VERSION") == "$WANT" ]]; then
    log "up to date ($KPKG $KVER) in $OUT"
    exit 0
fi
log "building guest: $KPKG $KVER, busybox-static $BBVER -> $OUT"

# --- fetch and unpack the kernel package ------------------------------------
cached_deb() { # the cached .deb of $KPKG at version $KVER, if any
    local f
    for f in "$DEBS/${KPKG}"_*.deb; do
        if [[ -f $f && $(dpkg-deb -f "$f" Version) == "$KVER" ]]; then
            echo "$f"
            return 0
        fi
    done
    return 0
}
DEB=$(cached_deb)
if [[ -z $DEB ]]; then
    log "apt-get download $KPKG=$KVER"
    (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$KPKG=$KVER")
    DEB=$(cached_deb)
    [[ -n $DEB ]] || die "apt-get download did not leave ${KPKG}_*.deb in $DEBS"
    # Older kernel packages are of no further use.
    find "$DEBS" -maxdepth 1 -name 'linux-image-*.deb' ! -path "$DEB" -delete
else
    log "using cached $(basename "$DEB")"
fi

WORK=$(mktemp -d "$CACHE/guest-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log "extracting $(basename "$DEB")"
dpkg-deb -x "$DEB" "$WORK/pkg"
KREL=$(ls "$WORK/pkg/lib/modules")
[[ $(wc -w <<<"$KREL") -eq 1 ]] || die "expected one kernel release in the package, got: $KREL"
CONFIG=$WORK/pkg/boot/config-$KREL
MODDIR=$WORK/pkg/lib/modules/$KREL
[[ -f $CONFIG && -f $WORK/pkg/boot/vmlinuz-$KREL ]] || die "no config/vmlinuz for $KREL in $DEB"

# --- kernel config: what is built in, what must come as a module ------------
for sym in BLK_DEV_INITRD RD_GZIP DEVTMPFS SERIAL_8250_CONSOLE PCI PACKET UNIX INET ACPI; do
    grep -q "^CONFIG_$sym=y" "$CONFIG" || die "kernel $KREL lacks CONFIG_$sym=y"
done
grep -q '^CONFIG_MODULE_COMPRESS_NONE=y' "$CONFIG" ||
    die "kernel $KREL compresses its modules; busybox insmod here expects plain .ko"
# CONFIG symbol -> module name (when the symbol is =m)
# (power button first: a `virsh shutdown` before acpid runs is lost)
WANTED=(ACPI_BUTTON:button INPUT_EVDEV:evdev VIRTIO_PCI:virtio_pci VIRTIO_BLK:virtio_blk
    VIRTIO_NET:virtio_net)
ROOTS=()
for pair in "${WANTED[@]}"; do
    sym=${pair%%:*} mod=${pair#*:}
    val=$(sed -n "s/^CONFIG_$sym=//p" "$CONFIG")
    case $val in
        y) log "CONFIG_$sym=y (built in)" ;;
        m) ROOTS+=("$mod") ;;
        *) die "kernel $KREL has no CONFIG_$sym (value '${val:-unset}')" ;;
    esac
done
log "modules wanted: ${ROOTS[*]}"

# --- dependency closure and load order from modules.dep ---------------------
# The package ships no modules.dep (depmod runs at install time): make one.
"$BUSYBOX" depmod -b "$WORK/pkg" "$KREL"
[[ -s $MODDIR/modules.dep ]] || die "depmod produced no modules.dep"
declare -A PATH_OF=() SEEN=()
while IFS= read -r line; do
    rel=${line%%:*}
    name=$(basename "$rel" .ko)
    PATH_OF[${name//-/_}]=$rel
done <"$MODDIR/modules.dep"
ORDER=()
visit() { # post-order walk: dependencies first
    local m=$1 rel deps d
    [[ -n ${SEEN[$m]:-} ]] && return 0
    SEEN[$m]=1
    rel=${PATH_OF[$m]:-}
    [[ -n $rel ]] || die "module $m is not in modules.dep"
    deps=$(awk -F: -v r="$rel" '$1 == r {print $2; exit}' "$MODDIR/modules.dep")
    for d in $deps; do
        d=$(basename "$d" .ko)
        visit "${d//-/_}"
    done
    ORDER+=("$rel")
}
for m in "${ROOTS[@]}"; do visit "$m"; done
log "load order: $(for r in "${ORDER[@]}"; do basename "$r" .ko; done | tr '\n' ' ')"

# --- the initramfs tree -----------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run,etc/acpi/PWRF,usr/share/udhcpc,lib/modules/"$KREL"}
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$ROOT/bin/$applet"
done
ln -s bin "$ROOT/sbin"
# The kernel opens /dev/console before /init runs (needs root to create).
mknod -m 600 "$ROOT/dev/console" c 5 1 || log "warning: cannot mknod dev/console (not root?)"
: >"$ROOT/etc/pkv-modules"
for rel in "${ORDER[@]}"; do
    mkdir -p "$ROOT/lib/modules/$KREL/$(dirname "$rel")"
    cp "$MODDIR/$rel" "$ROOT/lib/modules/$KREL/$rel"
    echo "$rel" >>"$ROOT/etc/pkv-modules"
done
echo "$KREL" >"$ROOT/etc/pkv-kernel-release"

cat >"$ROOT/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc hook: apply the lease with ip(8). busybox sets $ip, $mask (prefix
# length), $router, $interface.
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        if [ -n "$router" ]; then
            set -- $router
            ip route replace default via "$1" dev "$interface"
        fi
        ;;
esac
exit 0
EOF

cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# busybox acpid runs this on the ACPI power button (virsh shutdown).
echo "PKV-GUEST-SHUTDOWN" >/dev/console
sync
poweroff -f
EOF

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# PID 1 of the pulumi-kubevirt test guest (see scripts/build-guest.sh).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
echo "PKV-GUEST-BOOTED"
KREL=$(cat /etc/pkv-kernel-release)
echo "PKV-KERNEL $(uname -r)"

PKV_IP="" PKV_GW="" PKV_PING=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        pkv.ip=*) PKV_IP=${arg#pkv.ip=} ;;
        pkv.gw=*) PKV_GW=${arg#pkv.gw=} ;;
        pkv.ping=*) PKV_PING=${arg#pkv.ping=} ;;
    esac
done

while read -r mod; do
    insmod "/lib/modules/$KREL/$mod" || echo "PKV-MODULE-FAIL $mod"
done </etc/pkv-modules

# ACPI power button -> /etc/acpi/PWRF/00000080 -> poweroff. A button press
# before this point is lost (no handler yet), so start it as early as possible.
if acpid -c /etc/acpi -l /dev/null; then
    echo "PKV-ACPI-READY"
else
    echo "PKV-ACPID-FAIL"
fi

# Wait (at most 5 s) until every virtio device has its driver bound.
i=0
while [ $i -lt 50 ]; do
    unbound=0
    for dev in /sys/bus/virtio/devices/*; do
        [ -e "$dev" ] || continue
        [ -e "$dev/driver" ] || unbound=1
    done
    [ $unbound -eq 0 ] && break
    sleep 0.1
    i=$((i + 1))
done

for blk in /sys/block/*; do
    [ -e "$blk" ] || continue
    name=${blk##*/}
    case "$name" in loop*|ram*|zram*) continue ;; esac
    sectors=$(cat "$blk/size")
    echo "PKV-DISK $name $((sectors * 512))"
    [ -b "/dev/$name" ] || continue
    label=$(head -c 512 "/dev/$name" | head -n 1 | tr -d '\000')
    case "$label" in
        ""|*[!A-Za-z0-9._:=/+@-]*) ;;
        *) echo "PKV-DISK-LABEL $name $label" ;;
    esac
done

ip link set lo up
net_up() { # net_up IFACE: static address from the cmdline, else DHCP
    iface=$1
    ip link set "$iface" up
    cidr=""
    for arg in $(cat /proc/cmdline); do
        case "$arg" in pkv.ip."$iface"=*) cidr=${arg#pkv.ip."$iface"=} ;; esac
    done
    [ -z "$cidr" ] && [ "$iface" = eth0 ] && cidr=$PKV_IP
    if [ -n "$cidr" ]; then
        ip addr add "$cidr" dev "$iface"
        [ -n "$PKV_GW" ] && ip route replace default via "$PKV_GW" dev "$iface"
        echo "PKV-IP $iface ${cidr%/*}"
        return
    fi
    udhcpc -i "$iface" -q -n -t 10 -T 2 -s /usr/share/udhcpc/default.script >/dev/null 2>&1
    addr=$(ip -4 -o addr show dev "$iface" | awk '{print $4; exit}')
    if [ -n "$addr" ]; then
        echo "PKV-IP $iface ${addr%/*}"
    else
        echo "PKV-IP-FAIL $iface"
    fi
}
pids=""
for n in /sys/class/net/eth*; do
    [ -e "$n" ] || continue
    net_up "${n##*/}" &
    pids="$pids $!"
done
[ -n "$pids" ] && wait $pids

if [ -n "$PKV_PING" ]; then
    (
        while :; do
            if ping -c 1 -W 1 "$PKV_PING" >/dev/null 2>&1; then
                echo "PKV-PING ok $PKV_PING"
            else
                echo "PKV-PING fail $PKV_PING"
            fi
            sleep 2
        done
    ) &
fi

echo "PKV-READY"
n=0
while :; do
    n=$((n + 1))
    echo "PKV-HEARTBEAT $n"
    sleep 1
done
EOF
chmod 755 "$ROOT/init" "$ROOT/usr/share/udhcpc/default.script" "$ROOT/etc/acpi/PWRF/00000080"

# --- pack and install atomically --------------------------------------------
log "packing initramfs"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$WORK/initrd.img"
cp "$WORK/pkg/boot/vmlinuz-$KREL" "$WORK/vmlinuz"
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initrd.img" "$OUT/initrd.img"
printf '%s\nkernel_release=%s\n' "$WANT" "$KREL" >"$OUT/VERSION.tmp"
mv -f "$OUT/VERSION.tmp" "$OUT/VERSION"
log "done: $(du -h "$OUT/vmlinuz" | cut -f1) vmlinuz, $(du -h "$OUT/initrd.img" | cut -f1) initrd.img, kernel $KREL"
