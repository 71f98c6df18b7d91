#!/usr/bin/python3
"""
The operator surfaces of a live turnd, with traffic flowing: every number
turnctl, /metrics and the logs show is compared with what turn_traffic (the
client of this directory, with its own echo peer) says it sent.

    test_ops.py CASE

runs one case: stats, sessions, kick, credentials, errors, metrics, reload,
stop, privdrop, notify, instance, logs.  $TURND, $TURNCTL and
$TURN_TRAFFIC name the programs.  Each case starts its own turnd on
loopback from a generated configuration in a temporary directory, checks,
stops every process it started by its PID and removes the directory (the
logs are printed first when a check failed).  A failed check is reported
and the case goes on; the exit status is 0 when every check passed, 1
otherwise, 77 (skipped) for the privilege drop when not run as root.

The traffic is exact: each turn_traffic instance sends N datagrams of S
bytes through its allocation and its peer echoes each one, so the relay
carries N datagrams and N*S bytes each way; the tools report what arrived
and the test compares after they have gone quiet ("report" waits for every
echo), except where a check is about counters moving while the traffic
runs.
"""

import grp
import json
import os
import pwd
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time

from opslib import (
    Abort, CASE_DEADLINE_S, CTL_E_BAD, CTL_E_DENIED, CTL_E_OK, CTL_E_VERSION,
    CTL_KICK, CTL_RELOAD, CTL_STATS, CTL_VERSION, Case, EXIT_SKIP,
    REALM, SECRET, SECRET_NEW, T, TRAFFIC, TURNCTL, TURND, Turnd, USERS,
    check_clean, counts, log, log_events, q, rest_password, run, run_case,
    stun_allocate_as, stun_binding, sums, table_stats)


def case_stats(c):
    """turnctl stats and --json stats against four tools' traffic."""
    srv = c.turnd().start()
    # no Refresh during the case: the table and JSON are compared whole
    kw = dict(refresh_ms=60000)
    tools = [
        c.traffic(srv, user="alice", password=USERS["alice"], count=200,
            size=100, via="chan", **kw),
        c.traffic(srv, user="bob", password=USERS["bob"], count=150,
            size=333, via="send", **kw),
        c.traffic(srv, secret=SECRET, ident="carol", count=120, size=1000,
            via="both", family=6, **kw),
        c.traffic(srv, user="dave", password=USERS["dave"], count=60,
            size=101, via="chan", transport="tcp", **kw),
    ]
    for t in tools:
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
        check_clean(t.summary, "summary of %s" % t.user)
    want = sums(t.summary for t in tools)
    T.eq(want, (530, 20000 + 49950 + 120000 + 6060) * 2, "the tools' sums")

    st = srv.stats()
    T.eq(st["allocations"], {"total": 4, "udp": 3, "tcp": 1, "tls": 0,
        "ipv4": 3, "ipv6": 1}, "stats: allocations by transport and family")
    T.eq(st["users"], 4, "stats: users with allocations")
    T.eq(st["permissions"], 4, "stats: one permission per allocation")
    T.eq(st["channels"], 3, "stats: channels of the chan and both tools")
    T.eq(st["connections"], 1, "stats: the TCP client's connection")
    T.eq(st["ports"]["used"], 4, "stats: relay ports in use")
    T.eq(st["ports"]["size"], 200, "stats: relay ports (100 per family)")
    rel = st["relayed"]
    # the echo makes both directions carry the same datagrams
    T.eq((rel["client_to_peer"]["packets"], rel["client_to_peer"]["bytes"],
        rel["peer_to_client"]["packets"], rel["peer_to_client"]["bytes"]),
        want, "stats: relayed packets and bytes each way = the tools' counts")
    T.eq(st["errors"].get("401"), 4,
        "stats: one 401 per tool (the credential dance)")
    T.eq({k: v for k, v in st["errors"].items() if k != "401" and v},
        {}, "stats: no other error response")
    T.eq(st["counters"].get("auth_fail_no_creds"), 4,
        "stats: auth failures by reason (no credentials)")
    T.eq(st["counters"].get("alloc_created"), 4, "stats: allocations made")
    T.eq(st["counters"].get("relay_c2p_pkts"), want[0],
        "stats: counters agree with relayed")
    T.eq(st["workers"], 2, "stats: workers")
    T.eq(len(st["per_worker"]), 2, "stats: one row per worker")
    for key, total in (("allocations", st["allocations"]["total"]),
            ("client_to_peer_packets", rel["client_to_peer"]["packets"]),
            ("peer_to_client_packets", rel["peer_to_client"]["packets"]),
            ("requests", st["counters"]["requests"])):
        T.eq(sum(w[key] for w in st["per_worker"]), total,
            "stats: per-worker %s sum to the total" % key)
    T.eq(st["draining"], False, "stats: not draining")
    T.eq(st["realm"], REALM, "stats: realm")
    ver = run([TURND, "-V"])[1].split()[-1]
    T.eq(st["version"], ver, "stats: version")
    T.check(0 <= st["uptime_s"] <= time.monotonic() - srv.started_at + 1,
        "stats: uptime", st["uptime_s"])

    # the table says the same (nothing moves between the two requests)
    rc, text, err = srv.ctl("stats")
    T.eq(rc, 0, "turnctl stats exits 0")
    st2 = srv.stats()
    tab = table_stats(text)
    T.eq(tab.get("allocations"), st["allocations"], "table: allocations")
    for k in ("users", "permissions", "channels", "connections"):
        T.eq(tab.get(k), st[k], "table: " + k)
    for d in ("client_to_peer", "peer_to_client"):
        T.eq((tab.get(d, {}).get("packets"), tab.get(d, {}).get("bytes")),
            (rel[d]["packets"], rel[d]["bytes"]), "table: relayed " + d)
    T.eq(tab.get("errors"), {k: v for k, v in st["errors"].items() if v},
        "table: error responses")
    T.eq(tab.get("counters"), st2["counters"], "table: every counter")
    T.eq([w[1:] for w in tab.get("workers", [])],
        [(w["allocations"], w["client_to_peer_packets"],
          w["peer_to_client_packets"], w["requests"])
         for w in st2["per_worker"]], "table: per-worker rows")

    # rates over the last 10 s move while traffic flows
    for t in tools[:2]:
        t.command("flow 100", "flow")
    time.sleep(3.2)
    st = srv.stats()
    rel = st["relayed"]
    for d in ("client_to_peer", "peer_to_client"):
        # an average over whole seconds: never above what was relayed
        T.check(0 < rel[d]["packets_per_s"] <= rel[d]["packets"],
            "stats: %s packets/s non-zero while traffic flows" % d, rel[d])
        T.check(rel[d]["bytes_per_s"] >= 100 * rel[d]["packets_per_s"],
            "stats: %s bytes/s follows packets/s (100 B at least)" % d,
            rel[d])
    T.eq(rel["window_s"], 10, "stats: the rate window")
    rc, text, _ = srv.ctl("stats")
    tab = table_stats(text)
    T.check(tab.get("client_to_peer", {}).get("packets_per_s", 0) > 0,
        "table: rates non-zero while traffic flows", text[:400])
    for t in tools[:2]:
        t.command("flow 0", "flow")
    reports = [t.report() for t in tools]
    for t, r in zip(tools, reports):
        check_clean(r, "report of %s after the flow" % t.user)
    want = sums(reports)
    st = srv.stats()
    rel = st["relayed"]
    T.eq((rel["client_to_peer"]["packets"], rel["client_to_peer"]["bytes"],
        rel["peer_to_client"]["packets"], rel["peer_to_client"]["bytes"]),
        want, "stats: relayed = the tools' counts after the flow")
    # and fall back to zero once the window holds no traffic
    deadline = time.monotonic() + 14
    while time.monotonic() < deadline:
        rel = srv.stats()["relayed"]
        if rel["client_to_peer"]["packets_per_s"] == 0 and \
                rel["peer_to_client"]["packets_per_s"] == 0:
            break
        time.sleep(0.5)
    T.check(rel["client_to_peer"]["packets_per_s"] == 0 and
        rel["peer_to_client"]["bytes_per_s"] == 0,
        "stats: rates fall to 0 after 10 s without traffic", rel)

    for t in tools:
        T.eq(t.finish(), 0, "%s ends cleanly" % t.user)
    st = srv.stats()
    T.eq(st["allocations"]["total"], 0, "stats: no allocation left")
    T.eq(st["users"], 0, "stats: no user left")
    T.eq((st["permissions"], st["channels"]), (0, 0),
        "stats: no permission or channel left")
    T.eq(st["counters"].get("alloc_deleted"), 4,
        "stats: four allocations deleted by their clients")
    T.eq(srv.stop(), 0, "turnd exits 0")


