#!/usr/bin/python3
"""
Interop tests: independent TURN clients move real datagrams through a TURN
server on loopback, and a test fails on any lost datagram.

    interop.py --list                 the scenarios, one a line
    interop.py SCENARIO...            run these (each against its own server)
    interop.py all | udp | stream     run a group

The server is turnd ($TURND, the default) or coturn (SERVER=coturn); see
harness.py.  Clients:

  uclient  coturn's turnutils_uclient with turnutils_peer as the UDP echo
           peer; its final statistics are parsed and every datagram sent
           must come back ("Total lost packets 0", sent == received == the
           count the options imply).
  pion     tests/interop/pion (pion/turn v2), $PION_CLIENT or built here.
  aioice   tests/interop/aioice_client.py (python3-aioice).

A scenario either passes with zero loss or, for the negative ones, must see
the client fail with the expected error.  After every scenario the server
must still answer a STUN Binding.

Exit status: 0 pass, 1 fail, 77 skipped (a client is not installed).
"""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import HarnessError, Skip, log  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_TIMEOUT_S = 50
# uclient defaults: 200 datagrams of 120 bytes per session, every 20 ms.
UC_N = 200


# ---------------------------------------------------------------- clients

def debian_python():
    if os.access("/usr/bin/python3", os.X_OK):
        return "/usr/bin/python3"
    return sys.executable


def pion_client():
    """Path of the pion client: $PION_CLIENT, or built into a cache dir."""
    exe = os.environ.get("PION_CLIENT")
    if exe:
        if not os.access(exe, os.X_OK):
            raise HarnessError("PION_CLIENT=%s is not executable" % exe)
        return exe
    go = shutil.which("go")
    if go is None:
        raise Skip("go is not installed (Debian package golang-go)")
    gopath = os.environ.get("GOPATH", "/usr/share/gocode")
    if not os.path.isdir(os.path.join(gopath, "src/github.com/pion/turn/v2")):
        raise Skip("pion/turn v2 is not installed "
            "(Debian package golang-github-pion-turn.v2-dev)")
    out_dir = os.environ.get("INTEROP_BUILD_DIR",
        "/tmp/turnd-interop-build-%d" % os.getuid())
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, "pion-interop-client")
    src = os.path.join(HERE, "pion", "main.go")
    with open(os.path.join(out_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(exe) and \
                os.path.getmtime(exe) >= os.path.getmtime(src):
            return exe
        env = dict(os.environ, GOPATH=gopath, GO111MODULE="off",
            GOCACHE=os.path.join(out_dir, "gocache"), GOFLAGS="")
        log("building %s" % exe)
        r = subprocess.run([go, "build", "-o", exe, "."],
            cwd=os.path.join(HERE, "pion"), env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            raise HarnessError("go build failed:\n" +
                r.stdout.decode(errors="replace"))
    return exe


def run_client(srv, name, argv):
    """Runs one client to completion; returns (status, output)."""
    log("client: " + " ".join(argv))
    path = os.path.join(srv.workdir, name + ".client.log")
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=CLIENT_TIMEOUT_S)
        rc, out = r.returncode, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        rc = 124
        out = (e.stdout or b"").decode(errors="replace") + \
            "\n[interop] client killed after %d s\n" % CLIENT_TIMEOUT_S
    with open(path, "w") as f:
        f.write(out)
    log("client exited with status %d after %.1f s" %
        (rc, time.monotonic() - t0))
    return rc, out


# ---------------------------------------------------------------- uclient

def uclient_stats(out):
    """The numbers from turnutils_uclient's output (-v)."""
    s = {"sent": None, "received": None, "lost": None, "dropped": None}
    m = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)",
        out)
    if m:
        s["sent"], s["received"] = int(m[-1][0]), int(m[-1][1])
    m = re.search(r"Total lost packets (\d+) \([^)]*\), total send dropped "
        r"(\d+)", out)
    if m:
        s["lost"], s["dropped"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"Average round trip delay ([\d.]+) ms; min = (\d+) ms, "
        r"max = (\d+) ms", out)
    s["rtt"] = "%s/%s ms" % (m.group(1), m.group(3)) if m else "?"
    s["allocations"] = len(re.findall(r"Received relay addr", out))
    chans = [int(c, 16) for c in
        re.findall(r"cb response received:[^\n]*\n[^\n]*success: (0x[0-9a-f]+)",
            out)]
    s["channels"] = len(chans)
    s["legacy_channels"] = sum(1 for c in chans if c > 0x4FFF)
    s["errors"] = [ln for ln in out.splitlines()
        if re.search(r"ERROR|error \d{3}|[Ee]rror:|Cannot", ln)]
    return s


