#!/usr/bin/python3
"""
Interop harness: starts a TURN server on loopback for the interop tests and
stops it again.

The server is either coturn (`turnserver`, configured through a generated
turnserver.conf) or turnd (the binary named by $TURND, configured through a
generated libconfig file in the schema of shared/CONFIG.md).  Both get the
same picture:

  - listeners on 127.0.0.1 and ::1, one random free port P in 20000-29999
    (UDP and TCP; TLS on P+2 when asked for), never 3478/5349;
  - relay addresses 127.0.0.1 and ::1 with a narrow random port range in
    30000-39999 (never the 49152-65535 range);
  - realm "interop.test", one static user, one shared secret for TURN REST
    credentials (username "expiry:id", password
    base64(HMAC-SHA1(secret, username)));
  - loopback peers allowed (or not, for the tests that prove the default
    deny), RFC 5766 channel numbers accepted on turnd when asked for.

start() returns once the server answers a STUN Binding request on both
listeners; every file (config, logs, pid) lives in one temporary directory
that dump_logs() prints when a test fails and cleanup() removes.

Besides the TurnServer class, `harness.py run [options] -- CMD ...` starts a
server, runs CMD with TURN_* variables describing it in the environment and
stops the server, so a shell script can be an interop test too.
"""

import argparse
import base64
import hashlib
import hmac
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

LOOPBACK = ("127.0.0.1", "::1")
REALM = "interop.test"
USER = "interop"
PASSWORD = "interop-password-1"
SECRET = "interop-shared-secret-1"

LISTEN_PORT_MIN, LISTEN_PORT_MAX = 20000, 29999
RELAY_PORT_MIN, RELAY_PORT_MAX = 30000, 39999

# Meson's "skipped" exit status.
EXIT_SKIP = 77


class HarnessError(Exception):
    pass


class Skip(Exception):
    """A tool this test needs is not installed."""


def log(msg):
    print("[interop] " + msg, file=sys.stderr, flush=True)


def need_program(name):
    path = shutil.which(name)
    if path is None:
        raise Skip("%s is not installed (Debian package: %s)" %
            (name, "coturn" if name.startswith("turn") else name))
    return path


# ---------------------------------------------------------------- ports

def _port_free(port, families=("udp", "tcp")):
    for host in LOOPBACK:
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        for proto in families:
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
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


def free_port_block(count, lo, hi, families=("udp", "tcp"), tries=200):
    """
    Returns the first port of `count` consecutive ports in [lo, hi] that are
    free on 127.0.0.1 and ::1 for every protocol in families.  Random, and
    bounded in tries; raises HarnessError when nothing free is found.
    """
    rng = random.SystemRandom()
    for _ in range(tries):
        base = rng.randint(lo, hi - count + 1)
        if all(_port_free(base + i, families) for i in range(count)):
            return base
    raise HarnessError("no block of %d free ports in %d-%d" % (count, lo, hi))


def free_port(families=("udp",)):
    return free_port_block(1, LISTEN_PORT_MIN, LISTEN_PORT_MAX, families)


# ---------------------------------------------------------------- credentials

def rest_credentials(secret, ident, ttl_s=3600, now=None):
    """TURN REST API credentials: ("expiry:id", base64(HMAC-SHA1))."""
    expiry = int(now if now is not None else time.time()) + ttl_s
    username = "%d:%s" % (expiry, ident) if ident else "%d" % expiry
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode()


# ---------------------------------------------------------------- STUN probe

STUN_MAGIC = 0x2112A442


def stun_binding(host, port, timeout_s=0.5):
    """
    Sends one STUN Binding request over UDP and returns the XOR-MAPPED-ADDRESS
    of the success response as (ip, port), or None when nothing valid came
    back within timeout_s.
    """
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    tid = os.urandom(12)
    req = struct.pack("!HHI", 0x0001, 0, STUN_MAGIC) + tid
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout_s)
        s.connect((host, port))
        s.send(req)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                data = s.recv(2048)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if len(data) < 20 or data[8:20] != tid:
                continue
            mtype, mlen, magic = struct.unpack("!HHI", data[:8])
            if mtype != 0x0101 or magic != STUN_MAGIC or 20 + mlen > len(data):
                return None
            return _xor_mapped(data[20:20 + mlen], tid)
    finally:
        s.close()
    return None