def find_session(sessions, t):
    for s in sessions:
        if t.summary["relay"] in s.get("relays", []):
            return s
    return None


_SESSION_LINE = re.compile(r"^([0-9a-f]{8})  (\S+)  (udp|tcp|tls) (\S+)->(\S+)"
    r"  relay (?:tcp )?(\S+)  peers (\d+)  channels (\d+)  c->p (\d+) B"
    r"  p->c (\d+) B  age (\S+)  expires in (\S+)$")


ODD_USER = 'o"ne\\il zo\u00eb'


def case_sessions(c):
    """turnctl sessions [--user] and users, JSON and table."""
    srv = c.turnd(users=dict(USERS, **{ODD_USER: "odd-secret"})).start()
    a1 = c.traffic(srv, user="alice", password=USERS["alice"], count=50,
        size=200, via="chan")
    a2 = c.traffic(srv, user="alice", password=USERS["alice"], count=40,
        size=300, via="send")
    b = c.traffic(srv, user="bob", password=USERS["bob"], count=30,
        size=500, via="both", family=6)
    e1 = c.traffic(srv, secret=SECRET, ident="erin", ttl=3600, count=20,
        size=64, via="chan")
    d = c.traffic(srv, user="dave", password=USERS["dave"], count=10,
        size=99, via="chan", transport="tcp")
    tools = [a1, a2, b, e1, d]
    for t in tools:
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
        check_clean(t.summary, "summary of %s" % t.user)

    ses = srv.sessions()
    T.eq(len(ses), 5, "sessions: one entry per allocation")
    T.eq(len({s["id"] for s in ses}), 5, "sessions: distinct ids")
    for t in tools:
        s = find_session(ses, t)
        if not T.check(s is not None, "sessions lists %s's relay %s" %
                (t.user, t.summary["relay"]), ses):
            continue
        sm = t.summary
        T.eq(s["user"], t.user, "sessions: user of %s" % sm["relay"])
        T.eq(s["client"], sm["client"], "sessions: client of %s" % t.user)
        T.eq(s["server"], "127.0.0.1:%d" % srv.port,
            "sessions: server address of %s" % t.user)
        T.eq(s["transport"], sm["transport"],
            "sessions: transport of %s" % t.user)
        T.eq(s["relay_transport"], "udp", "sessions: relay transport")
        T.eq(s["relays"], [sm["relay"]], "sessions: relays of %s" % t.user)
        peer_ip = sm["peer"].rsplit(":", 1)[0].strip("[]")
        T.eq(s["peers"], [peer_ip], "sessions: peers of %s" % t.user)
        T.eq(s["channels"], 0 if sm["via"] == "send" else 1,
            "sessions: channels of %s" % t.user)
        T.eq((s["client_to_peer_packets"], s["client_to_peer_bytes"],
            s["peer_to_client_packets"], s["peer_to_client_bytes"]),
            counts(sm), "sessions: bytes each way of %s" % t.user)
        T.check(0 <= s["age_s"] <= 30, "sessions: age of %s" % t.user, s)
        T.check(560 <= s["expires_in_s"] <= 600,
            "sessions: expires in (lifetime 600) of %s" % t.user, s)
        T.check(re.fullmatch(r"[0-9a-f]{8}", s["id"]) is not None,
            "sessions: id is 8 hex digits", s["id"])

    def relays(lst):
        return sorted(r for s in lst for r in s["relays"])

    T.eq(relays(srv.sessions("alice")),
        sorted([a1.summary["relay"], a2.summary["relay"]]),
        "sessions --user alice: both of alice's allocations")
    T.eq(relays(srv.sessions("bob")), [b.summary["relay"]],
        "sessions --user bob")
    T.eq(relays(srv.sessions("erin")), [e1.summary["relay"]],
        "sessions --user ID: by the REST credential's id")
    T.eq(relays(srv.sessions(e1.user)), [e1.summary["relay"]],
        "sessions --user EXPIRY:ID: by the whole REST username")
    T.eq(srv.sessions("nobody"), [], "sessions --user of nobody: empty")
    bid = find_session(ses, b)["id"] if find_session(ses, b) else "x"
    T.eq(relays(srv.sessions(bid)), [b.summary["relay"]],
        "sessions --user with an allocation id")

    # the table: one line per allocation with the same facts
    rc, text, err = srv.ctl("sessions")
    T.eq(rc, 0, "turnctl sessions exits 0")
    lines = [l for l in text.splitlines() if l.strip()]
    T.eq(len(lines), 5, "sessions table: one line per allocation")
    parsed = {}
    for l in lines:
        m = _SESSION_LINE.match(l)
        if T.check(m is not None, "sessions table line parses", l):
            parsed[m.group(6)] = m.groups()
    for t in tools:
        g = parsed.get(t.summary["relay"])
        s = find_session(ses, t)
        if not T.check(g is not None and s is not None,
                "sessions table lists %s" % t.summary["relay"], text):
            continue
        sm = t.summary
        T.eq((g[0], g[1], g[2], g[3], g[4], int(g[6]), int(g[7]),
            int(g[8]), int(g[9])), (s["id"], t.user, sm["transport"],
            sm["client"],
            "127.0.0.1:%d" % srv.port, 1, 0 if sm["via"] == "send" else 1,
            sm["client_to_peer"]["bytes"], sm["peer_to_client"]["bytes"]),
            "sessions table: the facts of %s" % t.user)
    rc, text, _ = srv.ctl("sessions", "--user", "alice")
    T.eq(len([l for l in text.splitlines() if l.strip()]), 2,
        "sessions --user alice table: two lines")

    # users: one row per user, allocation counts and bytes
    users = srv.ctl_json("users")
    rows = {u["user"]: u for u in users}
    # a REST credential's user is its id, as for quotas and kick
    T.eq(sorted(rows), sorted(["alice", "bob", "dave", "erin"]),
        "users: the users holding allocations")
    for name, ts in (("alice", [a1, a2]), ("bob", [b]), ("dave", [d]),
            ("erin", [e1])):
        r = rows.get(name, {})
        T.eq((r.get("allocations"), r.get("client_to_peer_bytes"),
            r.get("peer_to_client_bytes")),
            (len(ts), sum(t.summary["client_to_peer"]["bytes"] for t in ts),
             sum(t.summary["peer_to_client"]["bytes"] for t in ts)),
            "users: allocations and bytes of %s" % name)
    rc, text, _ = srv.ctl("users")
    trows = re.findall(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)$", text, re.M)
    T.eq(sorted((u, int(n), int(c2p), int(p2c)) for u, n, c2p, p2c in trows),
        sorted((u["user"], u["allocations"], u["client_to_peer_bytes"],
            u["peer_to_client_bytes"]) for u in users),
        "users table: same rows as JSON")
    st = srv.stats()
    T.eq(st["users"], len(users), "stats users = rows of turnctl users")

    # a second credential for the same REST id is the same user
    e2 = c.traffic(srv, secret=SECRET, ident="erin", ttl=7200, count=10,
        size=64, via="chan")
    T.require(e2.summary is not None, "a second erin credential allocates")
    T.check(e2.user != e1.user, "the two erin usernames differ")
    T.eq(relays(srv.sessions("erin")),
        sorted([e1.summary["relay"], e2.summary["relay"]]),
        "sessions --user erin: both credentials of the id")
    st = srv.stats()
    users = srv.ctl_json("users")
    T.eq(st["users"], 4, "stats: alice, bob, dave, erin hold allocations")
    T.eq(len(users), st["users"],
        "users: one row per user as stats counts them (a REST id is one "
        "user whatever its expiry)", users)
    T.eq([(u["user"], u["allocations"]) for u in users
        if u["user"] == "erin"], [("erin", 2)],
        "users: erin holds two allocations")

    for t in tools + [e2]:
        T.eq(t.finish(), 0, "%s ends cleanly" % t.user)

    # a name JSON must escape, and bytes beyond ASCII
    odd = c.traffic(srv, user=ODD_USER, password="odd-secret", count=3)
    T.require(odd.summary is not None, "the odd user allocates", odd.error)
    T.eq([x["user"] for x in srv.sessions(ODD_USER)], [ODD_USER],
        "sessions --user with quotes, backslash, space and UTF-8")
    T.eq([x["user"] for x in srv.ctl_json("users")], [ODD_USER],
        "users: the odd name in JSON")
    rc, out, err = srv.ctl("kick", ODD_USER)
    T.eq(rc, 0, "kick of the odd user")
    expect_gone(odd, "the odd user")
    T.eq(srv.sessions(), [], "sessions: empty at the end")
    T.eq(srv.ctl_json("users"), [], "users: empty at the end")
    T.eq(srv.stop(), 0, "turnd exits 0")