def uclient(srv, sc, expect_msgs=None):
    exe = harness.need_program("turnutils_uclient")
    host = sc.opts.get("host", "127.0.0.1")
    argv = [exe, "-v", "-p", str(srv.port), "-n", str(UC_N), "-l", "120"]
    if srv.auth == "secret":
        # uclient mints "expiry:user" from the plain-text secret.
        argv += ["-u", "uclient-rest", "-W", sc.opts.get("secret", srv.secret)]
    else:
        argv += ["-u", srv.user, "-w", sc.opts.get("password", srv.password)]
    if "-y" not in sc.opts["args"]:
        peer = srv.add_peer(sc.opts.get("peer", "127.0.0.1"))
        argv += ["-e", peer.host, "-r", str(peer.port)]
    argv += sc.opts["args"] + [host]
    rc, out = run_client(srv, sc.name, argv)
    st = uclient_stats(out)
    log("uclient: sent=%s received=%s lost=%s dropped=%s rtt=%s "
        "allocations=%d channel_binds=%d (legacy 0x5000-0x7fff: %d)" % (
        st["sent"], st["received"], st["lost"], st["dropped"], st["rtt"],
        st["allocations"], st["channels"], st["legacy_channels"]))
    if sc.expect_fail:
        return check_failure(sc, rc, out)
    problems = []
    if rc != 0:
        problems.append("exit status %d" % rc)
    if st["errors"]:
        problems.append("errors: " + " | ".join(st["errors"][:5]))
    if st["lost"] != 0 or st["dropped"] != 0:
        problems.append("lost %s, send dropped %s" % (st["lost"],
            st["dropped"]))
    want = sc.opts["msgs"]
    if st["sent"] != want or st["received"] != want:
        problems.append("sent %s and received %s datagrams, expected %d each"
            % (st["sent"], st["received"], want))
    if not ({"-s", "-T"} & set(sc.opts["args"])) and st["channels"] == 0:
        problems.append("no channel was bound")
    if problems:
        raise TestFailure("; ".join(problems))
    return "sent=%d received=%d lost=0 allocations=%d channel_binds=%d "\
        "(legacy %d)" % (st["sent"], st["received"], st["allocations"],
        st["channels"], st["legacy_channels"])


# ---------------------------------------------------------------- pion, aioice

def result_line(out):
    m = re.search(r"^RESULT (.*)$", out, re.M)
    return m.group(1) if m else None


def check_result(sc, rc, out):
    if sc.expect_fail:
        return check_failure(sc, rc, out)
    res = result_line(out)
    if rc != 0 or res is None or " lost=0 " not in res:
        tail = "\n".join(out.splitlines()[-15:])
        raise TestFailure("client exit status %d, result: %s\n%s" %
            (rc, res, tail))
    return res


def credentials_pion(srv, sc):
    if srv.auth == "secret":
        a = ["-secret", sc.opts.get("secret", srv.secret), "-user",
            "pion-rest"]
        if "ttl" in sc.opts:
            a += ["-ttl", sc.opts["ttl"]]
        return a
    return ["-user", srv.user, "-password",
        sc.opts.get("password", srv.password)]


def pion(srv, sc):
    exe = pion_client()
    t = sc.opts.get("transport", "udp")
    port = srv.tls_port if t == "tls" else srv.port
    argv = [exe, "-server", "127.0.0.1:%d" % port, "-transport", t,
        "-n", str(sc.opts.get("n", 2000)),
        "-timeout", "%ds" % (CLIENT_TIMEOUT_S - 5)]
    if t == "tls":
        argv += ["-ca", srv.ca]
    argv += credentials_pion(srv, sc) + sc.opts.get("args", [])
    rc, out = run_client(srv, sc.name, argv)
    sys.stdout.write(out)
    return check_result(sc, rc, out)


def aioice(srv, sc):
    script = os.path.join(HERE, "aioice_client.py")
    t = sc.opts.get("transport", "udp")
    host = sc.opts.get("host", "127.0.0.1")
    port = srv.tls_port if t == "tls" else srv.port
    server = ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)
    argv = [debian_python(), script, "--server", server, "--transport", t,
        "-n", str(sc.opts.get("n", 2000)),
        "--timeout", str(CLIENT_TIMEOUT_S - 5)]
    if t == "tls":
        argv += ["--ca", srv.ca]
    if srv.auth == "secret":
        argv += ["--secret", sc.opts.get("secret", srv.secret), "--user",
            "aioice-rest"]
    else:
        argv += ["--user", srv.user, "--password",
            sc.opts.get("password", srv.password)]
    rc, out = run_client(srv, sc.name, argv)
    sys.stdout.write(out)
    if rc == harness.EXIT_SKIP:
        raise Skip("python3-aioice is not installed")
    return check_result(sc, rc, out)


