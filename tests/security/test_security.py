"""
Attack-surface tests against a real turnd, one case per run:

    test_security.py CASE

Each case starts its own turnd (opslib's generated configuration, changed
where the case says), plays the attacker with seclib's client, and checks
what turnd answered, what it did not send, its counters and its memory.
Figures are printed to stderr; tests/security/README.md has the tables.
Traffic goes to loopback addresses only, or (the net_* cases) inside
network namespaces the case creates and removes.  Cases of suite
'security-slow' are marked so in CASES.
"""

import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seclib  # noqa: E402
from seclib import (T, Abort, Client, Daemon, free_port, attr, encode,  # noqa: E402
    mtype, u32, xaddr_value, transport_attr, try_msg, counters, log,
    udp_socket, wait_until, log_count, ALLOCATE, REFRESH, BINDING,
    CREATE_PERMISSION, CHANNEL_BIND, CONNECT, CONNECTION_BIND, REQUEST,
    INDICATION, SEND, A_USERNAME, A_REALM, A_NONCE, A_PEER, A_DATA,
    A_LIFETIME, A_SOFTWARE, A_FINGERPRINT)

CASE_DEADLINE_S = 80  # meson's timeout for the quick suite is 90
USER, PASS = "alice", seclib.opslib.USERS["alice"]
USER2, PASS2 = "bob", seclib.opslib.USERS["bob"]


class Case:
    """What a case started; undone in reverse at its end."""

    def __init__(self):
        self.undo = []

    def daemon(self, **kw):
        srv = Daemon(**kw)
        self.undo.append(lambda failed: finish(srv, failed))
        return srv

    def client(self, srv, user=USER, password=PASS, server=None, **kw):
        c = Client(server or srv.host, srv.port, user, password, **kw)
        self.undo.append(lambda failed: c.close())
        return c

    def on_close(self, fn):
        self.undo.append(lambda failed: fn())

    def close(self, failed):
        for fn in reversed(self.undo):
            try:
                fn(failed)
            except Exception as e:  # cleanup goes on
                print("cleanup: %r" % e, file=sys.stderr)


def finish(srv, failed):
    """Stops srv (once): a sanitizer report makes the status non-zero."""
    if srv.proc is not None and srv.rc is None and srv.alive():
        rc = srv.stop()
        T.eq(rc, 0, "turnd exits 0 on SIGTERM (no sanitizer report)")
        failed = failed or rc != 0
    srv.cleanup(failed)


def quiet_daemon(c, peers="", quotas="unauth_per_source = 0;", extra=None,
                 **kw):
    """A turnd on loopback; peers and quotas are the groups' bodies."""
    srv = c.daemon(**kw)
    srv.groups["peers"] = "peers = { %s };" % peers
    srv.groups["quotas"] = "quotas = { %s };" % quotas
    srv.groups["log"] = "log = { level = \"info\"; };"
    for k, v in (extra or {}).items():
        srv.groups[k] = v
    srv.write_config()
    return srv.start()


def udp_listener(ip, port=0):
    s = udp_socket(ip, port)
    s.setblocking(False)
    return s


def drain(s):
    """Datagrams waiting on s: [(data, from)]."""
    out = []
    while True:
        try:
            out.append(s.recvfrom(65536))
        except (BlockingIOError, InterruptedError):
            return out


# ================================================================ peers

