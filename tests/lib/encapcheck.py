#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The tests' decoder for mirrored copies, every tunnel format.

  check   Decode a collector capture twice -- with the plain struct parser
          below and with tshark (an independent decoder, checksum
          validation on) -- and compare every frame with what the
          appliance must have sent each collector: the frames of the
          manifests (frames.py format) whose rule feeds that collector,
          cut to its snaplen / the TX MTU.  Optionally compare with
          `mirrorctl stats -j`.  Prints PASS/FAIL lines; exit status 1 on
          any failure.
  count   Print how many copies the collectors must get (total, each).
  frames  Build extra frames (VLAN-tagged, or a sweep of sizes) as a
          manifest; optionally send them.
  sender  Send frames on commands read from stdin, for tests that send in
          phases (one scapy start-up for the whole test).

A collector is described as comma-separated key=value pairs:
  name=N,encap=vxlan|geneve|gre|erspan2|erspan3,src=IP,dst=IP,smac=MAC,
  dmac=MAC,rules=0+2 [,vni=N][,key=N][,seq=0|1][,session=N][,hwid=N]
  [,dport=N][,dscp=N][,ttl=N][,snaplen=N][,mtu=N]
Frames go to a collector by outer destination address (one per collector).
"""
import argparse
import collections
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys

ENCAPS = ("vxlan", "geneve", "gre", "erspan2", "erspan3")
UDP_ENCAPS = ("vxlan", "geneve")
DEFAULT_PORT = {"vxlan": 4789, "geneve": 6081}
ETH_TEB = 0x6558
ETH_ERSPAN2 = 0x88BE
ETH_ERSPAN3 = 0x22EB
VLAN_TPIDS = (0x8100, 0x88A8)
SPORT_BASE = 49152
M32 = 0xffffffff


# ---- the inner frame: flow hash and outer VLAN tag ----------------------

def rol32(w, s):
    return ((w << s) | (w >> (32 - s))) & M32


def flow_hash(frame):
    """xm_flow_hash() of include/xm_parse.h, written again from its
    definition: murmur3-style mixing of the addresses (an IPv4 address
    is one word, an IPv6 one four; words read little-endian as on x86),
    the protocol and the ports.  None for frames this simple parser does not follow."""
    p = 12
    etype = struct.unpack_from("!H", frame, p)[0]
    ntags = 0
    while etype in VLAN_TPIDS and ntags < 2:
        etype = struct.unpack_from("!H", frame, p + 4)[0]
        p += 4
        ntags += 1
    p += 2
    if etype == 0x0800:
        ihl = (frame[p] & 0x0f) * 4
        proto = frame[p + 9]
        src = frame[p + 12:p + 16] + bytes(12)
        dst = frame[p + 16:p + 20] + bytes(12)
        if struct.unpack_from("!H", frame, p + 6)[0] & 0x3fff:
            return None     # fragments: not in the test mixes
        l4 = p + ihl
    elif etype == 0x86dd:
        proto = frame[p + 6]
        src = frame[p + 8:p + 24]
        dst = frame[p + 24:p + 40]
        l4 = p + 40
    else:
        return None
    if proto not in (6, 17, 132):
        return None
    sport, dport = struct.unpack_from("!HH", frame, l4)
    if etype == 0x0800:     # one word per address
        words = [struct.unpack("<I", src[:4])[0], struct.unpack("<I", dst[:4])[0]]
    else:
        words = list(struct.unpack("<4I", src)) + list(struct.unpack("<4I", dst))
    words.append((sport << 16) | dport)
    h = 0x9747b28c ^ proto
    for w in words:
        k = (w * 0xcc9e2d51) & M32
        k = (rol32(k, 15) * 0x1b873593) & M32
        h = (rol32(h ^ k, 13) * 5 + 0xe6546b64) & M32
    h ^= h >> 16
    h = (h * 0x85ebca6b) & M32
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & M32
    h ^= h >> 16
    return h


def outer_tci(frame):
    """TCI of the frame's outer 802.1Q / 802.1ad tag, or None."""
    if struct.unpack_from("!H", frame, 12)[0] in VLAN_TPIDS:
        return struct.unpack_from("!H", frame, 14)[0]
    return None


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


