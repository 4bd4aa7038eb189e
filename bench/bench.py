#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
bench.py - the xdp-mirror benchmark (`make bench`, `make bench-quick`).

Four systems mirror the same generated traffic, in one run, on the same
topology and cores:

  xdp-mirror     build/mirror-appliance + mirrorctl, VXLAN collector, match rule
  tc-recipe      tc u32 filter on the DUT's ingress, action mirred egress
                 mirror dev vxlan (remote = collector)
  afxdp-ceiling  XDP -> AF_XDP -> 50-byte header in the headroom -> AF_XDP TX
                 from the same UMEM chunk, no classification (xm-ref xsk)
  xdp-native     XDP prepends the header and XDP_REDIRECTs to the TX veth
                 through a devmap, no AF_XDP (xm-ref native)

Topology, one copy per system (idle copies cost nothing):

  ns gen: gX <-veth-> aX (ns dut-X) ... bX <-veth-> cX (ns col)

xm-gen sends UDP frames on gX; the system under test mirrors them from aX
out of bX; an XDP program on cX counts the VXLAN copies (xm-ref count).  A
fifth pair, gZ -> aZ with the same counter as a bare XDP_DROP peer,
measures what the generator alone costs.

Two measurements per system and configuration (veth runs the receive
NAPI on the sender's CPU, so "the DUT's core" needs care):

  cost  everything on CPU 0, the generator yielding to the DUT (nice 0
        against the DUT threads' -20: the weight ratio of nice 19 against
        0, without letting this shared machine's other tasks starve the
        generator).  CPU time (schedstat, ns) of every task involved in a
        steady-state window (generator, DUT threads, ksoftirqd/0: on one
        core the softirq work runs in their context) minus the
        generator's own cost per frame (from the XDP_DROP peer, same run)
        times the frames sent, divided by the mirrored frames.
  rate  generator on CPU 0, the DUT on CPU 1: daemon / AF_XDP threads
        pinned there; the receive veth's NAPI, which runs the XDP
        programs, switched to threaded NAPI and its kthread pinned there
        (where a NIC's interrupt would put it); RPS to CPU 1 for the
        recipe.  Generator and DUT threads at nice -20, the analogue of
        the softirq priority the kernel paths have.  Offered and
        delivered rate, loss and the counters that show where it was
        lost.

Plus a search over xm-gen --rate for the highest offered rate with zero
loss (one and two collectors; on this VM the threaded veth ring loses
0.01-2 % even into a bare XDP_DROP peer, so "zero" is "no more than that
peer's worst loss in a sweep of the same run"), the mirrors offered the
rate at which the recipe began to lose, xdp-mirror with 1..10000 rules (mirrorctl -batch),
and the rule-update publish latency (xm-churn).

Output: DIR/<timestamp>.json, .md (tables and ratios) and .png (plots).
Runs as root.  The machine is shared and noisy: every figure is the
median over interleaved repetitions, and ratios within one run are the
figures to compare.
"""
import argparse
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# xdp-mirror runs twice: with its default datapath (auto: the XDP fast
# path for single-collector copies) and forced through AF_XDP.
MIRRORS = ["xdp-mirror", "xdp-mirror-afxdp"]
SYSTEMS = MIRRORS + ["tc-recipe", "afxdp-ceiling", "xdp-native"]
OTHERS = SYSTEMS[len(MIRRORS):]
LETTER = {"xdp-mirror": "m", "xdp-mirror-afxdp": "f", "tc-recipe": "r",
          "afxdp-ceiling": "x",
          "xdp-native": "n", "baseline": "z"}
SUBNET = {"xdp-mirror": 1, "tc-recipe": 2, "afxdp-ceiling": 3,
          "xdp-native": 4, "baseline": 5, "xdp-mirror-afxdp": 6}
GEN_CPU = 0
DUT_CPU = 1
FLOWS = 16
# The generator's frames (xm-gen defaults) and the rule that matches them.
MATCH_DST = "10.9.0.2"
MATCH_DPORT = 5000
# veth refuses XDP when the peer's MTU exceeds a page less the XDP
# headroom; 2000 carries a 1500-byte frame plus a 50-byte header.
LINK_MTU = 2000

CONFIGS = {
    "full": {"sizes": [64, 512, 1500], "rules": [1, 100, 1000, 10000],
             "collectors": [1, 2], "reps": 5, "duration": 1.0, "warmup": 0.2,
             "search_steps": 5, "search_duration": 0.7, "floor_reps": 2,
             "churn_s": 1.0},
    "quick": {"sizes": [64], "rules": [1, 100], "collectors": [1],
              "reps": 1, "duration": 0.3, "warmup": 0.1, "search_steps": 1,
              "search_duration": 0.2, "floor_reps": 1, "churn_s": 0.2},
}


# What a run measures, in this order (--phases picks some).
PHASES = ["sizes", "zero-loss", "latency", "rules", "collectors"]

# Rates at which the XDP_DROP peer measures the topology's own loss, and
# the floor above which a run's zero-loss verdicts are flagged.
FLOOR_RATES = [200000, 500000, 1000000]
FLOOR_NOISY_PCT = 1.0


class BenchError(Exception):
    pass


T0 = time.monotonic()


def log(msg):
    print("bench: [%5.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr,
          flush=True)


def run(args, ns=None, check=True, timeout=60, stdin=None):
    """Run a command (in netns ns, root mount namespace); return stdout."""
    if ns:
        args = ["nsenter", "--net=/run/netns/" + ns] + args
    p = subprocess.run(args, input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(args), p.returncode,
                                              (p.stderr or p.stdout).strip()))
    return p.stdout


def write_sys(ns, path, value, check=True):
    """Write a /sys file as seen from netns ns (its own sysfs)."""
    run(["ip", "netns", "exec", ns, "sh", "-c",
         "echo %s > %s" % (value, path)], check=check)


# ---- CPU accounting ------------------------------------------------------

def task_runtime_ns(pid):
    """Sum of the runtime (ns, /proc/PID/task/*/schedstat) of pid's threads."""
    total = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return total
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def napi_threads(dev):
    """Threaded-NAPI kthreads of dev ("napi/<dev>-<id>"; dev names here
    are short enough that the 15-byte comm keeps the dash)."""
    pids = []
    prefix = "napi/%s-" % dev
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().startswith(prefix):
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def ksoftirqd_pids(cpu):
    """ksoftirqd of cpu: softirq work deferred out of the tasks' context."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == "ksoftirqd/%d" % cpu:
                    return [int(d)]
        except OSError:
            pass
    return []


def proc_stat_busy_ns():
    """Per-CPU busy time (everything but idle and iowait) from /proc/stat."""
    hz = os.sysconf("SC_CLK_TCK")
    busy = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if not m:
                continue
            v = [int(x) for x in m.group(2).split()]
            # user nice system idle iowait irq softirq steal
            busy[int(m.group(1))] = (sum(v[:8]) - v[3] - v[4]) * 10**9 // hz
    return busy


def pin_threads(pid, cpu):
    """Move every thread of pid to cpu, at nice -20: the user-space
    datapaths get the priority over this shared machine's other tasks that
    softirq processing gives the kernel paths."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return
    for tid in tids:
        try:
            os.sched_setaffinity(int(tid), {cpu})
            os.setpriority(os.PRIO_PROCESS, int(tid), -20)
        except OSError:
            pass


# ---- xm-ref processes ----------------------------------------------------

class RefProc:
    """A long-lived xm-ref: JSON line on "stats", exits on EOF."""

    def __init__(self, ns, args):
        self.cmd = ["ip", "netns", "exec", ns, os.path.join(XM_BIN, "xm-ref")] + args
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err,
                                  text=True, bufsize=1)
        line = self._line(10)
        if not line.startswith('{"ready"'):
            self.close()
            self.err.seek(0)
            raise BenchError("xm-ref %s: %s" % (" ".join(args),
                                                self.err.read().strip()))

    @property
    def pid(self):
        return self.p.pid

    def _line(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return ""
        return self.p.stdout.readline()

    def stats(self):
        try:
            self.p.stdin.write("stats\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            raise BenchError("xm-ref %s died" % self.cmd[4:])
        line = self._line(5)
        if not line:
            raise BenchError("xm-ref %s: no stats" % self.cmd[4:])
        return json.loads(line)

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()


# ---- topology -------------------------------------------------------------

class Pair:
    """One system's slice of the topology."""

    def __init__(self, name, sfx):
        l = LETTER[name]
        k = SUBNET[name]
        self.name = name
        self.ns = "xbd%s%s" % (l, sfx)
        self.g, self.a, self.b, self.c = ("%s%s%s" % (p, l, sfx) for p in "gabc")
        self.dut_ip = "10.66.%d.1" % k
        self.col_ip = "10.66.%d.2" % k
        self.col_ip2 = "10.66.%d.3" % k
        self.mac_b = self.mac_c = None


class Topo:
    def __init__(self, sfx):
        self.sfx = sfx
        self.ns_gen = "xbg%s" % sfx
        self.ns_col = "xbc%s" % sfx
        self.pairs = {n: Pair(n, sfx) for n in SYSTEMS + ["baseline"]}
        self.made = []

    def up(self):
        """One shell script builds everything (a subprocess per command
        costs more than the commands)."""
        cmds = []
        nss = [self.ns_gen, self.ns_col] + [p.ns for p in self.pairs.values()]
        for ns in nss:
            cmds.append("ip netns add %s" % ns)
            self.made.append(ns)
            # No IPv6 at all: no router solicitations, MLD or DAD.
            for k in ("all", "default"):
                cmds.append("nsenter --net=/run/netns/%s sysctl -qw "
                            "net.ipv6.conf.%s.disable_ipv6=1" % (ns, k))
            cmds.append("ip -n %s link set lo up" % ns)
        for p in self.pairs.values():
            k = SUBNET[p.name]
            p.mac_b = "02:66:%02x:00:00:0b" % k
            p.mac_c = "02:66:%02x:00:00:0c" % k
            cmds.append("ip link add %s netns %s type veth peer name %s netns %s" %
                        (p.g, self.ns_gen, p.a, p.ns))
            cmds.append("ip -n %s link set %s up" % (self.ns_gen, p.g))
            cmds.append("ip -n %s link set %s up" % (p.ns, p.a))
            if p.name == "baseline":
                continue
            cmds.append("ip link add %s netns %s address %s mtu %d type veth "
                        "peer name %s netns %s address %s mtu %d" %
                        (p.b, p.ns, p.mac_b, LINK_MTU, p.c, self.ns_col, p.mac_c,
                         LINK_MTU))
            cmds.append("ip -n %s link set %s up" % (p.ns, p.b))
            cmds.append("ip -n %s link set %s up" % (self.ns_col, p.c))
            cmds.append("ip -n %s addr add %s/24 dev %s" % (p.ns, p.dut_ip, p.b))
            for ip in (p.col_ip, p.col_ip2):
                cmds.append("ip -n %s addr add %s/24 dev %s" % (self.ns_col, ip, p.c))
                # Static neighbours: no ARP in the measurement, any system.
                cmds.append("ip -n %s neigh replace %s lladdr %s dev %s nud permanent" %
                            (p.ns, ip, p.mac_c, p.b))
        run(["sh", "-ec", "\n".join(cmds)])

    def down(self):
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []


def softnet_dropped():
    """Frames dropped because a CPU's backlog was full (all CPUs)."""
    total = 0
    with open("/proc/net/softnet_stat") as f:
        for line in f:
            total += int(line.split()[1], 16)
    return total


def netdev(pid):
    """/proc/PID/net/dev: the device counters of pid's network namespace,
    read without a subprocess."""
    out = {}
    try:
        with open("/proc/%d/net/dev" % pid) as f:
            lines = f.readlines()[2:]
    except OSError:
        return out
    for line in lines:
        name, _, rest = line.partition(":")
        v = [int(x) for x in rest.split()]
        out[name.strip()] = {"rx_packets": v[1], "rx_dropped": v[3],
                             "tx_packets": v[9], "tx_dropped": v[11]}
    return out


def link_stats(ns, devs):
    """ip -s link and ethtool -S counters of devs in ns, flattened; one
    subprocess per namespace."""
    out = {}
    script = "ip -s -j link show; " + "; ".join(
        "echo '@@ %s'; ethtool -S %s 2>/dev/null" % (d, d) for d in devs)
    txt = run(["sh", "-c", script], ns=ns, check=False)
    first, _, rest = txt.partition("\n@@ ")
    try:
        js = json.loads(first)
    except ValueError:
        js = []
    for l in js:
        if l.get("ifname") not in devs:
            continue
        st = l.get("stats64", {})
        for d in ("rx", "tx"):
            for k in ("packets", "dropped", "errors"):
                out["%s.%s_%s" % (l["ifname"], d, k)] = st.get(d, {}).get(k, 0)
    for chunk in ("@@ " + rest).split("\n@@ ") if rest else []:
        dev, _, body = chunk.partition("\n")
        dev = dev.replace("@@ ", "").strip()
        for line in body.splitlines():
            m = re.match(r"\s+(\w+): (\d+)$", line)
            if m and m.group(1) != "peer_ifindex":
                out["%s.%s" % (dev, m.group(1))] = int(m.group(2))
    return out


# ---- the systems ---------------------------------------------------------

class System:
    """Start/stop one system on its pair; counters; CPU placement."""

    def __init__(self, topo, name):
        self.topo = topo
        self.name = name
        self.pair = topo.pairs[name]
        self.ncoll = 1
        self.rules = 1
        self.info = {}
        self.ready = False

    def pids(self):
        return []

    def start(self, ncoll, rules=1):
        raise NotImplementedError

    def stop(self):
        pass

    def counters(self):
        return {}

    def out_key(self):
        """Counter of copies the system handed to its TX device."""
        return None

    # An XDP program on the DUT's receive veth: that veth has a NAPI
    # instance, which can run threaded.
    rx_napi = True

    def place(self, mode):
        cpu = GEN_CPU if mode == "cost" else DUT_CPU
        for pid in self.pids():
            pin_threads(pid, cpu)
        if self.rx_napi:
            self.place_rx_napi(mode)

    def place_rx_napi(self, mode):
        """veth runs the receive NAPI, and with it the DUT's XDP program,
        in the sender's softirq: on the generator's core.  A NIC runs it
        on the core its interrupt is bound to.  Rate runs get that with
        threaded NAPI, the kthread pinned to the DUT's core at the
        datapath threads' priority; cost runs keep everything on one
        core, in the sender's context, as before."""
        rate = mode == "rate"
        # Without a NAPI instance (the recipe's veth with GRO off) the
        # kernel refuses the write; nothing runs threaded then anyway.
        write_sys(self.pair.ns, "/sys/class/net/%s/threaded" % self.pair.a,
                  "1" if rate else "0", check=rate)
        if not rate:
            return
        pids = napi_threads(self.pair.a)
        if not pids:
            raise BenchError("%s: no NAPI thread for %s" % (self.name, self.pair.a))
        # At the default nice 0, not -20: the AF_XDP threads sharing the
        # core must win over the thread that feeds them, or they starve
        # (measured: the ceiling delivered 1 % of its frames with both at
        # -20, 18 % at the generator's full rate with the kthread at 0).
        for pid in pids:
            os.sched_setaffinity(pid, {DUT_CPU})

    def devs(self):
        return [self.pair.a, self.pair.b]


class Mirror(System):
    def __init__(self, topo, name="xdp-mirror", datapath="auto"):
        super().__init__(topo, name)
        self.datapath = datapath
        self.pid = None

    def ctl(self, args, check=True, stdin=None, timeout=120):
        return run([os.path.join(XM_BIN, "mirrorctl"), "-d", self.pair.a] + args,
                   ns=self.pair.ns, check=check, stdin=stdin, timeout=timeout)

    def start(self, ncoll, rules=1):
        p = self.pair
        self.ncoll, self.rules = ncoll, rules
        self.info = {}
        run([os.path.join(XM_BIN, "mirror-appliance"), "start", "--dev", p.a,
             "--tx-dev", p.b, "--cores", str(DUT_CPU), "--datapath", self.datapath],
            ns=p.ns)
        with open("/run/xdp-mirror/%s.pid" % p.a) as f:
            self.pid = int(f.read().strip())
        self.ctl(["collector", "add", "c1", "remote", p.col_ip, "vni", "1"])
        self.ctl(["collector", "add", "c2", "remote", p.col_ip2, "vni", "2"])
        self.set_rules(rules)

    def set_rules(self, rules):
        """Replace the rule table with `rules` rules of one shape (one
        tuple of the classifier's hash), the matching one last in priority
        order: one batch, so one publish."""
        colls = "c1,c2" if self.ncoll == 2 else "c1"
        # Deleted from the end of the table: each removal moves nothing.
        cur = json.loads(self.ctl(["-j", "rule", "show"]))
        lines = ["rule del %d" % r["id"] for r in reversed(cur)]
        for i in range(rules - 1):
            lines.append("rule add prio %d dst 10.%d.%d.%d/32 proto udp dport %d "
                         "collector %s" % (i + 1, 100 + i // 65536, (i // 256) % 256,
                                           i % 256, MATCH_DPORT, colls))
        lines.append("rule add prio %d dst %s/32 proto udp dport %d collector %s" %
                     (rules, MATCH_DST, MATCH_DPORT, colls))
        with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
            f.write("\n".join(lines) + "\n")
            batch = f.name
        try:
            t0 = time.monotonic()
            self.ctl(["-batch", batch])
            self.info["rule_load_s"] = round(time.monotonic() - t0, 3)
        finally:
            os.unlink(batch)
        n = len(json.loads(self.ctl(["-j", "rule", "show"])))
        if n != rules:
            raise BenchError("xdp-mirror: %d rules loaded, %d shown" % (rules, n))
        self.info["rules"] = rules

    def stop(self):
        if self.pid:
            run([os.path.join(XM_BIN, "mirror-appliance"), "stop", "--dev",
                 self.pair.a], ns=self.pair.ns, check=False)
            self.pid = None

    def pids(self):
        return [self.pid] if self.pid else []

    def counters(self):
        s = json.loads(self.ctl(["-j", "stats"]))
        out = {}
        for k in ("rx", "matched", "to_xsk", "to_fast", "fast_fallback",
                  "fast_xmit_err", "xsk_missing", "meta_fail", "passed",
                  "not_matched"):
            out["dev." + k] = s["device"].get(k, 0)
        for w in s.get("workers", []):
            for k, v in w.items():
                if k != "id":
                    out["worker." + k] = out.get("worker." + k, 0) + v
        for c in s.get("collectors", []):
            for k, v in c.items():
                # Totals only; the per-datapath split is in the nested
                # "xdp" and "afxdp" objects.
                if isinstance(v, int) and k != "id":
                    out["coll." + k] = out.get("coll." + k, 0) + v
        return out

    def out_key(self):
        return "coll.sent"


class Recipe(System):
    def __init__(self, topo):
        super().__init__(topo, "tc-recipe")
        self.vx = []

    def start(self, ncoll, rules=1):
        p = self.pair
        self.ncoll = ncoll
        self.vx = []
        acts = []
        for i, ip in enumerate([p.col_ip, p.col_ip2][:ncoll]):
            vx = "vx%d%s" % (i + 1, self.topo.sfx)
            # IPv6 is off in the namespace: the vxlan device sends no
            # router solicitations or MLD reports to the collector.
            run(["ip", "link", "add", vx, "type", "vxlan", "id", str(i + 1),
                 "remote", ip, "local", p.dut_ip, "dstport", "4789", "dev", p.b,
                 "nolearning"], ns=p.ns)
            run(["ip", "link", "set", vx, "up"], ns=p.ns)
            self.vx.append(vx)
            acts += ["action", "mirred", "egress", "mirror", "dev", vx]
        run(["tc", "qdisc", "add", "dev", p.a, "clsact"], ns=p.ns)
        run(["tc", "filter", "add", "dev", p.a, "ingress", "protocol", "ip", "prio",
             "1", "u32", "match", "ip", "dst", MATCH_DST + "/32", "match", "ip",
             "protocol", "17", "0xff", "match", "ip", "dport", str(MATCH_DPORT),
             "0xffff"] + acts, ns=p.ns)

    def stop(self):
        p = self.pair
        run(["tc", "qdisc", "del", "dev", p.a, "clsact"], ns=p.ns, check=False)
        for vx in self.vx:
            run(["ip", "link", "del", vx], ns=p.ns, check=False)
        self.vx = []

    def place(self, mode):
        """Cost: the stack runs where the frame arrives (CPU 0).  Rate: the
        receive veth's NAPI, with the tc filter and the vxlan transmit,
        runs threaded on CPU 1 like the other systems'.  Without XDP, veth
        uses NAPI only with GRO on and, for the generator's frames (not
        sock_wfree skbs), no TSO on the sending side."""
        p = self.pair
        if mode == "rate":
            run(["ethtool", "-K", p.g, "tso", "off"], ns=self.topo.ns_gen)
            run(["ethtool", "-K", p.a, "gro", "on"], ns=p.ns)
            self.place_rx_napi(mode)
        else:
            self.place_rx_napi(mode)
            run(["ethtool", "-K", p.a, "gro", "off"], ns=p.ns)

    def counters(self):
        out = {}
        js = json.loads(run(["tc", "-s", "-j", "filter", "show", "dev", self.pair.a,
                             "ingress"], ns=self.pair.ns) or "[]")
        for f in js:
            for a in f.get("options", {}).get("actions", []):
                st = a.get("stats", {})
                for k in ("packets", "drops", "overlimits"):
                    out["mirred." + k] = out.get("mirred." + k, 0) + st.get(k, 0)
        return out

    def devs(self):
        return [self.pair.a, self.pair.b] + self.vx

    def out_key(self):
        return "vx.tx_packets"


class Ceiling(System):
    def __init__(self, topo):
        super().__init__(topo, "afxdp-ceiling")
        self.proc = None

    def start(self, ncoll, rules=1):
        p = self.pair
        self.ncoll = ncoll
        self.proc = RefProc(p.ns, ["xsk", "--rx", p.a, "--tx", p.b,
                                   "--src-mac", p.mac_b, "--dst-mac", p.mac_c,
                                   "--src", p.dut_ip, "--dst", p.col_ip,
                                   "--dst2", p.col_ip2, "--collectors", str(ncoll),
                                   "--cpu", str(DUT_CPU)])

    def stop(self):
        if self.proc:
            self.proc.close()
            self.proc = None

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def counters(self):
        return {"xsk." + k: v for k, v in self.proc.stats().items()}

    def out_key(self):
        return "xsk.tx"


class Native(Ceiling):
    def __init__(self, topo):
        System.__init__(self, topo, "xdp-native")
        self.proc = None

    def start(self, ncoll, rules=1):
        p = self.pair
        self.ncoll = ncoll
        self.proc = RefProc(p.ns, ["native", "--rx", p.a, "--tx", p.b,
                                   "--src-mac", p.mac_b, "--dst-mac", p.mac_c,
                                   "--src", p.dut_ip, "--dst", p.col_ip,
                                   "--dst2", p.col_ip2, "--collectors", str(ncoll)])

    def pids(self):
        return []

    def counters(self):
        return {"xdp." + k: v for k, v in self.proc.stats().items()}

    def out_key(self):
        return None


# ---- one measurement -----------------------------------------------------

# Counters that count lost frames (fill_short is not one: it counts
# recycled chunks parked on the free list).
DROP_WORDS = ("drop", "full", "empty", "error", "missing", "fail", "overlimit",
              "no_frame", "no_room", "invalid")


class Bench:
    def __init__(self, cfg, out_dir, quick):
        self.cfg = cfg
        self.quick = quick
        self.out_dir = out_dir
        self.sfx = str(os.getpid() % 100000)
        self.topo = Topo(self.sfx)
        self.systems = {}
        self.counters = {}
        self.baseline = None
        self.trials = []
        self.errors = []
        self.extra = {}
        self.floors = {}
        self.ksoft = ksoftirqd_pids(GEN_CPU)

    # -- set-up --
    def setup(self):
        self.topo.up()
        t = self.topo
        for name in SYSTEMS:
            p = t.pairs[name]
            self.counters[name] = RefProc(t.ns_col, ["count", "--dev", p.c])
        self.baseline = RefProc(t.pairs["baseline"].ns,
                                ["count", "--dev", t.pairs["baseline"].a])
        # The XDP_DROP peer gets the same receive placement as the
        # systems: its losses at a rate are the floor of the topology.
        self.floor = System(t, "baseline")
        self.systems = {"xdp-mirror": Mirror(t),
                        "xdp-mirror-afxdp": Mirror(t, "xdp-mirror-afxdp", "afxdp"),
                        "tc-recipe": Recipe(t),
                        "afxdp-ceiling": Ceiling(t), "xdp-native": Native(t)}

    def teardown(self):
        for s in self.systems.values():
            try:
                s.stop()
            except Exception as e:  # keep tearing down
                log("stop %s: %s" % (s.name, e))
        for c in list(self.counters.values()) + [self.baseline]:
            if c:
                c.close()
        self.topo.down()
        for m in MIRRORS:
            a = self.topo.pairs[m].a
            shutil.rmtree("/sys/fs/bpf/xdp-mirror/" + a, ignore_errors=True)
            for ext in (".log", ".pid"):
                try:
                    os.unlink("/run/xdp-mirror/" + a + ext)
                except OSError:
                    pass

    def start(self, name, ncoll, rules=1):
        s = self.systems[name]
        s.stop()
        try:
            s.start(ncoll, rules)
            self.warm_up(name, ncoll)
            return True
        except (BenchError, subprocess.TimeoutExpired, OSError) as e:
            msg = "%s (collectors %d, rules %d): %s" % (name, ncoll, rules, e)
            log("ERROR " + msg)
            self.errors.append({"system": name, "collectors": ncoll, "rules": rules,
                                "error": str(e)})
            try:
                s.stop()
            except Exception:
                pass
            return False

    def warm_up(self, name, ncoll):
        """Ready when every collector gets copies: send a few frames until
        the counter sees them all (the datapath resolves its next hop
        asynchronously; the first frames may find it unresolved)."""
        c = self.counters[name]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            before = c.stats()
            self.gen(name, "rate", 64, count=64)
            settle = time.monotonic() + 1.0
            while time.monotonic() < settle:
                d = c.stats()
                if all(d[k] - before[k] >= 64 for k in
                       (("vni1", "vni2") if ncoll == 2 else ("vni1",))):
                    return
                time.sleep(0.02)
        raise BenchError("%s: collector copies never arrived" % name)

    # -- snapshots --
    def roles(self, name):
        """Device name -> role, for readable counter names."""
        p = self.topo.pairs[name]
        r = {p.g: "gen", p.a: "dut_rx", p.b: "dut_tx", p.c: "collector"}
        s = self.systems.get(name)
        for i, vx in enumerate(getattr(s, "vx", []) or []):
            r[vx] = "vxlan%d" % (i + 1)
        return r

    def full_snapshot(self, name, sysobj, light=False):
        """Every counter, read before and after a run: where frames went
        (light: only the collector's count)."""
        if name == "baseline":
            return {"col": self.baseline.stats(), "sys": {}, "links": {}}
        if light:
            return {"col": self.counters[name].stats(), "sys": {}, "links": {}}
        p = self.topo.pairs[name]
        roles = self.roles(name)
        links = link_stats(p.ns, sysobj.devs())
        links.update(link_stats(self.topo.ns_col, [p.c]))
        # A full receive ring drops in the sender's veth_xmit: the
        # generator's tx_dropped.
        links.update(link_stats(self.topo.ns_gen, [p.g]))
        links = {roles.get(k.split(".", 1)[0], k.split(".", 1)[0]) + "." +
                 k.split(".", 1)[1]: v for k, v in links.items()}
        sysc = sysobj.counters()
        # Backlog (RPS) drops are counted per CPU, not per device, and for
        # the whole machine.
        sysc["softnet.dropped_all_cpus"] = softnet_dropped()
        if name == "tc-recipe":
            sysc["vx.tx_packets"] = sum(v for k, v in links.items()
                                        if k.startswith("vxlan") and
                                        k.endswith(".tx_packets"))
        return {"col": self.counters[name].stats(), "sys": sysc, "links": links}

    def fast_snapshot(self, name, sysobj, gen_pid):
        """What the measurement window needs, read in a few microseconds
        (no subprocess): time, collector count, the generator's device
        counters, runtime of every task involved, /proc/stat."""
        c = self.baseline if name == "baseline" else self.counters[name]
        pids = [gen_pid] + (sysobj.pids() if sysobj else []) + self.ksoft
        best = None
        # The readings must be close together: retry when something
        # (another task on this machine) delayed this process in between.
        for _ in range(10):
            snap = {"t": time.monotonic()}
            snap["col"] = c.stats()
            snap["gen_dev"] = netdev(gen_pid).get(self.topo.pairs[name].g, {})
            rt = {}
            for pid in pids:
                rt.update(task_runtime_ns(pid))
            snap["rt"] = rt
            snap["busy"] = proc_stat_busy_ns()
            snap["t2"] = time.monotonic()
            if best is None or snap["t2"] - snap["t"] < best["t2"] - best["t"]:
                best = snap
            if best["t2"] - best["t"] < 0.002:
                break
        return best

    def collector_settled(self, name):
        """Wait until the collector's count stops moving (frames in flight)."""
        c = self.baseline if name == "baseline" else self.counters[name]
        last = c.stats()["frames"]
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            time.sleep(0.03)
            now = c.stats()["frames"]
            if now == last:
                return
            last = now

    def gen_cmd(self, name, mode, size, duration=None, rate=None, count=None):
        p = self.topo.pairs[name]
        cmd = ["nsenter", "--net=/run/netns/" + self.topo.ns_gen,
               "taskset", "-c", str(GEN_CPU)]
        cmd += [os.path.join(XM_BIN, "xm-gen"), "--dev", p.g, "--size", str(size),
                "--flows", str(FLOWS), "--dst", MATCH_DST, "--dport",
                str(MATCH_DPORT)]
        cmd += ["--count", str(count)] if count else ["--duration", "%.3f" % duration]
        if rate:
            cmd += ["--rate", str(int(rate))]
        return cmd

    @staticmethod
    def gen_nice(mode):
        """Cost: the generator only gets what the DUT leaves: nice 0
        against the DUT's -20 is the weight ratio of nice 19 against 0
        (about 1:70), without letting this shared machine's other tasks
        starve the generator.  Rate: it offers all it can; nice -20 keeps
        the other tasks from deciding the offered rate."""
        level = 0 if mode == "cost" else -20
        return lambda: os.setpriority(os.PRIO_PROCESS, 0, level)

    def gen(self, name, mode, size, duration=None, rate=None, count=None):
        """Run xm-gen to the end; its JSON summary."""
        p = subprocess.run(self.gen_cmd(name, mode, size, duration, rate, count),
                           capture_output=True, text=True, timeout=60,
                           preexec_fn=self.gen_nice(mode))
        if p.returncode != 0:
            raise BenchError("xm-gen: %s" % p.stderr.strip())
        return json.loads(p.stdout.strip().splitlines()[-1])

    def trial(self, name, mode, size, ncoll=1, rules=1, rate=None, window=None,
              tag="main"):
        """One run: counters around the whole run (loss and where), and a
        steady-state window inside it (rates and CPU), which leaves out
        the generator's start-up and teardown."""
        window = window or self.cfg["duration"]
        sysobj = self.systems.get(name)
        if sysobj:
            sysobj.place(mode)
        elif name == "baseline":
            self.floor.place(mode)
        light = tag == "search"
        pre = self.full_snapshot(name, sysobj, light)
        proc = subprocess.Popen(self.gen_cmd(name, mode, size, window + 30, rate),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=self.gen_nice(mode))
        try:
            # Traffic flows once the generator device's counter moves.
            deadline = time.monotonic() + 10
            first = None
            while time.monotonic() < deadline and proc.poll() is None:
                n = netdev(proc.pid).get(self.topo.pairs[name].g, {}).get("tx_packets")
                if n is not None and first is None:
                    first = n
                if n is not None and n > first:
                    break
                time.sleep(0.01)
            else:
                raise BenchError("xm-gen sent nothing")
            time.sleep(self.cfg["warmup"])
            a = self.fast_snapshot(name, sysobj, proc.pid)
            time.sleep(window)
            b = self.fast_snapshot(name, sysobj, proc.pid)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise BenchError("xm-gen: exit %d: %s" % (proc.returncode, err.strip()))
        g = json.loads(out.strip().splitlines()[-1])
        self.collector_settled(name)
        post = self.full_snapshot(name, sysobj, light)

        d = lambda x, y: {k: y[k] - x.get(k, 0) for k in y}
        key = "frames" if name == "baseline" else "vxlan"
        secs = ((b["t"] + b["t2"]) - (a["t"] + a["t2"])) / 2
        gd = d(a["gen_dev"], b["gen_dev"])
        w_sent = gd.get("tx_packets", 0) + gd.get("tx_dropped", 0)
        w_copies = b["col"][key] - a["col"][key]
        w_cpu = sum(v - a["rt"].get(t, 0) for t, v in b["rt"].items())
        w_busy = b["busy"].get(GEN_CPU, 0) - a["busy"].get(GEN_CPU, 0)
        sent = g["completed"]
        copies = post["col"][key] - pre["col"][key]
        # Only what moved: the JSON stays readable.
        sysd = {k: v for k, v in d(pre["sys"], post["sys"]).items() if v}
        links = {k: v for k, v in d(pre["links"], post["links"]).items() if v}
        tr = {
            "system": name, "mode": mode, "size": size, "collectors": ncoll,
            "rules": rules, "tag": tag, "rate_limit": int(rate) if rate else None,
            # the window
            "seconds": secs, "window_sent": w_sent, "window_copies": w_copies,
            "offered_pps": w_sent / secs,
            "delivered_pps": w_copies / ncoll / secs,
            "cpu_window_ns": w_cpu, "core_busy_ns": w_busy,
            # the whole run
            "sent": sent, "delivered_copies": copies,
            "lost_copies": sent * ncoll - copies,
            "loss_pct": 100.0 * (sent * ncoll - copies) / (sent * ncoll) if sent else 0.0,
            "collector": d(pre["col"], post["col"]), "counters": sysd, "links": links,
            "stages": self.stages(name, sent, sysd, links, copies),
        }
        tr["loss_where"] = {k: v for k, v in list(sysd.items()) + list(links.items())
                            if v > 0 and any(w in k for w in DROP_WORDS)
                            and k != "collector.rx_queue_0_xdp_drops"}
        self.trials.append(tr)
        return tr

    def stages(self, name, sent, sysd, links, copies):
        """Frame counts along the path (copies after the system)."""
        if name == "baseline":
            return {"offered": sent, "collector": copies}
        st = {"offered": sent,
              "dut_rx": links.get("dut_rx.rx_packets", 0)}
        s = self.systems[name]
        if name in MIRRORS:
            st["classified_to_xsk"] = sysd.get("dev.to_xsk", 0)
            st["xdp_fast_path"] = sysd.get("dev.to_fast", 0)
            st["datapath_rx"] = sysd.get("worker.rx", 0)
        elif name == "tc-recipe":
            st["mirred"] = sysd.get("mirred.packets", 0)
        elif name == "afxdp-ceiling":
            st["datapath_rx"] = sysd.get("xsk.rx", 0)
        elif name == "xdp-native":
            st["xdp_rx"] = sysd.get("xdp.rx", 0)
            st["redirected"] = links.get("dut_tx.tx_queue_0_xdp_xmit", 0)
        if s.out_key():
            st["copies_out"] = sysd.get(s.out_key(), 0)
        st["dut_tx_tx"] = links.get("dut_tx.tx_packets", 0)
        st["collector_rx"] = links.get("collector.rx_queue_0_xdp_packets", 0)
        st["collector"] = copies
        return st

    # -- phases --
    def measure_group(self, names, sizes, ncoll, rules, tag):
        """Interleaved repetitions (the systems' order rotates): for each
        system, the generator alone into the XDP_DROP peer, then the
        system's cost and rate runs.  The cost run subtracts the
        generator cost measured just before it: this machine's load
        drifts within minutes."""
        for rep in range(self.cfg["reps"]):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for size in sizes:
                for name in order:
                    if self.systems[name].ready:
                        self.measure_one(name, size, ncoll, rules, tag, rep)

    def measure_one(self, name, size, ncoll, rules, tag, rep):
        """The generator alone, then the system's cost and rate runs."""
        try:
            base = self.trial("baseline", "cost", size, tag=tag)
            for mode in ("cost", "rate"):
                tr = self.trial(name, mode, size, ncoll, rules, tag=tag)
                tr["rep"] = rep
                if mode == "cost" and base["window_sent"] > 0:
                    tr["gen_ns_per_frame"] = (base["cpu_window_ns"] /
                                              base["window_sent"])
        except (BenchError, subprocess.TimeoutExpired) as e:
            self.errors.append({"system": name, "size": size, "rules": rules,
                                "collectors": ncoll, "error": str(e)})
            log("ERROR %s %d: %s" % (name, size, e))

    def rules_pairs(self, n):
        """n rules against 1 rule on one running appliance, the table
        swapped in place between the two runs of each repetition (n first
        on even repetitions, 1 first on odd): the paired ratios cancel
        this machine's drift, which moves a 1-rule figure by 20 % within
        minutes.  Returns the load time of the n-rule batch."""
        m = self.systems["xdp-mirror"]
        size = self.cfg["sizes"][0]
        load = None
        for rep in range(self.cfg["reps"]):
            order = [(n, "rules"), (1, "rules-ref%d" % n)]
            if rep % 2:
                order.reverse()
            for count, tag in order:
                try:
                    m.set_rules(count)
                    if count == n:
                        load = m.info.get("rule_load_s")
                    self.measure_one(m.name, size, 1, count, tag, rep)
                except (BenchError, subprocess.TimeoutExpired, ValueError) as e:
                    self.errors.append({"system": m.name, "rules": count,
                                        "collectors": 1, "error": str(e)})
                    log("ERROR rules %d: %s" % (count, e))
                    return load
        return load

    def loss_floor(self, size):
        """What the topology itself loses: the bare XDP_DROP peer behind
        the same threaded receive ring at a few rates.  On this VM it
        loses 0.01-2 % at any rate (the receive kthread is not run for a
        few milliseconds now and then and the 256-entry veth ring
        overflows), so "zero loss" can only mean "no more than this".
        The tolerance is the largest loss of the sweep."""
        if size in self.floors:
            return self.floors[size]
        steps = []
        for rate in FLOOR_RATES:
            for _ in range(self.cfg["floor_reps"]):
                tr = self.trial("baseline", "rate", size, rate=rate,
                                window=self.cfg["search_duration"], tag="search")
                steps.append({"rate": rate, "offered_pps": round(tr["offered_pps"]),
                              "lost": tr["lost_copies"],
                              "loss_pct": round(tr["loss_pct"], 4)})
        self.floors[size] = {"tolerance_pct": max(st["loss_pct"] for st in steps),
                             "steps": steps}
        return self.floors[size]

    def probe(self, name, size, ncoll, rate):
        """One search step; lossless when the loss is within the floor's."""
        tol = self.loss_floor(size)["tolerance_pct"]
        tr = self.trial(name, "rate", size, ncoll, 1, rate=rate,
                        window=self.cfg["search_duration"], tag="search")
        ok = tr["sent"] > 0 and tr["loss_pct"] <= tol
        return tr, {"rate": int(rate) if rate else None,
                    "offered_pps": round(tr["offered_pps"]), "lost": tr["lost_copies"],
                    "loss_pct": round(tr["loss_pct"], 4), "ok": ok}

    def search_zero_loss(self, name, size, ncoll):
        """Highest offered rate without loss (beyond the floor's).  The first
        probe offers all the generator can: no loss there means the
        system outran the generator (a lower bound, flagged gen_bound).
        Otherwise bisection over --rate below what that probe offered."""
        tr, st = self.probe(name, size, ncoll, None)
        steps = [st]
        if st["ok"]:
            return {"zero_loss_pps": tr["offered_pps"], "gen_bound": True,
                    "steps": steps}
        lo, hi, best = 0.0, tr["offered_pps"], None
        for i in range(self.cfg["search_steps"] - 1):
            r = hi * 0.9 if i == 0 else (lo + hi) / 2
            tr, st = self.probe(name, size, ncoll, r)
            steps.append(st)
            if st["ok"]:
                best = max(best or 0, tr["offered_pps"])
                lo = r
            else:
                hi = r
        return {"zero_loss_pps": best or 0.0, "gen_bound": False, "steps": steps}

    def at_recipe_loss(self, zl, size, ncoll, sfx):
        """The lowest rate at which the recipe lost copies in its search,
        offered again, round-robin, to the recipe, to each xdp-mirror
        datapath and to the bare XDP_DROP peer (what the topology itself
        loses at that very rate), `reps` times: does xdp-mirror lose more
        than the topology where the recipe loses?  One run each is not
        enough on this VM: a stall of the receive kthread now and then
        costs any system a few hundred frames."""
        rec = zl.get("tc-recipe/%d%s" % (size, sfx))
        if not rec:
            return None
        lossy = [st for st in rec["steps"] if not st["ok"]]
        if not lossy:
            return {"recipe_lossless_up_to_pps": rec["zero_loss_pps"]}
        st = min(lossy, key=lambda x: x["offered_pps"])
        # The unlimited probe has no --rate: offer what it offered.
        rate = st["rate"] or st["offered_pps"]
        names = ["tc-recipe"] + [m for m in MIRRORS if self.systems[m].ready]
        runs = {name: [] for name in names + ["floor"]}
        for rep in range(self.cfg["reps"]):
            for name in names[rep % len(names):] + names[:rep % len(names)] + ["floor"]:
                if name == "floor":
                    tr = self.trial("baseline", "rate", size, rate=rate,
                                    tag="at_recipe_loss")
                else:
                    tr = self.trial(name, "rate", size, ncoll, 1, rate=rate,
                                    tag="at_recipe_loss")
                runs[name].append({"offered_pps": round(tr["offered_pps"]),
                                   "sent": tr["sent"], "lost": tr["lost_copies"],
                                   "loss_pct": round(tr["loss_pct"], 4),
                                   "loss_where": tr["loss_where"]})
        floor_here = max(r["loss_pct"] for r in runs["floor"])
        tol = max(self.loss_floor(size)["tolerance_pct"], floor_here)

        def agg(rs):
            mid = sorted(rs, key=lambda r: r["loss_pct"])[len(rs) // 2]
            return {"offered_pps": med([r["offered_pps"] for r in rs]),
                    "sent": sum(r["sent"] for r in rs),
                    "lost": sum(r["lost"] for r in rs),
                    "loss_pct": med([r["loss_pct"] for r in rs]),
                    "runs_loss_pct": [r["loss_pct"] for r in rs],
                    "lossless": med([r["loss_pct"] for r in rs]) <= tol,
                    "loss_where": mid["loss_where"]}
        rec_now = agg(runs["tc-recipe"])
        return {"rate": rate, "recipe_offered_pps": st["offered_pps"],
                "recipe_lost": st["lost"], "recipe_loss_pct": st["loss_pct"],
                "recipe_again": rec_now, "recipe_drops": not rec_now["lossless"],
                "floor_here_pct": [r["loss_pct"] for r in runs["floor"]],
                "tolerance_pct": tol,
                "mirrors": {name: agg(runs[name]) for name in names[1:]}}

    def zero_loss_phase(self, sizes, ncoll):
        """Zero-loss search for every system, then the mirrors at the rate
        where the recipe began to lose."""
        sfx = "" if ncoll == 1 else "/c%d" % ncoll
        zl = self.extra.setdefault("zero_loss", {})
        for name in SYSTEMS:
            if not self.systems[name].ready:
                continue
            for size in sizes:
                zl["%s/%d%s" % (name, size, sfx)] = self.search_zero_loss(
                    name, size, ncoll)
        self.extra["loss_floor"] = self.floors
        arl = self.extra.setdefault("at_recipe_loss", {})
        for size in sizes:
            r = self.at_recipe_loss(zl, size, ncoll, sfx)
            if r:
                arl["%d%s" % (size, sfx)] = r

    def churn(self):
        exe = os.path.join(XM_BIN, "xm-churn")
        if not os.access(exe, os.X_OK):
            return {"skipped": "build/xm-churn not built"}
        m = self.systems["xdp-mirror"]
        if not m.ready:
            return {"skipped": "xdp-mirror not running"}
        out = run([exe, "--dev", m.pair.a, "--coll1", "c1", "--coll2", "c2",
                   "--duration", str(self.cfg["churn_s"])], ns=m.pair.ns, timeout=60)
        return json.loads(out.strip().splitlines()[-1])

    def run_all(self):
        cfg = self.cfg
        t0 = time.monotonic()
        log("starting the four systems")
        for s in self.systems.values():
            s.ready = self.start(s.name, 1, 1)
        phases = cfg["phases"]
        # 1. frame sizes, 1 rule, 1 collector, all systems
        if "sizes" in phases:
            log("frame sizes %s" % cfg["sizes"])
            self.measure_group(SYSTEMS, cfg["sizes"], 1, 1, "sizes")
        # 2. highest zero-loss rate per system and size
        if "zero-loss" in phases:
            log("zero-loss search")
            self.zero_loss_phase(cfg["sizes"], 1)
        # 3. rule-update publish latency (xdp-mirror, both collectors exist)
        if "latency" in phases:
            log("rule-update latency")
            try:
                self.extra["rule_update"] = self.churn()
            except (BenchError, subprocess.TimeoutExpired, ValueError) as e:
                self.extra["rule_update"] = {"error": str(e)}
        # 4. xdp-mirror rule counts, each paired with 1 rule run by run
        loads = {1: self.systems["xdp-mirror"].info.get("rule_load_s")}
        m = self.systems["xdp-mirror"]
        if "rules" in phases:
            m.ready = self.start("xdp-mirror", 1, 1)
        for n in cfg["rules"][1:] if "rules" in phases else []:
            if not m.ready:
                break
            log("xdp-mirror with %d rules, paired with 1 rule" % n)
            loads[n] = self.rules_pairs(n)
        self.extra["rule_load_s"] = loads
        # 5. two collectors per rule, all systems
        for ncoll in cfg["collectors"][1:] if "collectors" in phases else []:
            log("%d collectors" % ncoll)
            for s in self.systems.values():
                s.ready = self.start(s.name, ncoll, 1)
            self.measure_group(SYSTEMS, [cfg["sizes"][0]], ncoll, 1, "collectors")
            self.zero_loss_phase([cfg["sizes"][0]], ncoll)
        self.extra["elapsed_s"] = round(time.monotonic() - t0, 1)


# ---- summary, table, plot ------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(b):
    trials = b.trials
    # The generator's own cost per frame, per size: median over the run's
    # XDP_DROP-peer trials.
    gen_cost = {}
    for size in sorted({t["size"] for t in trials}):
        base = [t for t in trials if t["system"] == "baseline" and t["size"] == size
                and t["window_sent"] > 0 and t["tag"] == "sizes"]
        gen_cost[size] = {
            "cpu_ns_per_frame": med([t["cpu_window_ns"] / t["window_sent"] for t in base]),
            "core_busy_ns_per_frame": med([t["core_busy_ns"] / t["window_sent"]
                                           for t in base]),
            "pps": med([t["offered_pps"] for t in base])}
    for t in trials:
        if t["system"] == "baseline" or t["mode"] != "cost":
            continue
        g = gen_cost.get(t["size"], {})
        frames = t["window_copies"] / t["collectors"]
        t["cpu_ns_per_frame"] = None
        t["cpu_ns_per_frame_procstat"] = None
        gen = t.get("gen_ns_per_frame", g.get("cpu_ns_per_frame"))
        if frames > 0 and gen is not None:
            t["cpu_ns_per_frame"] = (t["cpu_window_ns"] - t["window_sent"] * gen) / frames
        if frames > 0 and g.get("core_busy_ns_per_frame") is not None:
            t["cpu_ns_per_frame_procstat"] = (t["core_busy_ns"] - t["window_sent"] *
                                              g["core_busy_ns_per_frame"]) / frames
    rows = []
    keys = sorted({(t["system"], t["size"], t["collectors"], t["rules"], t["tag"])
                   for t in trials if t["system"] != "baseline"
                   and t["tag"] not in ("search", "at_recipe_loss")})
    for name, size, ncoll, rules, tag in keys:
        sel = [t for t in trials if (t["system"], t["size"], t["collectors"],
                                     t["rules"], t["tag"]) == (name, size, ncoll, rules, tag)]
        cost = [t for t in sel if t["mode"] == "cost"]
        rate = [t for t in sel if t["mode"] == "rate"]
        row = {"system": name, "size": size, "collectors": ncoll, "rules": rules,
               "group": tag, "reps": len(rate),
               "cpu_ns_per_frame": med([t.get("cpu_ns_per_frame") for t in cost]),
               "cpu_ns_per_frame_procstat": med([t.get("cpu_ns_per_frame_procstat")
                                                 for t in cost]),
               "cost_offered_pps": med([t["offered_pps"] for t in cost]),
               "cost_loss_pct": med([t["loss_pct"] for t in cost]),
               "offered_pps": med([t["offered_pps"] for t in rate]),
               "delivered_pps": med([t["delivered_pps"] for t in rate]),
               "loss_pct": med([t["loss_pct"] for t in rate]),
               "lost_copies": med([t["lost_copies"] for t in rate])}
        # Where the median-loss rate trial lost its frames.
        if rate:
            mt = sorted(rate, key=lambda t: t["loss_pct"])[len(rate) // 2]
            row["loss_where"] = mt["loss_where"]
            row["stages"] = mt["stages"]
        zl = b.extra.get("zero_loss", {}).get(
            "%s/%d%s" % (name, size, "" if ncoll == 1 else "/c%d" % ncoll))
        if zl and rules == 1:
            row["zero_loss_pps"] = zl["zero_loss_pps"]
            row["zero_loss_gen_bound"] = zl.get("gen_bound", False)
        rows.append(row)
    return {"gen_cost": gen_cost, "rows": rows, "rule_pairs": rule_pairs(trials)}


def rule_pairs(trials):
    """N rules / 1 rule in CPU per frame, repetition by repetition (the
    two runs of a repetition are back to back on one appliance)."""
    out = {}
    cost = [t for t in trials if t["mode"] == "cost" and t["system"] == "xdp-mirror"
            and t.get("cpu_ns_per_frame") and "rep" in t]
    for t in cost:
        if t["tag"] != "rules":
            continue
        ref = [r for r in cost if r["tag"] == "rules-ref%d" % t["rules"]
               and r["rep"] == t["rep"] and r["size"] == t["size"]]
        if ref:
            d = out.setdefault(str(t["rules"]), {"ratios": [], "n_ns": [], "one_ns": []})
            d["ratios"].append(round(t["cpu_ns_per_frame"] / ref[0]["cpu_ns_per_frame"], 3))
            d["n_ns"].append(round(t["cpu_ns_per_frame"], 1))
            d["one_ns"].append(round(ref[0]["cpu_ns_per_frame"], 1))
    for d in out.values():
        d["median"] = med(d["ratios"])
    return out


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, scale=1.0, nd=2):
    if v is None:
        return "n/a"
    return ("%." + str(nd) + "f") % (v * scale)


def fmt_zl(r):
    """Zero-loss rate in Mpps; ">=" when the generator could offer no more."""
    v = fmt(r.get("zero_loss_pps"), 1e-6)
    return (">=" + v) if r.get("zero_loss_gen_bound") else v


def loss_where_str(lw, limit=3):
    """The largest drop counters, the system's own before the devices';
    a counter equal to one already shown counts the same frames again
    (a total, or the device's view of the same drop)."""
    if not lw:
        return "-"
    links = ("gen.", "dut_rx.", "dut_tx.", "collector.", "vxlan")
    shown, seen = [], set()
    for k, v in sorted(lw.items(), key=lambda kv: (-kv[1], kv[0].startswith(links),
                                                   kv[0])):
        if v in seen:
            continue
        seen.add(v)
        shown.append("%s %d" % (k, v))
        if len(shown) == limit:
            break
    return ", ".join(shown)


def find(rows, **kw):
    for r in rows:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def markdown(res):
    s = res["summary"]
    rows = s["rows"]
    m = res["meta"]
    out = []
    out.append("Machine: %s, %d CPUs (%s), kernel %s; %s; %s run, %d repetition(s) "
               "of %.1f s, medians.\n" % (m["machine"]["cpu_model"], m["machine"]["nproc"],
                                         m["machine"]["hostname"], m["machine"]["kernel"],
                                         m["timestamp"], m["profile"], m["config"]["reps"],
                                         m["config"]["duration"]))
    out.append("CPU ns/frame: everything on CPU 0, the generator yielding to the DUT "
               "(nice 0 against -20), CPU time of all tasks involved minus the "
               "generator's own (XDP_DROP peer, same run), per mirrored frame.  Rates: "
               "generator on CPU 0, the DUT on CPU 1 (its threads, and the receive "
               "veth's NAPI, which runs the XDP programs and for the recipe the tc "
               "filter, as a threaded-NAPI kthread); Mpps of mirrored frames at the "
               "collector, loss over the whole run.  Zero-loss rate: highest offered "
               "rate at which the system lost no more than the bare XDP_DROP peer "
               "loses on the same path (this VM's veth ring loses a few frames now and "
               "then even there; the tolerance per size is below); \">=\" where that "
               "held at all the generator could offer.\n")
    out.append("| system | frame B | CPU ns/frame (1-core loss %) | offered Mpps | "
               "delivered Mpps | loss % | zero-loss Mpps | where lost (rate run) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in sorted((r for r in rows if r["group"] == "sizes"),
                    key=lambda r: (r["size"], SYSTEMS.index(r["system"]))):
        out.append("| %s | %d | %s (%s) | %s | %s | %s | %s | %s |" % (
            r["system"], r["size"], fmt(r["cpu_ns_per_frame"], 1, 0),
            fmt(r["cost_loss_pct"], 1, 1),
            fmt(r["offered_pps"], 1e-6), fmt(r["delivered_pps"], 1e-6),
            fmt(r["loss_pct"], 1, 1), fmt_zl(r),
            loss_where_str(r.get("loss_where"))))
    out.append("")
    out.append("Ratios (xdp-mirror / other; CPU: lower is better for xdp-mirror, "
               "rates: higher is better).  xdp-mirror is the default datapath "
               "(auto: XDP fast path for one collector), xdp-mirror-afxdp the "
               "AF_XDP datapath (--datapath afxdp):\n")
    out.append("| xdp-mirror | frame B | metric | / tc-recipe | / afxdp-ceiling | / xdp-native |")
    out.append("|---|---:|---|---:|---:|---:|")
    for mname in MIRRORS:
        for size in res["meta"]["config"]["sizes"]:
            mine = find(rows, system=mname, size=size, group="sizes")
            if not mine:
                continue
            for metric, key in (("CPU ns/frame", "cpu_ns_per_frame"),
                                ("delivered rate", "delivered_pps"),
                                ("zero-loss rate", "zero_loss_pps")):
                cells = []
                for other in OTHERS:
                    o = find(rows, system=other, size=size, group="sizes")
                    cells.append(fmt(ratio(mine.get(key), o.get(key) if o else None)))
                out.append("| %s | %d | %s | %s |" % (mname, size, metric, " | ".join(cells)))
    out.append("")
    out.append("xdp-mirror with N rules (one shape, the matching rule last), %d-byte frames; "
               "each repetition runs N rules and 1 rule back to back on one appliance, the "
               "table swapped in place; N / 1 rule is the median of the repetitions' "
               "ratios (their range in brackets):\n" % res["meta"]["config"]["sizes"][0])
    out.append("| rules | load s | CPU ns/frame | 1 rule, same repetitions | N / 1 rule | "
               "offered Mpps | delivered Mpps | loss % |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    pairs = res["summary"].get("rule_pairs", {})
    loads = res.get("rule_load_s", {})
    size0 = res["meta"]["config"]["sizes"][0]
    for n in res["meta"]["config"]["rules"]:
        r = find(rows, system="xdp-mirror", rules=n, collectors=1, size=size0,
                 group="sizes" if n == 1 else "rules")
        ref = find(rows, system="xdp-mirror", rules=1, collectors=1, size=size0,
                   group="rules-ref%d" % n) if n > 1 else None
        err = [e for e in res["errors"] if e.get("system") == "xdp-mirror"
               and e.get("rules") == n]
        if not r:
            out.append("| %d | %s | failed: %s | | | | | |" % (
                n, "n/a", err[0]["error"] if err else "no data"))
            continue
        rc = ref["cpu_ns_per_frame"] if ref else None
        pr = pairs.get(str(n))
        rcell = fmt(ratio(r["cpu_ns_per_frame"], rc))
        if pr and pr["ratios"]:
            rcell = "%s (%s-%s)" % (fmt(pr["median"]), fmt(min(pr["ratios"])),
                                    fmt(max(pr["ratios"])))
        out.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
            n, fmt(loads.get(str(n), loads.get(n)), 1, 2), fmt(r["cpu_ns_per_frame"], 1, 0),
            fmt(rc, 1, 0), rcell,
            fmt(r["offered_pps"], 1e-6), fmt(r["delivered_pps"], 1e-6),
            fmt(r["loss_pct"], 1, 1)))
    out.append("")
    colls = [c for c in res["meta"]["config"]["collectors"] if c > 1]
    if colls:
        out.append("Two collectors per rule (two copies per frame), %d-byte frames; "
                   "CPU and rates per mirrored frame:\n" % res["meta"]["config"]["sizes"][0])
        out.append("| system | CPU ns/frame | offered Mpps | delivered Mpps | loss % | "
                   "zero-loss Mpps (frames) | where lost |")
        out.append("|---|---:|---:|---:|---:|---:|---|")
        for name in SYSTEMS:
            r = find(rows, system=name, collectors=2)
            if not r:
                out.append("| %s | n/a | | | | | |" % name)
                continue
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, fmt(r["cpu_ns_per_frame"], 1, 0), fmt(r["offered_pps"], 1e-6),
                fmt(r["delivered_pps"], 1e-6), fmt(r["loss_pct"], 1, 1), fmt_zl(r),
                loss_where_str(r.get("loss_where"))))
        out.append("")
    arl = res.get("at_recipe_loss", {})
    if arl:
        out.append("Where the recipe drops: the lowest offered rate at which tc-recipe "
                   "lost copies in its zero-loss search, offered again, round-robin, to "
                   "the recipe, to xdp-mirror and to the bare XDP_DROP peer, once per "
                   "repetition; loss per run (copies lost over the whole run), the "
                   "median judged against the tolerance (the largest of the floor "
                   "sweep and the bare peer's losses at this rate):\n")
        out.append("| frame B | collectors | rate Mpps | bare peer here % | tolerance % | "
                   "system | loss % per run | median % | within | where lost (median run) |")
        out.append("|---:|---:|---:|---|---:|---|---|---:|---|---|")
        for key in sorted(arl, key=lambda k: (len(k.split("/")), k)):
            a = arl[key]
            size, _, c = key.partition("/c")
            ncoll = int(c or 1)
            if "mirrors" not in a:
                out.append("| %s | %d | recipe lossless up to %s | | | | | | | |" % (
                    size, ncoll, fmt(a.get("recipe_lossless_up_to_pps"), 1e-6)))
                continue
            rows_ = [("tc-recipe", a["recipe_again"])] if "recipe_again" in a else []
            for name, m in rows_ + list(a["mirrors"].items()):
                out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    size, ncoll, fmt(a["rate"], 1e-6),
                    " ".join(fmt(x, 1, 3) for x in a.get("floor_here_pct", [])),
                    fmt(a["tolerance_pct"], 1, 3), name,
                    " ".join(fmt(x, 1, 3) for x in m.get("runs_loss_pct", [m["loss_pct"]])),
                    fmt(m["loss_pct"], 1, 3), "yes" if m["lossless"] else "NO",
                    loss_where_str(m.get("loss_where"))))
        out.append("")
    ru = res.get("rule_update", {})
    if "latency_us" in ru:
        l = ru["latency_us"]
        out.append("Rule-update publish latency (xm-churn, %d publishes in %.1f s): "
                   "avg %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us.\n" % (
                       ru.get("publishes", 0), ru.get("seconds", 0), l["avg"], l["p50"],
                       l["p99"], l["max"]))
    else:
        out.append("Rule-update latency: %s.\n" % (ru.get("skipped") or ru.get("error")
                                                  or "not measured"))
    fl = res.get("loss_floor", {})
    if fl:
        out.append("Loss floor (bare XDP_DROP peer behind the threaded veth ring, rates "
                   "%s pps): %s.\n" % (
                       ", ".join(str(r) for r in FLOOR_RATES),
                       "; ".join("%s B: losses %s %%, tolerance %s %%" % (
                           size, " ".join(fmt(st["loss_pct"], 1, 3) for st in v["steps"]),
                           fmt(v["tolerance_pct"], 1, 3))
                           for size, v in sorted(fl.items(), key=lambda kv: int(kv[0])))))
        noisy = sorted((int(k) for k, v in fl.items()
                        if v["tolerance_pct"] > FLOOR_NOISY_PCT))
        if noisy:
            out.append("**The floor exceeded %.0f %% at %s B in this run: its zero-loss "
                       "figures and verdicts there say more about the machine than "
                       "about the systems.**\n" % (
                           FLOOR_NOISY_PCT, ", ".join(str(n) for n in noisy)))
    g = res["summary"]["gen_cost"]
    out.append("Generator alone (XDP_DROP peer, one core): " + "; ".join(
        "%d B %s ns/frame, %s Mpps" % (size, fmt(v["cpu_ns_per_frame"], 1, 0),
                                       fmt(v["pps"], 1e-6)) for size, v in sorted(g.items()))
        + ".\n")
    if res["errors"]:
        out.append("Errors:\n")
        for e in res["errors"]:
            out.append("- %s" % json.dumps(e))
        out.append("")
    return "\n".join(out)


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["summary"]["rows"]
    cfg = res["meta"]["config"]
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.8))
    for name in SYSTEMS:
        pts = [(r["size"], r) for r in rows if r["system"] == name and r["group"] == "sizes"]
        pts.sort(key=lambda p: p[0])
        xs = [p[0] for p in pts]
        line, = ax[0].plot(xs, [(p[1]["delivered_pps"] or 0) / 1e6 for p in pts], "o-",
                           label=name)
        ax[0].plot(xs, [(p[1]["offered_pps"] or 0) / 1e6 for p in pts], "x:",
                   color=line.get_color(), alpha=0.6)
        ax[1].plot(xs, [(p[1]["cpu_ns_per_frame"] or 0) for p in pts], "o-", label=name)
    ax[0].set_title("delivered rate, datapath on its own core (x: offered)")
    ax[0].set_xlabel("frame size (bytes)")
    ax[0].set_ylabel("Mpps mirrored")
    ax[1].set_title("CPU per mirrored frame (one core)")
    ax[1].set_xlabel("frame size (bytes)")
    ax[1].set_ylabel("ns")
    rr = sorted([r for r in rows if r["system"] == "xdp-mirror" and r["collectors"] == 1
                 and r["size"] == cfg["sizes"][0] and r["group"] in ("sizes", "rules")],
                key=lambda r: r["rules"])
    xs = [r["rules"] for r in rr]
    ax[2].plot(xs, [(r["delivered_pps"] or 0) / 1e6 for r in rr], "o-", color="C0",
               label="delivered Mpps")
    ax[2].set_xscale("log")
    ax[2].set_xlabel("rules loaded")
    ax[2].set_ylabel("Mpps mirrored", color="C0")
    ax[2].set_title("xdp-mirror vs rule count (%d B)" % cfg["sizes"][0])
    ax2 = ax[2].twinx()
    ax2.plot(xs, [(r["cpu_ns_per_frame"] or 0) for r in rr], "s--", color="C3",
             label="CPU ns/frame")
    ax2.set_ylabel("CPU ns per frame", color="C3")
    for a in ax[:2]:
        a.legend(fontsize=8)
        a.grid(alpha=0.3)
    ax[2].grid(alpha=0.3)
    ax[0].set_ylim(bottom=0)
    ax[1].set_ylim(bottom=0)
    ax[2].set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    m = res["meta"]["machine"]
    fig.suptitle("xdp-mirror bench %s - %s, %d CPUs, kernel %s" % (
        res["meta"]["timestamp"], m["cpu_model"], m["nproc"], m["kernel"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(), "hostname": platform.node()}


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description="xdp-mirror benchmark")
    ap.add_argument("--quick", action="store_true",
                    help="tiny durations, one size, 1 and 100 rules (make bench-quick)")
    ap.add_argument("--out", help="output directory (default bench/results, "
                    "build/bench-quick for --quick)")
    ap.add_argument("--reps", type=int, help="repetitions (override)")
    ap.add_argument("--duration", type=float, help="seconds per trial (override)")
    ap.add_argument("--phases", default=",".join(PHASES),
                    help="comma-separated subset of %s (default: all)" % ",".join(PHASES))
    args = ap.parse_args()
    phases = [p for p in args.phases.split(",") if p]
    bad = [p for p in phases if p not in PHASES]
    if bad or not phases:
        print("bench: unknown phase '%s' (phases: %s)" % (bad[0] if bad else "",
                                                          ",".join(PHASES)), file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("bench: must run as root", file=sys.stderr)
        return 1
    if (os.cpu_count() or 1) < 2:
        print("bench: needs 2 CPUs", file=sys.stderr)
        return 1
    global XM_BIN
    XM_BIN = os.path.abspath(os.environ.get("XM_BIN", os.path.join(ROOT, "build")))
    for exe in ("mirror-appliance", "mirrorctl", "xm-gen", "xm-ref"):
        if not os.access(os.path.join(XM_BIN, exe), os.X_OK):
            print("bench: %s/%s missing (make)" % (XM_BIN, exe), file=sys.stderr)
            return 1
    if not os.path.ismount("/sys/fs/bpf"):
        run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"])
    profile = "quick" if args.quick else "full"
    cfg = dict(CONFIGS[profile])
    if args.reps:
        cfg["reps"] = args.reps
    if args.duration:
        cfg["duration"] = args.duration
    cfg["phases"] = phases
    out_dir = args.out or os.path.join(ROOT, "build/bench-quick" if args.quick
                                       else "bench/results")
    os.makedirs(out_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")

    def on_term(sig, frm):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    # Readings of several counters must not be split by another task of
    # this shared machine: the harness (and the xm-ref counters it
    # starts) run at nice -20; they sleep between readings.
    os.setpriority(os.PRIO_PROCESS, 0, -20)
    b = Bench(cfg, out_dir, args.quick)
    log("%s run, XM_BIN=%s" % (profile, XM_BIN))
    try:
        log("topology")
        b.setup()
        b.run_all()
    except KeyboardInterrupt:
        log("interrupted")
        b.teardown()
        return 130
    except (BenchError, subprocess.TimeoutExpired) as e:
        log("ERROR %s" % e)
        b.errors.append({"error": str(e), "fatal": True})
    finally:
        if b.topo.made:
            b.teardown()
    res = {
        "meta": {"timestamp": stamp, "profile": profile, "machine": machine(),
                 "commit": git_rev(), "xm_bin": XM_BIN, "config": cfg,
                 "systems": SYSTEMS, "gen_cpu": GEN_CPU, "dut_cpu": DUT_CPU,
                 "flows": FLOWS, "ns_suffix": b.sfx},
        "errors": b.errors,
        "zero_loss": b.extra.get("zero_loss", {}),
        "at_recipe_loss": b.extra.get("at_recipe_loss", {}),
        "loss_floor": b.extra.get("loss_floor", {}),
        "rule_update": b.extra.get("rule_update", {}),
        "rule_load_s": b.extra.get("rule_load_s", {}),
        "elapsed_s": b.extra.get("elapsed_s"),
        "trials": b.trials,
    }
    res["summary"] = summarize(b)
    base = os.path.join(out_dir, stamp)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    md = markdown(res)
    with open(base + ".md", "w") as f:
        f.write(md + "\n")
    try:
        plot(res, base + ".png")
    except Exception as e:  # the figures matter more than the picture
        log("plot: %s" % e)
    print(md)
    print("bench: results in %s.{json,md,png}" % base)
    fatal = any(e.get("fatal") for e in b.errors)
    return 1 if fatal else 0


if __name__ == "__main__":
    sys.exit(main())
