#!/usr/bin/python3
"""
A real browser relays through turnd: Debian's headless Chromium opens two
RTCPeerConnections whose only ICE server is a turnd started here on
loopback (iceTransportPolicy 'relay'), moves a few hundred DataChannel
messages each way through it, and the test proves the path from both ends:
getStats() in the browser (the selected candidate pair is relay on both
sides, over the expected transport) and turnd's own record (its log, and
its counters once turnctl or the metrics endpoint answer).

Chromium is driven through chromedriver (WebDriver over HTTP, spoken with
the Python standard library): chromedriver comes from the same Debian
source package as Chromium, so the two always match, and nothing is
downloaded at test time.

    browser_test.py [--keep] [--server turnd|coturn] CASE...
    browser_test.py --list

Environment: TURND (the turnd binary; required for --server turnd),
TURNCTL (turnctl, optional), CHROMIUM (default /usr/bin/chromium),
CHROMEDRIVER (default /usr/bin/chromedriver), BROWSER_MESSAGES (messages
each way, default 300), BROWSER_KEEP=1 (keep the temporary directory).
Exit status: 0 when every case passed, 1 otherwise (a missing browser or
tool is a failure, never a skip).  See README.md.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.path.join(HERE, "page.html")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

HOST = "127.0.0.1"
REALM = "browser.test"
USER = "browser"
# Listener and relay ports come from 10000-19999: below the kernel's
# ephemeral range (where Chromium's own sockets land) and away from the
# 20000-39999 the integration and interop tests draw from.
PORT_MIN, PORT_MAX = 10000, 19999
RELAY_PORTS = 32

# The flags that run Debian's Chromium headless on this kind of host; the
# loopback one lets WebRTC gather candidates towards 127.0.0.1 at all.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--allow-loopback-in-peer-connection",
]

# Per-case bounds (seconds).
START_TIMEOUT = 10.0
RELAY_TIMEOUT = 15.0
CASE_TIMEOUT = 40.0
# Once UDP answers, turnd has bound every listener.
STREAM_TIMEOUT = 2.0


class Failure(Exception):
    """The case failed; the message says why."""


class Missing(Failure):
    """Something the test needs is not installed."""


def log(msg):
    print("[browser] " + msg, file=sys.stderr, flush=True)


# Every HTTP request here goes to 127.0.0.1: never through a proxy that the
# environment may name.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------- cases

class Case:
    """
    transport: udp, tcp or tls (between the browser and the server);
    auth: static (the config's user) or rest (LiveKit's minted credentials);
    trusted: False leaves the test CA out of the browser's NSS store, and
    the case then passes only if Chromium refuses the server (proof that
    the certificate is checked at all).
    """

    def __init__(self, name, transport, auth, trusted=True):
        self.name = name
        self.transport = transport
        self.auth = auth
        self.trusted = trusted

    @property
    def what(self):
        scheme = "turns:" if self.transport == "tls" else "turn:"
        t = "tcp" if self.transport == "tls" else self.transport
        a = "static user" if self.auth == "static" else \
            "REST credentials minted as LiveKit does"
        if not self.trusted:
            return "%s...?transport=%s, %s, CA not trusted: Chromium " \
                "must refuse the server" % (scheme, t, a)
        return "%s...?transport=%s, %s" % (scheme, t, a)


CASES = [Case(t + "-" + a, t, a) for t in ("udp", "tcp", "tls")
         for a in ("static", "rest")]
CASES.append(Case("tls-untrusted", "tls", "static", trusted=False))
CASE_BY_NAME = {c.name: c for c in CASES}


# ---------------------------------------------------------------- helpers

def need(path, package):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise Missing("%s not found: install the Debian package %s" %
                      (path, package))
    return path


def need_program(name, package):
    path = shutil.which(name)
    if path is None:
        raise Missing("%s not found on PATH: install the Debian package %s" %
                      (name, package))
    return path


def port_free(port, kinds):
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_block(count, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM),
               avoid=(), tries=300):
    """The first of `count` consecutive free ports in PORT_MIN..PORT_MAX."""
    rng = random.SystemRandom()
    for _ in range(tries):
        base = rng.randint(PORT_MIN, PORT_MAX - count + 1)
        block = range(base, base + count)
        if any(p in avoid for p in block):
            continue
        if all(port_free(p, kinds) for p in block):
            return base
    raise Failure("no %d free consecutive ports in %d-%d" %
                  (count, PORT_MIN, PORT_MAX))


def livekit_participant_id():
    """A participant ID as LiveKit makes one: PA_ and 12 base57 characters."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "PA_" + "".join(secrets.choice(alphabet) for _ in range(12))


def livekit_credentials(secret, participant_id, ttl=14400, now=None):
    """
    TURN REST credentials exactly as LiveKit mints them for rtc.turn_servers
    with a secret: username "<expiry>:<participant id>" (expiry = now + ttl,
    4 hours by default), credential base64(HMAC-SHA1(secret, username)).
    """
    expiry = int(now if now is not None else time.time()) + ttl
    username = "%d:%s" % (expiry, participant_id)
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1)
    return username, base64.b64encode(mac.digest()).decode()


STUN_MAGIC = 0x2112A442


def stun_binding_ok(port, timeout=0.3):
    """True when a STUN Binding request to HOST:port gets a success."""
    tid = os.urandom(12)
    req = struct.pack("!HHI", 0x0001, 0, STUN_MAGIC) + tid
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((HOST, port))
        s.send(req)
        data = s.recv(2048)
        return len(data) >= 20 and data[:2] == b"\x01\x01" and \
            data[8:20] == tid
    except OSError:
        return False
    finally:
        s.close()


def tail(path, lines=80):
    try:
        with open(path, "rb") as f:
            text = f.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    return text[-lines:]