# ---- collectors ----------------------------------------------------------

class Collector:
    INT_KEYS = ("vni", "key", "seq", "session", "hwid", "dport", "dscp",
                "ttl", "snaplen", "mtu")

    def __init__(self, text):
        kv = {}
        for item in text.split(","):
            if "=" not in item:
                raise ValueError("collector spec: '%s' is not key=value" % item)
            k, v = item.split("=", 1)
            kv[k] = v
        for k in ("name", "encap", "src", "dst", "smac", "dmac", "rules"):
            if k not in kv:
                raise ValueError("collector spec: '%s' missing" % k)
        unknown = set(kv) - {"name", "encap", "src", "dst", "smac", "dmac",
                             "rules"} - set(self.INT_KEYS)
        if unknown:
            raise ValueError("collector spec: unknown key(s) %s" % unknown)
        if kv["encap"] not in ENCAPS:
            raise ValueError("collector spec: encap '%s'" % kv["encap"])
        self.name = kv["name"]
        self.encap = kv["encap"]
        self.src = ipaddress.ip_address(kv["src"])
        self.dst = ipaddress.ip_address(kv["dst"])
        if self.src.version != self.dst.version:
            raise ValueError("collector spec: src/dst families differ")
        self.family = self.dst.version
        self.smac = kv["smac"].lower()
        self.dmac = kv["dmac"].lower()
        self.rules = {int(r) for r in kv["rules"].split("+") if r != ""}
        for k in self.INT_KEYS:
            setattr(self, k, int(kv[k], 0) if k in kv else None)
        if self.dport is None and self.encap in UDP_ENCAPS:
            self.dport = DEFAULT_PORT[self.encap]
        self.vni = self.vni or 0
        self.dscp = self.dscp or 0
        self.ttl = self.ttl or 64
        self.session = self.session or 0
        self.hwid = self.hwid or 0
        self.has_seq = self.encap in ("erspan2", "erspan3") or \
            (self.encap == "gre" and bool(self.seq))
        self.ip_len = 20 if self.family == 4 else 40
        if self.encap in UDP_ENCAPS:
            tun = 16
        elif self.encap == "gre":
            tun = 4 + (4 if self.key is not None else 0) + \
                (4 if self.seq else 0)
        else:
            tun = 8 + (8 if self.encap == "erspan2" else 12)
        self.hdr_len = 14 + self.ip_len + tun
        # GRE: the sequence number follows the base header and the key.
        self.seq_off = 14 + self.ip_len + 4 + (4 if self.key is not None else 0)

    def expect(self, orig):
        """(inner bytes, truncation reason or None) for an original."""
        lim, why = len(orig), None
        if self.snaplen and lim > self.snaplen:
            lim, why = self.snaplen, "snap"
        if self.mtu and lim > self.mtu - (self.hdr_len - 14):
            lim, why = self.mtu - (self.hdr_len - 14), "mtu"
        return orig[:lim], why


# ---- the struct decoder --------------------------------------------------

def outer_dst(raw):
    """(family, destination address) of a captured frame, or None."""
    if len(raw) < 14:
        return None
    etype = struct.unpack_from("!H", raw, 12)[0]
    if etype == 0x0800 and len(raw) >= 34:
        return 4, ipaddress.ip_address(raw[30:34])
    if etype == 0x86dd and len(raw) >= 54:
        return 6, ipaddress.ip_address(raw[38:54])
    return None


class Decoded:
    pass


