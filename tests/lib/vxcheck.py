#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Decode a collector capture of VXLAN-mirrored frames and compare it with
the frames that should have been mirrored (a frames.py manifest).

Prints PASS/FAIL lines; exit status 1 on any failure.
"""
import argparse
import collections
import json
import struct
import sys

from scapy.all import rdpcap


def ip_csum_ok(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s == 0xffff


def decode(raw, want):
    """Return (inner bytes, error or None) for one captured frame."""
    if len(raw) < 50:
        return None, "short frame (%d bytes)" % len(raw)
    dmac, smac, etype = raw[0:6], raw[6:12], struct.unpack("!H", raw[12:14])[0]
    if etype != 0x0800:
        return None, "outer ethertype 0x%04x" % etype
    if dmac.hex(":") != want["dst_mac"] or smac.hex(":") != want["src_mac"]:
        return None, "outer MACs %s > %s" % (smac.hex(":"), dmac.hex(":"))
    ip = raw[14:34]
    if ip[0] != 0x45 or ip[9] != 17:
        return None, "outer IPv4 header ver/ihl 0x%02x proto %d" % (ip[0], ip[9])
    if not ip_csum_ok(ip):
        return None, "bad outer IPv4 checksum"
    tot, frag = struct.unpack("!H", ip[2:4])[0], struct.unpack("!H", ip[6:8])[0]
    if tot != len(raw) - 14:
        return None, "IPv4 tot_len %d for a %d byte frame" % (tot, len(raw))
    if frag != 0x4000:
        return None, "IPv4 frag_off 0x%04x, want DF" % frag
    src = ".".join(str(b) for b in ip[12:16])
    dst = ".".join(str(b) for b in ip[16:20])
    if src != want["src_ip"] or dst != want["dst_ip"]:
        return None, "outer addresses %s > %s" % (src, dst)
    sport, dport, ulen = struct.unpack("!HHH", raw[34:40])
    if dport != want["dport"] or not 49152 <= sport <= 65535:
        return None, "UDP ports %d > %d" % (sport, dport)
    if ulen != len(raw) - 34:
        return None, "UDP length %d" % ulen
    flags, vni = raw[42], struct.unpack("!I", raw[46:50])[0] >> 8
    if flags != 0x08 or vni != want["vni"]:
        return None, "VXLAN flags 0x%02x vni %d" % (flags, vni)
    return raw[50:], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--src-ip", required=True)
    ap.add_argument("--dst-ip", required=True)
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--vni", type=int, default=0)
    ap.add_argument("--dport", type=int, default=4789)
    ap.add_argument("--prefix", default="e2e")
    args = ap.parse_args()
    want = {"src_ip": args.src_ip, "dst_ip": args.dst_ip,
            "src_mac": args.src_mac.lower(), "dst_mac": args.dst_mac.lower(),
            "vni": args.vni, "dport": args.dport}

    man = json.load(open(args.manifest))
    expected = collections.Counter(bytes.fromhex(f["hex"])
                                   for f in man["frames"] if f["rule"] >= 0)
    got = collections.Counter()
    errors = []
    for pkt in rdpcap(args.pcap):
        inner, err = decode(bytes(pkt), want)
        if err:
            errors.append(err)
        else:
            got[inner] += 1
    rc = 0
    if errors:
        print("FAIL %s_outer_headers: %d bad frames, first: %s"
              % (args.prefix, len(errors), errors[0]))
        rc = 1
    else:
        print("PASS %s_outer_headers" % args.prefix)
    missing = expected - got
    extra = got - expected
    if missing or extra:
        print("FAIL %s_inner_identical: %d expected frames missing, %d "
              "unexpected (expected %d, got %d)"
              % (args.prefix, sum(missing.values()), sum(extra.values()),
                 sum(expected.values()), sum(got.values())))
        rc = 1
    else:
        print("PASS %s_inner_identical (%d frames byte-identical)"
              % (args.prefix, sum(got.values())))
    return rc


if __name__ == "__main__":
    sys.exit(main())