def udp_drops(ports):
    """
    {port: datagrams dropped} for 127.0.0.1 UDP sockets bound to one of
    ports that the kernel dropped datagrams on (a full receive buffer),
    from /proc/net/udp; {} if unreadable.
    """
    try:
        with open("/proc/net/udp") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return {}
    drops = {}
    for row in rows:
        fields = row.split()
        if len(fields) < 13:
            continue
        addr, _, port = fields[1].partition(":")
        port = int(port, 16)
        if addr == "0100007F" and port in ports and int(fields[-1]) > 0:
            drops[port] = drops.get(port, 0) + int(fields[-1])
    return drops


# ---------------------------------------------------------------- processes

class Proc:
    """A child we started, its output in a file, stopped by its PID."""

    def __init__(self, name, argv, out_path, env=None, new_session=False):
        self.name = name
        self.out_path = out_path
        self._out = open(out_path, "wb")
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=subprocess.STDOUT, env=env,
            start_new_session=new_session)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace=5.0):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) ignored SIGTERM; killing it" %
                    (self.name, self.pid))
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=grace)
        self._out.close()
        return self.popen.returncode


def leftover_pids(pgid, marker):
    """
    {pid: command name} of the live processes in process group pgid or
    whose command line holds marker (a directory made for this run, which
    Chromium's helpers carry in --user-data-dir= or --database= even after
    they have left the group), read from /proc.
    """
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                stat = f.read().decode(errors="replace")
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmdline = f.read().decode(errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) < 3 or fields[0] in ("Z", "X"):
            continue
        if int(fields[2]) == pgid or marker in cmdline:
            found[int(d)] = stat[stat.find("(") + 1:stat.rfind(")")]
    return found


# ---------------------------------------------------------------- TLS

def make_certificates(workdir):
    """
    A throw-away CA and a server certificate for 127.0.0.1 and localhost
    signed by it, made with openssl; returns (ca, cert, key) paths.
    """
    openssl = need_program("openssl", "openssl")
    ca_key = os.path.join(workdir, "ca.key")
    ca = os.path.join(workdir, "ca.pem")
    key = os.path.join(workdir, "server.key")
    csr = os.path.join(workdir, "server.csr")
    cert = os.path.join(workdir, "server.pem")
    ext = os.path.join(workdir, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    steps = [
        [openssl, "req", "-x509"] + ec + [
            "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=turnd browser test CA %s" % secrets.token_hex(4),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req"] + ec + [
            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", cert, "-days", "2", "-sha256",
         "-extfile", ext],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise Failure("openssl failed: %s\n%s" %
                          (" ".join(cmd), r.stdout.decode(errors="replace")))
    return ca, cert, key


def trust_ca_in_nss(home, ca):
    """
    Makes $HOME/.pki/nssdb, the NSS database Chromium on Linux reads for
    locally trusted certificates, in the browser's own throw-away HOME and
    trusts the test CA there for TLS servers only ("C,,").  Nothing outside
    this HOME changes, and certificate checks stay on.
    """
    certutil = need_program("certutil", "libnss3-tools")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db, mode=0o700, exist_ok=True)
    for cmd in ([certutil, "-N", "-d", "sql:" + db, "--empty-password"],
                [certutil, "-A", "-d", "sql:" + db, "-n",
                 "turnd browser test CA", "-t", "C,,", "-i", ca],
                [certutil, "-L", "-d", "sql:" + db]):
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise Failure("certutil failed: %s\n%s" %
                          (" ".join(cmd), r.stdout.decode(errors="replace")))
    return db


def tls_handshake_ok(port, ca, timeout=1.0):
    """None when a TLS handshake to HOST:port verifies with ca, else why."""
    ctx = ssl.create_default_context(cafile=ca)
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname=HOST):
                return None
    except (OSError, ssl.SSLError) as e:
        return str(e)


# ---------------------------------------------------------------- servers

class Server:
    """What every server offers the test."""

    kind = "?"

    def __init__(self, workdir, case):
        self.workdir = workdir
        self.case = case
        self.password = "browser-" + secrets.token_hex(8)
        self.secret = "browser-secret-" + secrets.token_hex(16)
        self.port = self.tls_port = None
        self.relay_min = self.relay_max = None
        self.ca = self.cert = self.key = None
        self.proc = None
        self.log_path = None

    def ports(self):
        # P: UDP (and TCP), P+1: coturn's alternate port, P+2: TLS,
        # P+3: coturn's alternate TLS port.
        self.port = free_block(4)
        if self.case.transport == "tls":
            self.tls_port = self.port + 2
        avoid = set(range(self.port, self.port + 4))
        self.relay_min = free_block(RELAY_PORTS, (socket.SOCK_DGRAM,),
                                    avoid)
        self.relay_max = self.relay_min + RELAY_PORTS - 1
        if self.case.transport == "tls":
            self.ca, self.cert, self.key = make_certificates(self.workdir)

    def url(self):
        # The forms LiveKit hands its clients for rtc.turn_servers.
        if self.case.transport == "tls":
            return "turns:%s:%d?transport=tcp" % (HOST, self.tls_port)
        return "turn:%s:%d?transport=%s" % (HOST, self.port,
                                            self.case.transport)

    def credentials(self):
        if self.case.auth == "static":
            return USER, self.password
        return livekit_credentials(self.secret, livekit_participant_id())

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if not self.proc.alive():
                raise Failure("%s exited with status %s during start-up" %
                              (self.kind, self.proc.popen.returncode))
            if stun_binding_ok(self.port):
                break
            if time.monotonic() > deadline:
                raise Failure("%s did not answer a STUN Binding on %s:%d "
                              "within %.0f s" % (self.kind, HOST, self.port,
                                                 START_TIMEOUT))
            time.sleep(0.1)
        # The stream listeners: a clear message when they are not there.
        deadline = time.monotonic() + STREAM_TIMEOUT
        if self.case.transport in ("tcp", "tls"):
            port = self.port if self.case.transport == "tcp" else \
                self.tls_port
            while True:
                try:
                    socket.create_connection((HOST, port), timeout=1).close()
                    break
                except OSError as e:
                    if time.monotonic() > deadline:
                        raise Failure(
                            "%s accepts no TCP connection on %s:%d for its "
                            "\"%s\" listener (%s): the case needs the %s "
                            "transport" % (self.kind, HOST, port,
                                           self.case.transport, e,
                                           self.case.transport.upper()))
                    time.sleep(0.1)
        if self.case.transport == "tls":
            why = tls_handshake_ok(self.tls_port, self.ca)
            if why is not None:
                raise Failure("%s's TLS listener on %s:%d did not complete a "
                              "verified TLS handshake: %s" %
                              (self.kind, HOST, self.tls_port, why))

    def stop(self):
        if self.proc is not None:
            rc = self.proc.stop(grace=10.0)
            self.proc = None
            return rc
        return None