def _xor_mapped(attrs, tid):
    off = 0
    while off + 4 <= len(attrs):
        atype, alen = struct.unpack("!HH", attrs[off:off + 4])
        val = attrs[off + 4:off + 4 + alen]
        off += 4 + ((alen + 3) & ~3)
        if atype != 0x0020 or len(val) < 8:
            continue
        fam = val[1]
        port = struct.unpack("!H", val[2:4])[0] ^ (STUN_MAGIC >> 16)
        key = struct.pack("!I", STUN_MAGIC) + tid
        if fam == 1:
            raw = bytes(a ^ b for a, b in zip(val[4:8], key[:4]))
            return socket.inet_ntop(socket.AF_INET, raw), port
        if fam == 2 and len(val) >= 20:
            raw = bytes(a ^ b for a, b in zip(val[4:20], key))
            return socket.inet_ntop(socket.AF_INET6, raw), port
    return ("?", 0)


# ---------------------------------------------------------------- TLS

def make_certificate(workdir):
    """
    Makes a throw-away CA and a server certificate for localhost, 127.0.0.1
    and ::1 with openssl; returns (ca, cert, key) paths.
    """
    openssl = need_program("openssl")
    ca_key = os.path.join(workdir, "ca.key")
    ca = os.path.join(workdir, "ca.pem")
    key = os.path.join(workdir, "server.key")
    csr = os.path.join(workdir, "server.csr")
    cert = os.path.join(workdir, "server.pem")
    ext = os.path.join(workdir, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
            "extendedKeyUsage=serverAuth\n")
    steps = [
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key,
         "-out", ca, "-days", "2", "-subj", "/CN=turnd interop CA"],
        [openssl, "req", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
         "-out", csr, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise HarnessError("openssl failed: %s\n%s" %
                (" ".join(cmd), r.stdout.decode(errors="replace")))
    return ca, cert, key


# ---------------------------------------------------------------- processes

class Proc:
    """A child process we started, its output in a file, stopped by PID."""

    def __init__(self, name, argv, logpath, env=None):
        self.name = name
        self.argv = argv
        self.logpath = logpath
        self._log = open(logpath, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace_s=5.0):
        """SIGTERM, then SIGKILL after grace_s; returns the exit status."""
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) ignored SIGTERM, killing" %
                    (self.name, self.pid))
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=grace_s)
        self._log.close()
        return self.popen.returncode


class EchoPeer:
    """turnutils_peer: a UDP echo peer on one loopback address."""

    def __init__(self, workdir, host="127.0.0.1"):
        exe = need_program("turnutils_peer")
        self.host = host
        self.port = free_port(("udp",))
        tag = "peer6" if ":" in host else "peer4"
        self.proc = Proc(tag, [exe, "-L", host, "-p", str(self.port)],
            os.path.join(workdir, tag + ".log"))
        self._wait_ready()

    def _wait_ready(self, timeout_s=5.0):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if not self.proc.alive():
                    break
                try:
                    s.sendto(b"interop-peer-probe", (self.host, self.port))
                    if s.recvfrom(2048)[0] == b"interop-peer-probe":
                        return
                except (socket.timeout, ConnectionRefusedError):
                    pass
        finally:
            s.close()
        raise HarnessError("turnutils_peer on %s:%d did not echo" %
            (self.host, self.port))

    def stop(self):
        self.proc.stop()


# ---------------------------------------------------------------- the server

