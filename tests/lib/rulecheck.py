#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The rule engine's end-to-end oracle (tests/e2e/test_e2e_rules.sh).

One table of rules exercising every match field, priorities, ties, skip
actions, sampling, snaplen and replication; one collector per rule (plus
shared ones), so the collector a copy reaches names the rule that matched.

  plan     Write the plan (collectors, rules, frames) as JSON and the
           frames as a pcap.  Frames are built with scapy from
           descriptors (family, addresses, protocol, ports, tags, DSCP,
           TCP flags); the expected rule of each frame is computed later,
           from the descriptors and the rule semantics -- written from
           the rule syntax, not from the C classifier.
  setup    Add the collectors and rules with mirrorctl (one command each,
           argv lists, so filter expressions need no quoting) and record
           the id mirrorctl gave each rule.
  send     Send the plan's frames.
  settled  Read `mirrorctl stats -j` on stdin; exit 0 once every frame
           was received and every copy accounted for.
  check    Compare capture and stats with the oracle, exactly; print
           PASS/FAIL lines.  The pcap-filter predicates of the oracle are
           first checked against libpcap itself (tcpdump -r).

For tests/e2e/test_e2e_churn.sh (rules replaced while traffic flows):

  churn-send   Send UDP frames to three ports in turn, each carrying its
               port's sequence number, at a steady rate until SIGTERM;
               then write how many went to each port.
  churn-check  Every copy at collector 1 must be a port-1 or port-3
               frame, every copy at collector 2 a port-2 or port-3 frame
               (a torn table read sends them elsewhere), each sent frame
               exactly once per collector it belongs to; stats agree.
