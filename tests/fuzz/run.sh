#!/bin/sh
# Runs every libFuzzer target of a -Dfuzzing=true build for SECONDS each,
# two at a time, each on a scratch copy of its seed corpus with its
# dictionary.  Fails when any target finds a crash, leak or timeout; the
# input that did it is left in the scratch directory and named in the log.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
set -eu

build=$1
seconds=$2
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/turnd-fuzz-XXXXXX)
status=0

run_one() {
	name=$1
	exe="$build/tests/fuzz/fuzz_$name"
	dict="$src/stun.dict"
	[ -f "$src/$name.dict" ] && dict="$src/$name.dict"
	mkdir -p "$work/$name/corpus" "$work/$name/artifacts"
	cp "$src/corpus/$name/"* "$work/$name/corpus/"
	LSAN_OPTIONS="suppressions=$src/config.lsan.supp" \
	    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -dict="$dict" -artifact_prefix="$work/$name/artifacts/" \
	    -print_final_stats=1 "$work/$name/corpus" \
	    >"$work/$name/log" 2>&1
}

targets=$(cd "$build/tests/fuzz" && ls fuzz_* | sed -n 's/^fuzz_\([a-z0-9_]*\)$/\1/p')
set -- $targets
while [ $# -gt 0 ]; do
	pids=""
	for name in "$1" "${2:-}"; do
		[ -n "$name" ] || continue
		run_one "$name" &
		pids="$pids $!:$name"
	done
	shift
	[ $# -gt 0 ] && shift
	for p in $pids; do
		pid=${p%%:*}
		name=${p#*:}
		if wait "$pid"; then
			execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
			    "$work/$name/log")
			echo "fuzz $name: ${execs:-?} executions, no finding"
		else
			echo "fuzz $name: FAILED, log follows"
			tail -n 60 "$work/$name/log"
			ls -l "$work/$name/artifacts"
			status=1
		fi
	done
done
[ $status -eq 0 ] && rm -rf "$work"
exit $status
