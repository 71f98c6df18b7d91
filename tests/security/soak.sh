#!/bin/bash
# The soak: one turnd (an ASan/LSan build) on loopback for SOAK_SECONDS
# (default 1800) with allocations churning under traffic, a reload every
# minute, and clients that vanish without deallocating.
#
#   - SOAK_CLIENTS slots (default 8), each running turn_traffic after
#     turn_traffic: a static user or TURN REST credentials, UDP, TCP or
#     TLS, IPv4 or IPv6, channel or Send indications, a steady flow of
#     datagrams for 5-40 s; then it either ends cleanly (Refresh 0) or is
#     killed with SIGKILL (one in three), leaving its allocation to expire
#     (allocation.lifetime_default = 60, the minimum);
#   - every 60 s a reload, alternately `turnctl reload` and SIGHUP, with a
#     user added or removed and the bandwidth quota changed;
#   - every 10 s a sample of turnd's VmRSS, open descriptors, allocations
#     and connections to soak.csv.
#
# At the end: clients stopped, turnd stopped by SIGTERM.  It passes when
# turnd exited 0 with no sanitizer report in its log (LeakSanitizer runs
# at exit), no client ended with a relay fault (exit status 1), and RSS
# and descriptors are flat after the warm-up (first 20 % of the run): the
# last sample within SOAK_RSS_SLACK_KB (default 8192) and 8 descriptors
# of the warm-up level, and the least-squares slopes under
# SOAK_RSS_SLOPE_KB_H (default 4096 KiB/h) and 16 descriptors/h.  The
# figures go to stdout and soak-report.txt.
#
# ASan's quarantine of freed memory would read as growth: it is capped
# (quarantine_size_mb=16) so that RSS levels off within the warm-up.
#
#   TURND=build/turnd/turnd TURNCTL=build/turnd/turnctl \
#   TURN_TRAFFIC=build/tests/ops/turn_traffic nice tests/security/soak.sh
#
# Environment: SOAK_SECONDS, SOAK_CLIENTS, SOAK_DIR (kept; default a new
# /tmp/turnd-soak-XXXXXX), SOAK_ASAN_OPTIONS (instead of the above), and
# the thresholds above.  TURND may be a release build too: the memory
# figures are then turnd's own.
set -u

: "${TURND:?TURND: the turnd binary (an ASan build)}"
: "${TURNCTL:?TURNCTL: the turnctl binary}"
: "${TURN_TRAFFIC:?TURN_TRAFFIC: tests/ops/turn_traffic}"
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SOAK_CLIENTS=${SOAK_CLIENTS:-8}
SOAK_RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-8192}
SOAK_RSS_SLOPE_KB_H=${SOAK_RSS_SLOPE_KB_H:-4096}
dir=${SOAK_DIR:-$(mktemp -d /tmp/turnd-soak-XXXXXX)}
mkdir -p "$dir/clients"
csv=$dir/soak.csv
report=$dir/soak-report.txt
conf=$dir/turnd.conf
sock=$dir/turnd.sock
secret=soak-secret-1
realm=soak.test

free_port() {
	python3 - <<'EOF'
import random, socket
def free(p, kinds):
    for host, fam in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
        for k in kinds:
            s = socket.socket(fam, k)
            try:
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, p))
            except OSError:
                return False
            finally:
                s.close()
    return True
r = random.SystemRandom()
for _ in range(500):
    p = r.randint(20000, 31999)
    if free(p, (socket.SOCK_DGRAM, socket.SOCK_STREAM)) and \
            free(p + 1, (socket.SOCK_STREAM,)):
        print(p)
        break
EOF
}

relay_base() {
	python3 - <<'EOF'
import random, socket
r = random.SystemRandom()
for _ in range(200):
    base = r.randint(41000, 47000) // 2 * 2
    ok = True
    for p in range(base, base + 300, 13):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(base)
        break
EOF
}

port=$(free_port)
tls_port=$((port + 1))
rmin=$(relay_base)
if [ -z "$port" ] || [ -z "$rmin" ]; then
	echo "soak: no free ports"
	exit 2
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1 || { echo "soak: openssl"; exit 2; }