# first and last address of every IPv4 range denied by default (peer.c)
V4_DENIED = [
    ("0.0.0.0", "0.255.255.255"), ("10.0.0.0", "10.255.255.255"),
    ("100.64.0.0", "100.127.255.255"), ("127.0.0.0", "127.255.255.255"),
    ("169.254.0.0", "169.254.255.255"), ("172.16.0.0", "172.31.255.255"),
    ("192.0.0.0", "192.0.0.255"), ("192.0.2.0", "192.0.2.255"),
    ("192.168.0.0", "192.168.255.255"), ("198.18.0.0", "198.19.255.255"),
    ("198.51.100.0", "198.51.100.255"), ("203.0.113.0", "203.0.113.255"),
    ("224.0.0.0", "239.255.255.255"), ("240.0.0.0", "255.255.255.255"),
]
# the addresses just outside them: allowed (the ranges are not too wide)
V4_NEIGHBOURS = [
    "1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255",
    "100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255",
    "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0",
    "192.0.1.255", "192.0.3.0", "192.167.255.255", "192.169.0.0",
    "198.17.255.255", "198.20.0.0", "198.51.99.255", "198.51.101.0",
    "203.0.112.255", "203.0.114.0", "223.255.255.255", "8.8.8.8",
]
V6_DENIED = [
    ("::", "::"), ("::1", "::1"),
    ("::2", "::ffff:ffff"),                                # IPv4-compatible
    ("::ffff:0.0.0.0", "::ffff:255.255.255.255"),          # IPv4-mapped
    ("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("100::", "100::ffff:ffff:ffff:ffff"),
]
V6_NEIGHBOURS = [
    "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db7:ffff:ffff:ffff:"
    "ffff:ffff:ffff", "2001:db9::", "100:0:0:1::", "2606:4700::1111",
    "64:ff9b::808:808", "64:ff9b:1:808:8:800::", "2002:808:808::",
    "::1:0:0:0",
]


def v6_forms(v4):
    """Every IPv6 spelling of an IPv4 address: (name, text)."""
    b = socket.inet_pton(socket.AF_INET, v4)

    def t(raw):
        return socket.inet_ntop(socket.AF_INET6, raw)
    return [
        ("mapped", t(b"\0" * 10 + b"\xff\xff" + b)),
        ("compatible", t(b"\0" * 12 + b)),
        ("nat64", t(b"\x00\x64\xff\x9b" + b"\0" * 8 + b)),
        ("nat64-local", t(b"\x00\x64\xff\x9b\x00\x01" + b[0:2] + b"\0" +
            b[2:4] + b"\0" * 5)),
        ("6to4", t(b"\x20\x02" + b + b"\0" * 10)),
    ]


def peer_cases(srv_port, relay_ports):
    """[(family of the allocation, ip, port, what)] that must be refused."""
    rnd = random.Random(0x7e57)
    any_ports = sorted({0, 1, 53, srv_port, 65535} | set(relay_ports))
    out = []
    for first, last in V4_DENIED:
        for ip in (first, last):
            port = rnd.randint(1024, 65535)
            out.append((4, ip, port, "v4 %s" % ip))
            for form, ip6 in v6_forms(ip):
                out.append((6, ip6, port, "%s of %s" % (form, ip)))
    for first, last in V6_DENIED:
        for ip in (first, last):
            out.append((6, ip, rnd.randint(1024, 65535), "v6 %s" % ip))
    for p in any_ports:
        out.append((4, "0.0.0.0", p, "0.0.0.0 port %d" % p))
        out.append((6, "::", p, ":: port %d" % p))
        out.append((6, "::ffff:0.0.0.0", p, "mapped 0.0.0.0 port %d" % p))
    return out


def case_peer_filter(c):
    """
    The default policy (no peers.allow): every denied range, first and
    last address, in every encoding, refused at CreatePermission and at
    ChannelBind with 403, each counted in drop_policy; the neighbours
    outside the ranges accepted (a permission sends nothing).
    """
    srv = quiet_daemon(c, peers="", extra={"allocation":
        "allocation = { permissions_max = 4096; channels_max = 4096; };"})
    c4 = c.client(srv)
    c6 = c.client(srv)
    code, r4, _ = c4.allocate()
    T.require(code == 0, "IPv4 allocation", code)
    code, r6, _ = c6.allocate(family=6)
    T.require(code == 0, "IPv6 allocation", code)
    cases = peer_cases(srv.port, [r4[1], r6[1]])
    before = counters(srv)
    refused = 0
    for fam, ip, port, what in cases:
        cl = c4 if fam == 4 else c6
        code = cl.permission((ip, port))
        T.check(code == 403, "CreatePermission %s refused" % what,
            "got %r" % code)
        code = cl.channel_bind(0x4000, (ip, port))
        T.check(code == 403, "ChannelBind %s:%d refused" % (what, port),
            "got %r" % code)
        refused += 2
    after = counters(srv)
    T.eq(after["drop_policy"] - before["drop_policy"], refused,
        "drop_policy counts every refusal")
    T.eq(after["perm_created"], 0, "no permission was installed")
    T.eq(after["chan_bound"], 0, "no channel was bound")
    # precision: the neighbours are not caught
    chan = 0x4000
    for ip in V4_NEIGHBOURS:
        T.eq(c4.permission((ip, 3478)), 0, "CreatePermission %s allowed" %
            ip)
    for ip in V6_NEIGHBOURS:
        T.eq(c6.permission((ip, 3478)), 0, "CreatePermission %s allowed" %
            ip)
    for ip in V4_NEIGHBOURS[:4]:
        T.eq(c4.channel_bind(chan, (ip, 3478)), 0, "ChannelBind %s allowed" %
            ip)
        chan += 1
    log("peer filter: %d denied forms refused twice each, %d neighbours "
        "allowed" % (len(cases), len(V4_NEIGHBOURS) + len(V6_NEIGHBOURS)))


def attempt_sends(cl, targets, listeners, srv, what):
    """
    For each target (ip, port): CreatePermission and ChannelBind (expected
    403), then a Send indication and ChannelData toward it anyway.  Then
    checks that no listener got a byte and that turnd counted each attempt
    as dropped.  Returns the number of datagrams attempted.
    """
    before = counters(srv)
    n = 0
    for ip, port in targets:
        T.eq(cl.permission((ip, port)), 403, "%s: CreatePermission %s:%d" %
            (what, ip, port))
        T.eq(cl.channel_bind(0x4100, (ip, port)), 403,
            "%s: ChannelBind %s:%d" % (what, ip, port))
        for i in range(3):
            cl.send_ind((ip, port), b"must-not-arrive-%d" % i)
            cl.send_chan(0x4100, b"must-not-arrive-chan-%d" % i)
            n += 1
    time.sleep(0.3)
    got = sum(len(drain(s)) for s in listeners)
    T.eq(got, 0, "%s: listeners received nothing" % what)
    after = counters(srv)
    dropped = (after["drop_no_perm"] - before["drop_no_perm"]) + \
        (after["drop_policy"] - before["drop_policy"])
    T.eq(after["drop_no_channel"] - before["drop_no_channel"], n,
        "%s: every ChannelData counted drop_no_channel" % what)
    T.ge(dropped, n, "%s: every Send indication counted dropped" % what)
    T.eq(after["relay_c2p_pkts"] - before["relay_c2p_pkts"], 0,
        "%s: nothing relayed" % what)
    return 2 * n


def case_peer_loopback(c):
    """
    Loopback in every spelling, with listeners where the datagrams would
    land: the default policy refuses them all and sends nothing; with
    127.0.0.1/32 and ::1/128 allowed, the embeddings, 0.0.0.0, ::, the
    other loopback addresses, turnd's own listener port and the relayed
    addresses of allocations are still refused and sent nothing.
    """
    srv = quiet_daemon(c, peers="")
    c4 = c.client(srv)
    c6 = c.client(srv)
    T.require(c4.allocate()[0] == 0, "IPv4 allocation")
    T.require(c6.allocate(family=6)[0] == 0, "IPv6 allocation")
    lst = {}
    for ip in ("127.0.0.1", "127.0.0.2", "127.255.255.254", "::1"):
        lst[ip] = udp_listener(ip)
    wild4 = udp_listener("0.0.0.0")
    wild6 = udp_listener("::")
    c.on_close(lambda: [s.close() for s in list(lst.values()) +
        [wild4, wild6]])
    port = {ip: s.getsockname()[1] for ip, s in lst.items()}
    listeners = list(lst.values()) + [wild4, wild6]
    t4 = [(ip, port[ip]) for ip in ("127.0.0.1", "127.0.0.2",
        "127.255.255.254")] + [("0.0.0.0", wild4.getsockname()[1])]
    t6 = [("::1", port["::1"]), ("::", wild6.getsockname()[1])]
    for ip in ("127.0.0.1", "127.0.0.2", "127.255.255.254"):
        t6 += [(ip6, port[ip]) for _, ip6 in v6_forms(ip)]
    t6.append(("::ffff:0.0.0.0", wild4.getsockname()[1]))
    n = attempt_sends(c4, t4, listeners, srv, "default policy, IPv4")
    n += attempt_sends(c6, t6, listeners, srv, "default policy, IPv6")
    log("peer loopback, default policy: %d datagrams attempted toward %d "
        "targets, none arrived" % (n, len(t4) + len(t6)))
    finish(srv, False)

    # loopback allowed, as in the integration tests
    srv = quiet_daemon(c, peers="allow = [ \"127.0.0.1/32\", \"::1/128\" ];")
    a4, b4 = c.client(srv), c.client(srv)
    a6, b6 = c.client(srv), c.client(srv)
    code, ra4, _ = a4.allocate()
    T.require(code == 0, "allocation a4")
    code, rb4, _ = b4.allocate()
    T.require(code == 0, "allocation b4")
    code, ra6, _ = a6.allocate(family=6)
    T.require(code == 0, "allocation a6")
    code, rb6, _ = b6.allocate(family=6)
    T.require(code == 0, "allocation b6")
    # the harness sees traffic when it is allowed
    T.eq(a4.channel_bind(0x4000, ("127.0.0.1", port["127.0.0.1"])), 0,
        "ChannelBind to a plain loopback peer")
    a4.send_chan(0x4000, b"allowed")
    T.check(wait_until(lambda: drain(lst["127.0.0.1"]), 2),
        "the allowed peer receives (the check can see traffic)")
    t4 = [("127.0.0.2", port["127.0.0.2"]),
          ("127.255.255.254", port["127.255.255.254"]),
          ("0.0.0.0", wild4.getsockname()[1]), ("0.0.0.0", srv.port)]
    t6 = [("::", wild6.getsockname()[1]), ("::", srv.port)]
    for _, ip6 in v6_forms("127.0.0.1"):
        t6 += [(ip6, port["127.0.0.1"]), (ip6, srv.port)]
    n = attempt_sends(a4, t4, listeners, srv, "loopback allowed, IPv4")
    n += attempt_sends(a6, t6, listeners, srv, "loopback allowed, IPv6")

    # turnd's own ports: its listener and the relayed addresses
    for a, b, fam in ((a4, b4, 4), (a6, b6, 6)):
        host = "127.0.0.1" if fam == 4 else "::1"
        ra = ra4 if fam == 4 else ra6
        rb = rb4 if fam == 4 else rb6
        T.eq(b.permission((host, 1)), 0, "b%d: permission for %s" %
            (fam, host))
        before = counters(srv)
        T.eq(a.permission((host, srv.port)), 0, "a%d: CreatePermission %s "
            "(an address allowed; permissions have no port)" % (fam, host))
        for chan, tgt, what in ((0x4200, (host, srv.port),
                                 "turnd's listener"),
                                (0x4201, tuple(rb),
                                 "another allocation's relay"),
                                (0x4202, tuple(ra), "its own relay")):
            T.eq(a.channel_bind(chan, tgt), 403,
                "IPv%d ChannelBind to %s %s:%d refused" % (fam, what,
                tgt[0], tgt[1]))
            # a STUN Binding as payload: turnd would answer if it got it
            probe = encode(mtype(BINDING, REQUEST), [])
            for _ in range(3):
                a.send_ind(tgt, probe)
            a.send_chan(chan, probe)
        time.sleep(0.3)
        after = counters(srv)
        T.eq(after["requests"] - before["requests"], 4,
            "IPv%d: turnd got no request from its own relay" % fam)
        T.eq(after["relay_c2p_pkts"] - before["relay_c2p_pkts"], 0,
            "IPv%d: nothing relayed to turnd's own ports" % fam)
        T.check(b.recv_data(0.3) is None,
            "IPv%d: the other allocation received nothing" % fam)
        T.check(a.recv_data(0.1) is None,
            "IPv%d: the allocation received nothing from itself" % fam)
    log("peer loopback, loopback allowed: %d datagrams attempted, none "
        "arrived" % n)


# ================================================================ amplification

# A request's answer may be at most this many times its size (UDP
# payloads).  The worst legitimate case with the test realm (10 bytes) is
# a bare 20-byte request drawing a 401 of 116 bytes: 5.8.
AMP_BOUND = 6.5
# With the longest realm and SOFTWARE the configuration takes (127
# characters each), the worst case is that 20-byte request drawing a 401
# of 104 + 128 bytes: 11.6.
AMP_BOUND_MAX_CONF = 12.0


def amp_requests():
    """[(name, request bytes)] of everything a stranger can send."""
    def req(method, attrs=(), fp=False, key=None):
        return encode(mtype(method, REQUEST), list(attrs), key=key,
            fingerprint=fp)
    out = [("Binding", req(BINDING)), ("Binding+FINGERPRINT",
        req(BINDING, fp=True))]
    for m, name in ((ALLOCATE, "Allocate"), (REFRESH, "Refresh"),
                    (CREATE_PERMISSION, "CreatePermission"),
                    (CHANNEL_BIND, "ChannelBind"), (CONNECT, "Connect"),
                    (CONNECTION_BIND, "ConnectionBind")):
        out.append((name + " bare", req(m)))
        out.append((name + " bare+FINGERPRINT", req(m, fp=True)))
    out.append(("Allocate REQUESTED-TRANSPORT", req(ALLOCATE,
        [transport_attr()])))
    out.append(("Allocate USERNAME only", req(ALLOCATE,
        [attr(A_USERNAME, b"x")])))
    out.append(("unknown method 0x0ff", req(0x0ff)))
    out.append(("Binding, 1 unknown attr (420)", req(BINDING,
        [attr(0x0077, b"")])))
    out.append(("Binding, 8 unknown attrs (420)", req(BINDING,
        [attr(0x0070 + i, b"") for i in range(8)])))
    out.append(("Allocate, 1 unknown attr", req(ALLOCATE,
        [attr(0x0077, b"")])))
    bad = bytearray(req(BINDING, [attr(0x8077, b"abcd")]))
    bad[22:24] = b"\x00\x09"  # length past the end: 400
    out.append(("Binding, attribute overruns (400)", bytes(bad)))
    bad = bytearray(req(ALLOCATE, [attr(A_LIFETIME, b"\0\0\0\0\0")]))
    out.append(("Allocate, LIFETIME of 5 bytes (400)", bytes(bad)))
    out.append(("Allocate MI without NONCE (400)", req(ALLOCATE,
        [attr(A_USERNAME, b"alice"), attr(A_REALM, b"turnd.test")],
        key=b"k" * 16)))
    out.append(("Allocate foreign NONCE (438)", req(ALLOCATE,
        [attr(A_USERNAME, b"alice"), attr(A_REALM, b"turnd.test"),
         attr(A_NONCE, b"obMatJos2gAAAQAAAAAX3Sz5ZdkxWsLmGYtnm8cQ")],
        key=b"k" * 16)))
    out.append(("Binding from a RFC 3489 client (no cookie)",
        struct.pack("!HHI", 0x0001, 0, 0x01020304) + os.urandom(12)))
    return out


def amp_measure(srv, cl, requests, stale=None):
    """[(name, req len, resp len, code)], one fresh transaction each."""
    rows = []
    for name, req in requests:
        m = cl.transact_raw(req, tries=1, rto_s=0.5)
        rows.append((name, len(req), len(m.raw) if m else 0,
            m.code if m else None))
    if stale is not None:
        rows.append(stale)
    return rows


def stale_nonce_row(srv, cl):
    """A 438 for a nonce that was ours but whose client moved: the row."""
    other = Client("127.0.0.1", srv.port, USER, PASS)
    try:
        m = other.request(ALLOCATE, [transport_attr()], auth=False)
        nonce = m.get(A_NONCE)
    finally:
        other.close()
    key = seclib.long_term_key(USER, "turnd.test", PASS)
    req = encode(mtype(ALLOCATE, REQUEST), [transport_attr(),
        attr(A_USERNAME, USER.encode()), attr(A_REALM, b"turnd.test"),
        attr(A_NONCE, nonce)], key=key)
    m = cl.transact_raw(req, tries=1, rto_s=0.5)
    return ("Allocate, another client's NONCE (438)", len(req),
        len(m.raw) if m else 0, m.code if m else None)


def print_amp(title, rows):
    log("%s:" % title)
    log("  %-44s %5s %5s %5s %6s" % ("request", "code", "req", "resp",
        "ratio"))
    for name, q, r, code in rows:
        log("  %-44s %5s %5d %5d %6.2f" % (name, code, q, r,
            r / q if q else 0))


def case_amplification(c):
    """
    Every request a stranger can send, over IPv4 and IPv6, with the
    answer's size: at most AMP_BOUND times the request; unauthenticated
    errors carry no SOFTWARE; a RFC 3489 Binding gets nothing.  Then the
    largest realm and SOFTWARE the configuration allows: AMP_BOUND_MAX_CONF.
    """
    srv = quiet_daemon(c)
    worst = 0.0
    for host in ("127.0.0.1", "::1"):
        cl = c.client(srv, server=host)
        rows = amp_measure(srv, cl, amp_requests(), stale_nonce_row(srv, cl)
            if host == "127.0.0.1" else None)
        print_amp("amplification, default realm and SOFTWARE, from %s" %
            host, rows)
        for name, q, r, code in rows:
            if name.startswith("Binding from a RFC 3489"):
                T.eq(r, 0, "%s: not answered" % name)
                continue
            T.check(r > 0, "%s from %s answered" % (name, host))
            T.check(r <= AMP_BOUND * q, "%s from %s: %d -> %d bytes is "
                "within %.1fx" % (name, host, q, r, AMP_BOUND))
            worst = max(worst, r / q)
    # unauthenticated errors stay small: no SOFTWARE in them
    cl = c.client(srv)
    m = cl.request(ALLOCATE, [transport_attr()], auth=False)
    T.check(m is not None and m.code == 401 and m.get(A_SOFTWARE) is None,
        "a 401 carries no SOFTWARE")
    log("amplification: worst ratio %.2f (bound %.1f)" % (worst, AMP_BOUND))
    finish(srv, False)

    # the largest realm and SOFTWARE the configuration takes: 127
    # characters, in ASCII and in 4-byte UTF-8 (508 bytes)
    for realm, what in (("r" * 127, "127 ASCII characters"),
                        ("\U0001F600" * 127, "127 4-byte characters")):
        srv = c.daemon()
        srv.groups["realm"] = "realm = \"%s\";\nsoftware = \"%s\";" % (
            realm, "s" * 127)
        srv.groups["quotas"] = "quotas = { unauth_per_source = 0; };"
        srv.groups["log"] = "log = { level = \"info\"; };"
        srv.write_config()
        srv.start()
        cl = c.client(srv, realm=realm)
        rows = amp_measure(srv, cl, amp_requests()[:16])
        print_amp("amplification, realm of %s, SOFTWARE of 127" % what,
            rows)
        worst = max(r / q for _, q, r, _ in rows)
        rb = len(realm.encode())
        # a 401: header, ERROR-CODE, REALM, NONCE, PASSWORD-ALGORITHMS
        formula = 20 + 24 + 4 + (rb + 3) // 4 * 4 + 44 + 12
        # a realm the configuration accepts must fit in the answers
        silent = [name for name, q, r, code in rows if r == 0]
        T.check(not silent, "realm of %s: every request answered" % what,
            "not answered: %s" % ", ".join(silent))
        for name, q, r, code in rows:
            if code == 401:
                T.check(r <= formula + 8, "%s: a 401 of %d bytes is the "
                    "documented 104 + realm (%d)" % (name, r, formula))
        log("amplification, realm of %s: worst ratio %.2f" % (what, worst))
        if realm.isascii():
            T.check(worst <= AMP_BOUND_MAX_CONF, "largest ASCII "
                "configuration: worst ratio %.2f within %.1f" % (worst,
                AMP_BOUND_MAX_CONF))
        finish(srv, False)


def case_stale_nonce(c):
    """
    Suite security-slow (about 35 s).  A nonce that has expired
    (auth.nonce_lifetime = 30, the minimum): 438 with a fresh nonce, the
    answer no larger than AMP_BOUND times the request; the client gets on
    with the fresh nonce.
    """
    srv = quiet_daemon(c, extra={"auth": seclib.opslib.Turnd.auth_group(
        seclib.opslib.USERS, (seclib.opslib.SECRET,)).replace("};",
        "nonce_lifetime = 30; };")})
    cl = c.client(srv)
    T.require(cl.allocate()[0] == 0, "allocation")
    stale = cl.nonce
    time.sleep(31.5)
    req = encode(mtype(REFRESH, REQUEST), [u32(A_LIFETIME, 600),
        attr(A_USERNAME, USER.encode()), attr(A_REALM, b"turnd.test"),
        attr(A_NONCE, stale)], key=cl.key)
    m = cl.transact_raw(req, tries=2)
    T.require(m is not None, "an answer to the stale nonce")
    ratio = len(m.raw) / len(req)
    print_amp("amplification, a stale nonce", [("Refresh, expired NONCE "
        "(438)", len(req), len(m.raw), m.code)])
    T.eq(m.code, 438, "an expired nonce gets 438")
    T.check(m.get(A_NONCE) not in (None, stale), "with a fresh nonce")
    T.check(ratio <= AMP_BOUND, "438: %d -> %d bytes within %.1fx" % (
        len(req), len(m.raw), AMP_BOUND))
    T.eq(counters(srv)["auth_fail_stale_nonce"], 1, "counted")
    T.eq(cl.refresh(600), 0, "the client goes on with the fresh nonce")


def case_unauth_rate(c):
    """
    quotas.unauth_per_source = 50: 500 unauthenticated Allocates sent as
    fast as possible from one socket get at most the burst plus 50 a
    second of answers; the rest are counted in drop_rate_limited.  Then
    the same from 50 sockets of the same address: the limit is per source
    address, whatever the port (and so whichever worker gets them).
    """
    rate = 50
    srv = quiet_daemon(c, quotas="unauth_per_source = %d;" % rate)

    def flood(socks, n):
        """
        n Allocates round robin over socks, 25 every 10 ms (2,500 a
        second: fast for the limit, slow enough for the socket buffers);
        returns (received by turnd, answered, seconds, rate limited).
        """
        before = counters(srv)
        t0 = time.monotonic()
        answered = 0
        for i in range(n):
            s = socks[i % len(socks)]
            s.sendto(encode(mtype(ALLOCATE, REQUEST), [transport_attr()]),
                ("127.0.0.1", srv.port))
            if i % 25 == 24:
                time.sleep(0.01)
        elapsed = time.monotonic() - t0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            for s in seclib.readable(socks, 0.2):
                answered += len(drain(s))
        after = counters(srv)
        return after["requests"] - before["requests"], answered, elapsed, \
            after["drop_rate_limited"] - before["drop_rate_limited"]

    socks = [udp_listener("127.0.0.1")]
    c.on_close(lambda: [s.close() for s in socks])
    sent, answered, elapsed, dropped = flood(socks, 500)
    bound = rate + rate * elapsed + 2
    T.ge(sent, 450, "one socket: turnd received the flood")
    log("unauth rate, one socket: %d received in %.3f s, %d answered (bound "
        "%.0f), %d counted rate limited" % (sent, elapsed, answered, bound,
        dropped))
    T.check(answered <= bound, "one socket: %d answers within %.0f" %
        (answered, bound))
    T.check(answered >= rate, "one socket: the burst (%d) is answered" %
        rate, answered)
    T.eq(answered + dropped, sent, "one socket: every request received "
        "answered or counted in drop_rate_limited")

    time.sleep(2.5)  # the bucket refills
    many = [udp_listener("127.0.0.2") for _ in range(50)]
    c.on_close(lambda: [s.close() for s in many])
    sent, answered, elapsed, dropped = flood(many, 500)
    bound = rate + rate * elapsed + 2
    T.ge(sent, 450, "50 ports: turnd received the flood")
    log("unauth rate, 50 ports of one address: %d received in %.3f s, %d "
        "answered (bound %.0f), %d counted rate limited" % (sent, elapsed,
        answered, bound, dropped))
    T.check(answered <= bound, "50 ports of one address: %d answers within "
        "%.0f (the limit is per address, not per worker)" % (answered, bound))
    T.eq(answered + dropped, sent, "50 ports: every request answered or "
        "counted")
    # another address is not affected
    other = Client("127.0.0.1", srv.port, USER, PASS, local_ip="127.0.0.3")
    c.on_close(other.close)
    T.eq(other.allocate()[0], 0, "another source address still allocates")


# ================================================================ floods

def loopback_sources(n, second_octet=77):
    """n distinct loopback addresses 127.<second_octet>.x.y."""
    return ["127.%d.%d.%d" % (second_octet, 1 + i // 250, 1 + i % 250)
            for i in range(n)]


def case_flood_state(c):
    """
    A spoofed-source flood: 50,000 unauthenticated Allocates from 2,000
    sockets on 2,000 distinct loopback addresses (each a stranger turnd
    has never seen), then 20,000 Send indications and ChannelData from
    them.  turnd answers or drops, and keeps nothing: allocations and
    users stay 0 and VmRSS grows by less than 1 MiB (measured after a
    warm-up round of the same flood).
    """
    srv = c.daemon()
    srv.groups["log"] = "log = { level = \"info\"; };"
    srv.write_config()
    # ASan holds freed blocks in a quarantine (256 MB by default) that
    # would read as growth: without it RSS shows what turnd keeps
    srv.start(env={"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
        ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"})
    srcs = loopback_sources(2000)
    socks = []
    c.on_close(lambda: [s.close() for s in socks])
    for ip in srcs:
        s = udp_socket(ip)
        s.setblocking(False)
        socks.append(s)
    dst = ("127.0.0.1", srv.port)
    reqs = [encode(mtype(ALLOCATE, REQUEST), [transport_attr()])
            for _ in range(64)]

    def one_round(n, kind):
        t0 = time.monotonic()
        for i in range(n):
            s = socks[i % len(socks)]
            if kind == "allocate":
                pkt = reqs[i % 64]
            elif i % 2:
                pkt = struct.pack("!HH", 0x4000 + i % 0x100, 8) + b"chandata"
            else:
                tid = os.urandom(12)
                pkt = encode(mtype(SEND, INDICATION), [attr(A_PEER,
                    xaddr_value("127.0.0.1", 9, tid)), attr(A_DATA,
                    b"payload")], tid)
            try:
                s.sendto(pkt, dst)
            except BlockingIOError:
                pass
            if i % 50 == 49:
                time.sleep(0.002)
                if i % 1000 == 999:
                    for x in socks:  # answers are dropped on our side
                        drain(x)
            if time.monotonic() - t0 > 25:
                break
        time.sleep(0.3)
        for x in socks:
            drain(x)
        return time.monotonic() - t0

    # warm-up, the same flood once: pools, tables, caches, the allocator
    one_round(50000, "allocate")
    one_round(20000, "data")
    time.sleep(0.5)
    rss0 = srv.rss_kb()
    before = counters(srv)
    secs = one_round(50000, "allocate")
    mid = counters(srv)
    secs2 = one_round(20000, "data")
    time.sleep(0.5)
    rss1 = srv.rss_kb()
    after = counters(srv)
    st = srv.stats()
    got = mid["requests"] - before["requests"]
    log("flood: %d Allocates received in %.1f s from %d addresses; %d "
        "answered 401, %d rate limited; %d indications/ChannelData in %.1f "
        "s; VmRSS %d -> %d KiB (%+d)" % (got, secs, len(srcs),
        mid["auth_fail_no_creds"] - before["auth_fail_no_creds"],
        mid["drop_rate_limited"] - before["drop_rate_limited"],
        after["drop_no_alloc"] - mid["drop_no_alloc"], secs2, rss0, rss1,
        rss1 - rss0))
    T.ge(got, 45000, "turnd received the flood (at least 90 %)")
    T.eq(st["allocations"]["total"], 0, "no allocation after the flood")
    T.eq(st["users"], 0, "no user counted after the flood")
    T.eq(st["permissions"], 0, "no permission after the flood")
    T.eq(after["alloc_created"], 0, "no allocation was ever created")
    T.ge(after["drop_no_alloc"] - mid["drop_no_alloc"], 18000,
        "Send indications and ChannelData of strangers counted "
        "drop_no_alloc")
    T.check(rss1 - rss0 < 1024, "VmRSS grew by %d KiB (bound 1024)" %
        (rss1 - rss0))
    cl = c.client(srv)
    T.eq(cl.allocate()[0], 0, "a real client allocates after the flood")


def fnv1a(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xffffffff
    return h or 1


def colliding_username(name, slots=4096):
    """
    A username whose bucket under an unkeyed hash (FNV-1a of the USERNAME
    modulo the table size) is name's: what an attacker would compute if
    turnd's tables were not keyed with a secret seed.  Keys that really
    share a bucket are tests/unit/test_ratelimit.c's.
    """
    want = fnv1a(name.encode()) % slots
    for i in range(1000000):
        u = "x%06d" % i
        if fnv1a(u.encode()) % slots == want:
            return u
    raise Abort("no colliding username")


def _mix32(h, k):
    M = 0xffffffff
    k = (k * 0xcc9e2d51) & M
    k = ((k << 15) | (k >> 17)) & M
    k = (k * 0x1b873593) & M
    h ^= k
    h = ((h << 13) | (h >> 19)) & M
    return (h * 5 + 0xe6546b64) & M


def taddr_hash_ip4(ip, seed=0x9e3779b9):
    """turnd's taddr_hash_ip of an IPv4 address (addr.c), port 0."""
    M = 0xffffffff
    w = struct.unpack("<I", socket.inet_aton(ip))[0]
    h = _mix32(_mix32(seed, w), 0)
    h ^= h >> 16
    h = (h * 0x85ebca6b) & M
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & M
    return h ^ (h >> 16)


def colliding_source(ip, slots=4096):
    """
    A loopback address sharing ip's bucket under a hash with a constant
    seed (the attacker's guess; turnd's seed is secret).
    """
    want = taddr_hash_ip4(ip) % slots
    for a in range(1, 256):
        for b in range(256):
            for d in range(1, 255):
                cand = "127.%d.%d.%d" % (a, b, d)
                if cand != ip and taddr_hash_ip4(cand) % slots == want:
                    return cand
    raise Abort("no colliding source")


def bad_mi_request(nonce, user, realm="turnd.test"):
    return encode(mtype(ALLOCATE, REQUEST), [transport_attr(),
        attr(A_USERNAME, user.encode()), attr(A_REALM, realm.encode()),
        attr(A_NONCE, nonce)], key=b"\x5a" * 16)


def learn_nonce(sock, srv):
    sock.setblocking(True)
    sock.settimeout(1)
    sock.sendto(encode(mtype(ALLOCATE, REQUEST), [transport_attr()]),
        ("127.0.0.1", srv.port))
    m = try_msg(sock.recv(2048))
    sock.setblocking(False)
    if m is None or m.get(A_NONCE) is None:
        raise Abort("no nonce")
    return m.get(A_NONCE)


def guess_flood(srv, socks, nonces, user, seconds, pps, interleave=None):
    """
    Wrong-password Allocates for user from socks (one nonce each) at about
    pps for seconds; with interleave (a function making a request), one of
    those after each guess, from the same socket.  Returns (guesses sent,
    guesses answered, answers per half second).
    """
    dst = ("127.0.0.1", srv.port)
    guesses = set()
    t0 = time.monotonic()
    sent = answered = 0
    slots = [0] * (int(seconds * 2) + 4)

    def collect():
        nonlocal answered
        for x in socks:
            for data, _ in drain(x):
                m = try_msg(data)
                if m is not None and m.tid in guesses:
                    answered += 1
                    k = int((time.monotonic() - t0) * 2)
                    slots[min(k, len(slots) - 1)] += 1
    i = 0
    while time.monotonic() - t0 < seconds:
        k = i % len(socks)
        req = bad_mi_request(nonces[k], user)
        guesses.add(req[8:20])
        socks[k].sendto(req, dst)
        sent += 1
        if interleave is not None:
            socks[k].sendto(interleave(), dst)
        i += 1
        if i % 10 == 0:
            time.sleep(10.0 / pps)
            collect()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        time.sleep(0.05)
        collect()
    return sent, answered, slots[:int(seconds * 2)]


def case_bad_mi(c):
    """
    A flood of wrong MESSAGE-INTEGRITY for one username from one socket:
    each answered guess is counted in auth_fail_bad_mi, then the user is
    throttled (auth_throttled grows, answers stop: at most BADPASS_BURST
    20 plus 5 a second); another user allocates meanwhile.
    """
    srv = quiet_daemon(c)
    s = udp_listener("127.0.0.1")
    c.on_close(s.close)
    nonce = learn_nonce(s, srv)
    bob = c.client(srv, USER2, PASS2)
    before = counters(srv)
    sent, answered, slots = guess_flood(srv, [s], [nonce], USER, 3.0, 400)
    after = counters(srv)
    bound = 20 + 5 * 3.0 + 2
    log("bad MI, one socket: %d guesses in 3 s, %d answered (bound %.0f); "
        "answers per 0.5 s %s; auth_fail_bad_mi +%d, auth_throttled +%d" % (
        sent, answered, bound, slots, after["auth_fail_bad_mi"] -
        before["auth_fail_bad_mi"], after["auth_throttled"] -
        before["auth_throttled"]))
    T.check(answered <= bound, "guesses answered %d within %.0f" % (
        answered, bound))
    T.ge(answered, 20, "the burst of guesses is answered")
    T.eq(after["auth_fail_bad_mi"] - before["auth_fail_bad_mi"], answered,
        "each answered guess counted in auth_fail_bad_mi")
    T.eq(after["auth_throttled"] - before["auth_throttled"],
        sent - answered, "each unanswered guess counted in auth_throttled")
    T.check(max(slots[2:]) <= 5, "answers stop after the burst (at most "
        "the refill of 2.5 per half second)", slots)
    # no collateral: another user allocates while alice is throttled
    code, _, _ = bob.allocate()
    T.eq(code, 0, "another user allocates during the throttle")


def case_brute_force(c):
    """
    A password search over one username from 40 sockets (so over every
    worker) for 4 s: what gets answered is what an attacker learns from,
    and must stay within the per-user budget (20 plus 5 a second).
    """
    srv = quiet_daemon(c)
    socks = [udp_listener("127.0.0.1") for _ in range(40)]
    c.on_close(lambda: [x.close() for x in socks])
    nonces = [learn_nonce(x, srv) for x in socks]
    sent, answered, slots = guess_flood(srv, socks, nonces, USER, 4.0, 1000)
    bound = 20 + 5 * 4.0 + 2
    rate = sum(slots[2:]) / ((len(slots) - 2) / 2.0)
    log("brute force, 40 sockets: %d guesses in 4 s, %d answered (bound "
        "%.0f), %.1f answered per second after the first second; per "
        "0.5 s %s" % (sent, answered, bound, rate, slots))
    T.check(answered <= bound, "brute force: %d guesses answered within "
        "%.0f (the budget is per user, whichever worker)" % (answered, bound))
    T.check(rate <= 6, "brute force: %.1f answered per second after the "
        "burst (5 allowed)" % rate)


def case_throttle_collision(c):
    """
    The throttles are direct-mapped tables: a key that lands on another's
    slot takes it over with a full bucket.  An attacker who interleaves
    each guess with a request for a username sharing alice's slot, or each
    spoofed request with one from an address sharing the victim's slot,
    must still get no more than the budget (one worker, so the tables are
    the same ones).
    """
    srv = quiet_daemon(c, extra={"process":
        "process = { workers = 1; drain = 0; };"})
    s = udp_listener("127.0.0.1")
    c.on_close(s.close)
    nonce = learn_nonce(s, srv)
    twin = colliding_username(USER)
    log("throttle collision: username %r shares alice's slot" % twin)

    def twin_request():
        return encode(mtype(ALLOCATE, REQUEST), [transport_attr(),
            attr(A_USERNAME, twin.encode())])
    sent, answered, slots = guess_flood(srv, [s], [nonce], USER, 3.0, 400,
        interleave=twin_request)
    bound = 20 + 5 * 3.0 + 2
    log("throttle collision, usernames: %d guesses, %d answered (bound "
        "%.0f), per 0.5 s %s" % (sent, answered, bound, slots))
    T.check(answered <= bound, "guesses interleaved with a colliding "
        "username: %d answered within %.0f" % (answered, bound))
    finish(srv, False)

    rate = 50
    srv = quiet_daemon(c, quotas="unauth_per_source = %d;" % rate,
        extra={"process": "process = { workers = 1; drain = 0; };"})
    victim = udp_listener("127.0.0.1")
    other_ip = colliding_source("127.0.0.1")
    other = udp_listener(other_ip)
    c.on_close(victim.close)
    c.on_close(other.close)
    log("throttle collision: source %s shares 127.0.0.1's slot" % other_ip)
    dst = ("127.0.0.1", srv.port)
    t0 = time.monotonic()
    got = 0
    for i in range(400):
        victim.sendto(encode(mtype(ALLOCATE, REQUEST), [transport_attr()]),
            dst)
        other.sendto(encode(mtype(ALLOCATE, REQUEST), [transport_attr()]),
            dst)
        if i % 10 == 9:
            time.sleep(0.01)
            got += len(drain(victim))
            drain(other)
    elapsed = time.monotonic() - t0
    time.sleep(0.3)
    got += len(drain(victim))
    bound = rate + rate * elapsed + 2
    log("throttle collision, sources: 400 requests to 127.0.0.1 in %.2f s "
        "interleaved with %s: %d answered (bound %.0f)" % (elapsed,
        other_ip, got, bound))
    T.check(got <= bound, "requests interleaved with a colliding source: "
        "%d answered within %.0f" % (got, bound))


# ================================================================ TCP/TLS

def tls_daemon(c, tcp_group, extra=None):
    """turnd with UDP+TCP on port and TLS on tls_port (a fresh cert)."""
    srv = c.daemon()
    srv.tls_port = free_port()
    while srv.tls_port == srv.port:
        srv.tls_port = free_port()
    cert, key = os.path.join(srv.dir, "cert.pem"), os.path.join(srv.dir,
        "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
        capture_output=True)
    T.require(r.returncode == 0, "openssl makes a test certificate")
    srv.groups["listen"] = ("listen = ( { address = \"127.0.0.1\"; port = "
        "%d; transports = [ \"udp\", \"tcp\" ]; }, { address = "
        "\"127.0.0.1\"; port = %d; transports = [ \"tls\" ]; } );" % (
        srv.port, srv.tls_port))
    srv.groups["tls"] = "tls = { certificate = \"%s\"; private_key = " \
        "\"%s\"; };" % (cert, key)
    srv.groups["tcp"] = "tcp = { %s };" % tcp_group
    srv.groups["log"] = "log = { level = \"info\"; };"
    for k, v in (extra or {}).items():
        srv.groups[k] = v
    srv.write_config()
    return srv.start()


def tcp_connect(port, ip="127.0.0.1", src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src is not None:
        s.bind((src, 0))
    s.settimeout(2)
    s.connect((ip, port))
    s.setblocking(False)
    return s


def client_hello():
    """The bytes of a TLS ClientHello (ALPN stun.turn), from Python's ssl."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["stun.turn"])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def close_times(socks, timeout_s, drip=None):
    """
    Waits for the server to close each socket (EOF or reset) within
    timeout_s; drip, if given, is called every 150 ms until then.
    Returns {socket: seconds until closed, or None}.
    """
    t0 = time.monotonic()
    closed = {s: None for s in socks}
    next_drip = t0
    while time.monotonic() - t0 < timeout_s and None in closed.values():
        if drip is not None and time.monotonic() >= next_drip:
            drip()
            next_drip += 0.15
        open_ = [s for s, t in closed.items() if t is None]
        for s in seclib.readable(open_, 0.05):
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                closed[s] = time.monotonic() - t0
    return closed


def tls_binding(port):
    """A full TLS client that sends a Binding: the answer's code or None."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            tid = os.urandom(12)
            t.sendall(encode(mtype(BINDING, REQUEST), [], tid))
            data = b""
            while len(data) < 20 or len(data) < 20 + struct.unpack("!H",
                    data[2:4])[0]:
                chunk = t.recv(4096)
                if not chunk:
                    return None
                data += chunk
            m = try_msg(data[:20 + struct.unpack("!H", data[2:4])[0]])
            return None if m is None or m.tid != tid else m.code
    except OSError:
        return None


def case_tcp_tls(c):
    """
    What tests/integration/test_tcp_limits.c does not already cover (it
    has oversize frames, 64 KiB announced with 10 bytes sent, silence and
    a frame dripping after the handshake, the caps per source and in
    total): half-open TLS.  With tcp.idle_timeout_ms = 1000: a TLS
    connection that sends nothing, half a ClientHello, a ClientHello a
    byte every 150 ms, a record header announcing 16 KiB then 10 bytes,
    or plaintext, is closed within 2.5 s; 40 half-open TLS and 40 idle
    TCP connections from one source meet max_per_source = 16 and are all
    closed by the deadline; a real TLS client is served afterwards, the
    connection gauge is back to 0 and memory did not grow.
    """
    srv = tls_daemon(c, "idle_timeout_ms = 1000; max_per_source = 16;")
    hello = client_hello()
    T.require(len(hello) > 100 and hello[0] == 0x16, "a ClientHello to send")
    rss0 = srv.rss_kb()
    before = counters(srv)
    silent = tcp_connect(srv.tls_port)
    half = tcp_connect(srv.tls_port)
    half.send(hello[:len(hello) // 2])
    drip = tcp_connect(srv.tls_port)
    record = tcp_connect(srv.tls_port)
    record.send(b"\x16\x03\x01\x40\x00" + hello[5:15])
    plain = tcp_connect(srv.tls_port)
    plain.send(encode(mtype(BINDING, REQUEST), []))
    probes = {silent: "sends nothing", half: "half a ClientHello",
              drip: "a ClientHello a byte every 150 ms",
              record: "a record of 16 KiB announced, 10 bytes sent",
              plain: "plaintext STUN"}
    c.on_close(lambda: [x.close() for x in probes])
    pos = [0]

    def drip_one():
        if pos[0] < len(hello):
            try:
                drip.send(hello[pos[0]:pos[0] + 1])
            except OSError:
                pass
            pos[0] += 1
    closed = close_times(list(probes), 4.0, drip_one)
    for sk, what in probes.items():
        t = closed[sk]
        log("tls: %-46s closed after %s" % (what, "%.2f s" % t if t is not
            None else "(still open)"))
        T.check(t is not None and t <= 2.5, "TLS, %s: closed within 2.5 s" %
            what, t)
    T.check(closed[silent] is not None and closed[silent] >= 0.8,
        "the silent TLS connection had its 1 s", closed[silent])

    # many from one source: TLS half-open and plain TCP idle
    many = [tcp_connect(srv.tls_port) for _ in range(40)] + \
        [tcp_connect(srv.port) for _ in range(40)]
    c.on_close(lambda: [x.close() for x in many])
    for sk in many[:40:2]:
        try:
            sk.send(hello[:30])
        except OSError:
            pass
    time.sleep(0.3)
    st = srv.stats()
    T.check(st["connections"] <= 16, "at most max_per_source (16) held",
        st["connections"])
    closed = close_times(many, 4.0)
    times = sorted(t for t in closed.values() if t is not None)
    log("tls/tcp: 80 half-open/idle connections from one source: %d closed "
        "at once, all closed after %.2f s; held at most %d" % (sum(1 for t
        in times if t < 0.5), times[-1] if times else -1,
        st["connections"]))
    T.eq(len(times), 80, "all 80 connections closed")
    T.check(times and times[-1] <= 2.5, "all closed within 2.5 s",
        times[-1] if times else None)
    after = counters(srv)
    T.ge(after["tcp_refused_limit"] - before["tcp_refused_limit"], 80 - 16 -
        4, "refusals counted in tcp_refused_limit")
    T.ge(after["tcp_idle_closed"] - before["tcp_idle_closed"], 16,
        "deadline closes counted in tcp_idle_closed")
    T.eq(tls_binding(srv.tls_port), 0, "a real TLS client is served after")
    T.check(wait_until(lambda: srv.stats()["connections"] == 0, 3),
        "the connection gauge is back to 0")
    rss1 = srv.rss_kb()
    log("tls/tcp: VmRSS %d -> %d KiB" % (rss0, rss1))
    T.check(rss1 - rss0 < 4096, "VmRSS grew by %d KiB (bound 4096)" % (
        rss1 - rss0))


def case_peer_connect(c):
    """
    RFC 6062 Connect with loopback allowed: toward turnd's own listener
    port, another TCP allocation's relayed address (a relay-to-relay
    loop) and its own, refused with 403, and no ConnectionAttempt reaches
    the other allocation.  A plain loopback peer is reached (the control).
    """
    srv = quiet_daemon(c, peers="allow = [ \"127.0.0.1/32\" ];")
    a = c.client(srv, transport="tcp")
    b = c.client(srv, transport="tcp")
    code, ra, _ = a.allocate(proto=6)
    T.require(code == 0, "TCP allocation a", code)
    code, rb, _ = b.allocate(proto=6)
    T.require(code == 0, "TCP allocation b", code)
    T.eq(b.permission(("127.0.0.1", 1)), 0, "b: permission for 127.0.0.1")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    c.on_close(ls.close)
    T.eq(a.connect(ls.getsockname()), 0, "Connect to a loopback peer")
    ls.settimeout(2)
    try:
        conn, _ = ls.accept()
        conn.close()
        T.check(True, "the peer was connected to")
    except OSError:
        T.check(False, "the peer was connected to")
    for tgt, what in (((("127.0.0.1", srv.port)), "turnd's listener"),
                      (tuple(rb), "another TCP allocation's relay"),
                      (tuple(ra), "its own relay")):
        T.eq(a.connect(tgt), 403, "Connect to %s %s:%d refused" % (what,
            tgt[0], tgt[1]))
    m = None
    deadline = time.monotonic() + 0.7
    while time.monotonic() < deadline:
        raw = b.recv_raw(0.1)
        if raw is None:
            continue
        m = try_msg(raw)
        if m is not None and m.method == 0x00c:
            break
        m = None
    T.check(m is None, "no ConnectionAttempt indication at the other "
        "allocation")


def case_retransmit_cache(c):
    """
    Retransmissions after the response cache has turned over (6,000
    other authenticated transactions on the same worker, 150 a second for
    40 s: a busy server), over UDP: each still gets an answer equivalent
    to the first (RFC 8489 section 6.3.4), whether from the cache or done
    again: the Allocate its relayed address and no second allocation,
    CreatePermission, ChannelBind and Refresh their success; a Refresh
    LIFETIME 0 its success or 437, which RFC 8656 section 7.3 has the
    client take as success.  How many came from the cache is reported.
    """
    srv = quiet_daemon(c, peers="allow = [ \"127.0.0.1/32\" ];",
        extra={"process": "process = { workers = 1; drain = 0; };"})
    peer = udp_listener("127.0.0.1")
    c.on_close(peer.close)
    a = c.client(srv)
    b = c.client(srv, USER2, PASS2)
    z = c.client(srv)
    kept = []  # (client, request, first answer)
    code, relayed, _ = a.allocate()
    T.require(code == 0, "allocation a")
    kept.append((a, a.last_req))
    for op in (lambda: a.permission(("127.0.0.1", 1)),
               lambda: a.channel_bind(0x4000, peer.getsockname()),
               lambda: a.refresh(600)):
        T.eq(op(), 0, "a's request")
        kept.append((a, a.last_req))
    T.require(z.allocate()[0] == 0, "allocation z")
    T.eq(z.refresh(0), 0, "z: Refresh 0")
    kept.append((z, z.last_req))
    T.require(b.allocate()[0] == 0, "allocation b")
    before = counters(srv)
    dst = ("127.0.0.1", srv.port)
    sent = 0
    t0 = time.monotonic()
    while sent < 6000 and time.monotonic() - t0 < 30:
        for _ in range(50):
            b.sock.sendto(encode(mtype(REFRESH, REQUEST), [u32(A_LIFETIME,
                600), attr(A_USERNAME, USER2.encode()), attr(A_REALM,
                b"turnd.test"), attr(A_NONCE, b.nonce)], key=b.key), dst)
            sent += 1
        while seclib.readable([b.sock], 0.05):
            b.sock.recv(2048)
    b.collect(0.3)
    mid = counters(srv)
    log("retransmit cache: %d other transactions in %.1f s" % (sent,
        time.monotonic() - t0))
    for cl, req in kept:
        cl.dups.clear()
        for _ in range(3):
            cl.send_raw(req)
            cl.collect(0.3)
            if cl.dups:
                break
        first = try_msg(cl.answers[req[8:20]])
        m = try_msg(cl.dups[0][1]) if cl.dups else None
        name = METHOD_NAMES.get(first.method, hex(first.method))
        if cl is z:
            T.check(m is not None and m.code in (0, 437), "Refresh 0 "
                "retransmitted: success or 437 (RFC 8656 7.3)",
                None if m is None else m.code)
            log("retransmit cache: Refresh 0 again: %s" % (
                None if m is None else m.code))
            continue
        # an Allocate answered again says how long the allocation has left
        T.check(m is not None and equivalent(first, m, 40), "%s "
            "retransmitted: the same answer" % name, None if m is None else
            (m.code, m.attrs))
    after = counters(srv)
    st = srv.stats()
    hits = after["resp_retransmit"] - mid["resp_retransmit"]
    log("retransmit cache: %d of %d retransmissions answered from the "
        "cache after %d transactions" % (hits, len(kept), sent))
    T.eq(st["allocations"]["total"], 2, "no allocation made twice")
    T.eq(after["alloc_created"], 3, "three Allocates, three allocations")


# ================================================================ exhaustion

def relay_window(n):
    """n consecutive ports in 40000-48999, each free for UDP right now."""
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randint(40000, 48999 - n) // 2 * 2
        ok = True
        for p in range(base, base + n):
            x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                x.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                x.close()
            if not ok:
                break
        if ok:
            return base
    raise Abort("no free relay ports")


def relay_daemon(c, nports, extra=None, **kw):
    """turnd whose IPv4 relay range is nports ports from a free window."""
    srv = c.daemon(**kw)
    base = relay_window(max(nports, 2))
    srv.relay_base = base
    srv.groups["relay"] = ("relay = { addresses = [ \"127.0.0.1\" ]; "
        "port_min = %d; port_max = %d; };" % (base, base + nports - 1))
    srv.groups["quotas"] = ("quotas = { unauth_per_source = 0; "
        "allocations_per_user = 1000; };")
    srv.groups["log"] = "log = { level = \"info\"; };"
    for k, v in (extra or {}).items():
        srv.groups[k] = v
    srv.write_config()
    return srv


def case_port_exhaustion(c):
    """
    A relay range of 8 ports, 4 of them held by another process: the
    other 4 are allocated, then every Allocate gets 508 at once and
    leaves nothing behind (the ports turnd could not bind are not lost
    from its pool); when the other process lets go and when an allocation
    is deleted (Refresh LIFETIME 0), allocations succeed again.  The plain
    range-exhausted case is tests/integration/test_udp_alloc.c
    (test_exhausted); recovery by expiry is case port_expiry.
    """
    srv = relay_daemon(c, 8).start()
    foreign = [udp_socket("127.0.0.1", srv.relay_base + i)
               for i in range(0, 8, 2)]
    c.on_close(lambda: [x.close() for x in foreign])
    held = []
    for i in range(4):
        cl = c.client(srv)
        code, r, _ = cl.allocate()
        T.eq(code, 0, "allocation %d of the 4 free ports" % (i + 1))
        if r is not None:
            T.check(r[1] % 2 == 1, "not a port of the other process", r)
        held.append(cl)
    t0 = time.monotonic()
    codes = []
    for i in range(20):
        cl = c.client(srv)
        cl.tries = 1
        codes.append(cl.allocate()[0])
    secs = time.monotonic() - t0
    T.eq(set(codes), {508}, "20 Allocates on a full range: all 508")
    log("ports: 20 refusals in %.2f s" % secs)
    T.check(secs < 5, "refusals are quick (%.2f s)" % secs)
    st = srv.stats()
    T.eq(st["allocations"]["total"], 4, "allocations stay at 4")
    T.eq(st["ports"]["used"], 4, "ports used stay at 4 (of %d)" %
        st["ports"]["size"])
    T.ge(st["errors"]["508"], 20, "508s counted")
    for x in foreign:
        x.close()
    foreign.clear()
    got = [c.client(srv).allocate()[0] for _ in range(4)]
    T.eq(got, [0, 0, 0, 0], "the ports the other process let go are used")
    T.eq(c.client(srv).allocate()[0], 508, "full again")
    T.eq(held[0].refresh(0), 0, "an allocation deleted (Refresh 0)")
    T.eq(c.client(srv).allocate()[0], 0, "its port is allocated again")


def case_port_expiry(c):
    """
    Suite security-slow (about 75 s).  A relay range of 4 ports held by
    clients that vanish without deallocating: 508 until the allocations
    expire (allocation.lifetime_default = 60, the configuration's
    minimum), then allocations succeed again.
    """
    srv = relay_daemon(c, 4, extra={"allocation":
        "allocation = { lifetime_default = 60; lifetime_max = 60; };"})
    srv.start()
    for i in range(4):
        cl = Client("127.0.0.1", srv.port, USER, PASS)
        T.eq(cl.allocate(lifetime=60)[0], 0, "allocation %d" % (i + 1))
        cl.close()  # vanishes: no Refresh 0
    t0 = time.monotonic()
    T.eq(c.client(srv).allocate()[0], 508, "the range is full")
    ok = wait_until(lambda: counters(srv)["alloc_expired"] >= 4, 75, 1.0)
    secs = time.monotonic() - t0
    T.check(ok, "the 4 allocations expired (after %.0f s)" % secs)
    log("ports: the vanished clients' allocations expired after %.0f s" %
        secs)
    T.check(secs < 70, "within lifetime + the sweep", secs)
    st = srv.stats()
    T.eq(st["ports"]["used"], 0, "ports given back")
    T.eq(c.client(srv).allocate()[0], 0, "allocations succeed again")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def case_fd_exhaustion(c):
    """
    turnd started under RLIMIT_NOFILE = what it uses idle + 8: allocations
    take the spare descriptors, then new ones get 508 (counted in
    relay_socket_failed, logged once), TCP accepts pause (counted, logged
    once) and the control socket waits without spinning; an allocation
    made before keeps relaying both ways; once allocations are deleted,
    the waiting TCP clients are served and allocations succeed again.
    """
    proc_group = "process = { workers = 1; drain = 0; };"
    probe = relay_daemon(c, 200, extra={"process": proc_group}).start()
    time.sleep(0.3)
    idle = probe.fds()
    finish(probe, False)
    limit = idle + 8
    srv = relay_daemon(c, 200, extra={"process": proc_group}, nofile=limit)
    srv.start()
    log("fds: turnd uses %d descriptors idle; started with RLIMIT_NOFILE "
        "%d" % (idle, limit))
    peer = udp_listener("127.0.0.1")
    c.on_close(peer.close)
    a = c.client(srv)
    code, ra, _ = a.allocate()
    T.require(code == 0, "the allocation made before", code)
    T.eq(a.channel_bind(0x4000, peer.getsockname()), 0, "its channel")
    extra = []
    code = 0
    while code == 0 and len(extra) < 20:
        cl = c.client(srv)
        code = cl.allocate()[0]
        if code == 0:
            extra.append(cl)
    T.eq(code, 508, "an Allocate once descriptors run out")
    log("fds: %d more allocations before 508" % len(extra))
    codes = []
    for _ in range(10):
        cl = c.client(srv)
        cl.tries = 1
        codes.append(cl.allocate()[0])
    T.eq(set(codes), {508}, "10 more Allocates: all 508")
    # TCP clients wait in the backlog while accept pauses
    waiting = []
    for _ in range(3):
        w = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
        w.sendall(encode(mtype(BINDING, REQUEST), []))
        w.setblocking(False)
        waiting.append(w)
    c.on_close(lambda: [x.close() for x in waiting])
    time.sleep(1.5)
    T.check(not seclib.readable(waiting, 0), "TCP clients are not "
        "answered while out of descriptors")
    # the control socket: turnctl waits, turnd must not spin meanwhile
    ctl = subprocess.Popen([seclib.opslib.TURNCTL, "-s", srv.sock, "stats"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c.on_close(lambda: (ctl.poll() is None and ctl.kill(), ctl.wait()))
    time.sleep(0.2)
    cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
    time.sleep(2.0)
    cpu = (cpu_seconds(srv.pid) - cpu0) / (time.monotonic() - t0)
    log("fds: turnd's CPU while a control client waits for a descriptor: "
        "%.0f %%" % (cpu * 100))
    T.check(cpu < 0.3, "turnd does not spin on the control socket while "
        "out of descriptors (%.0f %% CPU)" % (cpu * 100))
    # the allocation made before still relays, both ways
    a.send_chan(0x4000, b"before-exhaustion")
    T.check(wait_until(lambda: any(d == b"before-exhaustion" for d, _ in
        drain(peer)), 2), "the old allocation relays client to peer")
    peer.sendto(b"back", tuple(ra))
    got = a.recv_data(2)
    T.check(got is not None and got["data"] == b"back",
        "the old allocation relays peer to client")
    T.eq(log_count(srv, "event=relay_socket_failed"), 1,
        "relay_socket_failed logged once")
    T.eq(log_count(srv, "event=accept_paused"), 1, "accept_paused logged "
        "once")
    # release: the waiting clients are served, allocations succeed
    for cl in extra:
        T.eq(cl.refresh(0), 0, "an allocation deleted")
    served = 0
    total = len(waiting)
    deadline = time.monotonic() + 8  # accept retries once a second
    while served < total and time.monotonic() < deadline:
        for w in seclib.readable(waiting, 0.2):
            try:
                if w.recv(4096):
                    served += 1
                    waiting.remove(w)
                    w.close()
            except OSError:
                pass
    T.eq(served, 3, "the waiting TCP clients are served once descriptors "
        "are back")
    for x in waiting:
        x.close()
    waiting.clear()
    if ctl.poll() is None:
        try:
            ctl.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    T.eq(ctl.returncode, 0, "the waiting turnctl got its answer")
    T.eq(c.client(srv).allocate()[0], 0, "allocations succeed again")
    k = counters(srv)
    T.ge(k["relay_socket_failed"], 11, "relay_socket_failed counted")
    T.ge(k["tcp_accept_paused"], 1, "tcp_accept_paused counted")
    log("fds: relay_socket_failed %d, tcp_accept_paused %d, 508s %d" % (
        k["relay_socket_failed"], k["tcp_accept_paused"],
        srv.stats()["errors"]["508"]))
    finish(srv, False)

    # the metrics listener (libevent's evhttp) in the same situation
    mport = free_port()
    srv = relay_daemon(c, 200, extra={"process": proc_group, "metrics":
        "metrics = { listen = \"127.0.0.1:%d\"; };" % mport},
        nofile=idle + 1 + 4)
    srv.start()
    code = 0
    extra = []
    while code == 0 and len(extra) < 20:
        cl = c.client(srv)
        code = cl.allocate()[0]
        if code == 0:
            extra.append(cl)
    T.eq(code, 508, "metrics phase: descriptors run out")
    lines0 = len(srv.log_text().splitlines())
    h = socket.create_connection(("127.0.0.1", mport), timeout=2)
    c.on_close(h.close)
    h.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    time.sleep(0.2)
    cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
    time.sleep(1.5)
    cpu = (cpu_seconds(srv.pid) - cpu0) / (time.monotonic() - t0)
    grew = len(srv.log_text().splitlines()) - lines0
    log("fds: turnd's CPU while an HTTP client of /metrics waits for a "
        "descriptor: %.0f %%, %d log lines meanwhile" % (cpu * 100, grew))
    T.check(cpu < 0.3, "turnd does not spin on the metrics listener while "
        "out of descriptors (%.0f %% CPU)" % (cpu * 100))
    T.check(grew <= 2, "the metrics listener's accept failures are not "
        "logged per attempt (%d lines in 1.5 s)" % grew)
    for cl in extra:
        cl.refresh(0)
    h.settimeout(3)
    try:
        reply = h.recv(64)
    except OSError:
        reply = b""
    T.check(reply.startswith(b"HTTP/1."), "/metrics is served once "
        "descriptors are back", reply)


# ================================================================ network faults

# 10.201.1.0/24 client link, 10.201.2.0/24 peer link, 10.201.3.0/24 behind
# the router (MTU 1280), 10.201.9.0/24 unreachable at the router; IPv6
# likewise in fd00:201::/32.  All of it inside the test's namespaces.
SRV4, CLI4, RLY4, PEER4, FAR4 = ("10.201.1.1", "10.201.1.2", "10.201.2.1",
    "10.201.2.2", "10.201.3.2")
SRV6, CLI6, RLY6, PEER6, FAR6 = ("fd00:201:1::1", "fd00:201:1::2",
    "fd00:201:2::1", "fd00:201:2::2", "fd00:201:3::2")


def net_setup(c, mtu_far=1280):
    """
    Namespaces srv (turnd), cli (the client), rtr (peers, and a router
    with forwarding on) and far (peers behind the router, over a link of
    MTU mtu_far); turnd started in srv.  Returns (net, names, srv).
    """
    net = seclib.Net()
    c.on_close(net.remove)
    S, C, P, F = net.ns("srv"), net.ns("cli"), net.ns("rtr"), net.ns("far")
    vc, vs = net.veth(C, [CLI4 + "/24", CLI6 + "/64"], S, [SRV4 + "/24",
        SRV6 + "/64"])
    vs2, vp = net.veth(S, [RLY4 + "/24", RLY6 + "/64"], P, [PEER4 + "/24",
        PEER6 + "/64"])
    vp2, vf = net.veth(P, ["10.201.3.1/24", "fd00:201:3::1/64"], F,
        [FAR4 + "/24", "10.201.3.3/24", "10.201.3.4/24", "10.201.3.5/24",
         "10.201.3.6/24", FAR6 + "/64"],
        mtu=mtu_far)
    seclib.in_ns(P, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    seclib.in_ns(P, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    seclib.ip("route", "add", "10.201.3.0/24", "via", PEER4, ns=S)
    seclib.ip("route", "add", "10.201.9.0/24", "via", PEER4, ns=S)
    seclib.ip("-6", "route", "add", "fd00:201:3::/64", "via", PEER6, ns=S)
    seclib.ip("route", "add", "default", "via", "10.201.3.1", ns=F)
    seclib.ip("-6", "route", "add", "default", "via", "fd00:201:3::1",
        ns=F)
    seclib.ip("route", "add", "unreachable", "10.201.9.0/24", ns=P)
    # a host that does not answer ARP on the peer link is given up quickly
    for k, v in (("mcast_solicit", "1"), ("ucast_solicit", "1"),
                 ("retrans_time_ms", "200")):
        seclib.in_ns(S, "sysctl", "-qw", "net.ipv4.neigh.%s.%s=%s" % (vs2,
            k, v))
    srv = c.daemon(ns=S, host=SRV4)
    srv.groups["listen"] = ("listen = ( { address = \"%s\"; port = %d; "
        "transports = [ \"udp\" ]; } );" % (SRV4, srv.port))
    srv.groups["relay"] = ("relay = { addresses = [ \"%s\", \"%s\" ]; "
        "port_min = 49152; port_max = 49999; };" % (RLY4, RLY6))
    srv.groups["peers"] = ("peers = { allow = [ \"10.201.2.0/24\", "
        "\"10.201.3.0/24\", \"10.201.9.0/24\", \"fd00:201::/32\" ]; };")
    srv.groups["quotas"] = ("quotas = { unauth_per_source = 0; "
        "allocations_per_user = 100; };")
    srv.groups["log"] = "log = { level = \"info\"; };"
    srv.write_config()
    srv.start()
    return net, {"srv": S, "cli": C, "rtr": P, "far": F}, srv


def ns_client(c, srv, names, family=4):
    cl = Client(SRV4, srv.port, USER, PASS, local_ip=CLI4, ns=names["cli"])
    c.on_close(cl.close)
    return cl


def ns_peer(c, names, where, ip):
    s = udp_socket(ip, 0, names[where])
    s.setblocking(False)
    c.on_close(s.close)
    return s


def expect_icmp(cl, what, want_type, want_code, peer, want_data=None,
                timeout_s=3):
    """Waits for a Data indication with ICMP; checks type, code, peer."""
    deadline = time.monotonic() + timeout_s
    got = None
    while time.monotonic() < deadline:
        d = cl.recv_data(deadline - time.monotonic())
        if d is None:
            break
        if d["kind"] == "icmp":
            got = d
            break
    T.check(got is not None, "%s: a Data indication with ICMP" % what)
    if got is None:
        return None
    t, code, data = got["icmp"]
    log("net: %s: ICMP type %d code %d data %d from %s" % (what, t, code,
        data, got["peer"]))
    T.eq((t, code), (want_type, want_code), "%s: ICMP type and code" % what)
    T.eq(tuple(got["peer"]), tuple(peer), "%s: XOR-PEER-ADDRESS names the "
        "peer" % what)
    if want_data is not None:
        T.eq(data, want_data, "%s: the ICMP data (next-hop MTU)" % what)
    return got


def echo_ok(cl, peer_sock, relayed, chan, what):
    """Client to peer over chan, and back: True when both arrive."""
    tag = os.urandom(6)
    cl.send_chan(chan, b"to-peer-" + tag)
    ok1 = wait_until(lambda: any(d == b"to-peer-" + tag for d, _ in
        drain(peer_sock)), 2)
    peer_sock.sendto(b"to-client-" + tag, tuple(relayed))
    d = cl.recv_data(2)
    ok2 = d is not None and d["data"] == b"to-client-" + tag
    T.check(ok1, "%s: client to peer" % what)
    T.check(ok2, "%s: peer to client" % what)
    return ok1 and ok2


def case_net_icmp(c):
    """
    A peer that disappears: its port closes (ICMP port unreachable from
    its host), its network is unreachable at a router (ICMP host
    unreachable), it does not answer ARP on the peer link (host
    unreachable from turnd's own stack), its IPv6 port closes (ICMPv6
    port unreachable).  Each reaches the client as a Data indication with
    an ICMP attribute, counted in icmp_received and icmp_relayed; the
    allocation survives and relays to another peer.
    """
    net, names, srv = net_setup(c)
    cl = ns_client(c, srv, names)
    code, relayed, _ = cl.allocate()
    T.require(code == 0, "allocation", code)
    p1 = ns_peer(c, names, "rtr", PEER4)
    p2 = ns_peer(c, names, "rtr", PEER4)
    T.eq(cl.permission((PEER4, 1), ("10.201.9.5", 1), ("10.201.2.99", 1)),
        0, "permissions")
    T.eq(cl.channel_bind(0x4000, p1.getsockname()), 0, "channel to peer 1")
    T.eq(cl.channel_bind(0x4001, p2.getsockname()), 0, "channel to peer 2")
    echo_ok(cl, p1, relayed, 0x4000, "before")
    before = counters(srv)
    # first: the router's errors and its own share a token bucket per
    # destination, which an earlier ICMP error may have emptied
    cl.send_ind(("10.201.9.5", 4000), b"unroutable")
    expect_icmp(cl, "router: host unreachable", 3, 1, ("10.201.9.5", 4000))
    gone = p1.getsockname()
    p1.close()
    cl.send_chan(0x4000, b"anyone there?")
    expect_icmp(cl, "closed port", 3, 3, gone)
    cl.send_ind(("10.201.2.99", 4000), b"no such host")
    expect_icmp(cl, "no ARP answer", 3, 1, ("10.201.2.99", 4000), timeout_s=5)
    after = counters(srv)
    T.ge(after["icmp_received"] - before["icmp_received"], 3,
        "icmp_received counted")
    T.ge(after["icmp_relayed"] - before["icmp_relayed"], 3,
        "icmp_relayed counted")
    T.eq(cl.refresh(600), 0, "the allocation survives (Refresh)")
    echo_ok(cl, p2, relayed, 0x4001, "after, another peer")
    T.eq(srv.stats()["allocations"]["total"], 1, "still one allocation")

    # IPv6: ICMPv6 destination unreachable, port unreachable (1, 4)
    c6 = Client(SRV4, srv.port, USER2, PASS2, local_ip=CLI4,
        ns=names["cli"])
    c.on_close(c6.close)
    code, r6, _ = c6.allocate(family=6)
    T.require(code == 0, "IPv6 allocation", code)
    q1 = ns_peer(c, names, "rtr", PEER6)
    T.eq(c6.channel_bind(0x4000, q1.getsockname()[:2]), 0, "IPv6 channel")
    echo_ok(c6, q1, r6, 0x4000, "IPv6 before")
    gone6 = q1.getsockname()[:2]
    q1.close()
    c6.send_chan(0x4000, b"anyone there?")
    expect_icmp(c6, "IPv6 closed port", 1, 4, gone6)
    T.eq(c6.refresh(600), 0, "the IPv6 allocation survives")


METHOD_NAMES = {ALLOCATE: "Allocate", REFRESH: "Refresh",
    CREATE_PERMISSION: "CreatePermission", CHANNEL_BIND: "ChannelBind"}


def equivalent(a, b, lifetime_slack_s=5):
    """
    The same answer: class, code and attributes, but for the integrity
    over them and a LIFETIME that may count down by a few seconds (an
    Allocate's retransmission answered from the allocation, not the
    cache, says how long it has left).
    """
    if a is None or b is None or a.type != b.type or a.code != b.code:
        return False
    skip = (seclib.A_MI, A_LIFETIME, A_FINGERPRINT)
    if [x for x in a.attrs if x[0] not in skip] != \
            [x for x in b.attrs if x[0] not in skip]:
        return False
    la, lb = a.get(A_LIFETIME), b.get(A_LIFETIME)
    if (la is None) != (lb is None):
        return False
    return la is None or abs(struct.unpack("!I", la)[0] -
        struct.unpack("!I", lb)[0]) <= lifetime_slack_s


def case_net_netem(c):
    """
    5 % loss and 10 % reordering (netem, 5 ms delay) on the client link,
    both ways.  24 clients allocate, install a permission, bind a channel
    and refresh with retransmissions; then each of those requests is sent
    once more, as a late retransmission would be: every answer to the
    same transaction is the same bytes (the response cache), every
    request got its answer, and turnd holds exactly 24 allocations.
    """
    net, names, srv = net_setup(c)
    C, S = names["cli"], names["srv"]
    netem = True
    for ns, dev in ((C, net.links[0][0]), (S, net.links[0][1])):
        r = seclib.in_ns(ns, "tc", "qdisc", "add", "dev", dev, "root",
            "netem", "delay", "5ms", "loss", "5%", "reorder", "10%",
            check=False)
        if r.returncode != 0:
            netem = False
            break
    via = (SRV4, srv.port)
    imp = None
    if not netem:
        # no sch_netem in this kernel: the same loss and reordering in
        # user space on the client's side of the link
        imp = seclib.Impair(C, "127.0.0.1", CLI4, (SRV4, srv.port))
        c.on_close(imp.stop)
        via = tuple(imp.addr)
    log("netem: %s" % ("tc netem on both ends of the client link" if netem
        else "sch_netem missing (tc: unknown qdisc); a user-space path "
        "with the same loss and reordering in the client's namespace"))
    peer = ns_peer(c, names, "rtr", PEER4)
    n = 24
    clients = []
    fails = 0
    reqs = []
    for i in range(n):
        cl = Client(via[0], via[1], USER, PASS, local_ip=via[0],
            ns=names["cli"])
        c.on_close(cl.close)
        cl.rto_s = 0.15
        cl.tries = 10
        clients.append(cl)
        code = cl.allocate()[0]
        if code != 0:
            log("netem: client %d: Allocate answered %s" % (i, code))
            fails += 1
            continue
        reqs.append((cl, cl.last_req))
        for op in (lambda: cl.permission((PEER4, 1)),
                   lambda: cl.channel_bind(0x4000, peer.getsockname()),
                   lambda: cl.refresh(600)):
            if op() != 0:
                fails += 1
            reqs.append((cl, cl.last_req))
    T.eq(fails, 0, "every request answered with success through the loss")
    # a late retransmission of each: the same answer, or lost on the way
    same = differ = identical = 0
    for cl, req in reqs:
        for _ in range(5):
            cl.send_raw(req)
            time.sleep(0.01)
    for cl in clients:
        cl.collect(0.3)
    for cl in clients:
        for tid, raw in cl.dups:
            first = cl.answers.get(tid)
            if raw == first:
                identical += 1
                same += 1
                continue
            a, b = try_msg(first), try_msg(raw)
            if equivalent(a, b):
                same += 1
                continue
            differ += 1
            if a is not None and b is not None and differ <= 4:
                log("netem: answers to one %s differ: %s / %s" % (
                    METHOD_NAMES.get(a.method, hex(a.method)),
                    [(hex(t), v.hex()) for t, v in a.attrs if
                     (t, v) not in b.attrs],
                    [(hex(t), v.hex()) for t, v in b.attrs if
                     (t, v) not in a.attrs]))
    k = counters(srv)
    st = srv.stats()
    log("netem: %d requests answered; %d repeated answers the same (%d of "
        "them byte for byte), %d differ; resp_retransmit %d; allocations "
        "%d%s" % (len(reqs), same, identical, differ, k["resp_retransmit"],
        st["allocations"]["total"], "" if imp is None else "; path: %r" %
        imp.stats))
    T.eq(differ, 0, "every repeated answer is the same answer")
    T.ge(same, len(reqs), "repeated answers came back")
    T.ge(k["resp_retransmit"], len(reqs), "resp_retransmit counts them")
    T.eq(st["allocations"]["total"], n, "exactly %d allocations" % n)
    T.eq(k["alloc_created"], n, "no duplicate allocation was created")
    T.eq(st["channels"], n, "one channel each")


def case_net_mtu(c):
    """
    A router with a next hop of MTU 1280: a 1400-byte datagram sent with
    DONT-FRAGMENT draws ICMP fragmentation needed, which reaches the
    client as a Data indication with ICMP type 3 code 4 and the MTU
    (IPv6: type 2, packet too big), whether DF came with the Allocate or
    with the Send indication; without DF it is fragmented and arrives.
    """
    net, names, srv = net_setup(c, mtu_far=1280)
    big = bytes(range(256)) * 5 + bytes(120)  # 1400 bytes

    # DONT-FRAGMENT on the allocation
    a = ns_client(c, srv, names)
    code, ra, _ = a.allocate(df=True)
    T.require(code == 0, "allocation with DONT-FRAGMENT", code)
    fa = ns_peer(c, names, "far", FAR4)
    T.eq(a.permission((FAR4, 1)), 0, "permission")
    a.send_ind(fa.getsockname(), big)
    expect_icmp(a, "DF allocation", 3, 4, fa.getsockname(), 1280)
    T.check(not wait_until(lambda: drain(fa), 0.5), "DF: nothing arrived "
        "at the far peer")
    T.eq(a.refresh(600), 0, "the allocation survives")

    # no DF: fragmented by the router, reassembled at the peer
    b = ns_client(c, srv, names)
    T.require(b.allocate()[0] == 0, "allocation without DF")
    fb = ns_peer(c, names, "far", "10.201.3.3")
    T.eq(b.permission(("10.201.3.3", 1)), 0, "permission")
    b.send_ind(fb.getsockname(), big)
    got = wait_until(lambda: drain(fb), 2)
    T.check(got and got[0][0] == big, "no DF: the datagram arrives whole")
    T.check(b.recv_data(0.5) is None, "no DF: no ICMP to the client")

    # DF asked for on the Send indication of an allocation without it
    d = ns_client(c, srv, names)
    T.require(d.allocate()[0] == 0, "allocation without DF")
    fd = ns_peer(c, names, "far", "10.201.3.4")
    T.eq(d.permission(("10.201.3.4", 1)), 0, "permission")
    d.send_ind(fd.getsockname(), big, df=True)
    expect_icmp(d, "DF on the Send indication", 3, 4, fd.getsockname(), 1280)
    T.check(not drain(fd), "DF indication: nothing arrived at the far peer")

    # the same two, over a path where the ICMP error takes half a second
    # to come back (a token bucket on the router's link toward turnd,
    # filled with 60 KB at 1 Mbit/s just before)
    rdev = net.links[1][1]
    seclib.in_ns(names["rtr"], "tc", "qdisc", "add", "dev", rdev, "root",
        "tbf", "rate", "1mbit", "burst", "2kb", "latency", "2s")
    sink = ns_peer(c, names, "srv", RLY4)
    src = ns_peer(c, names, "rtr", PEER4)

    def slow_path():
        for _ in range(60):
            try:
                src.sendto(bytes(1000), sink.getsockname())
            except OSError:
                pass
    a2 = ns_client(c, srv, names)
    T.require(a2.allocate(df=True)[0] == 0, "allocation with DONT-FRAGMENT")
    f5 = ns_peer(c, names, "far", "10.201.3.5")
    T.eq(a2.permission(("10.201.3.5", 1)), 0, "permission")
    slow_path()
    a2.send_ind(f5.getsockname(), big)
    expect_icmp(a2, "DF allocation, slow path", 3, 4, f5.getsockname(), 1280)
    d2 = ns_client(c, srv, names)
    T.require(d2.allocate()[0] == 0, "allocation without DF")
    f6 = ns_peer(c, names, "far", "10.201.3.6")
    T.eq(d2.permission(("10.201.3.6", 1)), 0, "permission")
    time.sleep(1)  # the queue drains
    slow_path()
    d2.send_ind(f6.getsockname(), big, df=True)
    expect_icmp(d2, "DF on the Send indication, slow path", 3, 4,
        f6.getsockname(), 1280)
    seclib.in_ns(names["rtr"], "tc", "qdisc", "del", "dev", rdev, "root")

    # IPv6: packet too big
    e = Client(SRV4, srv.port, USER2, PASS2, local_ip=CLI4, ns=names["cli"])
    c.on_close(e.close)
    T.require(e.allocate(family=6, df=True)[0] == 0, "IPv6 DF allocation")
    fe = ns_peer(c, names, "far", FAR6)
    T.eq(e.permission((FAR6, 1)), 0, "IPv6 permission")
    e.send_ind(fe.getsockname()[:2], big)
    expect_icmp(e, "IPv6 DF allocation", 2, 0, fe.getsockname()[:2], 1280)
    k = counters(srv)
    log("net: icmp_received %d, icmp_relayed %d" % (k["icmp_received"],
        k["icmp_relayed"]))


CASES = {
    "peer_filter": case_peer_filter,
    "peer_loopback": case_peer_loopback,
    "amplification": case_amplification,
    "unauth_rate": case_unauth_rate,
    "flood_state": case_flood_state,
    "bad_mi": case_bad_mi,
    "brute_force": case_brute_force,
    "throttle_collision": case_throttle_collision,
    "tcp_tls": case_tcp_tls,
    "peer_connect": case_peer_connect,
    "port_exhaustion": case_port_exhaustion,
    "port_expiry": case_port_expiry,
    "fd_exhaustion": case_fd_exhaustion,
    "net_icmp": case_net_icmp,
    "net_netem": case_net_netem,
    "net_mtu": case_net_mtu,
    "retransmit_cache": case_retransmit_cache,
    "stale_nonce": case_stale_nonce,
}
SLOW = {"port_expiry", "stale_nonce"}


def main(argv):
    if len(argv) != 2 or argv[1] not in CASES:
        print("usage: test_security.py %s" % "|".join(CASES),
            file=sys.stderr)
        return 2
    for name, path in (("TURND", seclib.opslib.TURND),
                       ("TURNCTL", seclib.opslib.TURNCTL)):
        if not path or not os.access(path, os.X_OK):
            print("$%s must name the program" % name, file=sys.stderr)
            return 2
    deadline = 3 * CASE_DEADLINE_S if argv[1] in SLOW else CASE_DEADLINE_S
    # the case functions return nothing: the checks decide
    return seclib.opslib.run_case(CASES, argv[1], Case, deadline)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
