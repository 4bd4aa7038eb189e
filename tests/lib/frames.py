#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Build a deterministic mix of test frames, decide independently which
rule each one matches, write them to a pcap and a JSON manifest, and
optionally send them.

The rule oracle here is written from the rule semantics, not from the C
classifier, so the end-to-end test checks one against the other.
"""
import argparse
import ipaddress
import json
import random
import sys

from scapy.all import (IP, TCP, UDP, Ether, IPv6, Raw, sendp, wrpcap)

# Same rules the e2e test installs with mirrorctl: (id order = prio order).
RULES = [
    {"name": "r_udp", "proto": 17, "dport": (5000, 5010)},
    {"name": "r_v6tcp", "dst": "2001:db8:1::/64", "proto": 6},
    {"name": "r_tcp9091", "src": "10.1.0.0/16", "proto": 6,
     "dport": (9091, 9091)},
]


def rule_matches(rule, fam, src, dst, proto, dport):
    if "proto" in rule and rule["proto"] != proto:
        return False
    for key, addr in (("src", src), ("dst", dst)):
        if key in rule:
            net = ipaddress.ip_network(rule[key])
            if net.version != fam or ipaddress.ip_address(addr) not in net:
                return False
    if "dport" in rule:
        lo, hi = rule["dport"]
        if not lo <= dport <= hi:
            return False
    return True


def classify(fam, src, dst, proto, dport):
    for idx, rule in enumerate(RULES):
        if rule_matches(rule, fam, src, dst, proto, dport):
            return idx
    return -1


def build(count, seed):
    rnd = random.Random(seed)
    frames = []
    dports = [4999, 5000, 5005, 5010, 5011, 9091, 80, 443]
    for i in range(count):
        fam = rnd.choice([4, 6])
        proto = rnd.choice([6, 17])
        dport = rnd.choice(dports)
        sport = rnd.randint(1024, 65535)
        if fam == 4:
            src = "10.%d.%d.%d" % (rnd.choice([1, 2]), rnd.randint(0, 255),
                                   rnd.randint(1, 254))
            dst = "10.3.0.%d" % rnd.randint(1, 254)
            l3 = IP(src=src, dst=dst, ttl=64, id=i)
        else:
            src = "2001:db8:9::%x" % rnd.randint(1, 0xffff)
            dst = "2001:db8:%d::%x" % (rnd.choice([1, 2]),
                                       rnd.randint(1, 0xffff))
            l3 = IPv6(src=src, dst=dst, hlim=64)
        l4 = TCP(sport=sport, dport=dport, seq=i, flags="PA") if proto == 6 \
            else UDP(sport=sport, dport=dport)
        pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / l3 / l4
        size = rnd.randint(60, 1500)
        pad = max(0, size - len(pkt))
        pkt = pkt / Raw(bytes((i + k) & 0xff for k in range(pad)))
        raw = bytes(pkt)
        frames.append({"hex": raw.hex(), "rule": classify(fam, src, dst,
                                                          proto, dport)})
    return frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--pcap")
    ap.add_argument("--send", metavar="IFACE")
    args = ap.parse_args()

    frames = build(args.count, args.seed)
    with open(args.manifest, "w") as f:
        json.dump({"rules": RULES, "frames": frames}, f)
    pkts = [Ether(bytes.fromhex(fr["hex"])) for fr in frames]
    if args.pcap:
        wrpcap(args.pcap, pkts)
    if args.send:
        sendp(pkts, iface=args.send, verbose=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
