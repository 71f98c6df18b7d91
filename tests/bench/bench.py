#!/usr/bin/python3
"""Relay benchmark: turnd against coturn and a bare forwarder on loopback.

Runs each server in turn (the order rotates every repetition), pinned to
one CPU with the load generator pinned to another, and prints medians,
spreads and ratios.  See tests/bench/README.md; run.sh is the entry point.

Only processes started here are ever signalled, by PID.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

USER, PASSWORD, REALM = "bench", "bench", "bench"
HZ = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# /proc readers


def proc_cpu(pid):
    """utime + stime of a whole process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def cpu_times():
    """Per CPU: (user+nice+system, irq+softirq, idle+iowait, steal), s."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not re.match(r"cpu\d", line):
                continue
            p = line.split()
            v = [int(x) / HZ for x in p[1:9]]
            out[int(p[0][3:])] = (v[0] + v[1] + v[2], v[5] + v[6],
                                  v[3] + v[4], v[7])
    return out


def proc_mem(pid):
    """VmRSS and Pss in bytes."""
    rss = pss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


SLAB_CACHES = ("UDP", "sock_inode_cache", "filp", "eventpoll_epi",
               "eventpoll_pwq")


def kernel_sockmem():
    """UDP sockets in use, and bytes in the slab caches a socket uses."""
    udp = 0
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("UDP:"):
                udp = int(line.split()[2])
    slab = 0
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                p = line.split()
                if p and p[0] in SLAB_CACHES:
                    slab += int(p[1]) * int(p[3])
    except OSError:
        slab = None
    return udp, slab


def udp_drops():
    """Receive-queue drops of every loopback or wildcard UDP socket, by
    inode: (port, drops)."""
    out = {}
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            p = line.split()
            ip, port = p[1].split(":")
            if ip != "0100007F" and ip != "00000000":
                continue
            out[p[9]] = (int(port, 16), int(p[-1]))
    return out


def drops_delta(a, b, is_server_port):
    """Drops between two udp_drops() samples: (server's, others')."""
    srv = other = 0
    for ino, (port, d) in b.items():
        d -= a.get(ino, (port, 0))[1]
        if is_server_port(port):
            srv += d
        else:
            other += d
    return srv, other


# --------------------------------------------------------------------------
# Processes


class Proc:
    """A child process; stopped by PID only."""

    def __init__(self, argv, log_path, stdin=None, stdout=None):
        self.argv = argv
        self.logf = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdin=stdin,
                                  stdout=stdout or self.logf,
                                  stderr=self.logf)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
        return self.p.returncode


def pinned(cfg, cpu, argv):
    """argv on one CPU, at the niceness asked with --nice."""
    pre = ["nice", "-n", str(cfg.nice)] if cfg.nice else []
    return ["taskset", "-c", str(cpu)] + pre + argv


# --------------------------------------------------------------------------
# Servers


class Server:
    def __init__(self, name, cfg):
        self.name = name
        self.cfg = cfg
        self.port = cfg.ports[name]

    def is_listener_port(self, port):
        return port == self.port

    def is_server_port(self, port):
        return port == self.port or \
            self.cfg.relay_min <= port <= self.cfg.relay_max

    def argv(self, tmp):
        raise NotImplementedError

    def start(self, tmp, wrap=None, probe_s=20):
        argv = self.argv(tmp)
        if wrap:
            argv = wrap + argv
        p = Proc(pinned(self.cfg, self.cfg.server_cpu, argv),
                 os.path.join(tmp, f"{self.name}.log"))
        lg = self.cfg.loadgen_argv("probe", self, ["-t", str(probe_s)])
        r = subprocess.run(lg, capture_output=True, text=True)
        if r.returncode != 0 or not p.alive():
            p.stop()
            raise RuntimeError(f"{self.name} did not come up: "
                               f"{r.stderr.strip()} (see {tmp})")
        return p


class Turnd(Server):
    def argv(self, tmp):
        c = self.cfg
        conf = os.path.join(tmp, "turnd.conf")
        with open(conf, "w") as f:
            f.write(f"""# written by tests/bench/bench.py
