"""
The kit of the security tests (test_security.py): a STUN/TURN codec small
enough to forge anything with (attributes in any order, any length, a
FINGERPRINT or MESSAGE-INTEGRITY anywhere), a TURN client over UDP with
the long-term credential dance, retransmission and Data indications with
their ICMP attribute, sockets made inside a network namespace, and the
process figures of a running turnd (VmRSS, descriptors).

The daemon itself, turnctl, the checker T and the port helpers come from
the operator tests' kit, tests/ops/opslib.py.
"""

import contextlib
import ctypes
import hashlib
import hmac
import os
import select
import socket
import random
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    "..", "ops"))
import opslib  # noqa: E402
from opslib import T, Abort, log, free_port  # noqa: E402,F401

MAGIC = 0x2112A442

# methods (RFC 8489, RFC 8656, RFC 6062)
BINDING, ALLOCATE, REFRESH, SEND, DATA = 0x001, 0x003, 0x004, 0x006, 0x007
CREATE_PERMISSION, CHANNEL_BIND = 0x008, 0x009
CONNECT, CONNECTION_BIND = 0x00a, 0x00b

# classes
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3

# attributes
A_USERNAME, A_MI, A_ERROR_CODE, A_UNKNOWN = 0x0006, 0x0008, 0x0009, 0x000a
A_CHANNEL_NUMBER, A_LIFETIME, A_PEER, A_DATA = 0x000c, 0x000d, 0x0012, 0x0013
A_REALM, A_NONCE, A_RELAYED, A_REQ_FAMILY = 0x0014, 0x0015, 0x0016, 0x0017
A_REQ_TRANSPORT, A_DONT_FRAGMENT = 0x0019, 0x001a
A_MAPPED, A_CONNECTION_ID = 0x0020, 0x002a
A_PWALGS, A_ICMP, A_SOFTWARE, A_FINGERPRINT = 0x8002, 0x8004, 0x8022, 0x8028

UDP = 17


def mtype(method, cls):
    """The 14-bit message type of method and class (RFC 8489 5)."""
    return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | \
        (method & 0x00f) | ((cls & 2) << 7) | ((cls & 1) << 4)


def attr(typ, val):
    return struct.pack("!HH", typ, len(val)) + val + \
        b"\0" * ((4 - len(val) % 4) % 4)


def u32(typ, v):
    return attr(typ, struct.pack("!I", v))


def transport_attr(proto=UDP):
    return attr(A_REQ_TRANSPORT, bytes([proto, 0, 0, 0]))


def xaddr_value(ip, port, tid):
    """XOR-*-ADDRESS value for ip ("1.2.3.4" or an IPv6 text), port."""
    xport = port ^ (MAGIC >> 16)
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        key = struct.pack("!I", MAGIC) + tid
        return struct.pack("!BBH", 0, 2, xport) + \
            bytes(a ^ b for a, b in zip(raw, key))
    raw = socket.inet_pton(socket.AF_INET, ip)
    key = struct.pack("!I", MAGIC)
    return struct.pack("!BBH", 0, 1, xport) + \
        bytes(a ^ b for a, b in zip(raw, key))


def xaddr_parse(val, tid):
    """(ip text, port) of an XOR-*-ADDRESS value."""
    fam, xport = val[1], struct.unpack("!H", val[2:4])[0]
    port = xport ^ (MAGIC >> 16)
    if fam == 2:
        key = struct.pack("!I", MAGIC) + tid
        raw = bytes(a ^ b for a, b in zip(val[4:20], key))
        return socket.inet_ntop(socket.AF_INET6, raw), port
    key = struct.pack("!I", MAGIC)
    raw = bytes(a ^ b for a, b in zip(val[4:8], key))
    return socket.inet_ntop(socket.AF_INET, raw), port


def long_term_key(user, realm, password):
    return hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()) \
        .digest()