# ---------------------------------------------------------------- scenarios

class TestFailure(Exception):
    pass


def check_failure(sc, rc, out):
    """A negative scenario: the client must fail, for the expected reason."""
    if rc == 0:
        raise TestFailure("the client succeeded, but it should have failed "
            "with %s" % sc.expect_fail)
    if rc == 124:
        raise TestFailure("the client hung instead of failing with %s" %
            sc.expect_fail)
    if not re.search(sc.expect_fail, out):
        raise TestFailure("the client failed (status %d), but its output "
            "does not match /%s/" % (rc, sc.expect_fail))
    m = re.search(sc.expect_fail, out)
    return "failed as expected (status %d): %s" % (rc,
        out[max(0, m.start() - 40):m.end() + 20].replace("\n", " ").strip())


class Scenario:
    def __init__(self, name, client, what, server=None, expect_fail=None,
                 group="udp", **opts):
        self.name = name
        self.client = client
        self.what = what
        self.server = server or {}
        self.expect_fail = expect_fail
        self.group = group
        self.opts = opts


# Every uclient scenario runs turnd with relay.legacy_channel_numbers: the
# 4.6.1 uclient picks channel numbers anywhere in 0x4000-0x7FFF.
UC = {"legacy_channels": True}
UC_SECRET = {"legacy_channels": True, "auth": "secret"}
UC_DENY = {"legacy_channels": True, "peers_allowed": False}

SCENARIOS = [
    # turnutils_uclient + turnutils_peer
    Scenario("uclient-udp-channels", uclient,
        "4 sessions as 2 RTP/RTCP pairs (EVEN-PORT, RESERVATION-TOKEN), "
        "ChannelBind + ChannelData", server=UC, args=["-m", "4"], msgs=800),
    Scenario("uclient-udp-send", uclient,
        "4 sessions, no channels: Send and Data indications",
        server=UC, args=["-s", "-c", "-m", "4"], msgs=800),
    Scenario("uclient-rest", uclient,
        "TURN REST credentials minted by uclient (-W secret)",
        server=UC_SECRET, args=["-c", "-m", "2"], msgs=400),
    Scenario("uclient-c2c", uclient,
        "client-to-client (-y): 4 sessions relay to each other, channels",
        server=UC, args=["-y", "-m", "4"], msgs=800),
    Scenario("uclient-c2c-send", uclient,
        "client-to-client (-y) with Send/Data indications",
        server=UC, args=["-y", "-s", "-c", "-m", "2"], msgs=400),
    Scenario("uclient-ipv6", uclient,
        "client, IPv6 relay (-x, REQUESTED-ADDRESS-FAMILY) and peer on ::1",
        server=UC, host="::1", peer="::1", args=["-x", "-c", "-m", "2"],
        msgs=400),
    Scenario("uclient-ipv6-client-ipv4-relay", uclient,
        "client on ::1, default (IPv4) relay, peer on 127.0.0.1",
        server=UC, host="::1", args=["-c", "-m", "2"], msgs=400),
    Scenario("uclient-dont-fragment", uclient,
        "Allocate with DONT-FRAGMENT (-g)",
        server=UC, args=["-g", "-c", "-m", "1"], msgs=200),
    Scenario("uclient-wrong-password", uclient,
        "a wrong password: no allocation",
        server=UC, args=["-c", "-m", "1"], password="not-the-password",
        expect_fail=r"Cannot complete Allocation"),
    Scenario("uclient-wrong-secret", uclient,
        "REST credentials from the wrong secret: no allocation",
        server=UC_SECRET, args=["-c", "-m", "1"], secret="not-the-secret",
        expect_fail=r"Cannot complete Allocation"),
    Scenario("uclient-peer-denied", uclient,
        "loopback peer without the allow entry: 403 on ChannelBind",
        server=UC_DENY, args=["-c", "-m", "1"],
        expect_fail=r"channel bind: error 403"),
    Scenario("uclient-peer-denied-send", uclient,
        "loopback peer without the allow entry: 403 on CreatePermission",
        server=UC_DENY, args=["-s", "-c", "-m", "1"],
        expect_fail=r"create permission error 403"),
    Scenario("uclient-tcp", uclient, "TCP to the server (-t)", group="stream",
        server=UC, args=["-t", "-c", "-m", "2"], msgs=400),
    Scenario("uclient-tcp-relay", uclient,
        "RFC 6062 TCP relays, client to client (-T): Connect, "
        "ConnectionAttempt, ConnectionBind on both sides", group="stream",
        server=UC, args=["-T", "-m", "2"], msgs=400),

    # pion/turn v2
    Scenario("pion-udp", pion,
        "2000 datagrams; Send and Data indications first, then ChannelData"),
    Scenario("pion-rest", pion, "TURN REST credentials (expiry:id)",
        server={"auth": "secret"}),
    Scenario("pion-wrong-password", pion, "a wrong password: 401",
        password="not-the-password", expect_fail=r"error 401"),
    Scenario("pion-rest-expired", pion,
        "REST credentials that expired an hour ago: 401",
        server={"auth": "secret"}, ttl="-1h", expect_fail=r"error 401"),
    Scenario("pion-peer-denied", pion,
        "loopback peer without the allow entry: 403 on CreatePermission",
        server={"peers_allowed": False}, expect_fail=r"error 403"),
    Scenario("pion-tcp", pion, "TCP to the server", group="stream",
        transport="tcp"),
    Scenario("pion-tls", pion, "TLS to the server", group="stream",
        server={"tls": True}, transport="tls"),
    Scenario("pion-tcp-odd", pion,
        "TCP, 101-byte datagrams: ChannelData that pion does not pad",
        group="stream", transport="tcp", args=["-size", "101"]),
    Scenario("pion-tls-odd", pion,
        "TLS, 101-byte datagrams: ChannelData that pion does not pad",
        group="stream", server={"tls": True}, transport="tls",
        args=["-size", "101"]),

    # python3-aioice
    Scenario("aioice-udp", aioice, "2000 datagrams over ChannelData"),
    Scenario("aioice-ipv6", aioice,
        "client on ::1 (default IPv4 relay)", host="::1"),
    Scenario("aioice-rest", aioice, "TURN REST credentials (expiry:id)",
        server={"auth": "secret"}),
    Scenario("aioice-wrong-password", aioice, "a wrong password: 401",
        password="not-the-password", expect_fail=r"401"),
    Scenario("aioice-peer-denied", aioice,
        "loopback peer without the allow entry: 403 on ChannelBind",
        server={"peers_allowed": False}, expect_fail=r"403"),
    Scenario("aioice-tcp", aioice, "TCP to the server", group="stream",
        transport="tcp"),
    Scenario("aioice-tls", aioice, "TLS to the server", group="stream",
        server={"tls": True}, transport="tls"),
]


