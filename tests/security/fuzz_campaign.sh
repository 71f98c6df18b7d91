#!/bin/sh
# The long fuzz campaign: each libFuzzer target of a -Dfuzzing=true build,
# one at a time, until it has run RUNS executions (default 10,000,000) or
# MAX_SECONDS passed (default 3 h per target), on a scratch copy of its
# seed corpus with its dictionary.  A crash, leak or timeout stops a run;
# the input is kept, minimised (-minimize_crash) and the run goes on from
# where it stood, at most RESTARTS times.  A summary line per target goes
# to stdout: executions, seconds, executions per second, findings.
#
#   CC=clang meson setup BUILD -Dfuzzing=true \
#       -Db_sanitize=address,undefined -Db_lundef=false && ninja -C BUILD
#   nice tests/security/fuzz_campaign.sh BUILD [target...]
#
# Environment: RUNS, MAX_SECONDS, RESTARTS (default 5), WORK (default a
# fresh /tmp/turnd-campaign-XXXXXX; kept, it holds logs and findings).
#
# The config target runs without LeakSanitizer's check after each input:
# libconfig leaks on some syntax errors (config.lsan.supp), and the check
# that suppresses it costs twenty times the input itself (and what leaks
# adds up, hence its larger memory limit).  Every target's
# final corpus is then replayed once with leak checking on, so a leak in
# turnd's own code still counts as a finding.
set -eu

build=${1:?usage: fuzz_campaign.sh BUILD [target...]}
shift
src=$(cd "$(dirname "$0")/../fuzz" && pwd)
runs=${RUNS:-10000000}
max_s=${MAX_SECONDS:-10800}
restarts=${RESTARTS:-5}
work=${WORK:-$(mktemp -d /tmp/turnd-campaign-XXXXXX)}
mkdir -p "$work"
[ $# -gt 0 ] || set -- stun_msg frame config server
status=0

now() { date +%s; }

for name in "$@"; do
	exe="$build/tests/fuzz/fuzz_$name"
	[ -x "$exe" ] || { echo "campaign $name: no $exe"; status=1; continue; }
	dict="$src/stun.dict"
	[ -f "$src/$name.dict" ] && dict="$src/$name.dict"
	dir="$work/$name"
	mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/minimised"
	cp "$src/corpus/$name/"* "$dir/corpus/"
	done_runs=0
	extra="-rss_limit_mb=2048"
	# what libconfig leaks then adds up: about 150 MB per million inputs
	[ "$name" = config ] && extra="-detect_leaks=0 -rss_limit_mb=6144"
	start=$(now)
	round=0
	findings=0
	while [ "$done_runs" -lt "$runs" ] && [ "$round" -le "$restarts" ]; do
		left_s=$((max_s - ($(now) - start)))
		[ "$left_s" -gt 0 ] || break
		log="$dir/log.$round"
		rc=0
		LSAN_OPTIONS="suppressions=$src/config.lsan.supp" \
		    "$exe" $extra -runs=$((runs - done_runs)) \
		    -max_total_time="$left_s" -timeout=10 \
		    -dict="$dict" -artifact_prefix="$dir/artifacts/" \
		    -print_final_stats=1 -print_pcs=0 "$dir/corpus" \
		    >"$log" 2>&1 || rc=$?
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		if [ -z "$n" ]; then
			# a crash ends the run before the final stats
			n=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
		fi
		done_runs=$((done_runs + ${n:-0}))
		if [ "$rc" -ne 0 ]; then
			findings=$((findings + 1))
			status=1
			echo "campaign $name: finding in round $round (exit $rc), log $log"
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5
		fi
		round=$((round + 1))
		[ "$rc" -eq 0 ] && break
	done
	secs=$(($(now) - start))
	[ "$secs" -gt 0 ] || secs=1
	if ! LSAN_OPTIONS="suppressions=$src/config.lsan.supp" \
	    "$exe" -runs=0 -timeout=10 "$dir/corpus" >"$dir/replay.log" 2>&1
	then
		findings=$((findings + 1))
		status=1
		echo "campaign $name: the corpus replay with leak checks failed," \
		    "log $dir/replay.log"
	fi
	for a in "$dir"/artifacts/*; do
		[ -f "$a" ] || continue
		base=$(basename "$a")
		LSAN_OPTIONS="suppressions=$src/config.lsan.supp" \
		    "$exe" -minimize_crash=1 -runs=100000 -max_total_time=300 \
		    -exact_artifact_path="$dir/minimised/$base" "$a" \
		    >"$dir/minimise-$base.log" 2>&1 || true
	done
	echo "campaign $name: $done_runs executions in $secs s," \
	    "$((done_runs / secs)) exec/s, $findings finding(s);" \
	    "corpus $(ls "$dir/corpus" | wc -l) inputs; work $dir"
done
exit $status