"""
import argparse
import collections
import errno
import ipaddress
import json
import math
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import encapcheck  # noqa: E402

TCP, UDP, SCTP, ICMP, ICMP6, GRE = 6, 17, 132, 1, 58, 47
L4_PORTS = (TCP, UDP, SCTP)
PROTO_NAMES = {TCP: "tcp", UDP: "udp", SCTP: "sctp", ICMP: "icmp",
               ICMP6: "icmpv6"}
TCP_FLAG_BITS = {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16,
                 "urg": 32, "ece": 64, "cwr": 128}
VXLAN_HDR = 14 + 20 + 8 + 8     # outer Ethernet + IPv4 + UDP + VXLAN
SAMPLE_FRAMES = 4000


# ---- the oracle's pcap-filter predicates ----------------------------------
# Written from pcap-filter(7): primitives look at the frame as it is, so a
# VLAN tag hides the IP header unless the expression says `vlan`.

def f_tcp9091(d):
    if d["vlans"] or d["fam"] == 0 or d["proto"] != TCP:
        return False
    if 9091 not in (d["sport"], d["dport"]):
        return False
    return not (d["fam"] == 4 and "10.1.1.1" in (d["src"], d["dst"]))


def f_ip6udp9500(d):
    return not d["vlans"] and d["fam"] == 6 and d["proto"] == UDP and \
        d["dport"] == 9500


def f_net40_greater(d):
    return not d["vlans"] and d["fam"] == 4 and \
        ipaddress.ip_address(d["src"]) in ipaddress.ip_network("10.40.0.0/16") \
        and d["len"] >= 500


FILTERS = {
    "tcp port 9091 and not host 10.1.1.1": f_tcp9091,
    "ip6 and udp dst port 9500": f_ip6udp9500,
    "src net 10.40.0.0/16 and greater 500": f_net40_greater,
}


# ---- collectors and rules --------------------------------------------------

# name -> collector snaplen (0: none)
COLL_SNAP = {"k_s2": 128, "k_s3": 300}


def R(name, prio, colls=None, action="mirror", sample=0, snaplen=0, **m):
    if colls is None and action == "mirror":
        colls = ["k_" + name]
    return {"name": name, "prio": prio, "action": action, "m": m,
            "colls": colls or [], "sample": sample, "snaplen": snaplen}


# In add order: ties in prio go to the rule added first (lower id).
RULES = [
    R("src4", 10, src="10.20.1.0/24"),
    R("dst4", 10, dst="10.20.2.128/25", proto=UDP),
    R("src6", 10, src="2001:db8:20::/48"),
    R("dst6", 10, dst="2001:db8:21:5::/64", proto=TCP),
    R("sd4", 11, src="10.20.3.0/24", dst="10.20.4.0/22", proto=UDP,
      dport=(4000, 4000)),
    R("sctp", 20, proto=SCTP),
    R("icmp", 20, proto=ICMP),
    R("icmp6", 20, proto=ICMP6),
    R("gre", 20, proto=GRE),
    R("sport", 30, proto=TCP, sport=(4444, 4444)),
    R("dportr", 30, proto=UDP, dport=(6000, 6099)),
    R("sportr", 30, sport=(33000, 33099)),
    R("dport", 30, proto=UDP, dport=(53, 53)),
    R("vlan", 40, vlan=100),
    R("ivlan", 40, vlan=200, ivlan=300),
    R("ivlan2", 41, ivlan=301),
    R("iifno", 44, iif="other", proto=UDP, dport=(9100, 9100)),
    R("iif", 45, iif="rx", proto=UDP, dport=(9100, 9100)),
    R("dirout", 46, dir="out", proto=UDP, dport=(9200, 9200)),
    R("dirin", 47, dir="in", proto=UDP, dport=(9200, 9200)),
    R("dirboth", 48, dir="both", proto=UDP, dport=(9201, 9201)),
    R("dscp", 50, dscp=46, proto=UDP, dport=(9300, 9300)),
    R("syn", 55, tcp_flags=("syn", "syn,ack"), dport=(9400, 9400)),
    R("fin", 55, tcp_flags=("fin", None), dport=(9401, 9401)),
    R("norst", 55, tcp_flags=("none", "rst"), dport=(9402, 9402)),
    R("filt1", 60, filter="tcp port 9091 and not host 10.1.1.1"),
    R("filt2", 60, filter="ip6 and udp dst port 9500"),
    R("filt3", 61, filter="src net 10.40.0.0/16 and greater 500"),
    # priorities: the lower prio wins; equal prio: the lower id
    R("pA", 70, proto=UDP, dport=(9600, 9699)),
    R("pB", 65, proto=UDP, dport=(9650, 9650)),
    R("pC", 70, proto=UDP, dport=(9610, 9620)),     # tie with pA: never
    R("pE", 75, proto=UDP, dport=(9650, 9650)),     # behind pB: never
    R("t1", 80, proto=UDP, dport=(9700, 9710)),     # residual, lower id
    R("t2", 80, proto=UDP, dport=(9705, 9705)),     # hashed: loses 9705
    R("t3", 81, proto=UDP, dport=(9720, 9720)),     # hashed, lower id
    R("t4", 81, proto=UDP, dport=(9715, 9725)),     # residual: loses 9720
    R("t5", 82, proto=UDP, dport=(9730, 9730)),     # two tuples, one prio
    R("t6", 82, dport=(9730, 9730)),
    # skip rules carve traffic out of a broader mirror rule
    R("skip", 90, action="skip", src="10.70.7.0/24"),
    R("broad", 95, proto=UDP, dport=(7000, 7999)),
    R("skip2", 96, action="skip", dport=(7500, 7500)),
    # snaplen: the rule's and the collector's, the shorter one wins
    R("snap1", 100, snaplen=100, proto=UDP, dport=(8100, 8100)),
    R("snap2", 100, snaplen=200, colls=["k_s2"], proto=UDP, dport=(8101, 8101)),
    R("snap3", 100, snaplen=96, colls=["k_s3"], proto=UDP, dport=(8102, 8102)),
    # replication: one copy per collector
    R("rep", 100, colls=["k_r1", "k_r2"], proto=UDP, dport=(8200, 8200)),
    R("repsnap", 100, snaplen=150, colls=["k_r3", "k_s2"], proto=UDP,
      dport=(8201, 8201)),
    R("samp", 100, sample=4, proto=UDP, dport=(8300, 8300)),
]


def collector_names():
    names = []
    for r in RULES:
        for c in r["colls"]:
            if c not in names:
                names.append(c)
    return names


def flag_bits(names):
    if names == "none":
        return 0
    bits = 0
    for n in names.split(","):
        bits |= TCP_FLAG_BITS[n]
    return bits


def rule_cli(rule, iifs):
    """mirrorctl rule add arguments (argv list) of a rule."""
    m = rule["m"]
    a = ["prio", str(rule["prio"])]
    if rule["action"] != "mirror":
        a += ["action", rule["action"]]
    for k in ("src", "dst"):
        if k in m:
            a += [k, m[k]]
    if "proto" in m:
        a += ["proto", PROTO_NAMES.get(m["proto"], str(m["proto"]))]
    for k in ("sport", "dport"):
        if k in m:
            lo, hi = m[k]
            a += [k, str(lo) if lo == hi else "%d-%d" % (lo, hi)]
    if "vlan" in m:
        a += ["vlan", str(m["vlan"])]
    if "ivlan" in m:
        a += ["inner-vlan", str(m["ivlan"])]
    if "iif" in m:
        a += ["iif", iifs[m["iif"]]]
    if "dir" in m:
        a += ["dir", m["dir"]]
    if "dscp" in m:
        a += ["dscp", str(m["dscp"])]
    if "tcp_flags" in m:
        f, mask = m["tcp_flags"]
        a += ["tcp-flags", f if mask is None else "%s/%s" % (f, mask)]
    if "filter" in m:
        a += ["filter", m["filter"]]
    if rule["sample"]:
        a += ["sample", str(rule["sample"])]
    if rule["snaplen"]:
        a += ["snaplen", str(rule["snaplen"])]
    if rule["colls"]:
        a += ["collector", ",".join(rule["colls"])]
    return a


def rule_matches(rule, d):
    """Does frame descriptor d satisfy every field rule sets?  The rule
    semantics of `mirrorctl rule add`: a field that is set never matches
    a frame lacking it; appliance mode: every frame comes in ("in") on
    the RX device."""
    m = rule["m"]
    for k in ("src", "dst"):
        if k in m:
            net = ipaddress.ip_network(m[k])
            if d["fam"] != net.version or \
                    ipaddress.ip_address(d[k]) not in net:
                return False
    if "proto" in m and (d["fam"] == 0 or d["proto"] != m["proto"]):
        return False
    for k in ("sport", "dport"):
        if k in m:
            if d["fam"] == 0 or d["proto"] not in L4_PORTS:
                return False
            lo, hi = m[k]
            if not lo <= d[k] <= hi:
                return False
    if "vlan" in m and (len(d["vlans"]) < 1 or d["vlans"][0] != m["vlan"]):
        return False
    if "ivlan" in m and (len(d["vlans"]) < 2 or d["vlans"][1] != m["ivlan"]):
        return False
    if "iif" in m and m["iif"] != "rx":
        return False
    if "dir" in m and m["dir"] == "out":
        return False
    if "dscp" in m and (d["fam"] == 0 or d["dscp"] != m["dscp"]):
        return False
    if "tcp_flags" in m:
        f, mask = m["tcp_flags"]
        want = flag_bits(f)
        mask = want if mask is None else flag_bits(mask)
        if d["fam"] == 0 or d["proto"] != TCP or (d["flags"] & mask) != want:
            return False
    if "filter" in m and not FILTERS[m["filter"]](d):
        return False
    return True


def classify(rules, ids, d):
    """Index (in RULES) of the first rule in (prio, id) order, or -1."""
    order = sorted(range(len(rules)), key=lambda i: (rules[i]["prio"], ids[i]))
    for i in order:
        if rule_matches(rules[i], d):
            return i
    return -1


# ---- frames ----------------------------------------------------------------

class Builder:
    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.frames = []
        self.n = 0

    def add(self, fam=4, src=None, dst=None, proto=UDP, sport=None,
            dport=80, vlans=(), dscp=0, ecn=0, flags="", size=None,
            qinq="ad", tag="probe"):
        """One frame: IPv4/IPv6 (fam 4/6) with TCP/UDP/SCTP/ICMP/ICMPv6/
        GRE, up to two VLAN tags, a DSCP, TCP flags; size in bytes."""
        from scapy.all import (Dot1AD, Dot1Q, Ether, GRE as GREh, ICMP as
                               ICMPh, ICMPv6EchoRequest, IP, IPv6, Raw, SCTP
                               as SCTPh, TCP as TCPh, UDP as UDPh)
        rnd = self.rnd
        i = self.n
        self.n += 1
        if src is None:
            src = "10.99.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254)) \
                if fam == 4 else "2001:db8:99::%x" % rnd.randint(1, 0xffff)
        if dst is None:
            dst = "10.98.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254)) \
                if fam == 4 else "2001:db8:98::%x" % rnd.randint(1, 0xffff)
        if sport is None:
            sport = rnd.randint(1024, 30000)
        pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        for n, vid in enumerate(vlans):
            if n == 0 and len(vlans) == 2 and qinq == "ad":
                pkt = pkt / Dot1AD(vlan=vid, prio=rnd.randint(0, 7))
            else:
                pkt = pkt / Dot1Q(vlan=vid, prio=rnd.randint(0, 7))
        tos = (dscp << 2) | ecn
        if fam == 4:
            pkt = pkt / IP(src=src, dst=dst, tos=tos, id=i & 0xffff, ttl=64)
        else:
            pkt = pkt / IPv6(src=src, dst=dst, tc=tos, hlim=64)
        if proto == TCP:
            pkt = pkt / TCPh(sport=sport, dport=dport, seq=i, flags=flags)
        elif proto == UDP:
            pkt = pkt / UDPh(sport=sport, dport=dport)
        elif proto == SCTP:
            pkt = pkt / SCTPh(sport=sport, dport=dport, tag=i)
        elif proto == ICMP:
            pkt = pkt / ICMPh(type=8, id=i & 0xffff, seq=1)
        elif proto == ICMP6:
            pkt = pkt / ICMPv6EchoRequest(id=i & 0xffff, seq=1)
        elif proto == GRE:
            pkt = pkt / GREh(proto=0x0800)
        if size is None:
            size = rnd.randint(60, 1000)
        body = bytes(((i * 7) + k) & 0xff for k in range(max(0, size - len(pkt))))
        body = (i.to_bytes(4, "big") + body[4:]) if len(body) >= 4 else body
        raw = bytes(pkt / Raw(body)) if body else bytes(pkt)
        tf = 0
        if proto == TCP:
            tf = sum(TCP_FLAG_BITS[n] for n, c in
                     (("fin", "F"), ("syn", "S"), ("rst", "R"), ("psh", "P"),
                      ("ack", "A"), ("urg", "U"), ("ece", "E"), ("cwr", "C"))
                     if c in flags)
        has_ports = proto in L4_PORTS
        self.frames.append({
            "hex": raw.hex(), "tag": tag, "fam": fam, "src": src, "dst": dst,
            "proto": proto, "sport": sport if has_ports else None,
            "dport": dport if has_ports else None, "vlans": list(vlans),
            "dscp": dscp, "flags": tf, "len": len(raw)})


def build_frames(seed):
    b = Builder(seed)
    A = b.add
    # prefixes, IPv4 and IPv6
    for p in (TCP, UDP, ICMP):
        A(src="10.20.1.5", proto=p, tag="src4")
        A(src="10.20.1.254", proto=p, tag="src4")
        A(src="10.20.2.5", proto=p, tag="src4-")
        A(src="10.20.0.255", proto=p, tag="src4-")
    A(dst="10.20.2.129", tag="dst4")
    A(dst="10.20.2.255", tag="dst4")
    A(dst="10.20.2.127", tag="dst4-")
    A(dst="10.20.2.200", proto=TCP, tag="dst4-proto")
    for p in (TCP, UDP, ICMP6):
        A(fam=6, src="2001:db8:20:ffff::1", proto=p, tag="src6")
        A(fam=6, src="2001:db8:20::1", proto=p, tag="src6")
        A(fam=6, src="2001:db8:21::1", proto=p, tag="src6-")
    A(fam=6, dst="2001:db8:21:5::9", proto=TCP, tag="dst6")
    A(fam=6, dst="2001:db8:21:5:ffff::1", proto=TCP, tag="dst6")
    A(fam=6, dst="2001:db8:21:5::9", proto=UDP, tag="dst6-proto")
    A(fam=6, dst="2001:db8:21:6::9", proto=TCP, tag="dst6-")
    A(src="10.20.3.9", dst="10.20.7.1", dport=4000, tag="sd4")
    A(src="10.20.3.9", dst="10.20.8.1", dport=4000, tag="sd4-")
    A(src="10.20.3.9", dst="10.20.4.1", dport=4001, tag="sd4-")
    # protocols
    for fam in (4, 6):
        A(fam=fam, proto=SCTP, dport=80, tag="sctp")
        A(fam=fam, proto=GRE, tag="gre")
    A(proto=ICMP, tag="icmp")
    A(fam=6, proto=ICMP6, tag="icmp6")
    # ports, exact and ranges
    A(proto=TCP, sport=4444, dport=80, tag="sport")
    A(fam=6, proto=TCP, sport=4444, dport=80, tag="sport")
    A(proto=UDP, sport=4444, dport=80, tag="sport-proto")
    A(proto=TCP, sport=4445, dport=80, tag="sport-")
    for dp in (5999, 6000, 6050, 6099, 6100):
        A(dport=dp, tag="dportr")
    A(proto=TCP, dport=6050, tag="dportr-proto")
    for sp, p in ((33000, UDP), (33099, TCP), (33050, SCTP), (32999, UDP),
                  (33100, TCP)):
        A(proto=p, sport=sp, tag="sportr")
    A(fam=6, proto=UDP, sport=33001, tag="sportr")
    A(dport=53, tag="dport")
    A(fam=6, dport=53, tag="dport")
    A(proto=TCP, dport=53, tag="dport-proto")
    # VLANs: outer, inner (802.1ad + 802.1Q, and 802.1Q twice)
    A(vlans=(100,), tag="vlan")
    A(vlans=(100,), fam=6, proto=TCP, tag="vlan")
    A(vlans=(100, 5), tag="vlan")
    A(vlans=(101,), tag="vlan-")
    A(vlans=(5, 100), tag="vlan-")
    A(vlans=(200, 300), tag="ivlan")
    A(vlans=(200, 300), qinq="q", tag="ivlan")
    A(vlans=(200, 301), tag="ivlan2")
    A(vlans=(7, 301), qinq="q", tag="ivlan2")
    A(vlans=(200,), tag="ivlan-")
    A(vlans=(300, 200), tag="ivlan-")
    A(vlans=(301,), tag="ivlan2-")
    # iif and dir
    A(dport=9100, tag="iif")
    A(fam=6, dport=9100, tag="iif")
    A(dport=9200, tag="dir")
    A(fam=6, dport=9200, tag="dir")
    A(dport=9201, tag="dirboth")
    # DSCP (ECN bits must not matter)
    A(dport=9300, dscp=46, tag="dscp")
    A(dport=9300, dscp=46, ecn=3, tag="dscp")
    A(fam=6, dport=9300, dscp=46, ecn=1, tag="dscp")
    A(dport=9300, dscp=45, tag="dscp-")
    A(fam=6, dport=9300, dscp=0, tag="dscp-")
    A(dport=9300, dscp=47, tag="dscp-")
    # TCP flags with masks
    for f in ("S", "SA", "A", "FS", "SE", "PA", "SR"):
        A(proto=TCP, dport=9400, flags=f, tag="syn")
    A(fam=6, proto=TCP, dport=9400, flags="S", tag="syn")
    A(proto=UDP, dport=9400, tag="syn-proto")
    for f in ("FA", "F", "PA", "R", "FPU"):
        A(proto=TCP, dport=9401, flags=f, tag="fin")
    for f in ("PA", "R", "RA", "S", ""):
        A(proto=TCP, dport=9402, flags=f, tag="norst")
    A(proto=UDP, dport=9402, tag="norst-proto")
    # pcap filters
    A(proto=TCP, src="10.1.1.2", dst="10.3.0.1", dport=9091, tag="filt1")
    A(proto=TCP, src="10.1.1.1", dst="10.3.0.1", dport=9091, tag="filt1-")
    A(proto=TCP, src="10.3.0.1", dst="10.1.1.1", sport=9091, dport=5555,
      tag="filt1-")
    A(proto=TCP, src="10.3.0.1", dst="10.1.1.3", sport=9091, dport=5555,
      tag="filt1")
    A(proto=UDP, dport=9091, tag="filt1-")
    A(fam=6, proto=TCP, dport=9091, tag="filt1")
    A(proto=TCP, dport=9091, vlans=(150,), tag="filt1-vlan")
    A(fam=6, dport=9500, tag="filt2")
    A(fam=4, dport=9500, tag="filt2-")
    A(fam=6, proto=TCP, dport=9500, tag="filt2-")
    A(src="10.40.1.1", size=500, tag="filt3")
    A(src="10.40.1.1", size=499, tag="filt3-")
    A(src="10.40.255.1", proto=TCP, size=900, tag="filt3")
    A(src="10.41.0.1", size=900, tag="filt3-")
    # priorities and ties
    for dp in (9600, 9615, 9650, 9699, 9700, 9705, 9710, 9715, 9720, 9725):
        A(dport=dp, tag="prio")
    A(fam=6, dport=9650, tag="prio")
    A(dport=9730, tag="tie")
    A(proto=TCP, dport=9730, tag="tie")
    A(proto=SCTP, dport=9730, tag="tie")
    # skip
    for src in ("10.70.7.9", "10.70.8.9"):
        for p, dp in ((UDP, 7100), (UDP, 7500), (TCP, 7500), (TCP, 80),
                      (UDP, 8000)):
            A(src=src, proto=p, dport=dp, tag="skip")
    # snaplen, around each limit
    for sz in (60, 99, 100, 101, 500, 1400):
        A(dport=8100, size=sz, tag="snap1")
    for sz in (60, 127, 128, 129, 200, 201, 1400):
        A(dport=8101, size=sz, tag="snap2")
    for sz in (60, 95, 96, 97, 300, 301, 1400):
        A(dport=8102, size=sz, tag="snap3")
    # replication
    for k in range(20):
        A(fam=4 if k % 2 else 6, dport=8200, tag="rep")
    for sz in (60, 128, 129, 150, 151, 1400):
        A(dport=8201, size=sz, tag="repsnap")
    # frames no rule wants
    for k in range(150):
        A(fam=b.rnd.choice((4, 6)), proto=b.rnd.choice((TCP, UDP)),
          dport=b.rnd.choice((80, 443, 8080, 5001)), tag="none")
    # sampling: many small frames
    for k in range(SAMPLE_FRAMES):
        A(fam=4 if k % 3 else 6, dport=8300, size=b.rnd.randint(60, 160),
          tag="samp")
    return b.frames


# ---- sub-commands ------------------------------------------------------------

def cmd_plan(args):
    from scapy.all import Ether, wrpcap

    colls = {}
    for n, name in enumerate(collector_names()):
        colls[name] = {"name": name, "vni": 1000 + n,
                       "remote": "%s.%d" % (args.net4, 10 + n),
                       "snaplen": COLL_SNAP.get(name, 0)}
    frames = build_frames(args.seed)
    plan = {"collectors": colls, "rules": RULES,
            "iifs": {"rx": args.iif, "other": args.other_dev},
            "frames": frames}
    with open(args.plan, "w") as f:
        json.dump(plan, f)
    wrpcap(args.pcap, [Ether(bytes.fromhex(fr["hex"])) for fr in frames])
    return 0


def load_plan(path):
    with open(path) as f:
        return json.load(f)


def cmd_addrs(args):
    plan = load_plan(args.plan)
    print(" ".join("%s/24" % c["remote"] for c in plan["collectors"].values()))
    return 0


def mirrorctl(ctl, argv):
    cmd = ctl.split() + argv
    print("+ mirrorctl " + " ".join(a if " " not in a else "'%s'" % a
                                    for a in argv), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if p.stdout:
        print(p.stdout, end="", flush=True)
    return p.returncode, p.stdout


def shown_ids(ctl):
    rc, out = mirrorctl(ctl, ["rule", "show"])
    if rc:
        raise ValueError("rule show failed")
    ids = set()
    for line in out.splitlines():
        if "# id " in line:
            ids.add(int(line.rsplit("# id ", 1)[1]))
    return ids


def cmd_setup(args):
    plan = load_plan(args.plan)
    for c in plan["collectors"].values():
        argv = ["collector", "add", c["name"], "remote", c["remote"],
                "vni", str(c["vni"])]
        if c["snaplen"]:
            argv += ["snaplen", str(c["snaplen"])]
        rc, _ = mirrorctl(args.ctl, argv)
        if rc:
            print("FAIL %s_setup: collector add %s" % (args.prefix, c["name"]))
            return 1
    ids = []
    before = shown_ids(args.ctl)
    for r in plan["rules"]:
        rc, _ = mirrorctl(args.ctl, ["rule", "add"] +
                          rule_cli(r, plan["iifs"]))
        if rc:
            print("FAIL %s_setup: rule add %s" % (args.prefix, r["name"]))
            return 1
        now = shown_ids(args.ctl)
        new = now - before
        if len(new) != 1:
            print("FAIL %s_setup: rule %s: %d new ids" % (args.prefix,
                                                          r["name"], len(new)))
            return 1
        ids.append(new.pop())
        before = now
    with open(args.ids, "w") as f:
        json.dump(ids, f)
    print("PASS %s_setup" % args.prefix)
    return 0


def cmd_send(args):
    from scapy.all import conf

    plan = load_plan(args.plan)
    sock = conf.L2socket(iface=args.iface)
    for fr in plan["frames"]:
        sock.send(bytes.fromhex(fr["hex"]))
    sock.close()
    return 0


def expectations(plan, ids):
    """Per frame: rule index; per collector: Counter of (inner bytes) it
    must get, plus the optional (sampled) ones and the counts of cut
    copies; fixed counts for the wait."""
    rules = plan["rules"]
    colls = plan["collectors"]
    want = {n: collections.Counter() for n in colls}
    optional = {n: collections.Counter() for n in colls}
    ncut = collections.Counter()
    per_rule = collections.Counter()
    per_rule_bytes = collections.Counter()
    fixed_copies = fixed_xsk = skipped = matched = 0
    which = []
    for fr in plan["frames"]:
        i = classify(rules, ids, fr)
        which.append(i)
        if i < 0:
            continue
        r = rules[i]
        raw = bytes.fromhex(fr["hex"])
        matched += 1
        per_rule[i] += 1
        per_rule_bytes[i] += len(raw)
        if r["action"] == "skip":
            skipped += 1
            continue
        if not r["sample"]:
            fixed_xsk += 1
            fixed_copies += len(r["colls"])
        for c in r["colls"]:
            snaps = [s for s in (r["snaplen"], colls[c]["snaplen"]) if s]
            lim = min(snaps) if snaps else len(raw)
            inner = raw[:lim]
            if r["sample"]:
                optional[c][inner] += 1
            else:
                want[c][inner] += 1
                if lim < len(raw):
                    ncut[c] += 1
    return {"which": which, "want": want, "optional": optional,
            "ncut": ncut, "per_rule": per_rule,
            "per_rule_bytes": per_rule_bytes, "fixed_copies": fixed_copies,
            "fixed_xsk": fixed_xsk, "skipped": skipped, "matched": matched}


def load_ids(path):
    with open(path) as f:
        return json.load(f)


def cmd_settled(args):
    plan = load_plan(args.plan)
    ids = load_ids(args.ids)
    e = expectations(plan, ids)
    st = json.load(sys.stdin)
    dev = mirrored_dev(st)
    acc = sum(c["sent"] + sum(v for k, v in c.items() if k.startswith("drop_"))
              for c in st["collectors"])
    # sampled frames each make one copy (the sampling rule has one collector)
    need = e["fixed_copies"] + (dev["to_xsk"] - e["fixed_xsk"])
    ok = dev["rx"] >= len(plan["frames"]) and acc >= need
    if args.verbose:
        print("rx %d/%d copies %d/%d" % (dev["rx"], len(plan["frames"]), acc, need))
    return 0 if ok else 1


def mirrored_dev(st):
    """Device counters with to_xsk counting every mirrored frame: those
    the XDP fast path sent itself (to_fast) as well as those handed to
    AF_XDP, so the expectations hold under any --datapath."""
    dev = dict(st["device"])
    dev["to_xsk"] += dev.pop("to_fast", 0)
    return dev


def report(ok, name, why=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)
    return 0 if ok else 1


def libpcap_matches(pcap, expr):
    """Indexes of the frames of pcap that libpcap's filter expr takes."""
    from scapy.all import rdpcap

    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "f.pcap")
        subprocess.run(["tcpdump", "-r", pcap, "-w", out, expr],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        return [bytes(p) for p in rdpcap(out)]


def cmd_check(args):
    from scapy.all import PcapReader

    plan = load_plan(args.plan)
    ids = load_ids(args.ids)
    rules = plan["rules"]
    pfx = args.prefix
    rc = 0
    e = expectations(plan, ids)
    frames = plan["frames"]
    with open(args.stats) as f:
        st = json.load(f)

    # The oracle's filter predicates against libpcap itself.
    for expr, pred in FILTERS.items():
        got = collections.Counter(libpcap_matches(args.frames_pcap, expr))
        want = collections.Counter(bytes.fromhex(fr["hex"]) for fr in frames
                                   if pred(fr))
        rc |= report(got == want and sum(want.values()) > 0,
                     "%s_oracle_filter_%s" % (pfx, expr.replace(" ", "_")),
                     "libpcap takes %d frames, the oracle %d (%d differ)" % (
                         sum(got.values()), sum(want.values()),
                         sum(((got - want) + (want - got)).values())))

    # Collectors as encapcheck sees them (VXLAN over IPv4).
    cobj = {}
    for c in plan["collectors"].values():
        spec = "name=%s,encap=vxlan,src=%s,dst=%s,smac=%s,dmac=%s,rules=,vni=%d" % (
            c["name"], args.src, c["remote"], args.smac, args.dmac, c["vni"])
        cobj[c["name"]] = encapcheck.Collector(spec)
    by_dst = {(4, o.dst): n for n, o in cobj.items()}
    caps = collections.defaultdict(list)
    stray = 0
    ncap = 0
    with PcapReader(args.pcap) as rd:
        for pkt in rd:
            raw = bytes(pkt)
            ncap += 1
            key = encapcheck.outer_dst(raw)
            if key in by_dst:
                caps[by_dst[key]].append(raw)
            else:
                stray += 1
    rc |= report(stray == 0, pfx + "_no_stray_frames",
                 "%d captured frames addressed to no collector" % stray)

    # Origin of every inner frame: to check the outer UDP source port
    # (flow hash of the original) as well.
    orig_of = {}
    for fr in frames:
        raw = bytes.fromhex(fr["hex"])
        for lim in sorted({len(raw), 96, 100, 128, 150, 200, 300}):
            orig_of.setdefault(raw[:lim], raw)
    errors = []
    got = {}
    for n, o in cobj.items():
        got[n] = collections.Counter()
        for k, raw in enumerate(caps[n]):
            inner = raw[VXLAN_HDR:]
            got[n][inner] += 1
            try:
                d = encapcheck.decode(raw, o)
                orig = orig_of.get(inner)
                if orig is not None:
                    encapcheck.check_inner_fields(d, o, orig, None)
            except (ValueError, IndexError) as ex:
                errors.append("%s copy %d: %s" % (n, k + 1, ex))
    rc |= report(not errors, pfx + "_headers",
                 "%d bad copies; %s" % (len(errors), "; ".join(errors[:3])))

    # An independent decoder: tshark's VNI and outer destination per copy.
    ts = subprocess.run(["tshark", "-r", args.pcap, "-T", "fields", "-e",
                         "ip.dst", "-e", "vxlan.vni", "-E", "occurrence=f"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        universal_newlines=True, check=True).stdout
    tcount = collections.Counter(tuple(l.split("\t")) for l in ts.splitlines())
    want_t = collections.Counter({(o.dst.exploded, str(o.vni)): len(caps[n])
                                  for n, o in cobj.items() if caps[n]})
    rc |= report(tcount == want_t and sum(tcount.values()) == ncap,
                 pfx + "_tshark_vni",
                 "tshark (dst, vni) counts differ: %s" % dict(
                     (tcount - want_t) + (want_t - tcount)))

    # Each collector: exactly the copies the oracle expects.
    stats_c = {c["name"]: c for c in st["collectors"]}
    for n in cobj:
        w, opt, g = e["want"][n], e["optional"][n], got[n]
        missing = w - g
        extra = g - w - opt
        rc |= report(not missing and not extra, "%s_coll_%s" % (pfx, n),
                     "expected %d (+%d optional), got %d: %d missing, %d unexpected%s"
                     % (sum(w.values()), sum(opt.values()), sum(g.values()),
                        sum(missing.values()), sum(extra.values()),
                        describe(extra, frames, rules, ids)))
        s = stats_c.get(n)
        ncut = e["ncut"][n] + sum(1 for inner, k in (g & opt).items()
                                  for _ in range(k)
                                  if len(inner) < len(orig_of.get(inner, inner)))
        wst = {"sent": sum(g.values()),
               "sent_bytes": sum(len(r) for r in caps[n]),
               "truncated_snap": ncut, "truncated_mtu": 0}
        if s is None:
            rc |= report(False, "%s_coll_%s_stats" % (pfx, n), "not in stats")
            continue
        for k in s:
            if k.startswith("drop_"):
                wst[k] = 0
        gst = {k: s.get(k) for k in wst}
        rc |= report(gst == wst, "%s_coll_%s_stats" % (pfx, n),
                     "stats %s, capture/oracle say %s" % (
                         {k: v for k, v in gst.items() if wst[k] != v},
                         {k: v for k, v in wst.items() if gst[k] != v}))

    # Each rule: packets and bytes.
    stats_r = {r["id"]: r for r in st["rules"]}
    for i, r in enumerate(rules):
        s = stats_r.get(ids[i], {"packets": None, "bytes": None})
        wr = (e["per_rule"][i], e["per_rule_bytes"][i])
        gr = (s["packets"], s["bytes"])
        rc |= report(gr == wr, "%s_rule_%s" % (pfx, r["name"]),
                     "rule id %d packets/bytes %s, oracle %s" % (ids[i], gr, wr))

    # Device counters and identities.
    dev = mirrored_dev(st)
    samp = [i for i, r in enumerate(rules) if r["sample"]]
    samp_copies = sum(sum((got[c] & e["optional"][c]).values())
                      for i in samp for c in rules[i]["colls"])
    samp_matched = sum(e["per_rule"][i] for i in samp)
    wdev = {"rx": len(frames), "matched": e["matched"],
            "not_matched": len(frames) - e["matched"],
            "skipped": e["skipped"],
            "sampled_out": samp_matched - samp_copies,
            "to_xsk": e["fixed_xsk"] + samp_copies,
            "xsk_missing": 0, "meta_fail": 0, "malformed": 0}
    for k, v in wdev.items():
        rc |= report(dev.get(k) == v, "%s_dev_%s" % (pfx, k),
                     "expected %s, got %s" % (v, dev.get(k)))
    ident = dev["rx"] == dev["matched"] + dev["not_matched"] and \
        dev["matched"] == dev["to_xsk"] + dev["xsk_missing"] + \
        dev["meta_fail"] + dev["skipped"] + dev["sampled_out"]
    rc |= report(ident, pfx + "_dev_identities", "device counters %s" % dev)

    # Sampling: 1 in N at random, and every matched frame accounted for.
    for i in samp:
        r = rules[i]
        n = e["per_rule"][i]
        p = 1.0 / r["sample"]
        mean, sigma = n * p, math.sqrt(n * p * (1 - p))
        print("   sampling %s: %d of %d frames copied (expected %.0f +- %.1f)"
              % (r["name"], samp_copies, n, mean, sigma))
        rc |= report(abs(samp_copies - mean) <= 5 * sigma,
                     "%s_sample_rate_%s" % (pfx, r["name"]),
                     "%d copies of %d, expected %.0f +- 5 * %.1f" % (
                         samp_copies, n, mean, sigma))
        rc |= report(samp_copies + dev["sampled_out"] == n ==
                     stats_r.get(ids[i], {}).get("packets"),
                     "%s_sample_identity_%s" % (pfx, r["name"]),
                     "copies %d + sampled_out %d != matched %d (rule packets %s)" % (
                         samp_copies, dev["sampled_out"], n,
                         stats_r.get(ids[i], {}).get("packets")))

    # Replication: the same frames, byte for byte, at each collector.
    for r in rules:
        if len(r["colls"]) < 2 or r["snaplen"]:
            continue
        sets = [got[c] for c in r["colls"]]
        rc |= report(all(s == sets[0] for s in sets) and sum(sets[0].values()) > 0,
                     "%s_replicated_%s" % (pfx, r["name"]),
                     "copies differ between %s: counts %s" % (
                         r["colls"], [sum(s.values()) for s in sets]))
    # Snaplen: the longest copy at each rule's collectors.
    for r in rules:
        if not r["snaplen"]:
            continue
        for c in r["colls"]:
            cs = plan["collectors"][c]["snaplen"]
            lim = min(x for x in (r["snaplen"], cs) if x)
            longest = max((len(k) for k in got[c]), default=0)
            rc |= report(longest == lim, "%s_snaplen_%s_%s" % (pfx, r["name"], c),
                         "longest copy %d bytes, want %d (rule %d, collector %d)"
                         % (longest, lim, r["snaplen"], cs))
    return rc


def describe(extra, frames, rules, ids):
    """Name a few unexpected copies: their frame's tag and oracle rule."""
    if not extra:
        return ""
    out = []
    for inner in list(extra)[:3]:
        for fr in frames:
            raw = bytes.fromhex(fr["hex"])
            if raw.startswith(inner):
                i = classify(rules, ids, fr)
                out.append("%s frame (oracle: %s)" % (
                    fr["tag"], rules[i]["name"] if i >= 0 else "no rule"))
                break
        else:
            out.append("unknown %d-byte copy" % len(inner))
    return "; e.g. " + ", ".join(out)


# ---- churn ---------------------------------------------------------------------

CHURN_HDR = 14 + 20 + 8         # inner Ethernet + IPv4 + UDP


def cmd_churn_send(args):
    from scapy.all import IP, UDP as UDPh, Ether

    ports = [int(p) for p in args.ports.split(",")]
    # Zero UDP checksum (valid over IPv4): the payload can be patched.
    tmpl = [bytearray(bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                            IP(src="10.50.0.1", dst="10.50.0.2", id=k) /
                            UDPh(sport=40000 + k, dport=p, chksum=0) /
                            (b"\0" * 32)))
            for k, p in enumerate(ports)]
    seq = [0] * len(ports)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.iface, 0))
    print("ready", flush=True)
    start = time.monotonic()
    sent = 0
    batch = 30
    while not stop:
        for k in range(batch):
            i = k % len(ports)
            f = tmpl[i]
            struct.pack_into("!I", f, CHURN_HDR, seq[i])
            try:
                sock.send(f)
            except OSError as ex:
                if ex.errno in (errno.ENOBUFS, errno.EAGAIN):
                    continue        # not sent: not counted
                raise
            seq[i] += 1
            sent += 1
        # Pace to the rate (this is rate control, not synchronisation).
        ahead = sent / args.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    sock.close()
    with open(args.out, "w") as f:
        json.dump({"ports": ports, "sent": seq}, f)
    return 0