def decode(raw, c):
    """Parse the outer headers of raw as collector c's format; check every
    field that does not depend on the inner frame.  Returns a Decoded
    (the per-frame fields) and raises ValueError on a bad field."""
    d = Decoded()
    if len(raw) < c.hdr_len:
        raise ValueError("short frame (%d bytes)" % len(raw))
    if raw[0:6].hex(":") != c.dmac or raw[6:12].hex(":") != c.smac:
        raise ValueError("outer MACs %s > %s, want %s > %s" % (
            raw[6:12].hex(":"), raw[0:6].hex(":"), c.smac, c.dmac))
    proto_want = 17 if c.encap in UDP_ENCAPS else 47
    ip = raw[14:14 + c.ip_len]
    d.flow = None
    if c.family == 4:
        if ip[0] != 0x45:
            raise ValueError("IPv4 ver/ihl 0x%02x" % ip[0])
        tos, tot, _, frag, ttl, proto = struct.unpack_from("!xBHHHBB", ip)
        if tos != c.dscp << 2:
            raise ValueError("IPv4 TOS 0x%02x, want 0x%02x" % (tos, c.dscp << 2))
        if tot != len(raw) - 14:
            raise ValueError("IPv4 tot_len %d for a %d byte frame" % (tot, len(raw)))
        if frag != 0x4000:
            raise ValueError("IPv4 frag_off 0x%04x, want DF only" % frag)
        if ttl != c.ttl or proto != proto_want:
            raise ValueError("IPv4 TTL %d proto %d" % (ttl, proto))
        if csum16(ip) != 0xffff:
            raise ValueError("bad IPv4 header checksum")
        src, dst = ip[12:16], ip[16:20]
    else:
        vtf, plen, nh, hlim = struct.unpack_from("!IHBB", ip)
        if vtf >> 28 != 6 or (vtf >> 20) & 0xff != c.dscp << 2:
            raise ValueError("IPv6 version/traffic class 0x%08x" % vtf)
        if plen != len(raw) - 54:
            raise ValueError("IPv6 payload_len %d for a %d byte frame" % (plen, len(raw)))
        if hlim != c.ttl or nh != proto_want:
            raise ValueError("IPv6 hop limit %d next header %d" % (hlim, nh))
        d.flow = vtf & 0xfffff
        src, dst = ip[8:24], ip[24:40]
    if ipaddress.ip_address(src) != c.src or ipaddress.ip_address(dst) != c.dst:
        raise ValueError("outer addresses %s > %s" % (
            ipaddress.ip_address(src), ipaddress.ip_address(dst)))
    p = 14 + c.ip_len
    d.sport = d.seq = d.ers = None
    if c.encap in UDP_ENCAPS:
        sport, dport, ulen, usum = struct.unpack_from("!HHHH", raw, p)
        if dport != c.dport or sport < SPORT_BASE:
            raise ValueError("UDP ports %d > %d" % (sport, dport))
        if ulen != len(raw) - p:
            raise ValueError("UDP length %d" % ulen)
        if c.family == 4 and usum != 0:
            raise ValueError("UDP checksum 0x%04x over IPv4, want 0" % usum)
        if c.family == 6:
            pseudo = src + dst + struct.pack("!IxxxB", ulen, 17)
            if usum == 0 or csum16(pseudo + raw[p:]) != 0xffff:
                raise ValueError("bad UDP checksum 0x%04x over IPv6" % usum)
        d.sport = sport
        t = raw[p + 8:p + 16]
        if c.encap == "vxlan":
            if t[0] != 0x08 or t[1:4] != b"\0\0\0" or t[7] != 0:
                raise ValueError("VXLAN header %s" % t.hex())
        else:
            if t[0] != 0 or t[1] != 0 or struct.unpack_from("!H", t, 2)[0] != ETH_TEB \
                    or t[7] != 0:
                raise ValueError("GENEVE header %s (want ver 0, no options, "
                                 "O=C=0, 0x6558)" % t.hex())
        vni = struct.unpack_from("!I", t, 4)[0] >> 8
        if vni != c.vni:
            raise ValueError("VNI %d, want %d" % (vni, c.vni))
    else:
        flags, proto = struct.unpack_from("!HH", raw, p)
        q = p + 4
        if c.encap == "gre":
            want_flags = (0x2000 if c.key is not None else 0) | \
                (0x1000 if c.seq else 0)
            want_proto = ETH_TEB
        else:
            want_flags = 0x1000
            want_proto = ETH_ERSPAN2 if c.encap == "erspan2" else ETH_ERSPAN3
        if flags != want_flags or proto != want_proto:
            raise ValueError("GRE flags 0x%04x proto 0x%04x, want 0x%04x 0x%04x"
                             % (flags, proto, want_flags, want_proto))
        if flags & 0x2000:
            key = struct.unpack_from("!I", raw, q)[0]
            q += 4
            if key != c.key:
                raise ValueError("GRE key %d, want %d" % (key, c.key))
        if flags & 0x1000:
            d.seq = struct.unpack_from("!I", raw, q)[0]
            q += 4
        if c.encap != "gre":
            w0, w1 = struct.unpack_from("!II", raw, q)
            e = d.ers = {"ver": w0 >> 28, "vlan": (w0 >> 16) & 0xfff,
                         "cos": (w0 >> 13) & 7, "en": (w0 >> 11) & 3,
                         "t": (w0 >> 10) & 1, "session": w0 & 0x3ff}
            want_ver = 1 if c.encap == "erspan2" else 2
            if e["ver"] != want_ver or e["session"] != c.session:
                raise ValueError("ERSPAN ver %d session %d" % (e["ver"], e["session"]))
            if c.encap == "erspan2":
                if w1 != 0:
                    raise ValueError("ERSPAN II reserved/index 0x%08x, want 0" % w1)
            else:
                w2 = struct.unpack_from("!I", raw, q + 8)[0]
                e["ts"] = w1
                if e["en"] != 0:
                    raise ValueError("ERSPAN III BSO %d" % e["en"])
                # sgt 0, P 1 (an Ethernet frame follows: Linux's
                # ip_gre and tshark read it so), FT 0, hw id, D 0
                # (appliance: ingress), Gra 01 (100 ns), O 0.
                want = 1 << 15 | (c.hwid & 0x3f) << 4 | 1 << 1
                if w2 != want:
                    raise ValueError("ERSPAN III word 3 0x%08x, want 0x%08x" % (w2, want))
    return d


