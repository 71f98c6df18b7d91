#!/bin/sh
# Test of `turnctl import-coturn` (turnd/coturn.c): each
# coturn/NAME.turnserver.conf is translated from within coturn/ (so that
# file names in warnings are stable) and stdout, stderr and "exit STATUS"
# are compared with coturn/NAME.ok.  Then every output is checked with
# `turnd -n`: it must load exactly when the translation said it was
# complete (exit 0), once the deploy step has filled ${EC2_PUBLIC_IP};
# the story's output must be refused before that.
#
# usage: coturn_import.sh TURND IMPORTER [ARG...]
#   IMPORTER [ARG...] FILE translates FILE: tests/deploy's driver, or
#   `turnctl import-coturn`.  UPDATE=1 rewrites the .ok files.
set -u
[ $# -ge 2 ] || { echo "usage: coturn_import.sh TURND IMPORTER [ARG...]" >&2; exit 2; }
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
turnd=$(abs "$1")
driver=$(abs "$2")
shift 2
cd "$(dirname "$0")/coturn" || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0

for conf in *.turnserver.conf; do
	name=${conf%.turnserver.conf}
	"$driver" "$@" "$conf" >"$tmp/$name.conf" 2>"$tmp/$name.err"
	status=$?
	{ cat "$tmp/$name.conf" "$tmp/$name.err"; echo "exit $status"; } \
	    >"$tmp/$name.got"
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$tmp/$name.got" "$name.ok"
	elif ! diff -u "$name.ok" "$tmp/$name.got"; then
		echo "FAIL $name: output differs from $name.ok"
		fail=1
	fi

	# The deploy step fills the placeholder (envsubst in the guide).
	sed "s/\\\${EC2_PUBLIC_IP}/203.0.113.7/g" "$tmp/$name.conf" \
	    >"$tmp/$name.filled.conf"
	"$turnd" -n -c "$tmp/$name.filled.conf" >"$tmp/$name.n" 2>&1
	nstatus=$?
	if [ "$status" -eq 0 ] && [ "$nstatus" -ne 0 ]; then
		echo "FAIL $name: translated, but turnd -n refuses it:"
		cat "$tmp/$name.n"
		fail=1
	elif [ "$status" -ne 0 ] && [ "$nstatus" -eq 0 ]; then
		echo "FAIL $name: translation failed, but turnd -n loads it"
		fail=1
	else
		echo "ok   $name: import exit $status, turnd -n exit $nstatus"
	fi
done

# Unfilled, the story's placeholder must stop turnd at the external line.
if "$turnd" -n -c "$tmp/story.conf" >"$tmp/story.n" 2>&1 ||
    ! grep -q 'relay.external.*EC2_PUBLIC_IP' "$tmp/story.n"; then
	echo "FAIL story: turnd -n should refuse the unfilled placeholder"
	cat "$tmp/story.n"
	fail=1
else
	echo "ok   story: unfilled placeholder refused: $(cat "$tmp/story.n")"
fi

# A missing file is an error, not an empty configuration.
if "$driver" "$@" no-such-file.conf >/dev/null 2>"$tmp/missing.err" ||
    ! grep -q 'no-such-file.conf: error: cannot open' "$tmp/missing.err"
then
	echo "FAIL: a missing file must fail with a message"
	fail=1
fi
exit $fail