class TurnServer:
    """
    One TURN server under test.

    kind            "coturn" or "turnd" (default: $SERVER, else turnd)
    peers_allowed   allow loopback peers (127.0.0.1/32, ::1/128)
    legacy_channels turnd: relay.legacy_channel_numbers = true
    tls             also listen for TLS on port+2 with a fresh certificate
    relay_ports     size of the relay port range
    auth            "user": the static user only; "secret": the shared
                    secret only (coturn's use-auth-secret turns its static
                    users off, so the two are never mixed, on either server)
    extra_config    lines appended to the generated configuration (coturn
                    options such as "max-bps=10000", or turnd settings)
    """

    def __init__(self, kind=None, peers_allowed=True, legacy_channels=False,
                 tls=False, relay_ports=64, auth="user", extra_config=(),
                 workdir=None, keep=None):
        self.kind = kind or os.environ.get("SERVER", "turnd")
        if self.kind not in ("coturn", "turnd"):
            raise HarnessError("SERVER must be coturn or turnd, not %r" %
                self.kind)
        if auth not in ("user", "secret"):
            raise HarnessError("auth must be user or secret, not %r" % auth)
        self.auth = auth
        self.extra_config = list(extra_config)
        self.peers_allowed = peers_allowed
        self.legacy_channels = legacy_channels
        self.tls = tls
        self.relay_ports = relay_ports
        self.keep = keep if keep is not None else \
            os.environ.get("INTEROP_KEEP") == "1"
        self.workdir = workdir or tempfile.mkdtemp(prefix="turn-interop-")
        self.realm = REALM
        self.user = USER
        self.password = PASSWORD
        self.secret = SECRET
        self.hosts = LOOPBACK
        self.port = None
        self.tls_port = None
        self.relay_min = self.relay_max = None
        self.ca = self.cert = self.key = None
        self.proc = None
        self.conf_path = None
        self.log_path = os.path.join(self.workdir, self.kind + ".log")
        self.peers = []

    # -- life cycle

    def start(self, timeout_s=15.0):
        if self.kind == "turnd":
            exe = os.environ.get("TURND")
            if not exe:
                raise HarnessError("TURND is not set: the path of the "
                    "turnd binary (or run with SERVER=coturn)")
            if not os.access(exe, os.X_OK):
                raise HarnessError("TURND=%s is not executable" % exe)
        else:
            exe = need_program("turnserver")
        # Listeners: P (UDP+TCP), P+1 (coturn's RFC 5780 alternate port),
        # P+2 and P+3 (TLS/DTLS and its alternate).
        self.port = free_port_block(4, LISTEN_PORT_MIN, LISTEN_PORT_MAX)
        self.tls_port = self.port + 2 if self.tls else None
        self.relay_min = free_port_block(self.relay_ports, RELAY_PORT_MIN,
            RELAY_PORT_MAX, families=("udp",))
        self.relay_max = self.relay_min + self.relay_ports - 1
        if self.tls:
            self.ca, self.cert, self.key = make_certificate(self.workdir)
        if self.kind == "coturn":
            argv = self._coturn_config(exe)
        else:
            argv = self._turnd_config(exe)
        log("starting %s: %s (listen %d, relay %d-%d, workdir %s)" % (
            self.kind, " ".join(argv), self.port, self.relay_min,
            self.relay_max, self.workdir))
        out = os.path.join(self.workdir, self.kind + ".out")
        self.proc = Proc(self.kind, argv, out)
        with open(os.path.join(self.workdir, "server.pid"), "w") as f:
            f.write("%d\n" % self.proc.pid)
        deadline = time.monotonic() + timeout_s
        pending = list(self.hosts)
        while pending and time.monotonic() < deadline:
            if not self.proc.alive():
                raise HarnessError("%s exited with status %s during start-up"
                    % (self.kind, self.proc.popen.returncode))
            if stun_binding(pending[0], self.port, 0.3) is not None:
                pending.pop(0)
            else:
                time.sleep(0.1)
        if pending:
            raise HarnessError("%s did not answer a STUN Binding on %s "
                "port %d within %.0f s" % (self.kind, pending[0], self.port,
                timeout_s))
        log("%s ready, pid %d" % (self.kind, self.proc.pid))
        return self

    def stop(self):
        """Stops the server (and any peer started through it)."""
        for p in self.peers:
            p.stop()
        self.peers = []
        if self.proc is None:
            return None
        rc = self.proc.stop(grace_s=10.0)
        self.proc = None
        return rc

    def cleanup(self, failed=False):
        self.stop()
        if failed:
            self.dump_logs()
        if self.keep or failed:
            log("files kept in %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def dump_logs(self, limit=200):
        """Prints the config and the last lines of every log to stderr."""
        for name in sorted(os.listdir(self.workdir)):
            if not name.endswith((".log", ".out", ".conf")):
                continue
            path = os.path.join(self.workdir, name)
            try:
                with open(path, "rb") as f:
                    lines = f.read().decode(errors="replace").splitlines()
            except OSError:
                continue
            print("----- %s (last %d of %d lines) -----" % (name,
                min(limit, len(lines)), len(lines)), file=sys.stderr)
            for line in lines[-limit:]:
                print(line, file=sys.stderr)
        sys.stderr.flush()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.cleanup(failed=exc_type is not None)
        return False

    def add_peer(self, host="127.0.0.1"):
        """Starts a turnutils_peer echo peer that stops with the server."""
        p = EchoPeer(self.workdir, host)
        self.peers.append(p)
        return p

    # -- helpers for tests

    def rest_credentials(self, ident="interop-rest", ttl_s=3600):
        return rest_credentials(self.secret, ident, ttl_s)

    def env(self):
        """The server described as TURN_* environment variables."""
        e = {
            "TURN_SERVER_KIND": self.kind,
            "TURN_HOST": self.hosts[0],
            "TURN_HOST6": self.hosts[1],
            "TURN_PORT": str(self.port),
            "TURN_REALM": self.realm,
            "TURN_USER": self.user,
            "TURN_PASSWORD": self.password,
            "TURN_SECRET": self.secret,
            "TURN_RELAY_MIN": str(self.relay_min),
            "TURN_RELAY_MAX": str(self.relay_max),
            "TURN_PID": str(self.proc.pid if self.proc else 0),
            "TURN_WORKDIR": self.workdir,
            "TURN_PEERS_ALLOWED": "1" if self.peers_allowed else "0",
            "TURN_AUTH": self.auth,
        }
        if self.tls:
            e.update({"TURN_TLS_PORT": str(self.tls_port),
                "TURN_CA": self.ca})
        return e

    # -- configuration

    def _coturn_config(self, exe):
        lines = []
        for h in self.hosts:
            lines.append("listening-ip=%s" % h)
        for h in self.hosts:
            lines.append("relay-ip=%s" % h)
        lines += [
            "listening-port=%d" % self.port,
            "alt-listening-port=%d" % (self.port + 1),
            "min-port=%d" % self.relay_min,
            "max-port=%d" % self.relay_max,
            "realm=%s" % self.realm,
            "fingerprint",
            "lt-cred-mech",
            "no-cli",
            "no-dtls",
            "no-multicast-peers",
            "userdb=%s" % os.path.join(self.workdir, "coturn.db"),
            "pidfile=%s" % os.path.join(self.workdir, "coturn.pid"),
            "log-file=%s" % self.log_path,
            "simple-log",
            "no-stdout-log",
        ]
        if self.auth == "user":
            lines.append("user=%s:%s" % (self.user, self.password))
        else:
            lines += ["use-auth-secret",
                "static-auth-secret=%s" % self.secret]
        if self.peers_allowed:
            lines.append("allow-loopback-peers")
        if self.tls:
            lines += [
                "tls-listening-port=%d" % self.tls_port,
                "alt-tls-listening-port=%d" % (self.tls_port + 1),
                "cert=%s" % self.cert,
                "pkey=%s" % self.key,
                "no-tlsv1",
                "no-tlsv1_1",
            ]
        else:
            lines.append("no-tls")
        lines += self.extra_config
        self.conf_path = os.path.join(self.workdir, "turnserver.conf")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return [exe, "-c", self.conf_path]

    def _turnd_config(self, exe):
        def q(s):
            return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')

        listen = []
        for h in self.hosts:
            listen.append('  { address = %s; port = %d; transports = '
                '[ "udp", "tcp" ]; }' % (q(h), self.port))
            if self.tls:
                listen.append('  { address = %s; port = %d; transports = '
                    '[ "tls" ]; }' % (q(h), self.tls_port))
        allow = '[ "127.0.0.1/32", "::1/128" ]' if self.peers_allowed \
            else "[ ]"
        text = [
            "# generated by tests/interop/harness.py",
            "realm = %s;" % q(self.realm),
            "listen = (\n%s\n);" % ",\n".join(listen),
            "relay = {",
            "  addresses = [ %s ];" % ", ".join(q(h) for h in self.hosts),
            "  port_min = %d;" % self.relay_min,
            "  port_max = %d;" % self.relay_max,
            "  legacy_channel_numbers = %s;" %
                ("true" if self.legacy_channels else "false"),
            "};",
            "auth = {",
            ("  users = ( { name = %s; password = %s; } );" %
                (q(self.user), q(self.password)) if self.auth == "user" else
             "  secrets = [ %s ];" % q(self.secret)),
            "};",
            # with loopback allowed, client-to-client through this server
            # (uclient -y and -T) needs the relayed addresses as peers too
            "peers = { allow = %s; relay_to_relay = %s; };" % (allow,
                "true" if self.peers_allowed else "false"),
            "control = { socket = %s; };" %
                q(os.path.join(self.workdir, "turnd.sock")),
            'metrics = { listen = ""; };',
            'log = { level = "info"; };',
            # A short drain so that SIGTERM ends a test quickly.
            'process = { user = ""; group = ""; pidfile = ""; drain = 2; };',
        ]
        if self.tls:
            text += [
                "tls = {",
                "  certificate = %s;" % q(self.cert),
                "  private_key = %s;" % q(self.key),
                "};",
            ]
        text += self.extra_config
        self.conf_path = os.path.join(self.workdir, "turnd.conf")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(text) + "\n")
        check = subprocess.run([exe, "-n", "-c", self.conf_path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if check.returncode != 0:
            raise HarnessError("turnd -n rejected the generated config:\n%s"
                % check.stdout.decode(errors="replace"))
        # turnd logs to stderr, which Proc sends to turnd.out.
        self.log_path = os.path.join(self.workdir, "turnd.out")
        return [exe, "-c", self.conf_path]


# ---------------------------------------------------------------- command line

def main(argv=None):
    ap = argparse.ArgumentParser(description="Run a command against a TURN "
        "server started on loopback; TURN_* variables describe the server.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="start a server, run CMD, stop it")
    r.add_argument("--server", choices=("coturn", "turnd"),
        default=os.environ.get("SERVER", "turnd"))
    r.add_argument("--deny-peers", action="store_true",
        help="do not allow loopback peers")
    r.add_argument("--legacy-channels", action="store_true")
    r.add_argument("--auth", choices=("user", "secret"), default="user",
        help="static user (TURN_USER/TURN_PASSWORD) or shared secret "
        "(TURN_SECRET)")
    r.add_argument("--tls", action="store_true")
    r.add_argument("--extra", action="append", default=[], metavar="LINE",
        help="append LINE to the generated server configuration")
    r.add_argument("--peer", action="store_true",
        help="also start turnutils_peer on 127.0.0.1 (TURN_PEER_PORT)")
    r.add_argument("--timeout", type=float, default=120.0,
        help="seconds CMD may run")
    r.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")
    srv = TurnServer(args.server, peers_allowed=not args.deny_peers,
        legacy_channels=args.legacy_channels, tls=args.tls, auth=args.auth,
        extra_config=args.extra)
    failed = True
    try:
        srv.start()
        env = dict(os.environ)
        env.update(srv.env())
        if args.peer:
            env["TURN_PEER_PORT"] = str(srv.add_peer().port)
        try:
            rc = subprocess.run(cmd, env=env, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            log("command timed out after %.0f s" % args.timeout)
            rc = 124
        failed = rc != 0
        return rc
    except Skip as e:
        log("SKIP: %s" % e)
        failed = False
        return EXIT_SKIP
    except HarnessError as e:
        log("ERROR: %s" % e)
        return 1
    finally:
        srv.cleanup(failed=failed)


if __name__ == "__main__":
    sys.exit(main())