class Turnd(Server):
    kind = "turnd"

    def start(self):
        exe = os.environ.get("TURND")
        if not exe:
            raise Failure("TURND is not set: the path of the turnd binary "
                          "(meson test sets it)")
        if not os.access(exe, os.X_OK):
            raise Failure("TURND=%s is not executable" % exe)
        self.ports()
        self.metrics_port = free_block(1, (socket.SOCK_STREAM,),
                                       set(range(self.port, self.port + 4)))
        self.control = os.path.join(self.workdir, "turnd.sock")
        conf = os.path.join(self.workdir, "turnd.conf")
        with open(conf, "w") as f:
            f.write(self.config_text())
        check = subprocess.run([exe, "-n", "-c", conf], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        if check.returncode != 0:
            raise Failure("turnd -n rejected the generated config:\n%s" %
                          check.stdout.decode(errors="replace"))
        self.log_path = os.path.join(self.workdir, "turnd.log")
        self.proc = Proc("turnd", [exe, "-c", conf], self.log_path)
        log("turnd pid %d: listen %s:%d%s, relay %d-%d" % (
            self.proc.pid, HOST, self.port,
            ", tls %d" % self.tls_port if self.tls_port else "",
            self.relay_min, self.relay_max))
        self.wait_ready()

    def config_text(self):
        def q(s):
            return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')

        transports = '[ "udp", "tcp" ]' if self.case.transport == "tcp" \
            else '[ "udp" ]'
        listen = ['  { address = %s; port = %d; transports = %s; }' %
                  (q(HOST), self.port, transports)]
        if self.case.transport == "tls":
            listen.append('  { address = %s; port = %d; transports = '
                          '[ "tls" ]; }' % (q(HOST), self.tls_port))
        text = [
            "# generated by tests/browser/browser_test.py",
            "realm = %s;" % q(REALM),
            "listen = (\n%s\n);" % ",\n".join(listen),
            "relay = { addresses = [ %s ]; port_min = %d; port_max = %d; };"
            % (q(HOST), self.relay_min, self.relay_max),
            "auth = {",
            "  users = ( { name = %s; password = %s; } );" %
            (q(USER), q(self.password)),
            "  secrets = [ %s ];" % q(self.secret),
            "};",
            # The relay addresses are on loopback, and so the peers are.
            # both peer connections are relayed through this server: each
            # one's peer is the other's relayed address
            'peers = { allow = [ "127.0.0.1/32" ]; relay_to_relay = true; };',
            "control = { socket = %s; };" % q(self.control),
            'metrics = { listen = "%s:%d"; };' % (HOST, self.metrics_port),
            # debug adds the channel_bound lines.
            'log = { level = "debug"; };',
            'process = { user = ""; group = ""; pidfile = ""; drain = 1; };',
        ]
        if self.case.transport == "tls":
            text += ["tls = {",
                     "  certificate = %s;" % q(self.cert),
                     "  private_key = %s;" % q(self.key),
                     "};"]
        return "\n".join(text) + "\n"


class Coturn(Server):
    """
    coturn, the reference: the same cases against it show that the test
    itself (TCP, TLS and the CA trusted through NSS included) is sound.
    coturn turns its static users off when a secret is set, so it gets the
    one credential source the case uses.
    """
    kind = "coturn"

    def start(self):
        exe = need_program("turnserver", "coturn")
        self.ports()
        self.log_path = os.path.join(self.workdir, "coturn.log")
        lines = [
            "listening-ip=%s" % HOST, "relay-ip=%s" % HOST,
            "listening-port=%d" % self.port,
            "alt-listening-port=%d" % (self.port + 1),
            "min-port=%d" % self.relay_min, "max-port=%d" % self.relay_max,
            "realm=%s" % REALM, "fingerprint", "lt-cred-mech", "no-cli",
            "no-dtls", "no-multicast-peers", "allow-loopback-peers",
            "userdb=%s" % os.path.join(self.workdir, "coturn.db"),
            "pidfile=%s" % os.path.join(self.workdir, "coturn.pid"),
            "log-file=%s" % self.log_path, "simple-log", "no-stdout-log",
            "verbose",  # session lines (ALLOCATE processed) in the log
        ]
        if self.case.auth == "static":
            lines.append("user=%s:%s" % (USER, self.password))
        else:
            lines += ["use-auth-secret", "static-auth-secret=%s" % self.secret]
        if self.case.transport == "tls":
            lines += ["tls-listening-port=%d" % self.tls_port,
                      "alt-tls-listening-port=%d" % (self.tls_port + 1),
                      "cert=%s" % self.cert, "pkey=%s" % self.key,
                      "no-tlsv1", "no-tlsv1_1"]
        else:
            lines.append("no-tls")
        if self.case.transport == "udp":
            lines.append("no-tcp")
        conf = os.path.join(self.workdir, "turnserver.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = Proc("coturn", [exe, "-c", conf],
                         os.path.join(self.workdir, "coturn.out"))
        log("coturn pid %d: listen %s:%d, relay %d-%d" % (
            self.proc.pid, HOST, self.port, self.relay_min, self.relay_max))
        self.wait_ready()


# ---------------------------------------------------------------- page

class PageServer:
    """Serves page.html at http://127.0.0.1:PORT/ from a thread."""

    def __init__(self):
        with open(PAGE, "rb") as f:
            body = f.read()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://%s:%d/" % (HOST, self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- browser

class WebDriverError(Failure):
    pass


class Browser:
    """
    Debian's Chromium under chromedriver, with a fresh HOME and profile in
    the case's directory.  chromedriver runs in a process group of its own;
    stop() ends the session, then chromedriver, then any process left in
    that group or carrying this HOME in its command line (Chromium's
    helpers), each by its PID.
    """

    def __init__(self, workdir, home):
        need(CHROMIUM, "chromium")
        need(CHROMEDRIVER, "chromium-driver")
        self.workdir = workdir
        self.home = home
        self.session = None
        self.version = None
        self.busy = False
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "TMPDIR": os.path.join(home, "tmp"),
            "LANG": "C.UTF-8",
        }
        os.makedirs(env["TMPDIR"], exist_ok=True)
        self.driver_log = os.path.join(workdir, "chromedriver.log")
        self.chrome_log = os.path.join(workdir, "chromium.log")
        self.driver_out = os.path.join(workdir, "chromedriver.out")
        self.proc = Proc("chromedriver",
                         [CHROMEDRIVER, "--port=0",
                          "--log-path=" + self.driver_log],
                         self.driver_out, env=env, new_session=True)
        try:
            self.port = self._read_port()
        except BaseException:
            self.stop()
            raise
        self.base = "http://%s:%d" % (HOST, self.port)

    def _read_port(self):
        """chromedriver --port=0 prints the port it took on stdout."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            m = re.search(r"started successfully on port (\d+)",
                          "\n".join(tail(self.driver_out, 20)))
            if m:
                return int(m.group(1))
            if not self.proc.alive():
                raise Failure("chromedriver exited with status %s at start: "
                              "%s" % (self.proc.popen.returncode,
                                      " | ".join(tail(self.driver_out, 5))))
            if time.monotonic() > deadline:
                raise Failure("chromedriver did not report its port within "
                              "%.0f s" % START_TIMEOUT)
            time.sleep(0.05)

    def call(self, method, path, body=None, timeout=30.0):
        self.busy = True
        v = self._call(method, path, body, timeout)
        self.busy = False
        return v

    def _call(self, method, path, body, timeout):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with HTTP.open(req, timeout=timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            try:
                v = json.load(e).get("value", {})
                msg = "%s: %s" % (v.get("error"), v.get("message"))
            except ValueError:
                msg = "HTTP %d" % e.code
            raise WebDriverError("chromedriver %s %s failed: %s" %
                                 (method, path, msg.strip()))
        except (urllib.error.URLError, OSError) as e:
            raise WebDriverError("chromedriver %s %s failed: %s" %
                                 (method, path, e))

    def open(self):
        profile = os.path.join(self.home, "profile")
        os.makedirs(profile, exist_ok=True)
        args = CHROMIUM_FLAGS + [
            "--user-data-dir=" + profile,
            "--enable-logging", "--log-file=" + self.chrome_log, "--v=0",
        ]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        v = self.call("POST", "/session", caps, timeout=START_TIMEOUT * 3)
        if not isinstance(v, dict) or "sessionId" not in v:
            raise Failure("chromedriver started no session: %r" % (v,))
        self.session = v["sessionId"]
        self.version = v.get("capabilities", {}).get("browserVersion")

    def go(self, url):
        self.call("POST", "/session/%s/url" % self.session, {"url": url})

    def run_async(self, script, args, timeout):
        self.call("POST", "/session/%s/timeouts" % self.session,
                  {"script": int(timeout * 1000)})
        return self.call("POST", "/session/%s/execute/async" % self.session,
                         {"script": script, "args": args},
                         timeout=timeout + 10)

    def console(self):
        if self.busy or self.session is None:
            return []
        try:
            entries = self.call("POST", "/session/%s/se/log" % self.session,
                                {"type": "browser"}, timeout=5)
            return ["%s %s" % (e.get("level"), e.get("message"))
                    for e in entries or []]
        except Failure:
            return []

    def stop(self):
        # chromedriver answers one command of a session at a time: while
        # one is still in flight (an interrupted script, say) a DELETE would
        # only wait for it, so the browser is then stopped from outside.
        try:
            if self.session is not None and not self.busy:
                try:
                    self.call("DELETE", "/session/%s" % self.session,
                              timeout=10)
                except Failure as e:
                    log("closing the browser session: %s" % e)
        finally:
            self.session = None
            self._stop_processes()

    def _stop_processes(self):
        pgid = self.proc.pid
        self.proc.stop(grace=2.0)
        # Chromium's processes leave on their own once the session is
        # closed; what is still there after a grace period (after an
        # interrupted start or script, say) is killed by PID.
        deadline = time.monotonic() + 3.0
        left = leftover_pids(pgid, self.home)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = leftover_pids(pgid, self.home)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            log("killed %d leftover browser process(es): %s" % (
                len(left), " ".join("%d (%s)" % kv for kv in left.items())))


RUN_SCRIPT = """
const done = arguments[arguments.length - 1];
runRelay(arguments[0]).then(done,
    (e) => done({ error: 'runRelay threw: ' + e }));