def check_inner_fields(d, c, orig, why):
    """The per-frame fields that depend on the original frame."""
    h = flow_hash(orig)
    if h is not None:
        if d.sport is not None and d.sport != SPORT_BASE + (h & 0x3fff):
            raise ValueError("UDP source port %d, flow hash gives %d"
                             % (d.sport, SPORT_BASE + (h & 0x3fff)))
        if d.flow is not None and d.flow != h & 0xfffff:
            raise ValueError("IPv6 flow label 0x%05x, flow hash gives 0x%05x"
                             % (d.flow, h & 0xfffff))
    if d.ers:
        tci = outer_tci(orig)
        want = {"vlan": tci & 0xfff if tci is not None else 0,
                "cos": tci >> 13 if tci is not None else 0,
                "t": 1 if why else 0}
        if c.encap == "erspan2":
            want["en"] = 3 if tci is not None else 0
        got = {k: d.ers[k] for k in want}
        if got != want:
            raise ValueError("ERSPAN %s, want %s" % (got, want))


# ---- tshark --------------------------------------------------------------

TS_FIELDS = ["ip.dst", "ipv6.dst", "ip.checksum.status", "ip.flags.df",
             "ip.dsfield.dscp", "ip.ttl", "ipv6.tclass.dscp", "ipv6.flow",
             "ipv6.hlim", "udp.dstport", "udp.checksum",
             "udp.checksum.status", "vxlan.flag_i", "vxlan.vni",
             "geneve.version", "geneve.flags.oam", "geneve.flags.critical",
             "geneve.proto_type", "geneve.vni", "geneve.options",
             "gre.flags.checksum", "gre.flags.key", "gre.key",
             "gre.flags.sequence_number", "gre.sequence_number", "gre.proto",
             "erspan.version", "erspan.vlan", "erspan.cos", "erspan.encap",
             "erspan.bso", "erspan.truncated", "erspan.spanid",
             "erspan.index", "erspan.timestamp", "erspan.sgt", "erspan.p",
             "erspan.ft", "erspan.hw", "erspan.direction", "erspan.gra",
             "erspan.o"]


