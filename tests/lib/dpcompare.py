#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The same traffic mirrored by each datapath must reach each collector
as the same bytes.

  dpcompare.py send DEV        send the test frames (one UDP port per rule)
  dpcompare.py compare --prefix P NAME=PCAP...
                               per collector (outer destination), the
                               frames of every pcap must equal the first's

Only the ERSPAN III timestamp may differ: it is the time the copy was
made.  Prints PASS/FAIL lines; exits 1 on a difference.
"""
import argparse
import sys

BASE_PORT = 6000
SIZES = (60, 300, 1400)


def frames(nrules, multi_port):
    from scapy.all import Ether, Dot1Q, IP, UDP, Raw
    out = []
    for k in list(range(nrules)) + [multi_port - BASE_PORT]:
        for i, n in enumerate(SIZES):
            for tag in (False, True):
                eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                if tag:
                    eth = eth / Dot1Q(vlan=100 + k, prio=5)
                hdr = eth / IP(src="10.9.0.1", dst="10.9.0.2") / \
                    UDP(sport=1000 + 10 * i + tag, dport=BASE_PORT + k)
                pad = max(0, n - len(hdr))
                out.append(hdr / Raw(bytes((k + j) & 0xff for j in range(pad))))
    return out


def outer(b):
    """(collector address, bytes with the ERSPAN III timestamp zeroed)."""
    b = bytearray(b)
    et = b[12] << 8 | b[13]
    if et == 0x0800:
        l3, proto = 14, b[23]
        l4 = l3 + (b[l3] & 0x0f) * 4
        dst = bytes(b[30:34])
    elif et == 0x86DD:
        l3, proto, l4 = 14, b[20], 54
        dst = bytes(b[38:54])
    else:
        return None, bytes(b)
    if proto == 47:
        flags, gproto = b[l4], b[l4 + 2] << 8 | b[l4 + 3]
        off = 4 + 4 * bool(flags & 0x80) + 4 * bool(flags & 0x20) + \
            4 * bool(flags & 0x10)
        if gproto == 0x22EB:
            ts = l4 + off + 4
            b[ts:ts + 4] = b"\0\0\0\0"
    return dst, bytes(b)


def by_collector(path):
    from scapy.all import rdpcap
    out = {}
    for p in rdpcap(path):
        dst, b = outer(bytes(p))
        if dst is not None:
            out.setdefault(dst, []).append(b)
    return out


def compare(args):
    runs = [a.split("=", 1) for a in args.pcaps]
    ref_name, ref = runs[0][0], by_collector(runs[0][1])
    bad = 0
    for name, path in runs[1:]:
        got = by_collector(path)
        for dst in sorted(set(ref) | set(got)):
            a, b = ref.get(dst, []), got.get(dst, [])
            diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
            label = f"{args.prefix}_{name}_vs_{ref_name}_{dst.hex()}"
            if len(a) != len(b) or diff:
                bad += 1
                print(f"FAIL {label}: {len(a)} vs {len(b)} frames, "
                      f"{len(diff)} differ (first at {diff[:1]})")
            else:
                print(f"PASS {label}: {len(a)} frames identical")
    total = sum(len(v) for v in ref.values())
    print(f"{'PASS' if total else 'FAIL'} {args.prefix}_nonempty: "
          f"{total} frames at {len(ref)} collectors in {ref_name}")
    return 1 if bad or not total else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("dev")
    s.add_argument("--rules", type=int, default=12)
    s.add_argument("--multi-port", type=int, default=6100)
    s.add_argument("--count", action="store_true",
                   help="print how many frames would be sent")
    c = sub.add_parser("compare")
    c.add_argument("--prefix", default="dp")
    c.add_argument("pcaps", nargs="+")
    args = ap.parse_args()
    if args.cmd == "send":
        f = frames(args.rules, args.multi_port)
        if args.count:
            print(len(f))
            return 0
        from scapy.all import sendp
        sendp(f, iface=args.dev, verbose=False)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
