#!/usr/bin/python3
"""
A TURN client built on python3-aioice (aioice.turn.create_turn_endpoint, the
API aiortc uses) that fails on any lost, corrupted, duplicated or reordered
datagram.

It allocates a UDP relay over UDP, TCP or TLS, starts a UDP echo peer on
loopback (of the relayed address's family) that checks every datagram comes
from the relayed address, and sends N numbered datagrams through the relay.
aioice binds a channel before its first datagram to a peer and sends only
ChannelData, so this exercises Allocate, ChannelBind and ChannelData both
ways (and Refresh with lifetime 0 at the end).

Exit status: 0 all datagrams echoed, 1 loss or error, 2 usage, 3 timeout,
77 aioice is not installed.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import ssl
import struct
import sys
import time

try:
    from aioice import turn
except ImportError:
    print("aioice-client: SKIP python3-aioice is not installed "
        "(run with Debian's /usr/bin/python3)")
    sys.exit(77)

MAGIC = b"TRNI"


def payload(seq, size):
    head = MAGIC + struct.pack("!I", seq)
    return head + bytes((i * 7 + seq * 31) & 0xFF for i in range(8, size))


def rest_credentials(secret, ident, ttl_s):
    user = "%d" % (int(time.time()) + ttl_s)
    if ident:
        user += ":" + ident
    mac = hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest()
    return user, base64.b64encode(mac).decode()


def same_addr(a, b):
    return a[0] == b[0] and a[1] == b[1]


class EchoPeer(asyncio.DatagramProtocol):
    def __init__(self):
        self.relayed = None
        self.echoed = 0
        self.foreign = 0

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.relayed is None or not same_addr(addr, self.relayed):
            self.foreign += 1
            print("aioice-client: echo peer got a datagram from %s, not the "
                "relayed address %s" % (addr, self.relayed))
            return
        self.transport.sendto(data, addr)
        self.echoed += 1


class Receiver(asyncio.DatagramProtocol):
    """What arrives through the relay."""

    def __init__(self, count, size):
        self.count = count
        self.size = size
        self.peer = None
        self.got = [False] * count
        self.sent_at = [0.0] * count
        self.received = self.dup = self.reordered = 0
        self.corrupt = self.foreign = 0
        self.max_seq = -1
        self.rtts = []
        self.progress = asyncio.Event()
        self.closed = asyncio.Event()

    def connection_made(self, transport):
        pass

    def connection_lost(self, exc):
        self.closed.set()

    def datagram_received(self, data, addr):
        now = time.monotonic()
        if self.peer is None or not same_addr(addr, self.peer):
            self.foreign += 1
            return
        if len(data) < 8 or data[:4] != MAGIC:
            self.corrupt += 1
            return
        seq = struct.unpack("!I", data[4:8])[0]
        if seq >= self.count or data != payload(seq, self.size):
            self.corrupt += 1
        elif self.got[seq]:
            self.dup += 1
        else:
            self.got[seq] = True
            self.received += 1
            if seq < self.max_seq:
                self.reordered += 1
            else:
                self.max_seq = seq
            self.rtts.append(now - self.sent_at[seq])
        self.progress.set()


async def wait_progress(rx, timeout_s):
    rx.progress.clear()
    try:
        await asyncio.wait_for(rx.progress.wait(), timeout_s)
        return True
    except asyncio.TimeoutError:
        return False


async def run(args):
    errors = []
    loop = asyncio.get_running_loop()
    rx = Receiver(args.n, args.size)

    def on_exception(loop_, context):
        exc = context.get("exception")
        msg = "%s: %r" % (context.get("message"), exc)
        if exc is not None and hasattr(exc, "response"):
            msg += " response=%s" % (exc.response.attributes.get("ERROR-CODE"),)
        errors.append(msg)
        rx.progress.set()
        print("aioice-client: error in a background task: " + msg)

    loop.set_exception_handler(on_exception)

    host, _, port = args.server.rpartition(":")
    host = host.strip("[]")
    server = (host, int(port))
    username, password = args.user, args.password
    if args.secret:
        username, password = rest_credentials(args.secret, args.user,
            args.ttl)
    sslctx = False
    if args.transport == "tls":
        sslctx = ssl.create_default_context(cafile=args.ca)
        sslctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        relay, _ = await asyncio.wait_for(turn.create_turn_endpoint(
            lambda: rx, server_addr=server, username=username,
            password=password, ssl=sslctx,
            transport="udp" if args.transport == "udp" else "tcp"), 10)
    except Exception as e:  # anything aioice raises is a failure here
        detail = ""
        if hasattr(e, "response"):
            detail = " %s" % (e.response.attributes.get("ERROR-CODE"),)
        print("aioice-client: FAIL allocate: %r%s" % (e, detail))
        return 1
    relayed = relay.get_extra_info("sockname")
    print("aioice-client: transport=%s related=%s relayed=%s user=%s" % (
        args.transport, relay.get_extra_info("related_address"), relayed,
        username))

    peer_host = args.peer_host or ("::1" if ":" in relayed[0] else
        "127.0.0.1")
    peer_tr, peer = await loop.create_datagram_endpoint(EchoPeer,
        local_addr=(peer_host, 0))
    peer.relayed = relayed
    rx.peer = peer_tr.get_extra_info("sockname")[:2]

    start = time.monotonic()
    sent = 0
    inflight_limit = args.window
    stalled = False
    for seq in range(args.n):
        while sent - rx.received >= inflight_limit and not errors:
            if not await wait_progress(rx, args.echo_timeout):
                stalled = True
                break
        if stalled or errors:
            break
        rx.sent_at[seq] = time.monotonic()
        relay.sendto(payload(seq, args.size), rx.peer)
        sent += 1
        if args.interval:
            await asyncio.sleep(args.interval)
    while rx.received < sent and not stalled and not errors:
        if not await wait_progress(rx, args.echo_timeout):
            stalled = True
    elapsed = time.monotonic() - start

    relay.close()
    try:
        await asyncio.wait_for(rx.closed.wait(), 3)
    except asyncio.TimeoutError:
        errors.append("the allocation was not released (Refresh 0)")
    peer_tr.close()

    lost = args.n - rx.received
    r = rx.rtts
    rtt = "%.3f/%.3f/%.3f" % ((min(r) * 1e3, sum(r) / len(r) * 1e3,
        max(r) * 1e3) if r else (0, 0, 0))
    print("RESULT client=aioice transport=%s sent=%d received=%d lost=%d "
        "duplicated=%d reordered=%d corrupt=%d foreign=%d rtt_ms=%s "
        "elapsed_ms=%d" % (args.transport, sent, rx.received, lost, rx.dup,
        rx.reordered, rx.corrupt, rx.foreign + peer.foreign, rtt,
        elapsed * 1e3))
    problems = list(errors)
    if lost:
        problems.append("%d of %d datagrams lost" % (lost, args.n))
    if rx.dup or rx.corrupt or rx.foreign or peer.foreign:
        problems.append("duplicated, corrupt or foreign datagrams")
    if rx.reordered and not args.allow_reorder:
        problems.append("%d datagrams reordered" % rx.reordered)
    if problems:
        print("aioice-client: FAIL " + "; ".join(problems))
        return 1
    print("aioice-client: PASS")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="host:port, [v6]:port")
    ap.add_argument("--transport", choices=("udp", "tcp", "tls"),
        default="udp")
    ap.add_argument("--ca", help="CA file for TLS")
    ap.add_argument("--user", default="", help="username (with --secret: "
        "the id after 'expiry:')")
    ap.add_argument("--password", default="")
    ap.add_argument("--secret", help="mint TURN REST credentials")
    ap.add_argument("--ttl", type=int, default=3600)
    ap.add_argument("--peer-host", help="echo peer address (default: "
        "loopback of the relay's family)")
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--size", type=int, default=120)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--interval", type=float, default=0.0,
        help="seconds between datagrams")
    ap.add_argument("--echo-timeout", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=45.0)
    ap.add_argument("--allow-reorder", action="store_true")
    args = ap.parse_args()
    if args.n < 1 or not 16 <= args.size <= 65000 or args.window < 1:
        ap.error("bad -n, --size or --window")

    async def bounded():
        try:
            return await asyncio.wait_for(run(args), args.timeout)
        except asyncio.TimeoutError:
            print("aioice-client: FAIL overall timeout of %.0f s"
                % args.timeout)
            return 3

    sys.stdout.reconfigure(line_buffering=True)
    return asyncio.run(bounded())


if __name__ == "__main__":
    sys.exit(main())