def run_tshark(pcap, colls):
    cmd = ["tshark", "-r", pcap, "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-T", "fields",
           "-E", "occurrence=f", "-E", "separator=/t"]
    for c in colls:
        if c.encap in UDP_ENCAPS and c.dport != DEFAULT_PORT[c.encap]:
            cmd += ["-d", "udp.port==%d,%s" % (c.dport, c.encap)]
    for f in TS_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        vals = line.split("\t")
        rows.append(dict(zip(TS_FIELDS, vals)))
    return rows


def ts_int(row, field):
    v = row.get(field, "")
    if v == "":
        return None
    return int(v, 0)


def tshark_expect(c, orig, why):
    """Field -> value tshark must show for collector c and this original
    (None: must be absent)."""
    tci = outer_tci(orig)
    h = flow_hash(orig)
    w = {}
    if c.family == 4:
        w.update({"ip.checksum.status": 1, "ip.flags.df": 1,
                  "ip.dsfield.dscp": c.dscp, "ip.ttl": c.ttl})
    else:
        w.update({"ipv6.tclass.dscp": c.dscp, "ipv6.hlim": c.ttl})
        if h is not None:
            w["ipv6.flow"] = h & 0xfffff
    if c.encap in UDP_ENCAPS:
        w["udp.dstport"] = c.dport
        if c.family == 6:
            w["udp.checksum.status"] = 1    # good
        else:
            w["udp.checksum"] = 0
    if c.encap == "vxlan":
        w.update({"vxlan.flag_i": 1, "vxlan.vni": c.vni})
    elif c.encap == "geneve":
        w.update({"geneve.version": 0, "geneve.flags.oam": 0,
                  "geneve.flags.critical": 0, "geneve.proto_type": ETH_TEB,
                  "geneve.vni": c.vni, "geneve.options": None})
    else:
        w.update({"gre.flags.checksum": 0,
                  "gre.flags.key": 1 if c.key is not None else 0,
                  "gre.key": c.key,
                  "gre.flags.sequence_number": 1 if c.has_seq else 0})
    if c.encap == "gre":
        w["gre.proto"] = ETH_TEB
    elif c.encap in ("erspan2", "erspan3"):
        w.update({"gre.proto": ETH_ERSPAN2 if c.encap == "erspan2" else ETH_ERSPAN3,
                  "erspan.version": 1 if c.encap == "erspan2" else 2,
                  "erspan.vlan": tci & 0xfff if tci is not None else 0,
                  "erspan.cos": tci >> 13 if tci is not None else 0,
                  "erspan.truncated": 1 if why else 0,
                  "erspan.spanid": c.session})
        if c.encap == "erspan2":
            w.update({"erspan.encap": 3 if tci is not None else 0,
                      "erspan.index": 0})
        else:
            w.update({"erspan.bso": 0, "erspan.sgt": 0, "erspan.p": 1,
                      "erspan.ft": 0, "erspan.hw": c.hwid,
                      "erspan.direction": 0, "erspan.gra": 1})
    return w


# ---- check ---------------------------------------------------------------

def load_frames(paths):
    frames = []
    for path in paths:
        with open(path) as f:
            for fr in json.load(f)["frames"]:
                frames.append((bytes.fromhex(fr["hex"]), fr["rule"],
                               bool(fr.get("optional"))))
    return frames


def seq_ok(seqs):
    """Strictly consecutive sequence numbers (mod 2^32), in capture order."""
    for i in range(1, len(seqs)):
        if seqs[i] != (seqs[i - 1] + 1) & M32:
            return "seq %d follows %d (capture frame %d of this collector)" % (
                seqs[i], seqs[i - 1], i + 1)
    return None


def report(ok, name, why):
    if ok:
        print("PASS %s" % name)
    else:
        print("FAIL %s: %s" % (name, why))
    return 0 if ok else 1


