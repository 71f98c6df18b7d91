#!/bin/sh
# The relay benchmark in one command: builds turnd, loadgen and forwarder
# optimised (meson, build-bench/ at the top of the tree, or $BUILD), then
# runs bench.py, which compares turnd, coturn (`turnserver` on the PATH, or
# $COTURN) and the bare forwarder.  Options go to bench.py; --help lists
# them.  --quick takes a few minutes, the default about a quarter of an
# hour.  Needs root (perf, /proc/slabinfo), two CPUs, coturn and valgrind.
#
#	tests/bench/run.sh --quick
#	COTURN=/opt/coturn/bin/turnserver tests/bench/run.sh
#	TURND=/elsewhere/turnd tests/bench/run.sh	(turnd not rebuilt)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$root/build-bench}
export BUILD
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$root" -Dbuildtype=release >/dev/null
fi
targets="tests/bench/loadgen tests/bench/forwarder"
[ -n "${TURND:-}" ] || targets="turnd/turnd $targets"
if ! out=$(ninja -C "$BUILD" -j2 $targets 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
exec /usr/bin/python3 "$root/tests/bench/bench.py" \
    --turnd "${TURND:-$BUILD/turnd/turnd}" "$@"