# write_conf N: the configuration of reload N (users and quota vary)
write_conf() {
	n=$1
	extra_user=""
	[ $((n % 2)) -eq 1 ] && extra_user=', { name = "u5"; password = "p5"; }'
	bw=$(( (n % 3) * 1000000 ))
	cat >"$conf.new" <<EOF
realm = "$realm";
listen = ( { address = "127.0.0.1"; port = $port; transports = [ "udp", "tcp" ]; },
           { address = "::1"; port = $port; transports = [ "udp", "tcp" ]; },
           { address = "127.0.0.1"; port = $tls_port; transports = [ "tls" ]; } );
tls = { certificate = "$dir/cert.pem"; private_key = "$dir/key.pem"; };
relay = { addresses = [ "127.0.0.1", "::1" ]; port_min = $rmin; port_max = $((rmin + 299)); };
auth = { users = ( { name = "u1"; password = "p1"; }, { name = "u2"; password = "p2"; },
                   { name = "u3"; password = "p3"; }, { name = "u4"; password = "p4"; }$extra_user );
         secrets = [ "$secret" ]; };
allocation = { lifetime_default = 60; };
peers = { allow = [ "127.0.0.1/32", "::1/128" ]; };
quotas = { unauth_per_source = 0; allocations_per_user = 100; bandwidth_per_allocation = $bw; };
control = { socket = "$sock"; };
metrics = { listen = ""; };
log = { level = "info"; };
process = { workers = 2; drain = 0; };
EOF
	mv "$conf.new" "$conf"
}

write_conf 0
export ASAN_OPTIONS="${SOAK_ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:abort_on_error=0:exitcode=23}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=24"
"$TURND" -c "$conf" >"$dir/turnd.log" 2>&1 &
tpid=$!
for _ in $(seq 1 100); do
	[ -S "$sock" ] && "$TURNCTL" -s "$sock" --json stats >/dev/null 2>&1 && break
	sleep 0.1
done
if ! kill -0 "$tpid" 2>/dev/null; then
	echo "soak: turnd did not start"; tail -n 30 "$dir/turnd.log"; exit 2
fi

declare -a slot_pid slot_end slot_kill slot_n
clients_started=0
clients_killed=0
clients_faulty=0
clients_refused=0

json_num() { # json_num KEY FILE: the first number after "KEY":
	sed -n "s/.*\"$1\": *\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1
}

start_client() {
	i=$1
	n=$clients_started
	clients_started=$((clients_started + 1))
	r=$RANDOM
	case $((r % 3)) in
	0) tr=udp ;; 1) tr=tcp ;; 2) tr=tls ;;
	esac
	fam=4
	[ "$tr" = udp ] && [ $((r % 5)) -eq 0 ] && fam=6
	[ "$tr" = tcp ] && [ $((r % 7)) -eq 0 ] && fam=6
	tport=$port
	[ "$tr" = tls ] && tport=$tls_port
	case $(((r / 3) % 3)) in
	0) via=chan ;; 1) via=send ;; 2) via=both ;;
	esac
	hold=$((5 + r % 36))
	if [ $(((r / 7) % 5)) -eq 0 ]; then
		cred=(--secret "$secret" --id "soak$n" --ttl 3600)
	else
		u=$((1 + (r / 11) % 4))
		cred=(--user "u$u" --password "p$u")
	fi
	out=$dir/clients/$n.out
	# stdin stays open while the sleep runs: the tool holds its allocation
	# (a process substitution, so that $! and wait are the tool's alone)
	"$TURN_TRAFFIC" --port "$tport" --transport "$tr" \
	    "${cred[@]}" --count 50 --size $((64 + r % 900)) --via "$via" \
	    --family "$fam" --lifetime 60 --refresh-ms 20000 --hold "$hold" \
	    --rate $((10 + r % 40)) >"$out" 2>"$out.err" \
	    < <(sleep $((hold + 5))) &
	slot_pid[i]=$!
	slot_n[i]=$n
	slot_end[i]=$(($(date +%s) + hold + 20))
	slot_kill[i]=0
	if [ $(((r / 13) % 3)) -eq 0 ]; then
		# vanishes mid-hold, without a word
		slot_kill[i]=$(($(date +%s) + 1 + hold / 2))
	fi
}

reap_client() {
	i=$1
	pid=${slot_pid[$i]}
	now=$(date +%s)
	if kill -0 "$pid" 2>/dev/null; then
		if [ "${slot_kill[$i]}" -ne 0 ] && [ "$now" -ge "${slot_kill[$i]}" ]; then
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			clients_killed=$((clients_killed + 1))
			echo "killed" >>"$dir/clients/${slot_n[$i]}.out"
			return 0
		fi
		if [ "$now" -ge "${slot_end[$i]}" ]; then
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			clients_faulty=$((clients_faulty + 1))
			echo "soak: client ${slot_n[$i]} overran its hold" >&2
			return 0
		fi
		return 1
	fi
	wait "$pid"
	st=$?
	case $st in
	0) ;;
	4) clients_refused=$((clients_refused + 1)) ;;
	*) clients_faulty=$((clients_faulty + 1))
	   echo "soak: client ${slot_n[$i]} exited $st" >&2 ;;
	esac
	return 0
}