def cmd_check(args):
    from scapy.all import PcapReader

    colls = [Collector(s) for s in args.collector]
    by_dst = {(c.family, c.dst): c for c in colls}
    if len(by_dst) != len(colls):
        raise ValueError("two collectors share a destination address")
    frames = load_frames(args.manifest)
    caps = []
    with PcapReader(args.pcap) as rd:
        for pkt in rd:
            caps.append((bytes(pkt), float(pkt.time)))
    rows = run_tshark(args.pcap, colls) if args.tshark else None
    if rows is not None and len(rows) != len(caps):
        print("FAIL %s_tshark_frames: tshark decoded %d of %d frames"
              % (args.prefix, len(rows), len(caps)))
        return 1
    stats = None
    if args.stats:
        with open(args.stats) as f:
            stats = {s["name"]: s for s in json.load(f)["collectors"]}

    rc = 0
    per = collections.defaultdict(list)     # collector -> [(index, raw, time)]
    stray = 0
    for i, (raw, t) in enumerate(caps):
        key = outer_dst(raw)
        if key in by_dst:
            per[by_dst[key].name].append((i, raw, t))
        else:
            stray += 1
    rc |= report(stray == 0, "%s_no_stray_frames" % args.prefix,
                 "%d captured frames are addressed to no collector" % stray)

    for c in colls:
        pfx = "%s_%s" % (args.prefix, c.name)
        # What this collector must get: inner bytes -> (original, reason).
        want = collections.Counter()
        optional = collections.Counter()
        origin = {}
        for orig, rule, opt in frames:
            if rule not in c.rules:
                continue
            inner, why = c.expect(orig)
            origin[inner] = (orig, why)
            if opt:
                optional[inner] += 1
            else:
                want[inner] += 1
        errors, tserr = [], []
        got = collections.Counter()
        seqs, tseqs, nbytes = [], [], 0
        n_trunc = collections.Counter()
        prev_ts = None
        for i, raw, t in per[c.name]:
            nbytes += len(raw)
            # The inner frame starts at a fixed offset for each format:
            # compare it, and let tshark judge the headers, even when
            # the struct decoder rejects a header field.
            inner = raw[c.hdr_len:]
            got[inner] += 1
            orig, why = origin.get(inner, (None, None))
            if why:
                n_trunc[why] += 1
            if c.has_seq and len(raw) >= c.hdr_len:
                seqs.append(struct.unpack_from("!I", raw, c.seq_off)[0])
            try:
                d = decode(raw, c)
                if orig is not None:    # else: see _inner_identical
                    check_inner_fields(d, c, orig, why)
                if d.ers and "ts" in d.ers:
                    # Low 32 bits of CLOCK_REALTIME in 100 ns units:
                    # within a second of the capture time, never
                    # going backwards.
                    cap = int(t * 1e7) & M32
                    skew = ((cap - d.ers["ts"] + (1 << 31)) & M32) - (1 << 31)
                    if abs(skew) > 10 ** 7:
                        raise ValueError("ERSPAN III timestamp %d is %.3f s "
                                         "from the capture time" % (d.ers["ts"], skew / 1e7))
                    if prev_ts is not None and \
                            ((d.ers["ts"] - prev_ts) & M32) > (1 << 31):
                        raise ValueError("ERSPAN III timestamp went backwards")
                    prev_ts = d.ers["ts"]
            except (ValueError, struct.error) as e:
                errors.append("frame %d: %s" % (i + 1, e))
            if rows is not None:
                row = rows[i]
                if c.has_seq:
                    tseqs.append(ts_int(row, "gre.sequence_number"))
                for field, val in (tshark_expect(c, orig, why).items()
                                   if orig is not None else ()):
                    g = ts_int(row, field) if val is not None else row.get(field, "")
                    if (val is None and g != "") or (val is not None and g != val):
                        tserr.append("frame %d: %s = %r, want %r"
                                     % (i + 1, field, row.get(field), val))
        n = len(per[c.name])
        rc |= report(not errors, pfx + "_headers",
                     "%d of %d frames bad; %s" % (len(errors), n, "; ".join(errors[:3])))
        missing = want - got
        extra = got - want - optional
        rc |= report(not missing and not extra, pfx + "_inner_identical",
                     "%d expected frames missing, %d unexpected (expected %d, got %d)"
                     % (sum(missing.values()), sum(extra.values()),
                        sum(want.values()), n))
        if not missing and not extra:
            print("   %s: %d frames (%d optional), %d cut to snaplen, %d to MTU"
                  % (c.name, n, n - sum(want.values()), n_trunc["snap"], n_trunc["mtu"]))
        if c.has_seq:
            err = seq_ok(seqs)
            rc |= report(err is None and len(seqs) == n, pfx + "_seq_consecutive",
                         err or "%d sequence numbers for %d frames" % (len(seqs), n))
        if rows is not None:
            if c.has_seq:
                err = seq_ok(tseqs)
                if err or None in tseqs:
                    tserr.append("tshark: %s" % (err or "sequence number missing"))
            rc |= report(not tserr, pfx + "_tshark",
                         "%d mismatches; %s" % (len(tserr), "; ".join(tserr[:3])))
        if stats is not None:
            s = stats.get(c.name)
            if s is None:
                rc |= report(False, pfx + "_stats", "no collector %s in stats" % c.name)
                continue
            wantst = {"sent": n, "sent_bytes": nbytes,
                      "truncated_snap": n_trunc["snap"],
                      "truncated_mtu": n_trunc["mtu"]}
            if c.name not in (args.drops_ok or ()):
                for k in s:
                    if k.startswith("drop_"):
                        wantst[k] = 0
            gotst = {k: s.get(k) for k in wantst}
            rc |= report(gotst == wantst, pfx + "_stats",
                         "stats %s, capture says %s" % (
                             {k: v for k, v in gotst.items() if wantst[k] != v},
                             {k: v for k, v in wantst.items() if gotst[k] != v}))
    return rc


