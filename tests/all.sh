#!/bin/sh
# The whole test suite on a fresh Debian bookworm machine, as root:
# installs what it needs, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and -Werror, runs every meson suite (unit,
# config, fuzz corpus replays, integration, interop), then builds the fuzz
# targets with libFuzzer and runs each for a bounded time.
#
#   FUZZ_SECONDS=60   seconds per fuzz target (0 skips the fuzzing runs)
set -eu

cd "$(dirname "$0")/.."
top=$(pwd)
fuzz_seconds=${FUZZ_SECONDS:-60}

packages=$(cat tests/packages)

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

echo "== build (gcc, ASan+UBSan, -Werror)"
rm -rf build-test
meson setup build-test --werror -Db_sanitize=address,undefined \
    -Dbuildtype=debugoptimized
meson compile -C build-test

echo "== meson test"
meson test -C build-test --print-errorlogs --num-processes 2

echo "== container image (podman build, turnd started from the image)"
meson test -C build-test --suite deploy --print-errorlogs

if [ "$fuzz_seconds" -gt 0 ]; then
	echo "== fuzz (clang, libFuzzer, ASan+UBSan, ${fuzz_seconds}s each)"
	rm -rf build-fuzz
	CC=clang meson setup build-fuzz -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false
	meson compile -C build-fuzz
	"$top/tests/fuzz/run.sh" "$top/build-fuzz" "$fuzz_seconds"
fi
echo "== all tests passed"
