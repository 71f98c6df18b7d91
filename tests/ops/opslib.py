"""
The kit of the operator tests (test_ops.py): a turnd started from a
generated configuration on loopback (Turnd: turnctl, HTTP, logs, reload by
rewriting a group), the turn_traffic client and its JSON lines (Traffic),
a checker that reports each failure and goes on (T), a parser of the
Prometheus text format that checks its grammar, and the parser of
`turnctl stats`' table.
"""

import base64
import hashlib
import hmac
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TURND = os.environ.get("TURND", "")
TURNCTL = os.environ.get("TURNCTL", "")
TRAFFIC = os.environ.get("TURN_TRAFFIC", "")

REALM = "turnd.test"
USERS = {"alice": "alice-secret", "bob": "bob-secret", "dave": "dave-secret"}
SECRET = "ops-secret-1"
SECRET_NEW = "ops-secret-2"

EXIT_SKIP = 77
CASE_DEADLINE_S = 80  # meson's timeout is 90

# control protocol (turnd/ctl.h)
CTL_VERSION = 1
CTL_STATS, CTL_SESSIONS, CTL_USERS, CTL_KICK, CTL_RELOAD = 1, 2, 3, 4, 5
CTL_E_OK, CTL_E_VERSION, CTL_E_BAD, CTL_E_DENIED = 0, 1, 2, 3


class Abort(Exception):
    """A check the rest of the case cannot go on without."""


class Deadline(Exception):
    pass


# ---------------------------------------------------------------- checks

class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=None):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            msg = "FAIL: " + what
            if detail is not None:
                msg += "\n      " + str(detail)
            print(msg, file=sys.stderr, flush=True)
        return ok

    def eq(self, got, want, what, detail=None):
        return self.check(got == want, what,
            "got %r, want %r%s" % (got, want,
                "" if detail is None else "; %r" % (detail,)))

    def ge(self, got, want, what):
        return self.check(got is not None and got >= want, what,
            "got %r, want >= %r" % (got, want))

    def require(self, ok, what, detail=None):
        if not self.check(ok, what, detail):
            raise Abort(what)


T = Checks()


def run_case(cases, name, make_case, deadline_s):
    """
    Runs one case of a suite under a deadline (SIGALRM): the case's
    context from make_case(), an Abort, a Deadline or any other exception
    counted as a failure, the context closed (its logs kept on failure), a
    summary line.  Returns the exit status: 1 when a check failed, else
    what the case returned (0 when None).
    """
    def on_alarm(sig, frame):
        raise Deadline("case %s: over %d s" % (name, deadline_s))
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(deadline_s)
    c = make_case()
    rc = 0
    t0 = time.monotonic()
    try:
        rc = cases[name](c) or 0
    except (Abort, Deadline) as e:
        T.check(False, "case stopped: %s" % e)
    except Exception:
        import traceback
        traceback.print_exc()
        T.check(False, "case raised")
    finally:
        signal.alarm(0)
        c.close(T.failed > 0)
    print("%s: %d passed, %d failed (%.1f s)" % (name, T.passed, T.failed,
        time.monotonic() - t0), file=sys.stderr)
    return 1 if T.failed else rc


def log(msg):
    print("[ops] " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- ports

def _free(port, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM),
          hosts=("127.0.0.1", "::1")):
    for host in hosts:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        for kind in kinds:
            s = socket.socket(fam, kind)
            try:
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def free_port():
    """A port free for UDP and TCP on both loopbacks, in 20000-31999."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(20000, 31999)
        if _free(port):
            return port
    raise Abort("no free port")


def relay_window(n=100):
    """n consecutive ports in 40000-48999 free for UDP right now."""
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randint(40000, 48999 - n) // 2 * 2
        if all(_free(base + i, kinds=(socket.SOCK_DGRAM,))
               for i in range(0, n, 7)):
            return base
    raise Abort("no free relay ports")


# ---------------------------------------------------------------- STUN

def stun_binding(host, port, timeout_s=0.3):
    """True when a STUN Binding request gets a success response."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    tid = os.urandom(12)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout_s)
        s.sendto(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid,
            (host, port))
        data = s.recv(2048)
        return len(data) >= 20 and data[:2] == b"\x01\x01" and \
            data[8:20] == tid
    except OSError:
        return False
    finally:
        s.close()