def cmd_count(args):
    """Print how many copies the collectors must get, in total and each."""
    colls = [Collector(s) for s in args.collector]
    frames = load_frames(args.manifest)
    each = [sum(1 for _, rule, opt in frames if rule in c.rules and not opt)
            for c in colls]
    print(sum(each), *each)
    return 0


# ---- frames --------------------------------------------------------------

def vlan_frames(seed):
    """Tagged frames for the ERSPAN VLAN/COS/En fields: 802.1Q, 802.1ad
    (QinQ), priority-tagged (VID 0), DEI set; classified by frames.py's
    rules (the classifier looks through the tags).  Each flow is sent
    three times, so one flow's copies share one flow hash."""
    from scapy.all import IP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPv6, Raw
    import frames as fr

    rnd = random.Random(seed)
    tags = [(Dot1Q, 100, 5, 0), (Dot1Q, 4094, 7, 0), (Dot1Q, 0, 6, 0),
            (Dot1Q, 1, 0, 1), (Dot1AD, 300, 3, 0), (Dot1AD, 2000, 1, 1)]
    out = []
    for n, (cls, vid, pcp, dei) in enumerate(tags):
        for fam, proto, dport in ((4, 17, 5003), (4, 6, 9091), (6, 6, 80),
                                  (6, 17, 5010), (4, 17, 4000)):
            if fam == 4:
                src, dst = "10.1.%d.%d" % (n, rnd.randint(1, 254)), "10.3.0.9"
                l3 = IP(src=src, dst=dst, id=n)
            else:
                src, dst = "2001:db8:9::%x" % (n + 1), "2001:db8:1::%x" % (n + 7)
                l3 = IPv6(src=src, dst=dst)
            sport = rnd.randint(1024, 65535)
            for k in range(3):
                l4 = UDP(sport=sport, dport=dport) if proto == 17 else \
                    TCP(sport=sport, dport=dport, seq=k, flags="PA")
                tag = cls(vlan=vid, prio=pcp, id=dei)
                if cls is Dot1AD:
                    tag = tag / Dot1Q(vlan=vid + 1)
                pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") \
                    / tag / l3 / l4
                size = rnd.randint(64, 1500)
                pkt = pkt / Raw(bytes((n * 7 + k + j) & 0xff
                                      for j in range(max(0, size - len(pkt)))))
                out.append({"hex": bytes(pkt).hex(),
                            "rule": fr.classify(fam, src, dst, proto, dport)})
    return out