"""


# ---------------------------------------------------------------- turnd's view

LOG_KV = re.compile(r"(\w+)=(\S*)")
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer reports (a
# sanitizer build need not exit non-zero on them).
SANITIZER_REPORT = re.compile(r"ERROR: \w+Sanitizer|: runtime error: ")


def parse_log(path):
    """turnd's key=value log lines as dicts (those with an event)."""
    out = []
    for line in tail(path, 100000):
        kv = dict(LOG_KV.findall(line))
        if "event" in kv:
            out.append(kv)
    return out


def flatten(obj, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}; lists by index."""
    flat = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            flat.update(flatten(v, "%s%s." % (prefix, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            flat.update(flatten(v, "%s%d." % (prefix, i)))
    else:
        flat[prefix[:-1]] = obj
    return flat


# The counters the check needs, by their names in turnd/stats.h
# (ALLOC_CREATED, RELAY_C2P_BYTES, RELAY_P2C_BYTES) as turnctl's JSON keys
# spell them (counters.relay_c2p_bytes), or as Prometheus names with any
# prefix and an optional _total (turnd_alloc_created_total), or as one
# relayed-bytes metric with a direction label, which the metrics reader
# turns into "name.direction" (turnd_relayed_bytes_total.client_to_peer).
COUNTER_PATTERNS = {
    "alloc_created": re.compile(
        r"(^|[._|])alloc(ation)?s?_created(_total)?$", re.I),
    "relay_c2p_bytes": re.compile(
        r"(^|[._|])(relay_c2p_bytes(_total)?|"
        r"relayed_bytes(_total)?\.(client_to_peer|c2p))$", re.I),
    "relay_p2c_bytes": re.compile(
        r"(^|[._|])(relay_p2c_bytes(_total)?|"
        r"relayed_bytes(_total)?\.(peer_to_client|p2c))$", re.I),
}


def pick_counters(flat, source):
    """Sums the values whose names match COUNTER_PATTERNS."""
    got = {}
    for want, pat in COUNTER_PATTERNS.items():
        vals = [v for k, v in flat.items() if pat.search(k) and
                isinstance(v, (int, float)) and not isinstance(v, bool)]
        if vals:
            got[want] = sum(vals)
    missing = [k for k in COUNTER_PATTERNS if k not in got]
    if missing:
        raise Failure("%s answered but has no counter for %s; names seen: %s"
                      % (source, ", ".join(missing),
                         ", ".join(sorted(flat)[:60]) or "none"))
    return got


class TurndCounters:
    """
    turnd's own counters, from the first source that answers:
    `turnctl -s SOCKET --json stats` (TURNCTL), then the Prometheus text on
    metrics.listen.  None answering is not a failure: the log stays the
    record (see check_turnd); an answering source without the counters is.
    """

    def __init__(self, server):
        self.server = server
        self.unavailable = []

    def read(self):
        for fn in (self._turnctl, self._metrics):
            got = fn()
            if got is not None:
                return got
        return None

    def _turnctl(self):
        exe = os.environ.get("TURNCTL")
        if not exe:
            self.unavailable.append("turnctl: TURNCTL is not set")
            return None
        try:
            r = subprocess.run([exe, "-s", self.server.control, "--json",
                                "stats"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            self.unavailable.append("turnctl: %s" % e)
            return None
        if r.returncode != 0:
            why = (r.stderr or r.stdout).decode(errors="replace").strip()
            self.unavailable.append("turnctl stats: exit %d (%s)" %
                                    (r.returncode, why.splitlines()[0]
                                     if why else "no output"))
            return None
        try:
            data = json.loads(r.stdout.decode())
        except ValueError:
            raise Failure("turnctl --json stats exited 0 but printed no "
                          "JSON: %r" % r.stdout[:200])
        got = pick_counters(flatten(data), "turnctl --json stats")
        got["source"] = "turnctl --json stats"
        return got

    def _metrics(self):
        url = "http://%s:%d/metrics" % (HOST, self.server.metrics_port)
        try:
            with HTTP.open(url, timeout=5) as r:
                text = r.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as e:
            self.unavailable.append("metrics %s: %s" % (url, e))
            return None
        # One entry per sample, keyed "index|name" or, with a direction
        # label, "index|name.direction"; other labels are dropped, so that
        # the samples of one counter (per worker, say) are summed.
        flat = {}
        for line in text.splitlines():
            m = re.match(r"([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
            if not m or line.startswith("#"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            name = m.group(1)
            if "direction" in labels:
                name += "." + labels["direction"]
            try:
                v = float(m.group(3))
            except ValueError:
                continue
            flat["%d|%s" % (len(flat), name)] = int(v) if v.is_integer() \
                else v
        if not flat:
            raise Failure("%s answered with no metrics" % url)
        got = pick_counters(flat, url)
        got["source"] = url
        return got


# ---------------------------------------------------------------- checks

def expect(cond, msg):
    if not cond:
        raise Failure(msg)


def candidate_errors(res):
    return "; ".join("%s %s %s (%s)" % (e.get("pc"), e.get("errorCode"),
                                        e.get("errorText"), e.get("url"))
                     for e in res.get("candidateErrors", [])) or "none"


def check_browser(case, res, messages):
    """The exchange and the selected path, from the page's result."""
    if res.get("error"):
        raise Failure("in the browser: %s (icecandidateerror: %s)" %
                      (res["error"], candidate_errors(res)))
    expect(res["sent"] == messages and res["received"] == messages and
           res["echoed"] == messages,
           "sent %s, received %s, echoed %s of %d messages" %
           (res["sent"], res["received"], res["echoed"], messages))
    for name, cands in res["candidates"].items():
        expect(cands, "%s gathered no candidate" % name)
        other = [c for c in cands if c["type"] != "relay"]
        expect(not other, "%s gathered non-relay candidates under "
               "iceTransportPolicy 'relay': %s" % (name, other))
    for name in ("pc1", "pc2"):
        p = res["path"].get(name)
        expect(p, "%s: no selected candidate pair in getStats()" % name)
        expect(p["local"] and p["remote"],
               "%s: the selected pair's candidates are missing" % name)
        expect(p["local"]["candidateType"] == "relay",
               "%s: local candidate is %s, not relay" %
               (name, p["local"]["candidateType"]))
        expect(p["remote"]["candidateType"] == "relay",
               "%s: remote candidate is %s, not relay" %
               (name, p["remote"]["candidateType"]))
        expect(p["local"]["relayProtocol"] == case.transport,
               "%s: the local relay candidate reached the server over %s, "
               "not %s" % (name, p["local"]["relayProtocol"],
                           case.transport))
        expect(p["local"]["address"] == HOST and
               p["remote"]["address"] == HOST,
               "%s: selected pair %s -> %s is not on %s" %
               (name, p["local"]["address"], p["remote"]["address"], HOST))
        # A selected pair may have a consent check in flight.
        expect(p["state"] in ("succeeded", "in-progress"),
               "%s: selected pair is %s" % (name, p["state"]))
        expect((p.get("bytesSent") or 0) > 0 and
               (p.get("bytesReceived") or 0) > 0,
               "%s: selected pair moved no bytes" % name)
    l1, r1 = res["path"]["pc1"]["local"], res["path"]["pc1"]["remote"]
    l2, r2 = res["path"]["pc2"]["local"], res["path"]["pc2"]["remote"]
    expect((l1["port"], r1["port"]) == (r2["port"], l2["port"]),
           "the two ends disagree on the path: pc1 %s -> %s, pc2 %s -> %s" %
           (l1["port"], r1["port"], l2["port"], r2["port"]))