def stun_attr(typ, val):
    return struct.pack("!HH", typ, len(val)) + val + \
        b"\0" * ((4 - len(val) % 4) % 4)


def stun_msg(mtype, attrs, tid, key=None):
    """A STUN message; with key, MESSAGE-INTEGRITY (HMAC-SHA1) at the end."""
    body = b"".join(attrs)
    if key is not None:
        hdr = struct.pack("!HHI", mtype, len(body) + 24, 0x2112A442) + tid
        body += stun_attr(0x0008, hmac.new(key, hdr + body,
            hashlib.sha1).digest())
    return struct.pack("!HHI", mtype, len(body), 0x2112A442) + tid + body


def stun_attrs(data):
    """The attributes of a STUN message: {type: value}."""
    out, off = {}, 20
    while off + 4 <= len(data):
        t, n = struct.unpack("!HH", data[off:off + 4])
        out[t] = data[off + 4:off + 4 + n]
        off += 4 + ((n + 3) & ~3)
    return out


def stun_allocate_as(port, username, key=b"wrong-key-0123456"):
    """
    An Allocate with USERNAME as given (any bytes) and a MESSAGE-INTEGRITY
    under key, after the 401 that gives REALM and NONCE.  Returns (error
    code or 0, nonce), or (None, None) without an answer.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    transport = stun_attr(0x0019, b"\x11\0\0\0")
    try:
        s.sendto(stun_msg(0x0003, [transport], os.urandom(12)),
            ("127.0.0.1", port))
        a = stun_attrs(s.recv(2048))
        realm, nonce = a.get(0x0014, b""), a.get(0x0015, b"")
        s.sendto(stun_msg(0x0003, [transport, stun_attr(0x0006, username),
            stun_attr(0x0014, realm), stun_attr(0x0015, nonce)],
            os.urandom(12), key=key), ("127.0.0.1", port))
        r = s.recv(2048)
    except OSError:
        return None, None
    finally:
        s.close()
    err = stun_attrs(r).get(0x0009)
    code = err[2] * 100 + err[3] if err and len(err) >= 4 else 0
    return code, nonce.decode(errors="replace")


def rest_password(secret, username):
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


# ---------------------------------------------------------------- turnd

def q(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


class Turnd:
    """
    One turnd with a generated configuration.  self.groups maps each
    top-level group to its text; write_config() renders them, so a case
    can change a group and reload.
    """

    def __init__(self, metrics=False, readonly=False, drain=0, workers=2,
                 secrets=(SECRET,), users=None, dirmode=0o700):
        self.dir = tempfile.mkdtemp(prefix="turnd-ops-")
        os.chmod(self.dir, dirmode)
        self.conf = os.path.join(self.dir, "turnd.conf")
        self.logpath = os.path.join(self.dir, "turnd.log")
        self.sock = os.path.join(self.dir, "turnd.sock")
        self.rosock = os.path.join(self.dir, "turnd-ro.sock") \
            if readonly else None
        self.port = free_port()
        self.metrics_port = None
        if metrics:
            while self.metrics_port in (None, self.port):
                self.metrics_port = free_port()
        self.relay_min = relay_window(100)
        self.proc = None
        self.rc = None
        self.started_at = None
        users = USERS if users is None else users
        self.groups = {
            "realm": "realm = %s;" % q(REALM),
            "listen": "listen = ( { address = \"127.0.0.1\"; port = %d; "
                "transports = [ \"udp\", \"tcp\" ]; }, { address = \"::1\"; "
                "port = %d; transports = [ \"udp\" ]; } );"
                % (self.port, self.port),
            "relay": "relay = { addresses = [ \"127.0.0.1\", \"::1\" ]; "
                "port_min = %d; port_max = %d; };"
                % (self.relay_min, self.relay_min + 99),
            "auth": self.auth_group(users, secrets),
            "peers": "peers = { allow = [ \"127.0.0.1/32\", \"::1/128\" ]; };",
            "quotas": "quotas = { unauth_per_source = 0; };",
            "control": "control = { socket = %s;%s };" % (q(self.sock),
                " readonly = %s;" % q(self.rosock) if readonly else ""),
            "metrics": "metrics = { listen = %s; };" % q(
                "127.0.0.1:%d" % self.metrics_port if metrics else ""),
            "log": "log = { level = \"debug\"; };",
            "process": "process = { workers = %d; drain = %d; };"
                % (workers, drain),
        }
        self.write_config()

    @staticmethod
    def auth_group(users, secrets):
        u = ", ".join("{ name = %s; password = %s; }" % (q(n), q(p))
            for n, p in users.items())
        s = ", ".join(q(x) for x in secrets)
        return "auth = { users = ( %s ); secrets = [ %s ]; };" % (u, s)

    def write_config(self, tail=""):
        with open(self.conf + ".new", "w") as f:
            for g in self.groups.values():
                f.write(g + "\n")
            f.write(tail)
        os.chmod(self.conf + ".new", 0o644)
        os.replace(self.conf + ".new", self.conf)

    def argv(self):
        """The command that runs turnd (a subclass may wrap it)."""
        return [TURND, "-c", self.conf]

    def binding_ok(self):
        """Whether turnd answers a STUN Binding on its UDP port."""
        return stun_binding("127.0.0.1", self.port)

    def start(self, env=None, timeout_s=10.0):
        logf = open(self.logpath, "ab")
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(self.argv(),
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=e)
        logf.close()
        self.started_at = time.monotonic()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.rc = self.proc.returncode
                self.dump_log(40)
                raise Abort("turnd exited at start with %d" % self.rc)
            if self.binding_ok() and os.path.exists(self.sock):
                return self
            time.sleep(0.05)
        self.dump_log(40)
        raise Abort("turnd did not answer within %.0f s" % timeout_s)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout_s):
        """The exit status, or None when still running after timeout_s."""
        try:
            self.rc = self.proc.wait(timeout=timeout_s)
            return self.rc
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout_s=10.0):
        """SIGTERM, wait; the exit status (SIGKILL and None after)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            if self.wait(timeout_s) is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                log("turnd did not stop within %.0f s" % timeout_s)
                self.rc = None
                return None
        self.rc = self.proc.returncode
        return self.rc

    def log_text(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def dump_log(self, limit=300):
        lines = self.log_text().splitlines()
        print("---- turnd log %s (last %d lines) ----" % (self.logpath,
            min(limit, len(lines))), file=sys.stderr)
        for line in lines[-limit:]:
            print(line, file=sys.stderr)
        print("---- end of log ----", file=sys.stderr, flush=True)

    def cleanup(self, failed):
        self.stop()
        if failed:
            self.dump_log()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- turnctl

    def ctl(self, *args, sock=None, as_user=None, timeout_s=20):
        """Runs turnctl -s SOCK ARGS; returns (exit status, stdout, stderr)."""
        argv = [TURNCTL, "-s", sock or self.sock] + list(args)
        return run(argv, as_user=as_user, timeout_s=timeout_s)

    def ctl_json(self, *args, **kw):
        rc, out, err = self.ctl("--json", *args, **kw)
        T.require(rc == 0, "turnctl --json %s exits 0" % " ".join(args),
            "exit %d, stderr %r" % (rc, err))
        try:
            return json.loads(out)
        except ValueError as e:
            T.require(False, "turnctl --json %s prints JSON" %
                " ".join(args), "%s: %r" % (e, out[:500]))

    def stats(self):
        return self.ctl_json("stats")

    def sessions(self, user=None):
        return self.ctl_json("sessions", *(["--user", user] if user else []))

    # -- HTTP

    def http(self, path, method="GET"):
        """(status, body, headers) of a request to the metrics listener."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" %
            (self.metrics_port, path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace"), dict(e.headers)

    def metrics(self):
        status, body, headers = self.http("/metrics")
        T.require(status == 200, "/metrics answers 200", status)
        return parse_metrics(body, headers)


def run(argv, as_user=None, timeout_s=20, env=None):
    """Runs argv (as (uid, gid) when given); (status, stdout, stderr)."""
    pre = None
    if as_user is not None:
        uid, gid = as_user

        def pre():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=timeout_s, preexec_fn=pre, env=env)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------- metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? '
    r'([-+]?([0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|NaN|[-+]Inf))$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


class Metrics(dict):
    """(name, frozenset of label pairs) -> value; get() by name and labels."""

    def get_value(self, name, **labels):
        return self.get((name, frozenset(labels.items())))

    def total(self, name):
        return sum(v for (n, _), v in self.items() if n == name)


def parse_metrics(text, headers=None):
    """Parses the Prometheus text format 0.0.4, checking its grammar."""
    m = Metrics()
    types = {}
    if headers is not None:
        ctype = {k.lower(): v for k, v in headers.items()}.get(
            "content-type", "")
        T.check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
            "/metrics Content-Type is text/plain; version=0.0.4", ctype)
    T.check(text.endswith("\n"), "/metrics ends with a newline")
    bad = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not parts[3]:
                bad.append(line)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge",
                    "histogram", "summary", "untyped") or parts[2] in types:
                bad.append(line)
            else:
                types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or not line:
            continue
        s = _SAMPLE.match(line)
        if s is None:
            bad.append(line)
            continue
        name, labels = s.group(1), {}
        if s.group(3):
            rest = s.group(3)
            while rest:
                lm = _LABEL.match(rest)
                if lm is None:
                    bad.append(line)
                    break
                labels[lm.group(1)] = lm.group(2)
                rest = rest[lm.end():]
        key = (name, frozenset(labels.items()))
        if name not in types:
            bad.append(line + "   (no TYPE before it)")
        if key in m:
            bad.append(line + "   (duplicate series)")
        if types.get(name) == "counter" and not name.endswith("_total") \
                and not name.startswith("turn_total_"):
            bad.append(line + "   (a counter's name ends in _total)")
        m[key] = float(s.group(4))
    T.check(not bad, "/metrics parses as the text format",
        "\n      ".join(bad[:10]))
    return m


# ---------------------------------------------------------------- traffic

class Traffic:
    """One turn_traffic process and its JSON lines."""

    def __init__(self, srv, user=None, password=None, secret=None, ident=None,
                 ttl=None, count=100, size=200, via="chan", family=4,
                 transport="udp", refresh_ms=1000, rate=0, hold=70,
                 wait=True):
        argv = [TRAFFIC, "--port", str(srv.port), "--count", str(count),
            "--size", str(size), "--via", via, "--family", str(family),
            "--transport", transport, "--refresh-ms", str(refresh_ms),
            "--hold", str(hold), "--rate", str(rate)]
        if secret is not None:
            argv += ["--secret", secret]
            if ident is not None:
                argv += ["--id", ident]
            if ttl is not None:
                argv += ["--ttl", str(ttl)]
        else:
            argv += ["--user", user, "--password", password]
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.lines = []
        self.summary = None
        self.error = None
        self.end = None
        self.rc = None
        if wait:
            self.wait_summary()

    def wait_summary(self, timeout_s=20):
        ev = self.next_event(timeout_s)
        if ev is None:
            raise Abort("turn_traffic gave no summary: %s" %
                " ".join(self.argv))
        if ev["event"] == "error":
            self.error = ev
            self.finish()
        else:
            self.summary = ev
        return ev

    def next_event(self, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        ev = json.loads(line)
        self.lines.append(ev)
        if ev.get("event") == "end":
            self.end = ev
        return ev

    def expect(self, event, timeout_s=20):
        while True:
            ev = self.next_event(timeout_s)
            if ev is None:
                raise Abort("turn_traffic: no %r line" % event)
            if ev["event"] == event:
                return ev

    def command(self, line, event=None, timeout_s=20, may_end=False):
        """
        Sends a command; returns the line answering it (event), or None
        when the tool ended without one and may_end (else Abort).
        """
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it ended; what it said before is still there
        if event is None:
            return None
        try:
            return self.expect(event, timeout_s)
        except Abort:
            if may_end:
                return None
            raise

    def report(self):
        return self.command("report", "report")

    def finish(self, timeout_s=20):
        """Closes stdin; returns the exit status (the end line in .end)."""
        if self.rc is not None:
            return self.rc
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        deadline = time.monotonic() + timeout_s
        while self.end is None and self.error is None and \
                time.monotonic() < deadline:
            if self.next_event(deadline - time.monotonic()) is None:
                break
        try:
            self.rc = self.proc.wait(timeout=max(0.1,
                deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        if err:
            log("turn_traffic stderr: " + err.strip())
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass

    @property
    def user(self):
        return self.summary["user"]

    @property
    def password(self):
        return self.summary["password"]


def counts(ev):
    """(c2p packets, c2p bytes, p2c packets, p2c bytes) that arrived."""
    return (ev["client_to_peer"]["packets"], ev["client_to_peer"]["bytes"],
        ev["peer_to_client"]["packets"], ev["peer_to_client"]["bytes"])


def check_clean(ev, what):
    T.check(ev.get("ok") is True and ev["lost"] == 0 and
        ev["corrupt"] == 0 and ev["client_to_peer"]["sent"] ==
        ev["client_to_peer"]["packets"] == ev["peer_to_client"]["sent"] ==
        ev["peer_to_client"]["packets"], what + ": every datagram came back",
        ev)


def sums(evs):
    tot = [0, 0, 0, 0]
    for ev in evs:
        for i, v in enumerate(counts(ev)):
            tot[i] += v
    return tuple(tot)


# ---------------------------------------------------------------- a case

class Case:
    """What a case started, stopped and removed at its end."""

    def __init__(self):
        self.servers = []
        self.tools = []
        self.dirs = []

    def turnd(self, **kw):
        srv = Turnd(**kw)
        self.servers.append(srv)
        return srv

    def traffic(self, srv, **kw):
        t = Traffic(srv, **kw)
        self.tools.append(t)
        return t

    def tempdir(self):
        d = tempfile.mkdtemp(prefix="turnd-ops-")
        self.dirs.append(d)
        return d

    def close(self, failed):
        for t in self.tools:
            t.kill()
        for srv in self.servers:
            srv.cleanup(failed)
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


_LOGLINE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z '
    r'level=(error|warn|info|debug) event=([a-z0-9_]+)((?: [a-z0-9_]+='
    r'(?:[^\s"=]*|"(?:[^"\\]|\\.)*"))*)$')
# the quoted form first: the bare one also matches the empty string
_LOGPAIR = re.compile(r' ([a-z0-9_]+)=("(?:[^"\\]|\\.)*"|[^\s"=]*)')


def log_events(text):
    """
    Parses a turnd log: one event a line, "TIME level=L event=E" and
    key=value pairs, a value with a space, quote or equals sign quoted
    with backslash escapes.  Returns ([(level, event, {key: value})],
    [lines that do not parse]).
    """
    events, bad = [], []
    for line in text.splitlines():
        m = _LOGLINE.match(line)
        if m is None:
            bad.append(line)
            continue
        kv = {}
        for k, v in _LOGPAIR.findall(m.group(3)):
            if v.startswith('"'):
                v = re.sub(r'\\(.)', r'\1', v[1:-1])
            kv[k] = v
        events.append((m.group(1), m.group(2), kv))
    return events, bad


def table_stats(text):
    """The numbers of `turnctl stats`' table."""
    out = {}
    m = re.search(r"^allocations\s+(\d+) \(udp (\d+), tcp (\d+), tls (\d+); "
        r"relays ipv4 (\d+), ipv6 (\d+)\)$", text, re.M)
    if m:
        out["allocations"] = dict(zip(("total", "udp", "tcp", "tls", "ipv4",
            "ipv6"), map(int, m.groups())))
    for k in ("users", "permissions", "channels", "connections"):
        m = re.search(r"^%s\s+(\d+)$" % k, text, re.M)
        if m:
            out[k] = int(m.group(1))
    for k, name in (("client->peer", "client_to_peer"),
                    ("peer->client", "peer_to_client")):
        m = re.search(r"^%s\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$" %
            re.escape(k), text, re.M)
        if m:
            out[name] = {"packets": int(m.group(1)),
                "bytes": int(m.group(2)),
                "packets_per_s": float(m.group(3)),
                "bytes_per_s": float(m.group(4))}
    m = re.search(r"^error responses:(.*)$", text, re.M)
    if m:
        out["errors"] = {k: int(v) for k, v in
            re.findall(r"(\w+)=(\d+)", m.group(1))}
    out["counters"] = {k: int(v) for k, v in
        re.findall(r"^([a-z0-9_]+)\s+(\d+)$", text, re.M)
        if k not in ("users", "permissions", "channels", "connections")}
    out["workers"] = [tuple(map(int, r)) for r in re.findall(
        r"^(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", text, re.M)]
    return out