realm = "{REALM}";
listen = ( {{ address = "127.0.0.1"; port = {self.port}; transports = [ "udp" ]; }} );
relay = {{ addresses = [ "127.0.0.1" ]; port_min = {c.relay_min}; port_max = {c.relay_max}; }};
auth = {{ users = ( {{ name = "{USER}"; password = "{PASSWORD}"; }} ); }};
peers = {{ allow = [ "127.0.0.1/32" ]; }};
udp = {{ rcvbuf = {c.listen_buf}; sndbuf = {c.listen_buf}; }};
quotas = {{ allocations_per_user = 0; allocations_total = 0; unauth_per_source = 0; }};
control = {{ socket = "{tmp}/turnd.sock"; }};
metrics = {{ listen = ""; }};
log = {{ level = "warn"; }};
process = {{ workers = 1; drain = 0; }};
""")
        return [c.turnd, "-c", conf]

    def check(self, tmp):
        argv = self.argv(tmp)
        r = subprocess.run([argv[0], "-n"] + argv[1:], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("turnd -n rejects the bench config:\n" +
                               r.stderr)


class Coturn(Server):
    def argv(self, tmp):
        c = self.cfg
        return [c.coturn, "-n", "--no-cli",
                "--listening-ip", "127.0.0.1",
                "--listening-port", str(self.port),
                "--relay-ip", "127.0.0.1",
                "--min-port", str(c.relay_min),
                "--max-port", str(c.relay_max),
                "--lt-cred-mech", "--user", f"{USER}:{PASSWORD}",
                "--realm", REALM,
                "--allow-loopback-peers",
                "--no-tls", "--no-dtls", "--no-tcp",
                "--relay-threads", "1",
                "--no-rfc5780",
                "--log-file", os.path.join(tmp, "coturn-server.log"),
                "--simple-log", "--no-stdout-log",
                "--pidfile", os.path.join(tmp, "coturn.pid"),
                "--userdb", os.path.join(tmp, "coturn.sqlite")]


class Forwarder(Server):
    def argv(self, tmp):
        c = self.cfg
        return [c.forwarder, "-l", f"127.0.0.1:{self.port}",
                "-p", f"{c.relay_min}-{c.relay_max}",
                "-b", str(c.listen_buf)]


# --------------------------------------------------------------------------
# Load generator runs


def kv(line):
    out = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            try:
                out[k] = float(v) if re.match(r"^-?[\d.]+$|^nan$", v) \
                    else v
            except ValueError:
                out[k] = v
    return out


class Sample:
    def __init__(self, server_pid, lg_pid):
        self.t = time.monotonic()
        self.srv = proc_cpu(server_pid)
        self.lg = proc_cpu(lg_pid)
        self.drv = proc_cpu(os.getpid())
        self.cpus = cpu_times()
        self.drops = udp_drops()


def window_stats(a, b, cfg):
    """What happened between two samples."""
    dt = b.t - a.t
    sc, lc = cfg.server_cpu, cfg.load_cpu

    def busy(cpu):
        return (b.cpus[cpu][0] - a.cpus[cpu][0]) + \
            (b.cpus[cpu][1] - a.cpus[cpu][1])

    srv = b.srv - a.srv
    lg = b.lg - a.lg
    return {
        "wall_s": dt,
        "server_cpu_s": srv,
        "loadgen_cpu_s": lg,
        "server_core_busy": busy(sc) / dt,
        "load_core_busy": busy(lc) / dt,
        "server_core_s": busy(sc),
        # others' processes on our CPUs: user+system not ours
        "foreign_server_core": max(0.0, (b.cpus[sc][0] - a.cpus[sc][0])
                                   - srv) / dt,
        "foreign_load_core": max(0.0, (b.cpus[lc][0] - a.cpus[lc][0])
                                 - lg - (b.drv - a.drv)) / dt,
        "steal": ((b.cpus[sc][3] - a.cpus[sc][3]) +
                  (b.cpus[lc][3] - a.cpus[lc][3])) / dt,
    }


def run_loadgen(cfg, server, server_pid, mode, args, on_event=None,
                stdin=None, tag=""):
    """Runs loadgen; samples /proc at every window edge.  Returns
    (reports, windows, events)."""
    argv = cfg.loadgen_argv(mode, server, args)
    logp = os.path.join(cfg.tmp, f"loadgen-{server.name}{tag}.log")
    wait_quiet(cfg)
    p = Proc(argv, logp, stdin=stdin or subprocess.DEVNULL,
             stdout=subprocess.PIPE)
    reports, windows, events = [], {}, []
    starts = {}
    try:
        for raw in p.p.stdout:
            line = raw.decode(errors="replace").strip()
            with open(logp, "a") as f:
                f.write(line + "\n")
            ev = kv(line)
            events.append(ev)
            e = ev.get("event")
            if e == "window_start":
                w = int(ev["window"])
                starts[w] = Sample(server_pid, p.pid)
            elif e == "window_end":
                w = int(ev["window"])
                end = Sample(server_pid, p.pid)
                windows[w] = (starts[w], end)
            elif e == "report":
                w = int(ev["window"])
                # drops are read after the drain, while loadgen lives
                a, b = windows[w]
                now = udp_drops()
                d = drops_delta(a.drops, now, server.is_server_port)
                ws = window_stats(a, b, cfg)
                ws["server_drops"], ws["other_drops"] = d
                ws["listener_drops"] = drops_delta(
                    a.drops, now, server.is_listener_port)[0]
                ev.update(ws)
                reports.append(ev)
            if on_event:
                on_event(ev, p)
    finally:
        rc = p.p.wait()
        p.logf.close()
    if rc != 0:
        raise RuntimeError(f"loadgen {mode} against {server.name} failed "
                           f"(exit {rc}); see {logp}")
    return reports, events


def wait_quiet(cfg):
    """Waits until others leave both CPUs (almost) idle.  When the machine
    stayed busy for a whole wait, it is taken as busy for good: later waits
    are short and noisy runs are not repeated, until it is quiet again."""
    t_end = time.monotonic() + (2 if cfg.busy else cfg.quiet_wait)
    while True:
        a = cpu_times()
        time.sleep(0.5)
        b = cpu_times()
        busy = max((b[c][0] + b[c][1] - a[c][0] - a[c][1]) / 0.5
                   for c in (cfg.server_cpu, cfg.load_cpu))
        if busy < cfg.noise / 2:
            if cfg.busy:
                log("  the machine is quiet again")
            cfg.busy = False
            return busy
        if time.monotonic() > t_end:
            if not cfg.busy:
                log(f"  others keep the CPUs busy ({busy:.0%}): measuring "
                    "anyway, results marked ~ if all runs were noisy")
            cfg.busy = True
            return busy


def retry(cfg, attempt, was_noisy):
    """Whether to repeat a run that saw foreign load."""
    return was_noisy and attempt < cfg.retries and not cfg.busy


def noisy(ws, cfg):
    return ws["foreign_server_core"] > cfg.noise or \
        ws["foreign_load_core"] > cfg.noise


# --------------------------------------------------------------------------
# Measurements


def fixed_rate(cfg, server, proc):
    """Window 0: CPU and latency; window 1: syscalls under perf stat."""
    perf = {}

    def on_event(ev, lgp):
        if ev.get("event") == "window_start" and ev["window"] == 1:
            perf["p"] = subprocess.Popen(
                pinned(cfg, cfg.load_cpu, ["perf", "stat", "-x,", "-e",
                                      "raw_syscalls:sys_enter",
                                      "-e", "sched:sched_switch",
                                      "--filter", "prev_state == 1",
                                      "-p", str(proc.pid)]),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elif ev.get("event") == "window_end" and ev["window"] == 1:
            pp = perf["p"]
            pp.send_signal(signal.SIGINT)
            err = pp.communicate(timeout=20)[1].decode()
            for key, ev_name in (("n", "raw_syscalls:sys_enter"),
                                 ("cs", "sched:sched_switch")):
                m = re.search(r"^(\d+),[^,]*," + re.escape(ev_name), err,
                              re.M)
                perf[key] = int(m.group(1)) if m else None
            with open(os.path.join(cfg.tmp, f"perf-stat-{server.name}.txt"),
                      "a") as f:
                f.write(err)

    args = ["-n", str(cfg.allocs), "-r", str(cfg.rate),
            "-l", str(cfg.payload), "-w", str(cfg.warmup),
            "-d", str(cfg.window), "-W", "2",
            "--tick-us", str(cfg.tick_us)] + cfg.client_args
    reps, _ = run_loadgen(cfg, server, proc.pid, "relay", args, on_event,
                          tag="-fixed")
    w0, w1 = reps[0], reps[1]
    relayed = w0["relayed"]
    out = {
        "relayed_w0": relayed,
        "loss_pct": w0["loss_pct"],
        "cpu_us_per_pkt": 1e6 * w0["server_cpu_s"] / relayed,
        "c2p_p50_us": w0["c2p_p50_us"], "c2p_p99_us": w0["c2p_p99_us"],
        "p2c_p50_us": w0["p2c_p50_us"], "p2c_p99_us": w0["p2c_p99_us"],
        "loadgen_cpu_pct": 100 * w0["loadgen_cpu_s"] / w0["wall_s"],
        "load_core_busy": w0["load_core_busy"],
        "noise": max(w0["foreign_server_core"], w0["foreign_load_core"]),
        "noisy": noisy(w0, cfg),
        "syscalls_per_pkt": (perf["n"] / w1["relayed"]
                             if perf.get("n") and w1["relayed"] else None),
        "sleeps_per_pkt": (perf["cs"] / w1["relayed"]
                            if perf.get("cs") and w1["relayed"] else None),
        "server_drops": w0["server_drops"],
    }
    return out


def rate_step(cfg, server, proc, rate):
    args = ["-n", str(cfg.allocs), "-r", str(int(rate)),
            "-l", str(cfg.payload), "-w", str(cfg.search_warmup),
            "-d", str(cfg.search_window), "-W", "1",
            "--tick-us", str(cfg.tick_us)] + cfg.search_args
    for attempt in range(cfg.retries + 1):
        reps, _ = run_loadgen(cfg, server, proc.pid, "relay", args,
                              tag="-search")
        w = reps[0]
        if not retry(cfg, attempt, noisy(w, cfg)):
            break
        log(f"    noisy step ({server.name} @ {rate:.0f}), again")
    lag = w["c2p_lag"] + w["p2c_lag"]
    offered = 2 * rate * w["duration_s"]
    w["rate"] = rate
    w["noisy"] = noisy(w, cfg)
    w["lagging"] = lag > 0.01 * offered
    w["ok"] = w["loss_pct"] <= 1.0 and not w["lagging"]
    w["cpu_us_per_pkt"] = 1e6 * w["server_cpu_s"] / max(1, w["relayed"])
    log(f"    {server.name} {rate:>8.0f}/s each way: relayed "
        f"{w['relayed_rate']:>9.0f}/s loss {w['loss_pct']:6.2f}% "
        f"server core {100 * w['server_core_busy']:3.0f}% load core "
        f"{100 * w['load_core_busy']:3.0f}% drops srv/lg "
        f"{w['server_drops']:.0f}/{w['other_drops']:.0f} (listener "
        f"{w['listener_drops']:.0f})"
        f"{' LAG' if w['lagging'] else ''}")
    return w


def bottleneck(w):
    """Who lost the packets at the first rate that failed."""
    share = w["server_cpu_s"] / w["wall_s"]
    lg = w["load_core_busy"]
    if w["server_drops"] > 0 and w["server_drops"] >= w["other_drops"]:
        return (f"server: its sockets overflowed at "
                f"{w['rate'] * 2:.0f}/s offered (server CPU {share:.0%}, "
                f"load core {lg:.0%})")
    if w["other_drops"] > 0:
        return (f"loadgen: its sockets overflowed at "
                f"{w['rate'] * 2:.0f}/s offered (load core {lg:.0%}, "
                f"server CPU {share:.0%})")
    if w["lagging"]:
        return (f"loadgen: could not send {w['rate'] * 2:.0f}/s (load "
                f"core {lg:.0%}, server CPU {share:.0%})")
    return f"unclear (loss {w['loss_pct']:.1f}%)"


def confirmed_step(cfg, server, proc, rate):
    """A rate fails only if it fails again: a stall of the shared machine
    can overflow any socket once."""
    w = rate_step(cfg, server, proc, rate)
    for _ in range(cfg.confirm):
        if w["ok"]:
            break
        log(f"    {server.name} @ {rate:.0f}: failed, confirming")
        w2 = rate_step(cfg, server, proc, rate)
        if w2["ok"]:
            w = w2
    return w


def max_rate(cfg, server, proc):
    good, bad = None, None
    r = cfg.search_start
    while r <= cfg.search_max:
        w = confirmed_step(cfg, server, proc, r)
        if w["ok"]:
            good = w
            r *= cfg.search_factor
        else:
            bad = w
            break
    for _ in range(cfg.bisect if good and bad else 0):
        r = (good["rate"] + bad["rate"]) / 2
        w = confirmed_step(cfg, server, proc, r)
        if w["ok"]:
            good = w
        else:
            bad = w
    out = {"max_relayed_rate": good["relayed_rate"] if good else None}
    if good:
        out.update({
            "sat_cpu_us_per_pkt": good["cpu_us_per_pkt"],
            "sat_server_core_busy": good["server_core_busy"],
            "sat_load_core_busy": good["load_core_busy"],
            "sat_server_cpu_share": good["server_cpu_s"] / good["wall_s"],
            "sat_loadgen_cpu_pct": 100 * good["loadgen_cpu_s"] /
            good["wall_s"],
        })
    out["limit"] = bottleneck(bad) if bad else "search ceiling reached"
    if not good:
        out["limit"] += f"; even {cfg.search_start} each way failed"
    out["noisy"] = bool((good and good["noisy"]) or (bad and bad["noisy"]))
    return out


def alloc_rate(cfg, server, proc):
    args = ["-n", str(cfg.alloc_slots), "-w", str(cfg.warmup),
            "-d", str(cfg.window), "-W", "1"]
    for attempt in range(cfg.retries + 1):
        reps, _ = run_loadgen(cfg, server, proc.pid, "alloc", args,
                              tag="-alloc")
        w = reps[0]
        if not retry(cfg, attempt, noisy(w, cfg)):
            break
    done = max(1, w["done"])
    return {
        "allocs_per_s": w["rate"],
        "cpu_us_per_alloc": 1e6 * w["server_cpu_s"] / done,
        "alloc_failed": w["failed"],
        "alloc_seq_p50_ms": w["seq_p50_ms"],
        "alloc_server_cpu_share": w["server_cpu_s"] / w["wall_s"],
        "alloc_loadgen_cpu_pct": 100 * w["loadgen_cpu_s"] / w["wall_s"],
        "noisy": noisy(w, cfg),
    }


def idle_memory(cfg, server, proc):
    steps = cfg.hold_steps
    pts = []

    def on_event(ev, lgp):
        if ev.get("event") == "ready":
            time.sleep(0.5)
            rss, pss = proc_mem(proc.pid)
            udp, slab = kernel_sockmem()
            pts.append((ev["allocations"], rss, pss, udp, slab,
                        ev["failed"]))
            lgp.p.stdin.write(b"\n")
            lgp.p.stdin.flush()

    args = ["-H", ",".join(str(s) for s in steps), "--shared",
            "--no-cleanup", "-c", "64", "-t", "300"]
    run_loadgen(cfg, server, proc.pid, "hold", args, on_event,
                stdin=subprocess.PIPE, tag="-hold")
    (n0, r0, p0, u0, s0, f0), (n1, r1, p1, u1, s1, f1) = pts[0], pts[-1]
    dn = n1 - n0
    out = {
        "rss_per_alloc": (r1 - r0) / dn,
        "pss_per_alloc": (p1 - p0) / dn,
        "udp_sockets_per_alloc": (u1 - u0) / dn,
        "hold_failed": f1,
    }
    if s0 is not None:
        out["slab_per_alloc"] = (s1 - s0) / dn
    return out


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    return None


def callgrind_functions(path):
    """Exclusive instructions per function of a callgrind output."""
    r = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                       capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*)$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        name = m.group(2)
        name = name[4:] if name.startswith("???:") else \
            re.sub(r"^[^:]*:", "", name, count=1)
        name = re.sub(r" \[(.*/)?([^/]*)\]$", r" [\2]", name)
        out[name] = out.get(name, 0) + int(m.group(1).replace(",", ""))
    return out


def callgrind_per_packet(load, idle, n, top=25):
    """The functions that grow with traffic: (name, instr/pkt) pairs."""
    a, b = callgrind_functions(load), callgrind_functions(idle)
    d = {k: (a.get(k, 0) - b.get(k, 0)) / n for k in set(a) | set(b)}
    return sorted(d.items(), key=lambda kv: -kv[1])[:top]


def instructions(cfg, server):
    """User-space instructions per relayed packet: a loaded and an idle
    run under callgrind, the same setup in both, the difference divided
    by the packets relayed."""
    res = {}
    for kind, rate in (("load", cfg.cg_rate), ("idle", 0)):
        out = os.path.join(cfg.tmp, f"callgrind.{server.name}.{kind}")
        wrap = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        proc = server.start(cfg.tmp, wrap=wrap, probe_s=120)
        try:
            args = ["-n", str(cfg.allocs), "-r", str(rate),
                    "-l", str(cfg.payload), "-w", "0",
                    "-d", str(cfg.cg_seconds), "-W", "1",
                    "--tick-us", str(cfg.cg_tick_us), "-t", "300"] + \
                cfg.client_args
            reps, _ = run_loadgen(cfg, server, proc.pid, "relay", args,
                                  tag=f"-cg-{kind}")
        finally:
            proc.stop(timeout=60)
        res[kind] = (callgrind_total(out), reps[0]["relayed"],
                     reps[0]["loss_pct"])
    (ir_load, n, loss), (ir_idle, _, _) = res["load"], res["idle"]
    out = {"instr_per_pkt": (ir_load - ir_idle) / n if n else None,
           "cg_relayed": n, "cg_loss_pct": loss,
           "instr_setup_idle": ir_idle}
    if n:
        out["cg_top"] = callgrind_per_packet(
            os.path.join(cfg.tmp, f"callgrind.{server.name}.load"),
            os.path.join(cfg.tmp, f"callgrind.{server.name}.idle"), n)
    return out


def perf_profile(cfg, server):
    """perf record -e cpu-clock -g on the server under the fixed load;
    returns the top of perf report (self time by symbol)."""
    data = os.path.join(cfg.tmp, f"perf.{server.name}.data")
    rec = {}

    def on_event(ev, lgp):
        if ev.get("event") == "window_start":
            rec["p"] = subprocess.Popen(
                pinned(cfg, cfg.load_cpu, ["perf", "record", "-q", "-e",
                                      "cpu-clock", "-g", "-p", str(proc.pid),
                                      "-o", data]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif ev.get("event") == "window_end":
            rec["p"].send_signal(signal.SIGINT)
            rec["p"].wait(60)

    proc = server.start(cfg.tmp)
    try:
        args = ["-n", str(cfg.allocs), "-r", str(cfg.rate),
                "-l", str(cfg.payload), "-w", "1", "-d", "10", "-W", "1"] + \
            cfg.client_args
        run_loadgen(cfg, server, proc.pid, "relay", args, on_event,
                    tag="-perf")
    finally:
        proc.stop()
    r = subprocess.run(["perf", "report", "-i", data, "--stdio",
                        "--no-children", "--sort", "dso,symbol", "-g",
                        "none", "--percent-limit", "0.7"],
                       capture_output=True, text=True)
    txt = os.path.join(cfg.tmp, f"perf.{server.name}.txt")
    with open(txt, "w") as f:
        f.write(r.stdout)
    lines = [ln.rstrip() for ln in r.stdout.splitlines()
             if re.match(r"^\s+\d", ln)]
    return lines


# --------------------------------------------------------------------------
# Report


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    xs = [x for x in xs if x is not None]
    if len(xs) < 2:
        return ""
    return f"{min(xs):.4g}-{max(xs):.4g}"


def fmt(v, digits=4):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.{digits}g}"


ROWS = [
    ("cpu_us_per_pkt", "server CPU-s per 1M relayed pkts at fixed rate "
     "(utime+stime)"),
    ("syscalls_per_pkt", "syscalls per relayed packet"),
    ("sleeps_per_pkt", "server sleeps (blocking waits) per relayed packet"),
    ("instr_per_pkt", "user-space instructions per relayed packet"),
    ("max_relayed_rate", "highest relayed rate at <=1% loss, pkt/s"),
    ("sat_cpu_us_per_pkt", "server CPU-s per 1M pkts at that rate"),
    ("sat_server_cpu_share", "  server CPU share at that rate (0-1)"),
    ("sat_load_core_busy", "  load core busy at that rate (0-1)"),
    ("allocs_per_s", "allocations per second incl. the 401 round trip"),
    ("cpu_us_per_alloc", "server CPU-us per allocation"),
    ("alloc_server_cpu_share", "  server CPU share during the run (0-1)"),
    ("alloc_loadgen_cpu_pct", "  loadgen's own CPU % during the run"),
    ("rss_per_alloc", "RSS bytes per idle allocation (1k->5k)"),
    ("pss_per_alloc", "PSS bytes per idle allocation"),
    ("udp_sockets_per_alloc", "kernel UDP sockets per allocation"),
    ("slab_per_alloc", "kernel slab bytes per allocation (socket caches)"),
    ("c2p_p50_us", "one-way latency client->peer p50, us"),
    ("c2p_p99_us", "one-way latency client->peer p99, us"),
    ("p2c_p50_us", "one-way latency peer->client p50, us"),
    ("p2c_p99_us", "one-way latency peer->client p99, us"),
    ("loadgen_cpu_pct", "loadgen's own CPU % at fixed rate"),
    ("noise", "foreign CPU load seen at fixed rate (0-1)"),
]


def report(cfg, results):
    names = [s for s in cfg.servers]
    out = []
    w = 52
    hdr = f"{'metric':<{w}}" + "".join(f"{n:>22}" for n in names)
    if "turnd" in names and "coturn" in names:
        hdr += f"{'turnd/coturn':>14}"
    if "turnd" in names and "forwarder" in names:
        hdr += f"{'turnd/fwd':>11}"
    out.append(hdr)
    out.append("-" * len(hdr))
    for key, label in ROWS:
        vals, marks = {}, {}
        for n in names:
            have = [r for r in results[n] if r.get(key) is not None]
            clean = [r for r in have if key not in r.get("noisy_keys", ())]
            vals[n] = [r[key] for r in (clean or have)]
            marks[n] = "~" if have and not clean else ""
        meds = {n: med(vals[n]) for n in names}
        if all(m is None for m in meds.values()):
            continue
        line = f"{label:<{w}}"
        for n in names:
            sp = spread(vals[n])
            cell = marks[n] + fmt(meds[n]) + (f" [{sp}]" if sp else "")
            line += f"{cell:>22}"
        for a, b, wd in (("turnd", "coturn", 14), ("turnd", "forwarder", 11)):
            if a in names and b in names:
                ma, mb = meds[a], meds[b]
                line += f"{(fmt(ma / mb, 3) if ma and mb else '-'):>{wd}}"
        out.append(line)
    for n in names:
        limits = [r.get("limit") for r in results[n] if r.get("limit")]
        if limits:
            out.append(f"rate search limit, {n}: " + "; ".join(limits))
    return "\n".join(out)


def targets(results):
    def m(n, k):
        return med([r.get(k) for r in results.get(n, [])])

    t = []

    def ratio(label, a, b, limit, le=True):
        if a is None or b is None or not b:
            return
        r = a / b
        ok = r <= limit if le else r >= limit
        t.append(f"  {label}: {r:.2f} (target {'<=' if le else '>='} "
                 f"{limit}) {'met' if ok else 'NOT met'}")

    def info(label, a, b):
        if a is not None and b:
            t.append(f"  {label}: {a / b:.2f} (for comparison)")

    def absolute(label, a, limit):
        if a is None:
            return
        t.append(f"  {label}: {a:.4g} (target <= {limit}) "
                 f"{'met' if a <= limit else 'NOT met'}")

    ratio("CPU/pkt at fixed rate, turnd/forwarder",
          m("turnd", "cpu_us_per_pkt"), m("forwarder", "cpu_us_per_pkt"), 1.2)
    ratio("CPU/pkt at saturation, turnd/coturn",
          m("turnd", "sat_cpu_us_per_pkt"), m("coturn", "sat_cpu_us_per_pkt"),
          0.5)
    info("  the bare forwarder's, forwarder/coturn",
         m("forwarder", "sat_cpu_us_per_pkt"),
         m("coturn", "sat_cpu_us_per_pkt"))
    ratio("max relayed rate, turnd/coturn", m("turnd", "max_relayed_rate"),
          m("coturn", "max_relayed_rate"), 2.0, le=False)
    info("  the bare forwarder's, forwarder/coturn",
         m("forwarder", "max_relayed_rate"),
         m("coturn", "max_relayed_rate"))
    absolute("turnd syscalls per packet", m("turnd", "syscalls_per_pkt"), 2)
    absolute("turnd user instructions per packet",
             m("turnd", "instr_per_pkt"), 500)
    absolute("turnd user memory (RSS) per idle allocation, bytes",
             m("turnd", "rss_per_alloc"), 2048)
    ratio("allocations/s, turnd/coturn", m("turnd", "allocs_per_s"),
          m("coturn", "allocs_per_s"), 2.0, le=False)
    return "\n".join(t)


# --------------------------------------------------------------------------


def measure_on(cfg, srv, r, fn):
    """
    fn(cfg, srv, proc) against a freshly started server; its figures go
    into r, and those measured under foreign load into r["noisy_keys"].
    """
    p = srv.start(cfg.tmp)
    try:
        fig = fn(cfg, srv, p)
    finally:
        p.stop()
    if fig.pop("noisy", False):
        r.setdefault("noisy_keys", []).extend(fig)
    r.update(fig)


class Config:
    def __init__(self, a):
        self.quick = a.quick
        self.reps = a.reps or (2 if a.quick else 3)
        self.server_cpu, self.load_cpu = a.server_cpu, a.load_cpu
        self.servers = a.servers.split(",")
        self.metrics = set(a.only.split(",")) if a.only else \
            {"fixed", "max", "instr", "alloc", "mem"}
        self.turnd, self.loadgen_bin = a.turnd, a.loadgen
        self.forwarder, self.coturn = a.forwarder, a.coturn
        self.allocs, self.rate, self.payload = a.allocs, a.rate, a.payload
        self.client_args = ["--shared"] if a.shared else []
        # the search needs the cheapest generator: clients share a socket
        self.search_args = [] if a.search_per_socket else ["--shared"]
        self.warmup = 1
        self.window = 3 if a.quick else 5
        self.search_warmup = 0.5
        self.search_window = 2 if a.quick else 3
        self.search_start = a.rate
        self.search_max = 400000
        self.search_factor = 1.5
        self.bisect = 2 if a.quick else 3
        self.confirm = 1
        self.tick_us = a.tick_us
        # callgrind runs at 1/20 of the rate with 20 times the tick: the
        # same bursts, slowly enough for valgrind
        self.cg_rate = max(1, a.rate // 20)
        self.cg_tick_us = a.tick_us * 20
        self.cg_seconds = 2 if a.quick else 4
        self.alloc_slots = 32
        self.hold_steps = (1000, 5000)
        self.noise = a.noise
        self.retries = 2 if a.quick else 4
        base = a.port_base
        self.ports = {"turnd": base, "coturn": base + 10,
                      "forwarder": base + 20}
        self.relay_min, self.relay_max = base + 500, base + 8499
        self.tmp = a.out
        self.nice = a.nice
        # coturn gives its UDP listener 4 MiB (2 MiB asked, doubled by the
        # kernel); turnd and the forwarder get the same
        self.listen_buf = a.listen_buf
        self.quiet_wait = 10 if a.quick else 60
        self.busy = False

    def loadgen_argv(self, mode, server, args):
        argv = [self.loadgen_bin, mode, "-s",
                f"127.0.0.1:{server.port}", "-u", USER, "-p", PASSWORD]
        if server.name == "forwarder":
            argv.append("--forwarder")
        return pinned(self, self.load_cpu, argv + args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    build = os.environ.get("BUILD", os.path.join(ROOT, "build-bench"))
    ap.add_argument("--quick", action="store_true",
                    help="a few minutes instead of a quarter of an hour")
    ap.add_argument("--reps", type=int, help="repetitions (quick 2, full 3)")
    ap.add_argument("--servers", default="turnd,coturn,forwarder",
                    help="which, in this order (default: all three)")
    ap.add_argument("--only", help="fixed,max,instr,alloc,mem")
    ap.add_argument("--turnd", default=os.path.join(build, "turnd/turnd"),
                    help="turnd binary (run.sh: $TURND or the build's)")
    ap.add_argument("--loadgen",
                    default=os.path.join(build, "tests/bench/loadgen"),
                    help="loadgen binary")
    ap.add_argument("--forwarder",
                    default=os.path.join(build, "tests/bench/forwarder"),
                    help="forwarder binary")
    ap.add_argument("--coturn", default=os.environ.get(
        "COTURN", shutil.which("turnserver") or "/usr/bin/turnserver"),
        help="coturn's turnserver ($COTURN, else the one on the PATH)")
    ap.add_argument("--server-cpu", type=int, default=0,
                    help="CPU the server is pinned to")
    ap.add_argument("--load-cpu", type=int, default=1,
                    help="CPU loadgen (and perf, and this script) run on")
    ap.add_argument("--allocs", type=int, default=100,
                    help="allocations carrying the traffic")
    ap.add_argument("--rate", type=int, default=20000,
                    help="fixed rate, packets/s each way")
    ap.add_argument("--payload", type=int, default=100,
                    help="payload bytes")
    ap.add_argument("--tick-us", type=int, default=100,
                    help="loadgen's pacing tick at fixed rate: each tick "
                    "sends rate*tick packets each way back to back")
    ap.add_argument("--shared", action="store_true",
                    help="loadgen clients share one socket at fixed rate")
    ap.add_argument("--search-per-socket", action="store_true",
                    help="one socket per client in the rate search too")
    ap.add_argument("--noise", type=float, default=0.1,
                    help="foreign CPU share that makes a run repeat")
    ap.add_argument("--profile", action="store_true",
                    help="also perf record turnd under the fixed load and "
                    "print callgrind's per-packet functions")
    ap.add_argument("--listen-buf", type=int, default=2097152,
                    help="SO_RCVBUF/SO_SNDBUF asked for turnd's and the "
                    "forwarder's listening socket (coturn's own choice)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run servers and loadgen at this niceness (e.g. "
                    "-5 on a machine others keep busy; 0 by default)")
    ap.add_argument("--port-base", type=int, default=23400,
                    help="listening ports from here, relay ports from "
                    "here + 500 to here + 8499")
    ap.add_argument("--out", help="directory for logs and results")
    a = ap.parse_args()
    if not a.out:
        a.out = tempfile.mkdtemp(prefix="turnd-bench-")
    os.makedirs(a.out, exist_ok=True)
    cfg = Config(a)
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range")
                 .read().split())
    if not (cfg.relay_max < lo or cfg.relay_min > hi):
        log(f"warning: relay ports {cfg.relay_min}-{cfg.relay_max} overlap "
            f"the ephemeral range {lo}-{hi}; use --port-base")
    for exe in (cfg.turnd, cfg.loadgen_bin, cfg.forwarder):
        if not os.access(exe, os.X_OK):
            sys.exit(f"missing {exe}: build with run.sh or set BUILD")
    if "coturn" in cfg.servers and not os.access(cfg.coturn, os.X_OK):
        sys.exit(f"no coturn at {cfg.coturn}: install coturn or set COTURN")
    # the driver waits on the load CPU, never on the server's
    os.sched_setaffinity(0, {cfg.load_cpu})

    servers = {"turnd": Turnd("turnd", cfg), "coturn": Coturn("coturn", cfg),
               "forwarder": Forwarder("forwarder", cfg)}
    servers["turnd"].check(cfg.tmp)
    results = {n: [] for n in cfg.servers}
    t0 = time.monotonic()
    log(f"bench: {'quick' if cfg.quick else 'full'}, {cfg.reps} "
        f"repetitions, servers {', '.join(cfg.servers)}, output {cfg.tmp}")
    for rep in range(cfg.reps):
        order = cfg.servers[rep % len(cfg.servers):] + \
            cfg.servers[:rep % len(cfg.servers)]
        for name in order:
            srv = servers[name]
            r = {}
            log(f"rep {rep + 1}/{cfg.reps}: {name} "
                f"({time.monotonic() - t0:.0f} s)")
            if "fixed" in cfg.metrics:
                for attempt in range(cfg.retries + 1):
                    p = srv.start(cfg.tmp)
                    try:
                        fr = fixed_rate(cfg, srv, p)
                    finally:
                        p.stop()
                    if not retry(cfg, attempt, fr["noisy"]):
                        break
                    log(f"  noisy ({fr['noise']:.2f}), again")
                if fr.pop("noisy"):
                    r.setdefault("noisy_keys", []).extend(fr)
                r.update(fr)
                log(f"  fixed rate: {fr['cpu_us_per_pkt']:.2f} CPU-us/pkt, "
                    f"{fmt(fr['syscalls_per_pkt'])} syscalls/pkt, loss "
                    f"{fr['loss_pct']:.2f}%")
            if "max" in cfg.metrics and (rep == 0 or not cfg.quick):
                measure_on(cfg, srv, r, max_rate)
                log(f"  max rate: {fmt(r['max_relayed_rate'])} pkt/s "
                    f"({r['limit']})")
            if "alloc" in cfg.metrics and name != "forwarder":
                measure_on(cfg, srv, r, alloc_rate)
                log(f"  allocations: {r['allocs_per_s']:.0f}/s, "
                    f"{r['cpu_us_per_alloc']:.0f} CPU-us each")
            if "mem" in cfg.metrics and name != "forwarder" and \
                    (rep == 0 or not cfg.quick):
                measure_on(cfg, srv, r, idle_memory)
                log(f"  memory: {r['rss_per_alloc']:.0f} RSS bytes/alloc")
            if "instr" in cfg.metrics and rep == 0:
                r.update(instructions(cfg, srv))
                log(f"  callgrind: {fmt(r['instr_per_pkt'])} instr/pkt")
            results[name].append(r)
            with open(os.path.join(cfg.tmp, "results.json"), "w") as f:
                json.dump(results, f, indent=1)
    text = report(cfg, results)
    print()
    print(f"turnd bench ({'quick' if cfg.quick else 'full'}; "
          f"{cfg.reps} repetitions; {cfg.allocs} allocations, "
          f"{cfg.payload}-byte payloads, {cfg.rate} pkt/s each way; "
          f"server on CPU {cfg.server_cpu}, load on CPU {cfg.load_cpu}; "
          f"{f'nice {cfg.nice}; ' if cfg.nice else ''}"
          f"{time.monotonic() - t0:.0f} s)")
    print("median [min-max] per server over the runs without foreign load "
          "(~: every run had some); relayed = both directions; CPU-s per 1M "
          "packets = CPU-us per packet")
    print(text)
    tg = targets(results)
    if tg:
        print("\ntargets:")
        print(tg)
    if a.profile:
        for name in cfg.servers:
            for r in results[name]:
                if r.get("cg_top"):
                    print(f"\ncallgrind, {name}: instructions per relayed "
                          "packet by function (loaded minus idle run)")
                    for fn, v in r["cg_top"]:
                        print(f"  {v:8.1f}  {fn}")
        if "turnd" in cfg.servers:
            lines = perf_profile(cfg, servers["turnd"])
            print(f"\nperf record -e cpu-clock -g, turnd at {cfg.rate} "
                  "pkt/s each way (self time; call graphs in "
                  f"{cfg.tmp}/perf.turnd.data)")
            print("\n".join(lines[:40]))
    print(f"\nlogs and raw results: {cfg.tmp}")


if __name__ == "__main__":
    main()