def expect_gone(t, what):
    ev = t.command("refresh", "refresh", may_end=True)
    T.eq(ev["code"] if ev else None, 437,
        "%s: the next Refresh gets 437" % what)
    T.eq(t.finish(), 3, "%s: turn_traffic sees the allocation gone" % what)


def case_kick(c):
    """turnctl kick USER | ID | REST id; kicking nothing."""
    srv = c.turnd().start()
    kw = dict(count=20, size=100, refresh_ms=60000)
    a1 = c.traffic(srv, user="alice", password=USERS["alice"], **kw)
    a2 = c.traffic(srv, user="alice", password=USERS["alice"], via="send",
        **kw)
    b = c.traffic(srv, user="bob", password=USERS["bob"], **kw)
    f = c.traffic(srv, secret=SECRET, ident="frank", **kw)
    d = c.traffic(srv, user="dave", password=USERS["dave"], **kw)
    ft = c.traffic(srv, secret=SECRET, ident="frank", transport="tcp", **kw)
    for t in (a1, a2, b, f, d, ft):
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
    T.eq(srv.stats()["allocations"]["total"], 6, "six allocations")

    rc, out, err = srv.ctl("kick", "alice")
    T.eq(rc, 0, "kick alice exits 0")
    T.check("kicked 2 allocations" in out, "kick alice: kicked 2", out + err)
    T.eq(srv.sessions("alice"), [], "sessions: alice's allocations gone")
    expect_gone(a1, "alice (channel)")
    expect_gone(a2, "alice (send)")

    bid = find_session(srv.sessions(), b)
    T.require(bid is not None, "sessions lists bob")
    rc, out, err = srv.ctl("--json", "kick", bid["id"])
    T.eq(rc, 0, "kick <id> exits 0")
    T.eq(json.loads(out) if rc == 0 else None, {"kicked": 1},
        "kick <id> --json: kicked 1")
    T.check(find_session(srv.sessions(), b) is None,
        "sessions: bob's allocation gone")
    expect_gone(b, "bob (by id)")

    rc, out, err = srv.ctl("kick", "frank")
    T.eq((rc, out.strip()), (0, "kicked 2 allocations"),
        "kick by REST id: frank's UDP and TCP allocations")
    expect_gone(f, "frank (REST id)")
    # RFC 6062 / 8656: a stream client's allocation ends with its
    # connection, so a kick closes the connection
    ev = ft.command("refresh", "refresh", may_end=True)
    T.eq(ev["code"] if ev else None, -1,
        "frank over TCP: the connection is closed")
    T.eq(ft.finish(), 3, "frank over TCP: turn_traffic sees it gone")
    T.eq(srv.stats()["connections"], 0, "stats: no connection left")

    rc, out, err = srv.ctl("kick", "alice")
    T.eq(rc, 1, "kick of a user without allocations exits 1")
    T.check("kicked 0" in err, "kick of nothing says so", err)
    rc, out, err = srv.ctl("kick", "deadbeef")
    T.eq(rc, 1, "kick of an unknown allocation id exits 1")
    rc, out, err = srv.ctl("--json", "kick", "nobody")
    T.eq(rc, 1, "kick --json of nothing exits 1")
    rc, out, err = srv.ctl("kick")
    T.eq(rc, 2, "kick without a target: usage, exit 2")

    # the one left alone still relays and refreshes
    ev = d.command("burst 30 500", "burst")
    check_clean(ev, "dave after the kicks")
    ev = d.command("refresh", "refresh")
    T.eq(ev["code"], 0, "dave still refreshes")
    st = srv.stats()
    T.eq((st["allocations"]["total"], st["users"], st["ports"]["used"]),
        (1, 1, 1), "stats after the kicks: dave's allocation only")
    T.eq(st["errors"].get("437"), 4,
        "stats: the four 437 answers to the kicked UDP clients' Refresh")
    T.eq(len(re.findall(r"event=alloc_kicked", srv.log_text())), 5,
        "one alloc_kicked log line per kicked allocation")
    T.eq(d.finish(), 0, "dave ends cleanly")
    T.eq(srv.stop(), 0, "turnd exits 0")


_REST_USER = re.compile(r"^(\d+)(?::(.*))?$")


def check_credential(cred, secret, ttl, ident, what):
    m = _REST_USER.match(cred.get("username", ""))
    if not T.check(m is not None, what + ": username is EXPIRY[:ID]", cred):
        return
    T.check(abs(int(m.group(1)) - (time.time() + ttl)) <= 3,
        what + ": expiry is now + ttl", cred)
    T.eq(m.group(2), ident, what + ": id")
    T.eq(cred.get("password"), rest_password(secret, cred["username"]),
        what + ": password is base64(HMAC-SHA1(secret, username))")
    T.eq(cred.get("ttl"), ttl, what + ": ttl")


def case_credentials(c):
    """turnctl credentials from the daemon and offline."""
    srv = c.turnd(secrets=(SECRET, SECRET_NEW)).start()
    cred = srv.ctl_json("credentials", "--ttl", "600", "grace")
    check_credential(cred, SECRET, 600, "grace", "credentials --ttl 600 ID")
    T.eq(cred.get("realm"), REALM, "credentials: realm")
    t = c.traffic(srv, user=cred["username"], password=cred["password"],
        count=20, size=100)
    T.check(t.summary is not None, "the minted credential allocates",
        t.error)
    if t.summary:
        check_clean(t.summary, "traffic with the minted credential")
        T.eq([s["user"] for s in srv.sessions("grace")], [cred["username"]],
            "sessions --user grace finds it")
        T.eq(t.finish(), 0, "grace ends cleanly")

    cred = srv.ctl_json("credentials")
    check_credential(cred, SECRET, 86400, None,
        "credentials without ID (ttl 86400 by default)")
    t = c.traffic(srv, user=cred["username"], password=cred["password"],
        count=5, size=100)
    T.check(t.summary is not None, "a credential without ID allocates",
        t.error)
    t.finish()

    rc, out, err = srv.ctl("credentials", "--ttl", "60", "table-id")
    T.eq(rc, 0, "credentials (table) exits 0")
    m = re.fullmatch(r"username  (\d+:table-id)\npassword  (\S+)\n"
        r"ttl       60 s\nrealm     %s\n" % re.escape(REALM), out)
    T.check(m is not None, "credentials table: username, password, ttl, "
        "realm", out)
    if m:
        T.eq(m.group(2), rest_password(SECRET, m.group(1)),
            "credentials table: the password")

    # offline, from a secret file, without a daemon
    d = c.tempdir()
    sf = os.path.join(d, "secret")
    with open(sf, "w") as fh:
        fh.write(SECRET_NEW + "\n")
    rc, out, err = run([TURNCTL, "-s", os.path.join(d, "none.sock"),
        "--json", "credentials", "--ttl", "900", "--secret-file", sf,
        "offline"])
    T.eq(rc, 0, "credentials --secret-file exits 0 without a daemon")
    try:
        cred = json.loads(out)
    except ValueError:
        cred = {}
    check_credential(cred, SECRET_NEW, 900, "offline",
        "credentials --secret-file")
    T.check(set(["username", "password", "ttl"]) <= set(cred),
        "offline credentials: the daemon's keys", cred)
    if cred:
        t = c.traffic(srv, user=cred["username"],
            password=cred["password"], count=10, size=100)
        T.check(t.summary is not None, "the offline credential allocates",
            t.error)
        t.finish()
    rc, out, err = run([TURNCTL, "credentials", "--secret-file",
        os.path.join(d, "missing")])
    T.eq(rc, 1, "credentials --secret-file of a missing file exits 1")

    # an expired credential is refused
    cred = srv.ctl_json("credentials", "--ttl", "1", "short")
    time.sleep(2.2)
    t = c.traffic(srv, user=cred["username"], password=cred["password"],
        count=1, size=100)
    T.eq(t.error["code"] if t.error else None, 401,
        "an expired credential gets 401")

    for bad in (["--ttl", "0"], ["--ttl", "x"], ["--ttl", "31536001"],
                ["a", "b"]):
        rc, out, err = srv.ctl("credentials", *bad)
        T.eq(rc, 2, "credentials %s: usage, exit 2" % " ".join(bad))
    rc, out, err = srv.ctl("credentials", "a:b")
    T.eq(rc, 1, "credentials with a colon in the id exits 1")
    T.check("id" in err, "credentials a:b says why", err)
    T.eq(srv.stop(), 0, "turnd exits 0")

    # without a secret: a clear error
    srv2 = c.turnd(secrets=()).start()
    rc, out, err = srv2.ctl("credentials")
    T.eq(rc, 1, "credentials without a configured secret exits 1")
    T.check("secret" in err, "credentials without a secret says so", err)
    T.eq(out, "", "credentials without a secret prints nothing on stdout")
    T.eq(srv2.stop(), 0, "turnd exits 0")