def udp_frame(size, dport, ident, src="10.9.0.1", dst="10.9.0.2"):
    """A UDP/IPv4 frame of exactly size bytes (>= 60) carrying ident."""
    from scapy.all import IP, UDP, Ether, Raw

    pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
        IP(src=src, dst=dst, id=ident & 0xffff) / \
        UDP(sport=1024 + (ident % 60000), dport=dport)
    body = struct.pack("!I", ident) * ((size - len(pkt)) // 4 + 1)
    return bytes(pkt / Raw(body[:size - len(pkt)]))


def cmd_frames(args):
    from scapy.all import Ether, sendp

    if args.kind == "vlan":
        out = vlan_frames(args.seed)
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        out = [{"hex": udp_frame(s, args.dport, i).hex(), "rule": args.rule}
               for i, s in enumerate(sizes)]
    with open(args.manifest, "w") as f:
        json.dump({"frames": out}, f)
    if args.send:
        sendp([Ether(bytes.fromhex(fr["hex"])) for fr in out],
              iface=args.send, verbose=False)
    return 0


# ---- sender --------------------------------------------------------------

def cmd_sender(args):
    """stdin lines `N SIZE DPORT RULE [optional]`: send N UDP frames of
    SIZE bytes to DPORT, record them in the manifest as RULE, answer `ok`
    once they are on the wire."""
    from scapy.all import conf, Ether

    sock = conf.L2socket(iface=args.iface)
    sent = []
    ident = args.first_id
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        n, size, dport, rule = (int(x) for x in parts[:4])
        opt = len(parts) > 4 and parts[4] == "optional"
        for _ in range(n):
            raw = udp_frame(size, dport, ident)
            ident += 1
            sock.send(Ether(raw))
            sent.append({"hex": raw.hex(), "rule": rule, "optional": opt})
        with open(args.manifest + ".tmp", "w") as f:
            json.dump({"frames": sent}, f)
        os.replace(args.manifest + ".tmp", args.manifest)
        print("ok", flush=True)
    sock.close()
    return 0


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--pcap", required=True)
    c.add_argument("--manifest", action="append", required=True)
    c.add_argument("--collector", action="append", required=True)
    c.add_argument("--stats", help="mirrorctl stats -j output")
    c.add_argument("--drops-ok", action="append", metavar="NAME",
                   help="do not require NAME's drop_* counters to be zero")
    c.add_argument("--no-tshark", dest="tshark", action="store_false")
    c.add_argument("--prefix", default="encap")
    n = sub.add_parser("count")
    n.add_argument("--manifest", action="append", required=True)
    n.add_argument("--collector", action="append", required=True)
    f = sub.add_parser("frames")
    f.add_argument("--kind", choices=("vlan", "sizes"), required=True)
    f.add_argument("--seed", type=int, default=5)
    f.add_argument("--sizes", default="60,1514")
    f.add_argument("--dport", type=int, default=6000)
    f.add_argument("--rule", type=int, default=0)
    f.add_argument("--manifest", required=True)
    f.add_argument("--send", metavar="IFACE")
    s = sub.add_parser("sender")
    s.add_argument("--iface", required=True)
    s.add_argument("--manifest", required=True)
    s.add_argument("--first-id", type=int, default=1)
    args = ap.parse_args()
    try:
        return {"check": cmd_check, "count": cmd_count, "frames": cmd_frames,
                "sender": cmd_sender}[args.cmd](args)
    except ValueError as e:
        print("FAIL %s_args: %s" % (getattr(args, "prefix", "encap"), e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