def cmd_churn_check(args):
    from scapy.all import PcapReader

    pfx = args.prefix
    with open(args.sent) as f:
        sent = json.load(f)
    with open(args.stats) as f:
        st = json.load(f)
    ports = sent["ports"]
    n = dict(zip(ports, sent["sent"]))
    p1, p2, p3 = ports
    total = sum(n.values())
    wants = {args.c1: {p1, p3}, args.c2: {p2, p3}}
    name = {args.c1: "c1", args.c2: "c2"}
    got = {c: collections.Counter() for c in wants}
    cross = collections.Counter()
    stray = bad = 0
    with PcapReader(args.pcap) as rd:
        for pkt in rd:
            raw = bytes(pkt)
            key = encapcheck.outer_dst(raw)
            c = str(key[1]) if key else None
            if c not in wants or len(raw) < VXLAN_HDR + CHURN_HDR + 4:
                stray += 1
                continue
            inner = raw[VXLAN_HDR:]
            if struct.unpack_from("!H", inner, 12)[0] != 0x0800 or inner[23] != UDP:
                bad += 1
                continue
            dport = struct.unpack_from("!H", inner, 14 + 20 + 2)[0]
            seq = struct.unpack_from("!I", inner, CHURN_HDR)[0]
            got[c][(dport, seq)] += 1
            if dport not in wants[c]:
                cross[(name[c], dport)] += 1
    rc = 0
    rc |= report(stray == 0 and bad == 0, pfx + "_no_stray_frames",
                 "%d copies to no collector, %d not UDP/IPv4 inside" % (stray, bad))
    rc |= report(not cross, pfx + "_no_cross",
                 "copies at the wrong collector (collector, dport): %s"
                 % dict(cross))
    for c, ps in wants.items():
        want = collections.Counter({(p, s): 1 for p in ps for s in range(n[p])})
        missing = want - got[c]
        extra = got[c] - want
        rc |= report(not missing and not extra, "%s_%s_exact" % (pfx, name[c]),
                     "%d of %d expected copies missing, %d unexpected or duplicated"
                     " (e.g. %s)" % (sum(missing.values()), sum(want.values()),
                                     sum(extra.values()),
                                     sorted(missing)[:3] + sorted(extra)[:3]))
    dev = mirrored_dev(st)
    wdev = {"rx": total, "matched": total, "not_matched": 0, "to_xsk": total,
            "skipped": 0, "sampled_out": 0, "xsk_missing": 0, "meta_fail": 0,
            "malformed": 0}
    for k, v in wdev.items():
        rc |= report(dev.get(k) == v, "%s_dev_%s" % (pfx, k),
                     "expected %s, got %s" % (v, dev.get(k)))
    stats_c = {c["name"]: c for c in st["collectors"]}
    for c, ps in wants.items():
        s = stats_c.get(name[c], {})
        copies = s.get("sent", 0) + sum(v for k, v in s.items()
                                        if k.startswith("drop_"))
        ncap = sum(got[c].values())
        want = sum(n[p] for p in ps)
        rc |= report(copies == want and s.get("sent") == ncap and
                     copies == s.get("sent"),
                     "%s_%s_stats" % (pfx, name[c]),
                     "copies (sent + drop_*) %d, sent %s, captured %d, frames %d"
                     % (copies, s.get("sent"), ncap, want))
    wk = st["workers"]
    xsk = st["device"]["to_xsk"]
    rc |= report(sum(w["rx"] for w in wk) == xsk,
                 pfx + "_workers_rx",
                 "workers took %d frames, XDP redirected %d"
                 % (sum(w["rx"] for w in wk), xsk))
    print("   churn traffic: %s frames to ports %s" % (sent["sent"], ports))
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--plan", required=True)
    p.add_argument("--pcap", required=True)
    p.add_argument("--net4", required=True, help="A.B.C: collectors at .10 up")
    p.add_argument("--iif", required=True, help="the appliance's RX device")
    p.add_argument("--other-dev", required=True, help="another device")
    p.add_argument("--seed", type=int, default=23)
    a = sub.add_parser("addrs")
    a.add_argument("--plan", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--plan", required=True)
    s.add_argument("--ids", required=True)
    s.add_argument("--ctl", required=True, help="mirrorctl command line")
    s.add_argument("--prefix", default="rules")
    t = sub.add_parser("send")
    t.add_argument("--plan", required=True)
    t.add_argument("--iface", required=True)
    w = sub.add_parser("settled")
    w.add_argument("--plan", required=True)
    w.add_argument("--ids", required=True)
    w.add_argument("-v", dest="verbose", action="store_true")
    c = sub.add_parser("check")
    c.add_argument("--plan", required=True)
    c.add_argument("--ids", required=True)
    c.add_argument("--pcap", required=True)
    c.add_argument("--frames-pcap", required=True)
    c.add_argument("--stats", required=True)
    c.add_argument("--src", required=True)
    c.add_argument("--smac", required=True)
    c.add_argument("--dmac", required=True)
    c.add_argument("--prefix", default="rules")
    cs = sub.add_parser("churn-send")
    cs.add_argument("--iface", required=True)
    cs.add_argument("--out", required=True)
    cs.add_argument("--ports", default="1000,2000,3000")
    cs.add_argument("--rate", type=float, default=8000, help="frames/s")
    cc = sub.add_parser("churn-check")
    cc.add_argument("--pcap", required=True)
    cc.add_argument("--sent", required=True)
    cc.add_argument("--stats", required=True)
    cc.add_argument("--c1", required=True, help="collector 1's address")
    cc.add_argument("--c2", required=True, help="collector 2's address")
    cc.add_argument("--prefix", default="churn")
    args = ap.parse_args()
    try:
        return {"plan": cmd_plan, "addrs": cmd_addrs, "setup": cmd_setup,
                "send": cmd_send, "settled": cmd_settled,
                "check": cmd_check, "churn-send": cmd_churn_send,
                "churn-check": cmd_churn_check}[args.cmd](args)
    except ValueError as ex:
        print("FAIL %s_args: %s" % (getattr(args, "prefix", "rules"), ex))
        return 1


if __name__ == "__main__":
    sys.exit(main())