def raw_request(path, data, timeout_s=5):
    """Sends raw bytes to a control socket; (version, status, text) or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout_s)
    try:
        s.connect(path)
        s.sendall(data)
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
    except OSError:
        return None
    finally:
        s.close()
    if len(resp) < 16:
        return None
    ver, status, flags, length = struct.unpack("!IIII", resp[:16])
    return ver, status, resp[16:16 + length].decode(errors="replace")


def ctl_hdr(version, typ, flags=0, length=0):
    return struct.pack("!IIII", version, typ, flags, length)


def case_errors(c):
    """Exit codes, the read-only socket, versions, garbage."""
    d = c.tempdir()
    missing = os.path.join(d, "none.sock")
    rc, out, err = run([TURNCTL, "-s", missing, "stats"])
    T.eq(rc, 3, "daemon not running: exit 3")
    T.check("cannot reach turnd" in err and "is turnd running" in err,
        "daemon not running: a clear message", err)
    stale = os.path.join(d, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    rc, out, err = run([TURNCTL, "-s", stale, "--json", "stats"])
    T.eq(rc, 3, "a stale socket (nobody listening): exit 3")
    T.check("cannot reach turnd" in err, "stale socket: a clear message",
        err)
    rc, out, err = run([TURNCTL, "-s", missing, "frobnicate"])
    T.eq(rc, 2, "an unknown command: usage, exit 2")

    srv = c.turnd(readonly=True, dirmode=0o755)
    srv.groups["control"] = srv.groups["control"].replace("};",
        "mode = \"0600\"; };")
    srv.write_config()
    srv.start()
    a = c.traffic(srv, user="alice", password=USERS["alice"], count=50,
        size=100, rate=50)
    T.require(a.summary is not None, "alice allocates", a.error)

    # the read-only socket: show requests only
    for args in (["stats"], ["--json", "stats"], ["sessions"],
                 ["--json", "users"]):
        rc, out, err = srv.ctl(*args, sock=srv.rosock)
        T.eq(rc, 0, "read-only socket: %s works" % " ".join(args))
    T.eq(len(json.loads(srv.ctl("--json", "sessions", sock=srv.rosock)[1])),
        1, "read-only socket: sessions lists alice")
    for args in (["kick", "alice"], ["reload"], ["credentials"]):
        rc, out, err = srv.ctl(*args, sock=srv.rosock)
        T.eq(rc, 1, "read-only socket: %s refused with exit 1" % args[0])
        T.check("show requests only" in err,
            "read-only socket: %s says show requests only" % args[0], err)
    T.eq(len(srv.sessions("alice")), 1, "alice survives the refused kick")
    T.eq(oct(os.stat(srv.rosock).st_mode & 0o777), oct(0o666),
        "the read-only socket is mode 0666")
    T.eq(oct(os.stat(srv.sock).st_mode & 0o777), oct(0o600),
        "the control socket has control.mode")

    # the socket's permissions are enforced
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        who = (nobody.pw_uid, nobody.pw_gid)
        rc, out, err = srv.ctl("stats", as_user=who)
        T.eq(rc, 3, "mode 0600: another user is refused with exit 3")
        T.check("Permission denied" in err and "group" in err,
            "mode 0600: the message says permission and group", err)
        rc, out, err = srv.ctl("stats", sock=srv.rosock, as_user=who)
        T.eq(rc, 0, "the read-only socket (0666) serves another user")
        rc, out, err = srv.ctl("kick", "alice", sock=srv.rosock,
            as_user=who)
        T.eq(rc, 1, "another user cannot kick through the read-only socket")
    else:
        log("not root: the other-user checks are left out")

    # the version comes first; other versions are refused
    for ver in (0, 2, 0xFFFFFFFF):
        r = raw_request(srv.sock, ctl_hdr(ver, CTL_STATS))
        T.check(r is not None and r[0] == CTL_VERSION and
            r[1] == CTL_E_VERSION and "version" in r[2],
            "a request of version %#x is refused as a version mismatch" %
            ver, r)
    r = raw_request(srv.sock, ctl_hdr(2, CTL_KICK, 0, 13) + b"target=alice\n")
    T.check(r is not None and r[1] == CTL_E_VERSION,
        "a kick of version 2 is refused", r)
    T.eq(len(srv.sessions("alice")), 1, "alice survives the version-2 kick")
    r = raw_request(srv.sock, ctl_hdr(CTL_VERSION, CTL_STATS, 1))
    T.check(r is not None and r[1] == CTL_E_OK and
        json.loads(r[2])["allocations"]["total"] == 1,
        "a raw version-1 JSON stats request is answered", r and r[:2])
    r = raw_request(srv.sock, ctl_hdr(CTL_VERSION, 99))
    T.check(r is not None and r[1] == CTL_E_BAD, "an unknown type: bad", r)
    r = raw_request(srv.sock, ctl_hdr(CTL_VERSION, 0))
    T.check(r is not None and r[1] == CTL_E_BAD, "type 0: bad", r)
    r = raw_request(srv.sock, ctl_hdr(CTL_VERSION, CTL_STATS, 0, 1 << 20))
    T.check(r is not None and r[1] == CTL_E_BAD and "long" in r[2],
        "a request longer than CTL_REQ_MAX: bad", r)
    r = raw_request(srv.sock, ctl_hdr(CTL_VERSION, CTL_KICK, 0, 14) +
        b"target=al\0ice\n")
    T.check(r is not None and r[1] == CTL_E_BAD, "a NUL in the payload", r)
    r = raw_request(srv.rosock, ctl_hdr(CTL_VERSION, CTL_RELOAD))
    T.check(r is not None and r[1] == CTL_E_DENIED,
        "raw reload on the read-only socket: denied", r)

    # garbage: none of it may disturb the daemon
    r0 = a.report()
    t0 = time.monotonic()
    rng = random.Random(6)
    idle = []
    for i in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(srv.sock)
        s.send(ctl_hdr(CTL_VERSION, CTL_STATS, 0, 10)[:7 + i % 9])
        idle.append(s)  # half a request, left hanging
    for i in range(200):
        n = rng.choice([1, 5, 15, 16, 17, 100, 5000, 70000])
        data = bytes(rng.getrandbits(8) for _ in range(min(n, 300)))
        data = (data * (n // len(data) + 1))[:n]
        if i % 3 == 0:
            data = ctl_hdr(CTL_VERSION, rng.randint(0, 10),
                rng.getrandbits(32), rng.randint(0, 5000)) + data
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(srv.sock)
            s.sendall(data)
            if i % 2:
                s.shutdown(socket.SHUT_WR)
                s.recv(100)
        except OSError:
            pass
        finally:
            s.close()
    rc, out, err = srv.ctl("--json", "stats")
    T.eq(rc, 0, "stats answered with 20 half requests pending and after "
        "200 garbage ones")
    for s in idle:
        s.close()
    T.check(srv.alive(), "turnd survives the garbage")
    time.sleep(max(0, 1.0 - (time.monotonic() - t0)))
    ev = a.report()
    check_clean(ev, "alice's flow through the garbage")
    T.ge(ev["client_to_peer"]["sent"], r0["client_to_peer"]["sent"] + 25,
        "alice's flow (50/s) kept going")
    ev = a.command("refresh", "refresh")
    T.eq(ev["code"], 0, "alice still refreshes")
    rc, out, err = run([TURNCTL, "-c", srv.conf, "--json", "stats"])
    T.eq(rc, 0, "turnctl -c CONFIG finds the socket")
    T.eq(a.finish(), 0, "alice ends cleanly")
    T.eq(srv.stop(), 0, "turnd exits 0")
    T.check(not os.path.exists(srv.sock) and not os.path.exists(srv.rosock),
        "both control sockets removed at exit")


def case_metrics(c):
    """/metrics live while traffic flows; /healthz, /readyz."""
    srv = c.turnd(metrics=True).start()
    T.eq(srv.http("/healthz")[:2], (200, "ok\n"), "/healthz: 200 ok")
    T.eq(srv.http("/readyz")[0], 200, "/readyz: 200 when ready")
    # POST is supported for no resource: 405, or 501 (RFC 9110 15.6.2)
    T.check(srv.http("/metrics", method="POST")[0] in (405, 501),
        "POST /metrics is refused")
    T.eq(srv.http("/nothing")[0], 404, "an unknown path: 404")

    a = c.traffic(srv, user="alice", password=USERS["alice"], count=100,
        size=200, via="chan")
    g = c.traffic(srv, secret=SECRET, ident="gina", count=80, size=500,
        via="send", family=6)
    for t in (a, g):
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
        check_clean(t.summary, "summary of %s" % t.user)
    want = sums([a.summary, g.summary])

    m = srv.metrics()
    T.eq(m.get_value("turnd_allocations", transport="udp"), 2,
        "turnd_allocations{transport=udp}")
    T.eq(m.total("turnd_allocations"), 2, "turnd_allocations, all")
    T.eq((m.get_value("turnd_relays", family="ipv4"),
        m.get_value("turnd_relays", family="ipv6")), (1, 1),
        "turnd_relays by family")
    T.eq(m.get_value("turnd_users"), 2, "turnd_users")
    T.eq(m.get_value("turnd_permissions"), 2, "turnd_permissions")
    T.eq(m.get_value("turnd_channels"), 1, "turnd_channels")
    T.eq(m.get_value("turn_total_allocations"), 2,
        "turn_total_allocations (coturn's name)")
    T.eq((m.get_value("turnd_relayed_packets_total",
        direction="client_to_peer"), m.get_value("turnd_relayed_bytes_total",
        direction="client_to_peer"), m.get_value(
        "turnd_relayed_packets_total", direction="peer_to_client"),
        m.get_value("turnd_relayed_bytes_total", direction="peer_to_client")),
        want, "turnd_relayed_*_total = the tools' counts")
    T.eq(m.get_value("turnd_error_responses_total", code="401"), 2,
        "turnd_error_responses_total{code=401}: one per tool")
    T.eq(m.get_value("turnd_auth_failures_total", reason="no_creds"), 2,
        "turnd_auth_failures_total{reason=no_creds}")
    T.eq((m.get_value("turnd_relay_ports", family="ipv4", state="used"),
        m.get_value("turnd_relay_ports", family="ipv6", state="used"),
        m.get_value("turnd_relay_ports", family="ipv4", state="total")),
        (1, 1, 100), "turnd_relay_ports: one used per family, 100 each")
    T.eq(m.get_value("turnd_draining"), 0, "turnd_draining 0")
    T.eq(m.get_value("turnd_workers"), 2, "turnd_workers")

    # live: the counters move while the allocations run
    for t in (a, g):
        t.command("flow 100", "flow")
    time.sleep(1.0)
    m1 = srv.metrics()
    time.sleep(1.0)
    m2 = srv.metrics()
    for d in ("client_to_peer", "peer_to_client"):
        v1 = m1.get_value("turnd_relayed_packets_total", direction=d)
        v2 = m2.get_value("turnd_relayed_packets_total", direction=d)
        T.check(v1 is not None and v2 is not None and want[0] < v1 < v2,
            "turnd_relayed_packets_total{%s} grows while traffic flows" % d,
            (want[0], v1, v2))
    T.check(m2.get_value("turn_total_traffic_peer_sentp") >
        m1.get_value("turn_total_traffic_peer_sentp") > want[0],
        "turn_total_traffic_peer_sentp grows while traffic flows")
    T.eq(m2.total("turnd_allocations"), 2,
        "allocations unchanged while traffic flows")
    for t in (a, g):
        t.command("flow 0", "flow")
    reports = [a.report(), g.report()]
    for r in reports:
        check_clean(r, "flow report")
    want = sums(reports)
    m = srv.metrics()
    got = (m.get_value("turnd_relayed_packets_total",
        direction="client_to_peer"), m.get_value("turnd_relayed_bytes_total",
        direction="client_to_peer"), m.get_value(
        "turnd_relayed_packets_total", direction="peer_to_client"),
        m.get_value("turnd_relayed_bytes_total", direction="peer_to_client"))
    T.eq(got, want, "turnd_relayed_*_total = the tools' counts after "
        "the flow")
    T.eq((m.get_value("turn_total_traffic_peer_sentp"),
        m.get_value("turn_total_traffic_peer_sentb"),
        m.get_value("turn_total_traffic_peer_rcvp"),
        m.get_value("turn_total_traffic_peer_rcvb")), want,
        "coturn's peer traffic totals = the tools' counts")
    # from and to the clients: the data plus the STUN around it
    T.check(m.get_value("turn_total_traffic_rcvp") >= want[0] and
        m.get_value("turn_total_traffic_rcvb") >= want[1] and
        m.get_value("turn_total_traffic_sentp") >= want[2] and
        m.get_value("turn_total_traffic_sentb") >= want[3],
        "coturn's client traffic totals hold at least the data",
        {k: m.get_value(k) for k in ("turn_total_traffic_rcvp",
            "turn_total_traffic_rcvb", "turn_total_traffic_sentp",
            "turn_total_traffic_sentb")})
    st = srv.stats()
    T.eq((st["relayed"]["client_to_peer"]["packets"],
        st["relayed"]["peer_to_client"]["bytes"]), (got[0], got[3]),
        "turnctl stats and /metrics agree")
    T.eq(m.get_value("turnd_requests_total"),
        st["counters"]["requests"], "turnd_requests_total = stats requests")
    for t in (a, g):
        T.eq(t.finish(), 0, "%s ends cleanly" % t.user)
    m = srv.metrics()
    T.eq((m.total("turnd_allocations"), m.get_value("turnd_users"),
        m.get_value("turn_total_allocations")), (0, 0, 0),
        "no allocation left in /metrics")
    T.eq(m.get_value("turnd_alloc_deleted_total"), 2,
        "turnd_alloc_deleted_total")
    T.eq(srv.stop(), 0, "turnd exits 0")


def metric(srv, name, **labels):
    try:
        return srv.metrics().get_value(name, **labels)
    except Abort:
        return None


def wait_metric(srv, name, want, timeout_s=5):
    deadline = time.monotonic() + timeout_s
    v = None
    while time.monotonic() < deadline:
        v = metric(srv, name)
        if v == want:
            break
        time.sleep(0.1)
    return v


def case_reload(c):
    """Reload under traffic: no allocation lost, changes take effect."""
    srv = c.turnd(metrics=True).start()
    kw = dict(count=50, size=200, rate=50, refresh_ms=500)
    tools = [c.traffic(srv, user="alice", password=USERS["alice"],
                 via="chan", **kw),
             c.traffic(srv, user="dave", password=USERS["dave"], via="send",
                 **kw),
             c.traffic(srv, secret=SECRET, ident="hank", via="both", **kw)]
    for t in tools:
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
    ids = sorted(s["id"] for s in srv.sessions())
    bob = c.traffic(srv, user="bob", password=USERS["bob"], count=5)
    T.check(bob.summary is not None, "bob allocates before the reload",
        bob.error)
    bob.finish()
    T.check("level=debug" in srv.log_text(), "debug lines before the reload")
    before = [t.report() for t in tools]

    # a new secret (first, so turnctl mints with it), bob removed, less log
    srv.groups["auth"] = Turnd.auth_group(
        {k: v for k, v in USERS.items() if k != "bob"}, (SECRET_NEW, SECRET))
    srv.groups["log"] = "log = { level = \"warn\"; };"
    srv.write_config()
    mark = len(srv.log_text())
    rc, out, err = srv.ctl("reload")
    T.eq((rc, out), (0, "reloaded\n"), "turnctl reload exits 0, 'reloaded'")
    T.eq(metric(srv, "turnd_reloads_total"), 1, "turnd_reloads_total 1")
    new = c.traffic(srv, secret=SECRET_NEW, ident="ivy", count=20)
    T.check(new.summary is not None,
        "credentials of the new secret allocate after the reload", new.error)
    if new.summary:
        check_clean(new.summary, "traffic with the new secret")
    new.finish()
    cred = srv.ctl_json("credentials", "--ttl", "600", "minted")
    T.eq(cred["password"], rest_password(SECRET_NEW, cred["username"]),
        "turnctl credentials mints with the new first secret")
    t = c.traffic(srv, user=cred["username"], password=cred["password"],
        count=5)
    T.check(t.summary is not None, "the minted credential allocates", t.error)
    t.finish()
    bob = c.traffic(srv, user="bob", password=USERS["bob"], count=5)
    T.eq(bob.error["code"] if bob.error else None, 401,
        "the removed user's new Allocate gets 401")
    after = srv.log_text()[mark:]
    T.check("event=alloc_created" not in after and "level=debug" not in
        after, "log level warn: no info or debug line after the reload",
        after[:600])

    time.sleep(1.0)  # refreshes and traffic under the new configuration

    # SIGHUP: bob back, log level info
    srv.groups["auth"] = Turnd.auth_group(USERS, (SECRET_NEW, SECRET))
    srv.groups["log"] = "log = { level = \"info\"; };"
    srv.write_config()
    srv.signal(signal.SIGHUP)
    T.eq(wait_metric(srv, "turnd_reloads_total", 2), 2,
        "SIGHUP reloads (turnd_reloads_total 2)")
    bob = c.traffic(srv, user="bob", password=USERS["bob"], count=5)
    T.check(bob.summary is not None, "bob allocates after SIGHUP adds him",
        bob.error)
    bob.finish()
    T.check("event=reloaded" in srv.log_text(),
        "the reload is logged at level info")

    mid = [t.report() for t in tools]
    for t, b0, r in zip(tools, before, mid):
        check_clean(r, "%s across two reloads" % t.user)
        T.check(r["client_to_peer"]["sent"] > b0["client_to_peer"]["sent"],
            "%s kept relaying across the reloads" % t.user)
        T.check(r["refreshes"] > b0["refreshes"] and
            r["refresh_failures"] == 0,
            "%s kept refreshing across the reloads" % t.user, r)
    T.eq(sorted(s["id"] for s in srv.sessions()), ids,
        "the same allocations after the reloads")

    # broken configurations are refused with their errors
    good = srv.groups.copy()
    srv.groups["zz"] = "relay_extra = {\n  port_min = ;\n};"
    srv.write_config()
    lines = open(srv.conf).read().splitlines()
    bad_line = next(i + 1 for i, l in enumerate(lines) if "port_min = ;" in l)
    rc, out, err = srv.ctl("reload")
    T.eq(rc, 1, "reload of a syntax error exits 1")
    T.check(re.search(r"turnd\.conf:%d: syntax error" % bad_line, err),
        "the syntax error is printed as file:line", err)
    T.check("running configuration stays" in err,
        "the refusal says the old configuration stays", err)
    rc, out, err = srv.ctl("--json", "reload")
    T.eq(rc, 1, "--json reload of a syntax error exits 1")
    doc = None
    for text in (out, err):
        try:
            doc = json.loads(text)
            break
        except ValueError:
            pass
    T.check(doc is not None and doc.get("reloaded") is False and
        "syntax error" in doc.get("errors", ""),
        "--json reload: the refusal is JSON a machine can parse",
        (out, err))
    del srv.groups["zz"]
    srv.groups["zz"] = "frobnicate = 1;"
    srv.write_config()
    lines = open(srv.conf).read().splitlines()
    bad_line = next(i + 1 for i, l in enumerate(lines) if "frobnicate" in l)
    rc, out, err = srv.ctl("reload")
    T.eq(rc, 1, "reload of an unknown setting exits 1")
    T.check(re.search(r"turnd\.conf:%d: unknown setting 'frobnicate'" %
        bad_line, err), "the unknown setting is printed as file:line", err)
    srv.signal(signal.SIGHUP)
    # refused so far: the syntax error twice, the unknown setting, SIGHUP
    T.eq(wait_metric(srv, "turnd_reload_failures_total", 4), 4,
        "a broken SIGHUP is refused too (turnd_reload_failures_total 4)")
    T.check("event=reload_failed" in srv.log_text(),
        "the refused reload is logged")
    T.eq(metric(srv, "turnd_reloads_total"), 2, "no reload counted")
    T.check(srv.alive(), "turnd still runs")

    # the old configuration keeps working
    for kw2, what in ((dict(user="alice", password=USERS["alice"]), "alice"),
            (dict(user="bob", password=USERS["bob"]), "bob"),
            (dict(secret=SECRET_NEW, ident="ivy"), "the new secret"),
            (dict(secret=SECRET, ident="old"), "the old secret")):
        t = c.traffic(srv, count=10, **kw2)
        T.check(t.summary is not None and t.summary["ok"],
            "after the refused reloads %s still allocates" % what, t.error)
        t.finish()
    rc, out, err = srv.ctl("--json", "stats")
    T.eq(rc, 0, "stats after the refused reloads")
    srv.groups = good
    srv.write_config()
    for t, r0 in zip(tools, mid):
        r = t.report()
        check_clean(r, "%s after the refused reloads" % t.user)
        T.check(r["client_to_peer"]["sent"] > r0["client_to_peer"]["sent"]
            and r["refresh_failures"] == 0 and r["refreshes"] >
            r0["refreshes"], "%s kept relaying and refreshing" % t.user, r)
    for t in tools:
        T.eq(t.finish(), 0, "%s ends cleanly" % t.user)
    T.eq(srv.stop(), 0, "turnd exits 0")


def wait_exit(srv, timeout_s):
    t0 = time.monotonic()
    rc = srv.wait(timeout_s)
    return rc, time.monotonic() - t0


def case_stop(c):
    """SIGTERM drains, then exits 0; at once without allocations; twice."""
    srv = c.turnd(metrics=True, drain=3).start()
    kw = dict(count=20, size=200, rate=50, refresh_ms=500)
    a = c.traffic(srv, user="alice", password=USERS["alice"], **kw)
    j = c.traffic(srv, secret=SECRET, ident="jack", via="send", **kw)
    for t in (a, j):
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
    T.eq(srv.http("/readyz")[0], 200, "/readyz 200 before the stop")
    r0 = a.report()
    t0 = time.monotonic()
    srv.signal(signal.SIGTERM)
    st = None
    while time.monotonic() - t0 < 1.0:
        st = srv.http("/readyz")[0]
        if st == 503:
            break
        time.sleep(0.05)
    T.eq(st, 503, "/readyz 503 while draining")
    T.eq(srv.http("/healthz")[0], 200, "/healthz 200 while draining")
    T.eq(metric(srv, "turnd_draining"), 1, "turnd_draining 1")
    T.eq(srv.stats()["draining"], True, "stats: draining")
    T.check(", DRAINING" in srv.ctl("stats")[1].splitlines()[0],
        "stats table: DRAINING on its first line")
    b = c.traffic(srv, user="bob", password=USERS["bob"], count=5)
    T.eq(b.error["code"] if b.error else None, 508,
        "a new Allocate while draining gets 508")
    time.sleep(max(0, 1.5 - (time.monotonic() - t0)))
    r1 = a.report()
    check_clean(r1, "alice relays while draining")
    T.check(r1["client_to_peer"]["sent"] >= r0["client_to_peer"]["sent"] +
        30, "alice kept sending during the drain", (r0, r1))
    ev = a.command("refresh", "refresh")
    T.eq(ev["code"] if ev else None, 0, "a Refresh while draining works")
    rj = j.report()
    check_clean(rj, "jack relays while draining")
    rc, waited = wait_exit(srv, 8)
    elapsed = time.monotonic() - t0
    T.eq(rc, 0, "turnd exits 0 after the drain")
    T.check(2.5 <= elapsed <= 3 + 2.5,
        "turnd exits after the drain (3 s) and within a margin", elapsed)
    text = srv.log_text()
    T.check("event=draining" in text and "event=drained" in text,
        "the drain is logged")
    T.check(not os.path.exists(srv.sock), "control socket removed at exit")
    for t in (a, j):
        t.kill()  # their server is gone

    # nothing to drain: at once
    srv = c.turnd(metrics=True, drain=30).start()
    srv.signal(signal.SIGTERM)
    rc, waited = wait_exit(srv, 5)
    T.eq(rc, 0, "without allocations SIGTERM exits 0")
    T.check(waited < 1.0, "without allocations SIGTERM exits at once",
        waited)
    srv = c.turnd(drain=30).start()
    srv.signal(signal.SIGINT)
    rc, waited = wait_exit(srv, 5)
    T.check(rc == 0 and waited < 1.0, "SIGINT: the same", (rc, waited))

    # the drain ends when the last allocation goes
    srv = c.turnd(drain=30).start()
    a = c.traffic(srv, user="alice", password=USERS["alice"], count=5,
        refresh_ms=500)
    T.require(a.summary is not None, "alice allocates")
    srv.signal(signal.SIGTERM)
    T.eq(srv.wait(1.2), None, "with an allocation, SIGTERM drains")
    T.eq(a.finish(), 0, "alice deletes her allocation while turnd drains")
    rc, waited = wait_exit(srv, 5)
    T.eq(rc, 0, "the drain ends with the last allocation: exit 0")
    T.check(waited < 1.5, "the drain ends with the last allocation, not "
        "after drain seconds", waited)

    # a second SIGTERM stops at once
    srv = c.turnd(metrics=True, drain=30).start()
    a = c.traffic(srv, user="alice", password=USERS["alice"], count=5,
        refresh_ms=500)
    T.require(a.summary is not None, "alice allocates")
    srv.signal(signal.SIGTERM)
    T.eq(srv.wait(1.2), None, "with an allocation, SIGTERM drains")
    T.eq(srv.http("/readyz")[0], 503, "/readyz 503 while draining")
    srv.signal(signal.SIGTERM)
    rc, waited = wait_exit(srv, 5)
    T.eq(rc, 0, "a second SIGTERM exits 0")
    T.check(waited < 1.0, "a second SIGTERM stops at once", waited)
    a.kill()


def proc_ids(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    return None


def case_privdrop(c):
    """Started as root: runs as nobody:nogroup, pidfile, control socket."""
    if os.geteuid() != 0:
        log("not root: privilege drop not tested")
        return EXIT_SKIP
    try:
        nobody = pwd.getpwnam("nobody")
        nogroup = grp.getgrnam("nogroup")
    except KeyError:
        log("no user nobody or group nogroup")
        return EXIT_SKIP
    uid, gid = nobody.pw_uid, nogroup.gr_gid
    srv = c.turnd(metrics=True, dirmode=0o755)
    # the runtime directory belongs to the service user, as under systemd
    rundir = os.path.join(srv.dir, "run")
    os.mkdir(rundir, 0o755)
    os.chown(rundir, uid, gid)
    srv.sock = os.path.join(rundir, "turnd.sock")
    pidfile = os.path.join(rundir, "turnd.pid")
    srv.groups["control"] = ("control = { socket = %s; mode = \"0660\"; "
        "group = \"nogroup\"; };" % q(srv.sock))
    srv.groups["process"] = ("process = { user = \"nobody\"; group = "
        "\"nogroup\"; pidfile = %s; workers = 2; drain = 0; };" % q(pidfile))
    srv.write_config()
    srv.start()
    pid = srv.pid
    for field, want in (("Uid", uid), ("Gid", gid)):
        ids = proc_ids(pid, field)
        T.eq(ids, [want] * 4, "/proc/PID/status %s: all four are %d" %
            (field, want))
    T.eq(proc_ids(pid, "Groups"), [gid], "supplementary groups: nogroup")
    tasks = os.listdir("/proc/%d/task" % pid)
    T.check(len(tasks) >= 3, "the workers run as threads", tasks)
    T.check(all(proc_ids(int(t_), "Uid") == [uid] * 4 for t_ in tasks
        if os.path.exists("/proc/%d/task/%s/status" % (pid, t_))),
        "every thread runs as nobody")
    try:
        with open(pidfile) as f:
            T.eq(f.read().strip(), str(pid), "the pidfile holds turnd's PID")
    except OSError as e:
        T.check(False, "the pidfile exists", e)
    stt = os.stat(srv.sock)
    T.eq((oct(stt.st_mode & 0o777), stt.st_gid), (oct(0o660), gid),
        "the control socket is 0660 and group nogroup")
    rc, out, err = srv.ctl("--json", "stats")
    T.eq(rc, 0, "turnctl as root reaches the socket")
    rc, out, err = srv.ctl("--json", "stats", as_user=(uid, gid))
    T.eq(rc, 0, "turnctl as a member of the socket's group reaches it", err)
    rc, out, err = srv.ctl("stats", as_user=(1, 1))
    T.eq(rc, 3, "turnctl as another user is refused with exit 3")
    T.check("Permission denied" in err, "another user: permission denied",
        err)

    a = c.traffic(srv, user="alice", password=USERS["alice"], count=50,
        size=300)
    T.check(a.summary is not None and a.summary["ok"],
        "allocations and relaying work after the drop", a.error)
    rc, out, err = srv.ctl("reload")
    T.eq(rc, 0, "reload works as nobody", err)
    ev = a.command("burst 20 300", "burst") if a.summary else None
    T.check(ev is not None and ev["ok"], "relaying works after the reload")
    T.eq(a.finish(), 0, "alice ends cleanly")
    T.eq(srv.stop(), 0, "turnd exits 0")
    T.check(not os.path.exists(pidfile), "the pidfile is removed at exit")
    T.check(not os.path.exists(srv.sock), "the control socket is removed "
        "at exit")
    return 0


class Notify:
    def __init__(self, d, abstract=False):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "turnd-ops-%d-%d" % (os.getpid(), random.getrandbits(32))
            self.s.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(d, "notify.sock")
            self.s.bind(self.env)
        self.msgs = []

    def next(self, timeout_s=5):
        r, _, _ = select.select([self.s], [], [], timeout_s)
        if not r:
            return None
        m = self.s.recv(4096).decode(errors="replace")
        self.msgs.append(m)
        return m

    def drain(self, timeout_s=0.3):
        out = []
        while True:
            m = self.next(timeout_s)
            if m is None:
                return out
            out.append(m)

    def close(self):
        self.s.close()


def case_notify(c):
    """sd_notify: READY=1, RELOADING=1/READY=1, STOPPING=1."""
    d = c.tempdir()
    n = Notify(d)
    srv = c.turnd(drain=2)
    t0 = time.monotonic()
    srv.start(env={"NOTIFY_SOCKET": n.env})
    T.eq(n.next(), "READY=1", "READY=1 after the start")
    T.check(stun_binding("127.0.0.1", srv.port),
        "turnd answers once READY=1 is sent")
    T.eq(n.drain(), [], "nothing else at the start")
    rc, out, err = srv.ctl("reload")
    T.eq(rc, 0, "turnctl reload")
    T.eq(n.drain(), ["RELOADING=1", "READY=1"],
        "turnctl reload: RELOADING=1 then READY=1")
    srv.signal(signal.SIGHUP)
    T.eq([n.next(), n.next()] + n.drain(), ["RELOADING=1", "READY=1"],
        "SIGHUP: RELOADING=1 then READY=1")
    srv.signal(signal.SIGUSR2)
    T.eq([n.next(), n.next()] + n.drain(), ["RELOADING=1", "READY=1"],
        "SIGUSR2 (certificates): RELOADING=1 then READY=1")
    srv.write_config(tail="frobnicate = 1;\n")
    rc, out, err = srv.ctl("reload")
    T.eq(rc, 1, "a broken reload is refused")
    T.eq(n.drain(), ["RELOADING=1", "READY=1"],
        "a refused reload: RELOADING=1 then READY=1 (the old one runs)")
    srv.write_config()
    a = c.traffic(srv, user="alice", password=USERS["alice"], count=5,
        refresh_ms=500)
    T.require(a.summary is not None, "alice allocates")
    srv.signal(signal.SIGTERM)
    t0 = time.monotonic()
    T.eq(n.next(1.0), "STOPPING=1", "STOPPING=1 as the drain starts")
    T.check(time.monotonic() - t0 < 1.0 and srv.alive(),
        "STOPPING=1 comes at once, before the exit")
    rc, _ = wait_exit(srv, 6)
    T.eq(rc, 0, "turnd exits 0")
    rest = n.drain()
    T.check(all(m == "STOPPING=1" for m in rest) and "READY=1" not in rest,
        "nothing but STOPPING=1 until the exit", rest)
    a.finish()
    n.close()

    # an abstract socket name ("@...") works too
    n = Notify(d, abstract=True)
    srv = c.turnd()
    srv.start(env={"NOTIFY_SOCKET": n.env})
    T.eq(n.next(), "READY=1", "abstract NOTIFY_SOCKET: READY=1")
    srv.signal(signal.SIGTERM)
    T.eq(n.next(), "STOPPING=1", "abstract NOTIFY_SOCKET: STOPPING=1")
    rc, _ = wait_exit(srv, 5)
    T.eq(rc, 0, "turnd exits 0")
    n.close()


def case_instance(c):
    """A second turnd on the same configuration leaves the first alone."""
    # with a metrics listener the second fails late (the port is taken),
    # without one nothing else stops it
    for metrics in (True, False):
        instance_once(c, metrics)


def instance_once(c, metrics):
    what = "with metrics" if metrics else "without metrics"
    srv = c.turnd(metrics=metrics)
    pidfile = os.path.join(srv.dir, "turnd.pid")
    srv.groups["process"] = ("process = { workers = 2; drain = 0; "
        "pidfile = %s; };" % q(pidfile))
    srv.write_config()
    srv.start()
    a = c.traffic(srv, user="alice", password=USERS["alice"], count=20,
        rate=50, refresh_ms=500)
    T.require(a.summary is not None, "alice allocates", a.error)

    logpath = os.path.join(srv.dir, "second.log")
    with open(logpath, "wb") as logf:
        second = subprocess.Popen([TURND, "-c", srv.conf],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    try:
        rc = second.wait(timeout=3)
    except subprocess.TimeoutExpired:
        rc = None
    with open(logpath, errors="replace") as f:
        second_log = f.read()
    T.check(rc is not None and rc != 0,
        "%s: a second turnd on the same control socket and ports refuses "
        "to start" % what, "exit %r; its log:\n%s" % (rc, second_log))
    if rc is None:
        # it serves part of the traffic: new clients can land on it
        for i in range(6):
            t = c.traffic(srv, user="bob", password=USERS["bob"], count=5)
            n = srv.ctl("--json", "stats")
            got = json.loads(n[1])["allocations"]["total"] \
                if n[0] == 0 else None
            t.finish()
            if got != 2:
                break
        T.eq(got, 2, "%s: a new client reaches the running turnd, not the "
            "second one" % what)
        os.kill(second.pid, signal.SIGTERM)
        try:
            second.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(second.pid, signal.SIGKILL)
            second.wait()
    T.check(os.path.exists(srv.sock),
        "%s: the running turnd's control socket is still there" % what)
    rc, out, err = srv.ctl("--json", "sessions")
    T.check(rc == 0 and [x["client"] for x in json.loads(out)] ==
        [a.summary["client"]], "%s: turnctl still reaches the running "
        "turnd (it lists alice)" % what, (rc, out, err))
    try:
        with open(pidfile) as f:
            T.eq(f.read().strip(), str(srv.pid),
                "%s: the pidfile still names the running turnd" % what)
    except OSError as e:
        T.check(False, "%s: the pidfile is still there" % what, e)
    if metrics:
        T.eq(srv.http("/readyz")[0], 200, "the running turnd is ready")
    ev = a.command("report", "report", may_end=True)
    if T.check(ev is not None, "%s: alice's allocation outlives the second "
            "turnd" % what, a.lines[-3:]):
        check_clean(ev, "%s: alice's flow while a second turnd tried to "
            "start" % what)
        T.eq(a.finish(), 0, "%s: alice ends cleanly" % what)
    T.eq(srv.stop(), 0, "%s: turnd exits 0" % what)


def case_logs(c):
    """One event a line, key=value, traffic in the ends, no secrets."""
    users = dict(USERS, **{"carol smith": "carol-secret"})
    srv = c.turnd(users=users).start()
    a = c.traffic(srv, user="alice", password=USERS["alice"], count=30,
        size=100)
    r = c.traffic(srv, secret=SECRET, ident="logid", count=20, size=50,
        via="send")
    s = c.traffic(srv, user="carol smith", password=users["carol smith"],
        count=10, size=64)
    for t in (a, r, s):
        T.require(t.summary is not None, "%s allocates" % t.argv, t.error)
    w = c.traffic(srv, user="alice", password="not-her-password", count=1)
    T.eq(w.error["code"] if w.error else None, 401, "a wrong password: 401")
    # an unauthenticated client picks the USERNAME bytes
    forged = (b"mallory\n2026-01-01T00:00:00.000Z level=error "
        b"event=forged_line user=root")
    code, nonce = stun_allocate_as(srv.port, forged)
    T.eq(code, 401, "a USERNAME with a newline: 401")
    code, _ = stun_allocate_as(srv.port, b'eve" event=forged_pair x="')
    T.eq(code, 401, "a USERNAME with quotes: 401")
    ends = {}
    for t in (a, r, s):
        T.eq(t.finish(), 0, "%s ends cleanly" % t.user)
        ends[t.summary["relay"]] = t.end

    text = srv.log_text()
    events, bad = log_events(text)
    T.check(not bad, "every log line is one event: time, level, event, "
        "key=value pairs (quoted when needed)", "\n      ".join(bad[:6]))
    names = [e[1] for e in events]
    T.check("forged_line" not in names and "forged_line" not in
        "".join(bad), "a USERNAME cannot forge a log line")
    T.check(not any("forged_pair" in kv for _, _, kv in events) and
        not any(kv.get("event") for _, _, kv in events),
        "a USERNAME cannot forge a key=value pair")
    T.check(any(e == "auth_failed" and kv.get("user", "").startswith(
        "mallory") and kv.get("reason") == "unknown_user" for _, e, kv in
        events), "the forged USERNAME's 401 is logged as one auth_failed "
        "with its user")
    T.check(any(e == "auth_failed" and kv.get("user") == "alice" and
        kv.get("reason") in ("bad_mi", "bad_integrity") and
        kv.get("code") == "401" for _, e, kv in events),
        "a wrong password: auth_failed reason=bad_integrity user=alice "
        "code=401")

    created = {kv.get("relay"): kv for _, e, kv in events
        if e == "alloc_created"}
    deleted = {kv.get("id"): kv for _, e, kv in events
        if e == "alloc_deleted"}
    for t in (a, r, s):
        kv = created.get(t.summary["relay"])
        if not T.check(kv is not None, "alloc_created for %s" % t.user):
            continue
        T.eq((kv.get("user"), kv.get("client"), kv.get("lifetime_s")),
            (t.user, t.summary["client"], "600"),
            "alloc_created: user, client, lifetime of %s" % t.user)
        d = deleted.get(kv.get("id"), {})
        end = ends[t.summary["relay"]]
        T.eq(tuple(int(d.get(k, -1)) for k in ("c2p_pkts", "c2p_bytes",
            "p2c_pkts", "p2c_bytes")), counts(end),
            "alloc_deleted carries %s's traffic" % t.user)
        T.eq(d.get("user"), t.user, "alloc_deleted: user of %s" % t.user)

    # never a password, a secret, a REST password or a whole nonce
    leaks = [x for x in list(users.values()) + [SECRET, a.password,
        r.password, s.password, nonce] if x and x in text]
    T.eq(leaks, [], "no password, secret, REST password or nonce in the "
        "debug log")

    # per-packet trouble is counted, logged only at debug
    srv.groups["log"] = "log = { level = \"info\"; };"
    srv.write_config()
    T.eq(srv.ctl("reload")[0], 0, "reload to level info")
    before = srv.stats()["counters"]
    mark = len(srv.log_text())
    g = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(5):
        g.sendto(b"\xff not stun %d" % i, ("127.0.0.1", srv.port))
    g.close()
    time.sleep(0.3)
    after = srv.stats()["counters"]
    T.eq(after["drop_not_stun"] - before["drop_not_stun"], 5,
        "five datagrams that are not STUN are counted")
    T.eq(srv.log_text()[mark:], "", "and not logged at level info")
    T.eq(srv.stop(), 0, "turnd exits 0")


CASES = {
    "stats": case_stats,
    "sessions": case_sessions,
    "kick": case_kick,
    "credentials": case_credentials,
    "errors": case_errors,
    "metrics": case_metrics,
    "reload": case_reload,
    "stop": case_stop,
    "privdrop": case_privdrop,
    "notify": case_notify,
    "instance": case_instance,
    "logs": case_logs,
}


def main(argv):
    if len(argv) != 2 or argv[1] not in CASES:
        print("usage: test_ops.py %s" % "|".join(CASES), file=sys.stderr)
        return 2
    for name, path in (("TURND", TURND), ("TURNCTL", TURNCTL),
                       ("TURN_TRAFFIC", TRAFFIC)):
        if not path or not os.access(path, os.X_OK):
            print("$%s must name the program" % name, file=sys.stderr)
            return 2

    return run_case(CASES, argv[1], Case, CASE_DEADLINE_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