def encode(mt, attrs, tid=None, key=None, fingerprint=False):
    """
    A STUN message of type mt with the encoded attributes attrs (bytes
    each), then MESSAGE-INTEGRITY under key and FINGERPRINT when asked,
    each computed over the RFC 8489 range with the length adjusted.
    """
    tid = tid if tid is not None else os.urandom(12)
    body = b"".join(attrs)
    if key is not None:
        hdr = struct.pack("!HHI", mt, len(body) + 24, MAGIC) + tid
        body += attr(A_MI, hmac.new(key, hdr + body, hashlib.sha1).digest())
    if fingerprint:
        hdr = struct.pack("!HHI", mt, len(body) + 8, MAGIC) + tid
        crc = (zlib.crc32(hdr + body) ^ 0x5354554e) & 0xffffffff
        body += attr(A_FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HHI", mt, len(body), MAGIC) + tid + body


class Msg:
    """A decoded STUN message: method, cls, tid, attrs [(type, value)]."""

    def __init__(self, data):
        if len(data) < 20:
            raise ValueError("short")
        t, n, magic = struct.unpack("!HHI", data[:8])
        if t & 0xc000 or magic != MAGIC or n + 20 != len(data):
            raise ValueError("not STUN")
        self.raw = data
        self.type = t
        self.method = (t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2)
        self.cls = ((t >> 7) & 2) | ((t >> 4) & 1)
        self.tid = data[8:20]
        self.attrs = []
        off = 20
        while off + 4 <= len(data):
            at, al = struct.unpack("!HH", data[off:off + 4])
            self.attrs.append((at, data[off + 4:off + 4 + al]))
            off += 4 + ((al + 3) & ~3)

    def get(self, typ):
        for t, v in self.attrs:
            if t == typ:
                return v
        return None

    def types(self):
        return [t for t, _ in self.attrs]

    @property
    def code(self):
        """0 for a success, the error code, or None for other classes."""
        if self.cls == SUCCESS:
            return 0
        v = self.get(A_ERROR_CODE)
        if self.cls != ERROR or v is None or len(v) < 4:
            return None
        return (v[2] & 7) * 100 + v[3]

    def xaddr(self, typ):
        v = self.get(typ)
        return None if v is None else xaddr_parse(v, self.tid)

    def check_integrity(self, key):
        """True when MESSAGE-INTEGRITY verifies under key."""
        off = 20
        while off + 4 <= len(self.raw):
            at, al = struct.unpack("!HH", self.raw[off:off + 4])
            if at == A_MI:
                hdr = struct.pack("!HHI", self.type, off + 24 - 20, MAGIC) + \
                    self.tid
                mac = hmac.new(key, hdr + self.raw[20:off],
                    hashlib.sha1).digest()
                return hmac.compare_digest(mac, self.raw[off + 4:off + 24])
            off += 4 + ((al + 3) & ~3)
        return False


def try_msg(data):
    try:
        return Msg(data)
    except ValueError:
        return None


# ---------------------------------------------------------------- netns

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def netns(name):
    """
    Runs the block in network namespace name (None: where we are).  A
    socket keeps the namespace it was made in, so sockets made in the
    block stay there after it.
    """
    if name is None:
        yield
        return
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open("/var/run/netns/" + name, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(fd)
        os.close(home)


def udp_socket(local_ip="127.0.0.1", port=0, ns=None):
    fam = socket.AF_INET6 if ":" in local_ip else socket.AF_INET
    with netns(ns):
        s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((local_ip, port))
    return s


# ---------------------------------------------------------------- client

def frame_len(buf):
    """Bytes of the frame at the head of a stream (padded ChannelData)."""
    if len(buf) < 4:
        return 0
    n = struct.unpack("!H", buf[2:4])[0]
    if buf[0] & 0xc0 == 0x40:
        return 4 + ((n + 3) & ~3)
    return 20 + n


def readable(socks, timeout_s):
    """The sockets of socks with something to read within timeout_s."""
    p = select.poll()
    by_fd = {}
    for s in socks:
        p.register(s.fileno(), select.POLLIN)
        by_fd[s.fileno()] = s
    return [by_fd[fd] for fd, _ in p.poll(max(0, int(timeout_s * 1000)))]


class Client:
    """
    A TURN client over UDP.  Requests are retransmitted (RFC 8489 6.2.1,
    simplified: every rto_s, tries times) with the same transaction ID;
    answers to other transactions, Data indications and ChannelData that
    arrive meanwhile are kept for recv_data.
    """

    def __init__(self, server, port, user=None, password=None,
                 realm=opslib.REALM, local_ip=None, ns=None, rto_s=0.5,
                 tries=3, transport="udp"):
        self.server = (server, port)
        self.transport = transport
        self.sbuf = b""
        if local_ip is None:
            local_ip = "::1" if ":" in server else "127.0.0.1"
        if transport == "tcp":
            fam = socket.AF_INET6 if ":" in server else socket.AF_INET
            with netns(ns):
                self.sock = socket.socket(fam, socket.SOCK_STREAM)
            self.sock.bind((local_ip, 0))
            self.sock.settimeout(2)
            self.sock.connect(self.server)
            self.sock.setblocking(False)
            tries = 1
            rto_s = max(rto_s, 2.0)
        else:
            self.sock = udp_socket(local_ip, 0, ns)
        self.local = self.sock.getsockname()[:2]
        self.user = user
        self.password = password
        self.realm = realm
        self.nonce = None
        self.key = None if user is None else \
            long_term_key(user, realm, password)
        self.rto_s = rto_s
        self.tries = tries
        self.pending = []  # data that arrived during transactions
        self.answers = {}  # tid: the first answer to it (bytes)
        self.dups = []     # (tid, bytes): later answers to the same tid
        self.last_req = None
        self.sent_bytes = 0
        self.requests_sent = 0

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        if self.transport == "tcp":
            self.sock.setblocking(True)
            self.sock.sendall(data)
            self.sock.setblocking(False)
        else:
            self.sock.sendto(data, self.server)
        self.sent_bytes += len(data)

    def recv_raw(self, timeout_s):
        """A datagram, or on TCP the next frame; None on timeout or EOF."""
        if self.transport != "tcp":
            if not readable([self.sock], timeout_s):
                return None
            return self.sock.recv(65536)
        deadline = time.monotonic() + timeout_s
        while True:
            n = frame_len(self.sbuf)
            if n and len(self.sbuf) >= n:
                f, self.sbuf = self.sbuf[:n], self.sbuf[n:]
                return f
            if not readable([self.sock], deadline - time.monotonic()):
                return None
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self.sbuf += chunk

    def _stash(self, data):
        if len(data) >= 4 and data[0] & 0xc0 == 0x40:
            self.pending.append(data)
            return
        m = try_msg(data)
        if m is not None and m.cls == INDICATION:
            self.pending.append(data)
        elif m is not None and m.tid in self.answers:
            self.dups.append((m.tid, data))

    def collect(self, timeout_s):
        """Reads what comes within timeout_s, keeping late answers."""
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.recv_raw(deadline - time.monotonic())
            if data is None:
                return
            self._stash(data)

    def transact_raw(self, req, tid=None, tries=None, rto_s=None):
        """Sends req until an answer with its tid comes; the Msg or None."""
        tid = tid if tid is not None else req[8:20]
        tries = tries if tries is not None else self.tries
        rto_s = rto_s if rto_s is not None else self.rto_s
        for _ in range(tries):
            self.send_raw(req)
            self.requests_sent += 1
            deadline = time.monotonic() + rto_s
            while True:
                data = self.recv_raw(deadline - time.monotonic())
                if data is None:
                    break
                m = try_msg(data)
                if m is not None and m.tid == tid and m.cls in (SUCCESS,
                        ERROR) and tid not in self.answers:
                    self.answers[tid] = data
                    return m
                self._stash(data)
        return None

    def request(self, method, attrs=(), auth=True, tid=None,
                fingerprint=False, tries=None):
        """
        One request with the credential dance: without a nonce yet, or
        on 401/438 with a new one, it is sent again once with credentials.
        Returns the answer (Msg) or None.
        """
        for _ in range(3):
            a = list(attrs)
            key = None
            if auth and self.nonce is not None:
                a += [attr(A_USERNAME, self.user.encode()),
                      attr(A_REALM, self.realm.encode()),
                      attr(A_NONCE, self.nonce)]
                key = self.key
            req = encode(mtype(method, REQUEST), a, tid, key, fingerprint)
            self.last_req = req
            m = self.transact_raw(req, tries=tries)
            if m is None or not auth:
                return m
            if m.code in (401, 438) and m.get(A_NONCE) is not None and \
                    (self.nonce is None or m.code == 438 or key is None):
                self.nonce = m.get(A_NONCE)
                r = m.get(A_REALM)
                if r is not None and key is None:
                    self.realm = r.decode()
                    self.key = long_term_key(self.user, self.realm,
                        self.password)
                tid = None
                continue
            return m
        return m

    def allocate(self, family=None, df=False, lifetime=None, extra=(),
                 proto=UDP):
        """(code, relayed (ip, port) or None, Msg)."""
        a = [transport_attr(proto)]
        if family == 6:
            a.append(attr(A_REQ_FAMILY, b"\x02\0\0\0"))
        if df:
            a.append(attr(A_DONT_FRAGMENT, b""))
        if lifetime is not None:
            a.append(u32(A_LIFETIME, lifetime))
        a += list(extra)
        m = self.request(ALLOCATE, a)
        if m is None:
            return -1, None, None
        return m.code, m.xaddr(A_RELAYED), m

    def refresh(self, lifetime):
        m = self.request(REFRESH, [u32(A_LIFETIME, lifetime)])
        return -1 if m is None else m.code

    def permission(self, *peers):
        """CreatePermission for peers [(ip, port)]: the code, -1 no answer."""
        tid = os.urandom(12)
        a = [attr(A_PEER, xaddr_value(ip, port, tid)) for ip, port in peers]
        m = self.request(CREATE_PERMISSION, a, tid=tid)
        return -1 if m is None else m.code

    def channel_bind(self, chan, peer):
        tid = os.urandom(12)
        a = [attr(A_CHANNEL_NUMBER, struct.pack("!HH", chan, 0)),
             attr(A_PEER, xaddr_value(peer[0], peer[1], tid))]
        m = self.request(CHANNEL_BIND, a, tid=tid)
        return -1 if m is None else m.code

    def connect(self, peer):
        """RFC 6062 Connect: the code, -1 without an answer."""
        tid = os.urandom(12)
        m = self.request(CONNECT, [attr(A_PEER, xaddr_value(peer[0],
            peer[1], tid))], tid=tid)
        return -1 if m is None else m.code

    def send_ind(self, peer, data, df=False):
        tid = os.urandom(12)
        a = [attr(A_PEER, xaddr_value(peer[0], peer[1], tid)),
             attr(A_DATA, data)]
        if df:
            a.append(attr(A_DONT_FRAGMENT, b""))
        self.send_raw(encode(mtype(SEND, INDICATION), a, tid))

    def send_chan(self, chan, data):
        self.send_raw(struct.pack("!HH", chan, len(data)) + data)

    def recv_data(self, timeout_s):
        """
        The next Data indication or ChannelData within timeout_s, as a
        dict: kind ("data", "icmp" or "chan"), peer, data, chan, icmp
        (type, code, data word), or None.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if self.pending:
                raw = self.pending.pop(0)
            else:
                raw = self.recv_raw(deadline - time.monotonic())
                if raw is None:
                    return None
            if raw[0] & 0xc0 == 0x40 and len(raw) >= 4:
                ch, n = struct.unpack("!HH", raw[:4])
                return {"kind": "chan", "chan": ch, "data": raw[4:4 + n],
                        "peer": None, "icmp": None}
            m = try_msg(raw)
            if m is None or m.cls != INDICATION or m.method != DATA:
                continue
            icmp = m.get(A_ICMP)
            if icmp is not None and len(icmp) == 8:
                icmp = (icmp[2], icmp[3], struct.unpack("!I", icmp[4:8])[0])
            return {"kind": "icmp" if icmp is not None else "data",
                    "peer": m.xaddr(A_PEER), "data": m.get(A_DATA),
                    "chan": None, "icmp": icmp}


# ---------------------------------------------------------------- process

def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def counters(srv):
    return srv.stats()["counters"]


def delta(after, before, name):
    return after[name] - before[name]


def wait_until(pred, timeout_s, step_s=0.05):
    """Polls pred until true or timeout_s; its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step_s)


def log_count(srv, *words):
    """Lines of the daemon's log holding every word."""
    return sum(1 for line in srv.log_text().splitlines()
        if all(w in line for w in words))


# ---------------------------------------------------------------- daemon

class Daemon(opslib.Turnd):
    """
    opslib's Turnd, started optionally inside a network namespace (ns),
    under a descriptor limit (nofile, via prlimit), answering on host.
    Both wrappers exec turnd, so proc.pid is turnd's.
    """

    def __init__(self, ns=None, host="127.0.0.1", nofile=None, **kw):
        super().__init__(**kw)
        self.ns = ns
        self.host = host
        self.nofile = nofile

    def argv(self):
        argv = super().argv()
        if self.nofile is not None:
            argv = ["prlimit", "--nofile=%d:%d" % (self.nofile,
                self.nofile), "--"] + argv
        if self.ns is not None:
            argv = ["ip", "netns", "exec", self.ns] + argv
        return argv

    def binding_ok(self):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with netns(self.ns):
            s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.settimeout(0.3)
            tid = os.urandom(12)
            s.sendto(encode(mtype(BINDING, REQUEST), [], tid),
                (self.host, self.port))
            m = try_msg(s.recv(2048))
            return m is not None and m.tid == tid and m.code == 0
        except OSError:
            return False
        finally:
            s.close()

    def rss_kb(self):
        return proc_rss_kb(self.pid)

    def fds(self):
        return proc_fds(self.pid)


# ---------------------------------------------------------------- netns

def ip(*args, ns=None, check=True):
    argv = ["ip"] + (["-n", ns] if ns else []) + list(args)
    r = opslib.subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise Abort("%s: %s" % (" ".join(argv), r.stderr.strip()))
    return r


def in_ns(ns, *argv, check=True):
    r = opslib.subprocess.run(["ip", "netns", "exec", ns] + list(argv),
        capture_output=True, text=True)
    if check and r.returncode != 0:
        raise Abort("%s in %s: %s" % (" ".join(argv), ns, r.stderr.strip()))
    return r


class Net:
    """
    Network namespaces and veth pairs made for one test, named after its
    process so that parallel runs do not meet; remove() deletes them all
    (a namespace's interfaces go with it).  Nothing touches the host's
    own interfaces: veths are created inside the namespaces.
    """

    def __init__(self):
        if os.geteuid() != 0:
            raise Abort("network namespaces need root (run as root: these "
                "tests create namespaces and veth pairs)")
        self.tag = "%d" % (os.getpid() % 1000000)
        self.made = []
        self.links = []  # (name in ns_a, name in ns_b) per veth()

    def ns(self, role):
        name = "tsec-%s-%s" % (role, self.tag)
        ip("netns", "add", name)
        self.made.append(name)
        ip("link", "set", "lo", "up", ns=name)
        # ICMP errors are rate limited per destination: not in a test
        in_ns(name, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        in_ns(name, "sysctl", "-qw", "net.ipv6.icmp.ratelimit=0")
        return name

    def veth(self, ns_a, addrs_a, ns_b, addrs_b, mtu=None):
        """A veth pair between two namespaces; returns the names."""
        n = len([x for x in self.made if x.startswith("veth:")])
        a, b = "va%d-%s" % (n, self.tag), "vb%d-%s" % (n, self.tag)
        a, b = a[:15], b[:15]
        ip("link", "add", a, "netns", ns_a, "type", "veth", "peer", "name",
            b, "netns", ns_b)
        self.made.append("veth:" + a)
        self.links.append((a, b))
        for ns, dev, addrs in ((ns_a, a, addrs_a), (ns_b, b, addrs_b)):
            for ad in addrs:
                extra = ["nodad"] if ":" in ad else []
                ip("addr", "add", ad, "dev", dev, *extra, ns=ns)
            if mtu is not None:
                ip("link", "set", dev, "mtu", str(mtu), ns=ns)
            ip("link", "set", dev, "up", ns=ns)
        return a, b

    def remove(self):
        for name in reversed(self.made):
            if not name.startswith("veth:"):
                ip("netns", "del", name, check=False)
        self.made = []


class Impair:
    """
    A lossy, reordering UDP path in user space, for kernels without
    sch_netem: clients send to addr; each client gets its own upstream
    socket (made in namespace ns, bound to up_ip) toward server, like a
    NAT.  Each datagram, either way, is dropped with probability loss, or
    with probability reorder held back until the next datagram of its
    direction has gone (or hold_s passed).  Runs in a thread until
    stop().
    """

    def __init__(self, ns, front_ip, up_ip, server, loss=0.05, reorder=0.10,
                 hold_s=0.02, seed=1):
        self.front = udp_socket(front_ip, 0, ns)
        self.front.setblocking(False)
        self.addr = self.front.getsockname()[:2]
        self.ns = ns
        self.up_ip = up_ip
        self.server = server
        self.loss = loss
        self.reorder = reorder
        self.hold_s = hold_s
        self.rng = random.Random(seed)
        self.by_client = {}
        self.by_fd = {}
        self.stats = {"dropped": 0, "reordered": 0, "passed": 0}
        self.held = {}  # direction: (deadline, send function)
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _up(self, client):
        s = self.by_client.get(client)
        if s is None:
            with self.lock:
                with netns(self.ns):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((self.up_ip, 0))
            s.setblocking(False)
            self.by_client[client] = s
            self.by_fd[s.fileno()] = (s, client)
        return s

    def _pass(self, direction, send):
        r = self.rng.random()
        if r < self.loss:
            self.stats["dropped"] += 1
            return
        held = self.held.pop(direction, None)
        if r < self.loss + self.reorder and held is None:
            self.stats["reordered"] += 1
            self.held[direction] = (time.monotonic() + self.hold_s, send)
            return
        send()
        self.stats["passed"] += 1
        if held is not None:
            held[1]()
            self.stats["passed"] += 1

    def _run(self):
        while not self.done.is_set():
            socks = [self.front] + [v[0] for v in self.by_fd.values()]
            for s in readable(socks, 0.005):
                try:
                    data, frm = s.recvfrom(65536)
                except OSError:
                    continue
                if s is self.front:
                    up = self._up(frm)
                    self._pass(("up", frm), lambda up=up, d=data:
                        up.sendto(d, self.server))
                else:
                    client = self.by_fd[s.fileno()][1]
                    self._pass(("down", client), lambda c=client, d=data:
                        self.front.sendto(d, c))
            now = time.monotonic()
            for k, (deadline, send) in list(self.held.items()):
                if now >= deadline:
                    del self.held[k]
                    send()
                    self.stats["passed"] += 1

    def stop(self):
        self.done.set()
        self.thread.join(2)
        for s, _ in self.by_fd.values():
            s.close()
        self.front.close()