echo "t_s,rss_kb,fds,allocations,connections,ports_used,clients_started" >"$csv"
sample() {
	t=$1
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$tpid/status" 2>/dev/null)
	fds=$(ls "/proc/$tpid/fd" 2>/dev/null | wc -l)
	"$TURNCTL" -s "$sock" --json stats >"$dir/stats.json" 2>/dev/null
	al=$(sed -n 's/.*"allocations": *{"total": *\([0-9]*\).*/\1/p' "$dir/stats.json")
	co=$(json_num connections "$dir/stats.json")
	pu=$(sed -n 's/.*"ports": *{"used": *\([0-9]*\).*/\1/p' "$dir/stats.json")
	echo "$t,${rss:-},$fds,${al:-},${co:-},${pu:-},$clients_started" >>"$csv"
}

start=$(date +%s)
deadline=$((start + SOAK_SECONDS))
next_sample=$start
next_reload=$((start + 60))
reloads=0
reload_fail=0
for i in $(seq 0 $((SOAK_CLIENTS - 1))); do
	start_client "$i"
done
while :; do
	now=$(date +%s)
	[ "$now" -ge "$deadline" ] && break
	if ! kill -0 "$tpid" 2>/dev/null; then
		echo "soak: turnd died"
		break
	fi
	for i in $(seq 0 $((SOAK_CLIENTS - 1))); do
		if reap_client "$i"; then
			start_client "$i"
		fi
	done
	if [ "$now" -ge "$next_sample" ]; then
		sample $((now - start))
		next_sample=$((next_sample + 10))
	fi
	if [ "$now" -ge "$next_reload" ]; then
		reloads=$((reloads + 1))
		write_conf "$reloads"
		if [ $((reloads % 2)) -eq 0 ]; then
			kill -HUP "$tpid"
		else
			"$TURNCTL" -s "$sock" reload >/dev/null 2>&1 ||
			    reload_fail=$((reload_fail + 1))
		fi
		next_reload=$((next_reload + 60))
	fi
	sleep 0.5
done
sample $(($(date +%s) - start))

# the last clients: ended as they are, by SIGKILL (vanishing once more)
for i in $(seq 0 $((SOAK_CLIENTS - 1))); do
	kill -9 "${slot_pid[$i]}" 2>/dev/null
	wait "${slot_pid[$i]}" 2>/dev/null
done
kill -TERM "$tpid"
for _ in $(seq 1 300); do
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$tpid" 2>/dev/null; then
	kill -KILL "$tpid"
	echo "soak: turnd did not stop within 30 s"
fi
wait "$tpid"
exit_status=$?

sanitizer=$(grep -c -E 'LeakSanitizer|AddressSanitizer|runtime error:' \
    "$dir/turnd.log")
relayed=$(json_num relay_c2p_pkts "$dir/stats.json")

awk -F, -v warm="$((SOAK_SECONDS / 5))" \
    -v rss_slack="$SOAK_RSS_SLACK_KB" -v rss_slope_max="$SOAK_RSS_SLOPE_KB_H" '
NR == 1 { next }
$2 == "" { next }
{
	n++; t[n] = $1; r[n] = $2; f[n] = $3
	if (n == 1 || $2 > rmax) rmax = $2
	if (n == 1 || $3 > fmax) fmax = $3
	if ($4 > amax) amax = $4
	if ($1 >= warm) {
		m++; sx += $1; sy += $2; sz += $3; sxx += $1 * $1
		sxy += $1 * $2; sxz += $1 * $3
		if (m == 1) { rw = $2; fw = $3 }
	}
}
END {
	d = m * sxx - sx * sx
	rs = d > 0 ? (m * sxy - sx * sy) / d * 3600 : 0
	fs = d > 0 ? (m * sxz - sx * sz) / d * 3600 : 0
	printf "samples %d over %d s (warm-up %d s)\n", n, t[n], warm
	printf "rss_kb first %d, after warm-up %d, last %d, max %d; " \
	    "slope after warm-up %.0f KiB/h\n", r[1], rw, r[n], rmax, rs
	printf "fds first %d, after warm-up %d, last %d, max %d; " \
	    "slope after warm-up %.1f /h\n", f[1], fw, f[n], fmax, fs
	printf "allocations max %d\n", amax
	flat = (r[n] - rw <= rss_slack) && (rs <= rss_slope_max) && \
	    (f[n] - fw <= 8) && (fs <= 16)
	printf "flat %s\n", flat ? "yes" : "NO"
	exit flat ? 0 : 1
}' "$csv" >"$report"
flat_rc=$?
{
	echo "clients started $clients_started, killed (vanished) $clients_killed," \
	    "refused $clients_refused, faulty $clients_faulty"
	echo "reloads $reloads (turnctl failures $reload_fail)"
	echo "relayed client to peer packets (last sample) ${relayed:-?}"
	echo "turnd exit status $exit_status, sanitizer reports $sanitizer"
	echo "csv $csv, log $dir/turnd.log"
} >>"$report"
cat "$report"
[ "$exit_status" -eq 0 ] && [ "$sanitizer" -eq 0 ] && [ "$flat_rc" -eq 0 ] &&
    [ "$clients_faulty" -eq 0 ] && [ "$reload_fail" -eq 0 ]
