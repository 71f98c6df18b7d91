#!/bin/sh
# Proves that the Dockerfile builds and that its runtime image is complete,
# without a Docker engine: podman builds it (chroot isolation, host
# network) on a debian:bookworm base made locally with debootstrap, the
# image's filesystem is exported, and turnd is started from it under
# chroot, as the image's user, in a private network namespace:
#
#   1. turnd -V, turnctl -V, and no library "not found" (ldd);
#   2. turnd -n -c /etc/turnd/turnd.conf, the configuration the image ships;
#   3. a real start on a loopback configuration: a STUN Binding request is
#      answered with the right XOR-MAPPED-ADDRESS, and the image's own
#      HEALTHCHECK command passes, then fails once turnd has stopped;
#   4. the runtime image holds no compiler or headers, runs as "turnd",
#      and EXPOSEs 3478/udp, 3478/tcp and 5349/tcp.
#
# Needs root, podman, debootstrap, unshare, ip and python3.  Without podman
# or debootstrap it fails, unless TURND_DEPLOY_ALLOW_SKIP=1, when it exits
# 77 (skipped).  The debootstrap base is cached as a tarball in
# TURND_DEPLOY_CACHE (default /var/cache/turnd-deploy), so that a rerun
# only rebuilds the layers that changed; TURND_DEPLOY_REFRESH=1 remakes
# it.  TURND_DEPLOY_CONTEXT builds another tree than this one (a clean
# copy), DEBIAN_MIRROR overrides the mirror found in /etc/apt, JOBS (2)
# limits the compiler.  Every phase prints its time.
#
# usage: tests/deploy/docker_build.sh
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
context=${TURND_DEPLOY_CONTEXT:-$top}
cache=${TURND_DEPLOY_CACHE:-/var/cache/turnd-deploy}
jobs=${JOBS:-2}
image=localhost/turnd:deploy-test
base=docker.io/library/debian

t0=$(date +%s)
phase_start=$t0
phase() {
	now=$(date +%s)
	echo "== [$((now - phase_start))s, total $((now - t0))s] $*"
	phase_start=$now
}
die() {
	echo "FAIL: $*" >&2
	exit 1
}

missing=""
for tool in podman debootstrap; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	if [ "${TURND_DEPLOY_ALLOW_SKIP:-0}" = 1 ]; then
		echo "SKIP: missing:$missing (apt-get install podman debootstrap)"
		exit 77
	fi
	die "missing:$missing; install them (apt-get install podman" \
	    "debootstrap) or set TURND_DEPLOY_ALLOW_SKIP=1 to skip"
fi
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, unshare)"
for tool in unshare ip python3 chroot tar; do
	command -v "$tool" >/dev/null 2>&1 || die "needs $tool"
done
[ -f "$context/Dockerfile" ] || die "no Dockerfile in $context"