def run_scenario(sc):
    t0 = time.monotonic()
    srv = None
    failed = True
    try:
        srv = harness.TurnServer(**sc.server)
        log("=== %s: %s (server %s)" % (sc.name, sc.what, srv.kind))
        srv.start()
        summary = sc.client(srv, sc)
        if not srv.proc.alive():
            raise TestFailure("%s died during the test" % srv.kind)
        if harness.stun_binding("127.0.0.1", srv.port, 1.0) is None:
            raise TestFailure("%s stopped answering STUN Binding" % srv.kind)
        rc = srv.stop()
        if srv.kind == "turnd" and rc != 0:
            raise TestFailure("turnd exited with status %s on SIGTERM" % rc)
        failed = False
        log("PASS %s (%.1f s): %s" % (sc.name, time.monotonic() - t0,
            summary))
        return 0
    except Skip as e:
        if os.environ.get("INTEROP_REQUIRE_CLIENTS"):
            # under meson a missing client is a failure, never a pass
            log("FAIL %s: %s" % (sc.name, e))
            return 1
        failed = False
        log("SKIP %s: %s" % (sc.name, e))
        return harness.EXIT_SKIP
    except (TestFailure, HarnessError) as e:
        log("FAIL %s (%.1f s): %s" % (sc.name, time.monotonic() - t0, e))
        return 1
    finally:
        if srv is not None:
            srv.cleanup(failed=failed)


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv):
    signal.signal(signal.SIGTERM, _sigterm)
    by_name = {s.name: s for s in SCENARIOS}
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] == "--list":
        for s in SCENARIOS:
            print("%-32s %-6s %s%s" % (s.name, s.group, s.what,
                " [must fail]" if s.expect_fail else ""))
        return 0
    chosen = []
    for a in argv:
        if a == "all":
            chosen += SCENARIOS
        elif a in ("udp", "stream"):
            chosen += [s for s in SCENARIOS if s.group == a]
        elif a in by_name:
            chosen.append(by_name[a])
        else:
            print("unknown scenario %r (see --list)" % a, file=sys.stderr)
            return 2
    results = [(s.name, run_scenario(s)) for s in chosen]
    if len(results) > 1:
        for name, rc in results:
            log("%-32s %s" % (name, {0: "PASS", 77: "SKIP"}.get(rc, "FAIL")))
    if any(rc not in (0, harness.EXIT_SKIP) for _, rc in results):
        return 1
    if all(rc == harness.EXIT_SKIP for _, rc in results):
        return harness.EXIT_SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