def check_refused(res, url):
    """An untrusted server: no candidate at all, an ICE error for its URL."""
    expect(res.get("error"), "the data channel opened through a server "
           "whose certificate the browser does not trust")
    for name in ("pc1", "pc2"):
        expect(not res["candidates"][name],
               "%s gathered candidates through an untrusted server: %s" %
               (name, res["candidates"][name]))
        errs = [e for e in res["candidateErrors"] if e.get("pc") == name]
        expect(errs and all(e.get("url") == url for e in errs),
               "%s reported no icecandidateerror for %s (errors: %s)" %
               (name, url, candidate_errors(res)))
    expect(res["received"] == 0, "messages crossed an untrusted server")


def wait_log(path, pred, seconds):
    """Polls turnd's log until pred(lines) holds; returns the lines."""
    deadline = time.monotonic() + seconds
    while True:
        lines = parse_log(path)
        if pred(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


RELEASE_EVENTS = ("alloc_deleted", "alloc_expired", "alloc_closed",
                  "alloc_freed")


def check_turnd(server, username, res, counters_before):
    """
    turnd's side.  Its log must show allocations for the case's username
    whose relayed addresses are exactly the relay candidates the browser
    selected (one allocation for each end), channels bound from each towards
    the other's relayed address, and both released when the browser closed
    its peer connections.  Byte counts on the release lines, and turnd's
    counters when turnctl or the metrics endpoint answer, must cover at least
    the payload that crossed the relay in each direction.
    """
    selected = {n: "%s:%s" % (res["path"][n]["local"]["address"],
                              res["path"][n]["local"]["port"])
                for n in ("pc1", "pc2")}

    def relays_of(lines):
        out = {}
        for kv in lines:
            if kv["event"] == "alloc_created" and \
                    kv.get("user") == username:
                for r in kv.get("relay", "").split(","):
                    if r:
                        out[r] = kv
        return out

    def ends(lines):
        """{allocation id: how it ended} for the selected allocations."""
        rel = relays_of(lines)
        mine = {rel[a].get("id"): rel[a].get("client")
                for a in selected.values() if a in rel}
        out = {}
        for kv in lines:
            if kv["event"] in RELEASE_EVENTS and kv.get("id") in mine:
                out[kv["id"]] = kv["event"]
        # Over TCP and TLS the allocation dies with its connection (RFC
        # 8656), which turnd logs as the connection's end only; Chromium
        # may close the connection before its Refresh(0) is out.
        for kv in lines:
            if kv["event"] == "connection_closed":
                for i, client in mine.items():
                    if kv.get("client") == client and i not in out:
                        out[i] = "connection_closed(%s)" % kv.get("reason")
        return out

    def released(lines):
        return len(ends(lines)) == 2

    lines = wait_log(server.log_path, released, 3.0)
    created = [kv for kv in lines if kv["event"] == "alloc_created"]
    mine = [kv for kv in created if kv.get("user") == username]
    expect(mine, "turnd logged no event=alloc_created with user=%s (%d "
           "allocation(s) for other users)" % (username, len(created)))
    relays = relays_of(lines)
    for n, addr in selected.items():
        expect(addr in relays,
               "%s's selected relay candidate %s is not an allocation turnd "
               "logged for user %s (it logged %s)" %
               (n, addr, username, ", ".join(sorted(relays)) or "none"))
    ids = {n: relays[a].get("id") for n, a in selected.items()}
    expect(ids["pc1"] != ids["pc2"],
           "both ends selected the same allocation %s" % ids["pc1"])
    clients = {n: relays[a].get("client") for n, a in selected.items()}

    bound = [kv for kv in lines if kv["event"] == "channel_bound"]
    chans = {n: sorted({kv.get("peer") for kv in bound
                        if kv.get("id") == ids[n]}) for n in ids}
    if bound:
        for n, other in (("pc1", "pc2"), ("pc2", "pc1")):
            expect(selected[other] in chans[n],
                   "allocation %s (%s) bound no channel to the other end's "
                   "relayed address %s (channels: %s)" %
                   (ids[n], n, selected[other], chans[n] or "none"))

    gone = [kv for kv in lines if kv["event"] in RELEASE_EVENTS and
            kv.get("id") in ids.values()]
    ended = ends(lines)
    for n in ids:
        expect(ids[n] in ended,
               "turnd logged no end of allocation %s (%s: %s, nor the close "
               "of its connection) after the browser closed its peer "
               "connection" % (ids[n], n, "/".join(RELEASE_EVENTS)))

    server_ports = {server.port} | set(range(server.relay_min,
                                              server.relay_max + 1))
    out = {
        "udp_drops": udp_drops(server_ports), "port": server.port,
        "allocations": len(mine), "ids": ids, "relays": selected,
        "clients": clients, "channels": chans,
        "released": sorted("%s %s" % kv for kv in ended.items()),
    }
    # Counts on the release lines, when turnd logs them: each allocation
    # relays one direction client to peer (pc1's the messages, pc2's the
    # echoes) and the other peer to client.
    payload = res["payloadBytes"]
    logged = {}
    for kv in gone:
        for k in ("c2p_bytes", "p2c_bytes", "c2p_pkts", "p2c_pkts"):
            if kv.get(k, "").isdigit():
                logged[k] = logged.get(k, 0) + int(kv[k])
    for k in ("c2p_bytes", "p2c_bytes"):
        if k in logged:
            expect(logged[k] >= 2 * payload,
                   "turnd's log shows %d %s over both allocations, less "
                   "than the %d payload bytes that crossed the relay" %
                   (logged[k], k, 2 * payload))
    out["logged_counts"] = logged

    counters = TurndCounters(server)
    after = counters.read()
    out["counters"] = None
    out["counters_unavailable"] = counters.unavailable
    if after is not None:
        before = counters_before or {}
        delta = {k: after[k] - before.get(k, 0) for k in COUNTER_PATTERNS}
        expect(delta["alloc_created"] >= len(mine),
               "%s: allocations created grew by %d, the log shows %d" %
               (after["source"], delta["alloc_created"], len(mine)))
        # Every message crosses the relay out of one allocation (client to
        # peer) and into the other (peer to client), forwards and echoed
        # back; DTLS and SCTP only add to the payload.
        for k in ("relay_c2p_bytes", "relay_p2c_bytes"):
            expect(delta[k] >= 2 * payload,
                   "%s: %s grew by %d, less than the %d payload bytes that "
                   "crossed the relay" % (after["source"], k, delta[k],
                                          2 * payload))
        delta["source"] = after["source"]
        out["counters"] = delta
    return out


def check_turnd_refused(server, username):
    """No allocation for a browser that refused the server's certificate."""
    lines = parse_log(server.log_path)
    mine = [kv for kv in lines if kv["event"] == "alloc_created" and
            kv.get("user") == username]
    expect(not mine, "turnd created %d allocation(s) for user %s although "
           "the browser does not trust its certificate" %
           (len(mine), username))
    return {"allocations": 0}


def check_coturn(server, username, want):
    """coturn's side: successful ALLOCATEs logged for the username."""
    server.stop()  # coturn flushes its log file when it exits
    text = "\n".join(tail(server.log_path, 100000))
    n = len(re.findall(r"user <%s>: incoming packet ALLOCATE processed, "
                       r"success" % re.escape(username), text))
    expect(n >= 2 if want else n == 0,
           "coturn logged %d successful ALLOCATEs for user %s" %
           (n, username))
    return {"allocations": n}


# ---------------------------------------------------------------- one case

class CaseRun:
    """One case: its directory, server, page and browser, and their end."""

    def __init__(self, case, kind, messages, keep):
        self.case = case
        self.kind = kind
        self.messages = messages
        self.keep = keep
        self.workdir = tempfile.mkdtemp(prefix="turnd-browser-%s-" %
                                        case.name)
        self.home = os.path.join(self.workdir, "home")
        os.makedirs(self.home)
        self.server = (Turnd if kind == "turnd" else Coturn)(self.workdir,
                                                             case)
        self.browser = self.page = None
        self.res = None
        self.t0 = time.monotonic()

    def run(self):
        case, server = self.case, self.server
        # What the browser needs is checked before anything starts.
        need(CHROMIUM, "chromium")
        need(CHROMEDRIVER, "chromium-driver")
        server.start()
        if case.transport == "tls" and case.trusted:
            trust_ca_in_nss(self.home, server.ca)
        counters_before = TurndCounters(server).read() \
            if self.kind == "turnd" else None
        self.page = PageServer()
        self.browser = Browser(self.workdir, self.home)
        self.browser.open()
        log("%s: Chromium %s, page %s, ICE server %s" %
            (case.name, self.browser.version, self.page.url, server.url()))
        self.browser.go(self.page.url)
        username, credential = server.credentials()
        opts = {
            "iceServers": [{"urls": [server.url()], "username": username,
                            "credential": credential}],
            "messages": self.messages,
            "timeoutMs": int(RELAY_TIMEOUT * 1000),
        }
        budget = max(5.0, CASE_TIMEOUT - (time.monotonic() - self.t0))
        self.res = self.browser.run_async(RUN_SCRIPT, [opts],
                                          min(RELAY_TIMEOUT * 2, budget))
        res = self.res
        if not isinstance(res, dict):
            raise Failure("the page returned %r" % (res,))
        if not case.trusted:
            check_refused(res, server.url())
            srv = check_turnd_refused(server, username) \
                if self.kind == "turnd" else \
                check_coturn(server, username, False)
            log("%s: Chromium refused the untrusted server: %s; %s logged "
                "no allocation for user=%s" % (case.name,
                                              candidate_errors(res),
                                              self.kind, username))
            return
        check_browser(case, res, self.messages)
        if self.kind == "turnd":
            srv = check_turnd(server, username, res, counters_before)
        else:
            srv = check_coturn(server, username, True)
        report(case, self.kind, username, res, srv)

    def finish(self, ok):
        """
        Stops everything and removes the directory, whatever fails on the
        way (a closed stderr included); returns ok, or False when turnd did
        not stop cleanly.
        """
        with deferred_signals():
            return self._finish(ok)

    def _finish(self, ok):
        console = []
        try:
            if self.browser is not None:
                if not ok:
                    console = self.browser.console()[-40:]
                self.browser.stop()
        finally:
            try:
                if self.page is not None:
                    self.page.stop()
            finally:
                rc = self.server.stop()
                try:
                    if self.kind == "turnd" and rc not in (None, 0):
                        log("%s: FAIL: turnd exited with status %s on "
                            "SIGTERM" % (self.case.name, rc))
                        ok = False
                    if self.kind == "turnd" and self.server.log_path:
                        bad = [line for line in
                               tail(self.server.log_path, 100000)
                               if SANITIZER_REPORT.search(line)]
                        if bad:
                            log("%s: FAIL: a sanitizer reported in turnd's "
                                "output: %s" % (self.case.name, bad[0]))
                            ok = False
                    if not ok:
                        self.dump(console)
                finally:
                    if self.keep:
                        log("files kept in %s" % self.workdir)
                    else:
                        shutil.rmtree(self.workdir, ignore_errors=True)
        log("%s: %s in %.1f s" % (self.case.name, "PASS" if ok else "FAIL",
                                  time.monotonic() - self.t0))
        return ok

    def dump(self, console):
        for line in console:
            log("console: " + line)
        if isinstance(self.res, dict):
            dump_result(self.res)
        for name in ("turnd.conf", "turnd.log", "coturn.log",
                     "chromedriver.log", "chromium.log"):
            lines = tail(os.path.join(self.workdir, name), 60)
            if lines:
                log("----- %s (last %d lines) -----" % (name, len(lines)))
                for line in lines:
                    print(line, file=sys.stderr)


def run_case(case, kind, messages, keep):
    run = CaseRun(case, kind, messages, keep)
    ok = False
    try:
        run.run()
        ok = True
    except Failure as e:
        log("%s: FAIL: %s" % (case.name, e))
    finally:
        # also on Interrupted: stop what this case started
        ok = run.finish(ok)
    return ok


def dump_result(res):
    for e in res.get("events", []):
        log("page: " + e)
    for n, cands in res.get("candidates", {}).items():
        for c in cands:
            log("page: %s candidate %s" % (n, c.get("candidate")))
    for e in res.get("candidateErrors", []):
        log("page: icecandidateerror %s" % json.dumps(e, sort_keys=True))
    for n, p in (res.get("path") or {}).items():
        log("page: %s selected %s" % (n, json.dumps(p, sort_keys=True)))


def report(case, kind, username, res, srv):
    p1, p2 = res["path"]["pc1"], res["path"]["pc2"]
    n = res["sent"]

    def side(name, p):
        return "%s %s/%s %s:%s -> %s %s:%s" % (
            name, p["local"]["candidateType"], p["local"]["relayProtocol"],
            p["local"]["address"], p["local"]["port"],
            p["remote"]["candidateType"], p["remote"]["address"],
            p["remote"]["port"])

    log("%s: %d messages each way (%d in all, %d payload bytes each way), "
        "content and order checked" % (case.name, n, 2 * n,
                                       res["payloadBytes"]))
    log("%s: getStats: %s; %s" % (case.name, side("pc1", p1),
                                  side("pc2", p2)))
    log("%s: getStats: pc1 pair bytesSent %s bytesReceived %s; pc2 pair "
        "bytesSent %s bytesReceived %s" % (case.name, p1["bytesSent"],
                                            p1["bytesReceived"],
                                            p2["bytesSent"],
                                            p2["bytesReceived"]))
    if kind != "turnd":
        log("%s: coturn log: %d successful ALLOCATEs for user=%s" %
            (case.name, srv["allocations"], username))
        return
    log("%s: turnd log: %d allocation(s) for user=%s; the selected relays "
        "%s are allocations %s of clients %s; channels %s; released %s" % (
            case.name, srv["allocations"], username, srv["relays"],
            srv["ids"], srv["clients"], srv["channels"], srv["released"]))
    if srv["udp_drops"]:
        log("%s: the kernel dropped datagrams on turnd's UDP sockets, a full "
            "receive buffer (SCTP retransmitted them): %s" % (
                case.name, ", ".join(
                    "%s %d: %d" % ("listener" if port == srv["port"] else
                                   "relay", port, n)
                    for port, n in sorted(srv["udp_drops"].items()))))
    if srv["logged_counts"]:
        log("%s: turnd log counts on release: %s" %
            (case.name, srv["logged_counts"]))
    else:
        log("%s: turnd's release lines carry no byte counts" % case.name)
    if srv["counters"]:
        log("%s: turnd counters: %s" % (case.name, srv["counters"]))
    else:
        log("%s: turnd counters not available (%s); the log is the record" %
            (case.name, "; ".join(srv["counters_unavailable"])))


# ---------------------------------------------------------------- main

class Interrupted(Exception):
    pass


def _on_signal(signum, frame):
    # Once: the cleanup this starts must not be cut short by a second one.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted("signal %d" % signum)


class deferred_signals:
    """
    SIGTERM and SIGINT wait while a case cleans up, so that cleaning up is
    never cut short; one that came meanwhile is raised at the end.
    """

    def __enter__(self):
        self.got = []
        self.old = [(s, signal.getsignal(s))
                    for s in (signal.SIGTERM, signal.SIGINT)]
        for s, _ in self.old:
            signal.signal(s, lambda signum, frame: self.got.append(signum))
        return self

    def __exit__(self, *exc):
        for s, h in self.old:
            signal.signal(s, h)
        if self.got and exc[0] is None:
            for s, h in self.old:
                if callable(h):
                    h(self.got[0], None)
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description="Headless Chromium relays a "
                                 "WebRTC DataChannel through a TURN server "
                                 "on loopback.")
    ap.add_argument("cases", nargs="*", metavar="CASE",
                    help="cases to run (see --list)")
    ap.add_argument("--list", action="store_true", help="list the cases")
    ap.add_argument("--server", choices=("turnd", "coturn"),
                    default=os.environ.get("SERVER", "turnd"),
                    help="the TURN server under test (default turnd)")
    ap.add_argument("--keep", action="store_true",
                    default=os.environ.get("BROWSER_KEEP") == "1",
                    help="keep the temporary directories")
    ap.add_argument("--messages", type=int,
                    default=int(os.environ.get("BROWSER_MESSAGES", "300")),
                    help="messages each way (default 300)")
    args = ap.parse_args(argv)
    if args.list:
        for c in CASES:
            print("%-13s %s" % (c.name, c.what))
        return 0
    if not args.cases:
        ap.error("no case given (--list shows them)")
    unknown = [c for c in args.cases if c not in CASE_BY_NAME]
    if unknown:
        ap.error("unknown case(s): %s" % ", ".join(unknown))
    if args.messages < 1:
        ap.error("--messages must be at least 1")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    passed = failed = 0
    try:
        for name in args.cases:
            if run_case(CASE_BY_NAME[name], args.server, args.messages,
                        args.keep):
                passed += 1
            else:
                failed += 1
    except Interrupted as e:
        log("interrupted (%s); stopped what this test started" % e)
        failed += 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