if [ -z "${DEBIAN_MIRROR:-}" ]; then
	DEBIAN_MIRROR=$(cat /etc/apt/sources.list.d/*.sources \
	    /etc/apt/sources.list 2>/dev/null |
	    sed -n -e 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' \
	        -e 's|^deb  *\(\[[^]]*\] *\)\{0,1\}\(http[^ ]*/debian\)/* .*|\2|p' |
	    head -n 1)
	DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi

work=$(mktemp -d /tmp/turnd-deploy.XXXXXX)
ctr=""
cleanup() {
	[ -n "$ctr" ] && podman rm -f "$ctr" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the base image, debootstrapped once and cached --------------------
mkdir -p "$cache"
tarball=$cache/bookworm-minbase.tar
# one run at a time makes or imports the base
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/lock"
	flock 9
fi
if [ "${TURND_DEPLOY_REFRESH:-0}" = 1 ] || [ ! -s "$tarball" ]; then
	rm -rf "$cache/rootfs.tmp"
	debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" \
	    "$DEBIAN_MIRROR" >"$cache/debootstrap.log" 2>&1 ||
	    die "debootstrap failed; see $cache/debootstrap.log"
	# debootstrap leaves the host's resolver out; apt needs one
	cp /etc/resolv.conf "$cache/rootfs.tmp/etc/resolv.conf"
	rm -rf "$cache/rootfs.tmp/var/cache/apt/archives/"*.deb \
	    "$cache/rootfs.tmp/var/lib/apt/lists/"*_Packages
	tar -C "$cache/rootfs.tmp" -cf "$tarball.tmp" . &&
	    mv "$tarball.tmp" "$tarball"
	rm -rf "$cache/rootfs.tmp"
	podman rmi -f "$base:bookworm" "$base:bookworm-slim" \
	    >/dev/null 2>&1 || true
	phase "debootstrap bookworm minbase from $DEBIAN_MIRROR"
fi
if ! podman image exists "$base:bookworm" ||
    ! podman image exists "$base:bookworm-slim"; then
	podman import \
	    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	    --change 'CMD ["bash"]' \
	    "$tarball" "$base:bookworm" >/dev/null
	podman tag "$base:bookworm" "$base:bookworm-slim"
	phase "podman import $base:bookworm and :bookworm-slim"
fi

# --- build ----------------------------------------------------------------
# docker format: OCI images have no HEALTHCHECK.
podman build --isolation=chroot --network=host --format docker \
    --build-arg JOBS="$jobs" -t "$image" -f "$context/Dockerfile" \
    "$context" >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	die "podman build failed"
}
cp "$work/build.log" "$cache/last-build.log"
phase "podman build (log: $cache/last-build.log)"

# --- the image's configuration -------------------------------------------
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[ "$user" = turnd ] || die "image user is '$user', not turnd"
ports=$(podman image inspect --format '{{json .Config.ExposedPorts}}' "$image")
for p in 3478/udp 3478/tcp 5349/tcp; do
	case $ports in
	*"\"$p\""*) ;;
	*) die "$p is not EXPOSEd (have $ports)" ;;
	esac
done
hc=$(podman image inspect --format '{{json .Config.Healthcheck.Test}}' \
    "$image")
case $hc in
'["CMD",'*) ;;
*) die "no exec-form HEALTHCHECK in the image (have $hc)" ;;
esac
# The healthcheck's argv without the leading "CMD", one word a line.
python3 -c 'import json, sys; [print(a) for a in json.loads(sys.argv[1])[1:]]' \
    "$hc" >"$work/hc.argv"
phase "image config: user $user, ports $ports, healthcheck present"

# --- the runtime filesystem -------------------------------------------------
root=$work/root
mkdir "$root"
ctr=$(podman create "$image")
podman export "$ctr" | tar -C "$root" -xf -
podman rm -f "$ctr" >/dev/null 2>&1
ctr=""
du -sh "$root" | sed 's/^/runtime filesystem: /'
phase "podman create + export"

for f in usr/bin/gcc usr/bin/cc usr/bin/meson usr/include/event2 \
    usr/include/openssl usr/include/libconfig.h; do
	[ ! -e "$root/$f" ] || die "runtime image contains /$f"
done
for b in turnd turnctl; do
	chroot "$root" /usr/local/bin/$b -V
	if chroot "$root" ldd /usr/local/bin/$b | grep 'not found'; then
		die "$b misses libraries in the runtime image"
	fi
done
uid=$(chroot "$root" id -u turnd)
gid=$(chroot "$root" id -g turnd)
[ "$(stat -c %U "$root/run/turnd" 2>/dev/null)" = turnd ] ||
    [ "$(stat -c %u "$root/run/turnd")" = "$uid" ] ||
    die "/run/turnd is not the turnd user's"
chroot --userspec="$uid:$gid" "$root" \
    /usr/local/bin/turnd -n -c /etc/turnd/turnd.conf
phase "binaries, libraries, shipped configuration (turnd -n)"

# --- a real start, as the image's user, in a private network namespace ----
cat >"$root/tmp/test.conf" <<'EOF'
# loopback only: what `docker run` of this image does, minus the host
realm = "deploy.test";
listen = ( { address = "127.0.0.1"; port = 3478; transports = [ "udp", "tcp" ]; } );
relay = { addresses = [ "127.0.0.1" ]; port_min = 50000; port_max = 50099; };
auth = { users = ( { name = "dev"; password = "dev"; } ); };
control = { socket = "/run/turnd/turnd.sock"; };
metrics = { listen = ""; };
log = { level = "debug"; };
process = { workers = 1; };
EOF
cat >"$work/binding.py" <<'EOF'
# One STUN Binding request to 127.0.0.1:3478; checks the success response
# and its XOR-MAPPED-ADDRESS (RFC 8489 section 14.2).
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("127.0.0.1", 3478))
tid = os.urandom(12)
s.send(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
data = s.recv(2048)
mtype, mlen, cookie = struct.unpack("!HHI", data[:8])
assert mtype == 0x0101, "not a Binding success: 0x%04x" % mtype
assert cookie == 0x2112A442 and data[8:20] == tid, "wrong cookie or id"
off, want = 20, s.getsockname()
while off + 4 <= 20 + mlen:
    atype, alen = struct.unpack("!HH", data[off:off + 4])
    if atype == 0x0020:
        port = struct.unpack("!H", data[off + 6:off + 8])[0] ^ 0x2112
        ip = bytes(a ^ b for a, b in zip(data[off + 8:off + 12],
                                         struct.pack("!I", 0x2112A442)))
        got = (socket.inet_ntoa(ip), port)
        assert got == want, "XOR-MAPPED-ADDRESS %s, expected %s" % (got, want)
        print("Binding answered, XOR-MAPPED-ADDRESS %s:%d" % got)
        sys.exit(0)
    off += 4 + (alen + 3) // 4 * 4
sys.exit("no XOR-MAPPED-ADDRESS in the response")
EOF
cat >"$work/run.sh" <<'EOF'
# Runs inside `unshare --net`: loopback is the only interface.
set -u
root=$1 uid=$2 gid=$3 work=$4
ip link set lo up
chroot --userspec="$uid:$gid" "$root" /usr/local/bin/turnd \
    -c /tmp/test.conf >"$work/turnd.log" 2>&1 &
pid=$!
i=0
while ! grep -q 'event=ready' "$work/turnd.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 $pid 2>/dev/null; then
		echo "turnd did not start:"; cat "$work/turnd.log"; exit 1
	fi
	sleep 0.1
done
rc=0
python3 "$work/binding.py" || rc=1
# The image's HEALTHCHECK, exactly as Docker would run it.
tr '\n' '\0' <"$work/hc.argv" >"$work/hc.argv0"
if xargs -0 chroot --userspec="$uid:$gid" "$root" <"$work/hc.argv0"; then
	echo "HEALTHCHECK passes while turnd runs"
else
	echo "HEALTHCHECK fails while turnd runs"; rc=1
fi
[ -S "$root/run/turnd/turnd.sock" ] &&
    echo "control socket /run/turnd/turnd.sock created"
kill -TERM $pid
wait $pid || { echo "turnd exited $? on SIGTERM"; rc=1; }
if xargs -0 chroot --userspec="$uid:$gid" "$root" <"$work/hc.argv0" \
    2>/dev/null; then
	echo "HEALTHCHECK passes with turnd stopped"; rc=1
else
	echo "HEALTHCHECK fails with turnd stopped, as it should"
fi
echo "--- turnd's log"
cat "$work/turnd.log"
exit $rc
EOF
unshare --net sh "$work/run.sh" "$root" "$uid" "$gid" "$work" ||
    die "turnd from the runtime image did not serve"
phase "turnd started from the image: Binding answered, HEALTHCHECK checked"
echo "PASS: the Dockerfile builds and its runtime image runs turnd" \
    "($(($(date +%s) - t0))s)"
