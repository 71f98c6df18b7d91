#!/bin/sh
# Golden test of one configuration: runs `turnd -n -v -c NAME.conf` from
# this directory (so that file names in messages are stable) and compares
# with NAME.ok, which holds stdout, then stderr, then the line
# "exit STATUS".  With UPDATE=1 the output replaces NAME.ok instead.
#
# usage: golden.sh TURND NAME
set -u
[ $# -eq 2 ] || { echo "usage: golden.sh TURND NAME" >&2; exit 2; }
turnd=$1
name=$2
case $turnd in
/*) ;;
*) turnd=$PWD/$turnd ;;
esac
cd "$(dirname "$0")" || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

"$turnd" -n -v -c "$name.conf" >"$tmp/out" 2>"$tmp/err"
status=$?
{ cat "$tmp/out" "$tmp/err"; echo "exit $status"; } >"$tmp/got"
if [ "${UPDATE:-0}" = 1 ]; then
	cp "$tmp/got" "$name.ok"
	exit 0
fi
diff -u "$name.ok" "$tmp/got"
