#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host mode's checker: the frames of a TCP transfer captured on the
host's NIC against the copies a collector captured.

  compare   Every frame of the transfer (TCP, either port == --port) in
            the directions asked for must arrive at the collector exactly
            once, byte-identical, with its direction in the encapsulation
            (ERSPAN III D bit, or the GENEVE direction option), and
            nothing else may arrive.  A frame's direction on the NIC:
            egress when its source MAC is the NIC's, else ingress.
  stream    Offloads on (no wire-identical original to compare with):
            every copy must be one wire-sized frame with valid IPv4 and
            TCP checksums, and the copies of each direction must carry
            the whole byte stream that was sent.
  serve     TCP peer: accept one connection, read the client's bytes,
            send --back bytes, close (touches --ready once listening).
  send      TCP client: send --bytes, read what comes back.
            Both transfer pattern(n) and check what they receive.

Prints PASS/FAIL lines named PREFIX_*; exit status 1 on any failure.
"""
import argparse
import collections
import ipaddress
import socket
import struct
import sys

from encapcheck import csum16

ETH_ERSPAN3 = 0x22EB
ETH_TEB = 0x6558
GENEVE_PORT = 6081
# The GENEVE option xdp-mirror adds in host mode (include/proto/tunnel.h).
GENEVE_OPT_CLASS = 0xFF58
GENEVE_OPT_TYPE_DIR = 0x01
DIR_IN, DIR_OUT = 1, 2
DIR_NAME = {DIR_IN: "in", DIR_OUT: "out"}


def pattern(n):
    """The bytes a transfer of n bytes carries: not all alike, so a copy
    that moved or mixed up payload bytes would not match."""
    block = bytes(range(251))
    return (block * (n // len(block) + 1))[:n]


def recv_all(c):
    got = bytearray()
    while True:
        b = c.recv(65536)
        if not b:
            return bytes(got)
        got += b


# SO_MAX_PACING_RATE (asm-generic/socket.h); not in every Python.
SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)


def pace(sock, rate):
    """TCP's own pacing at rate bytes/s (0: none): its GSO super-frames
    then leave spread out instead of back to back."""
    if rate:
        sock.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, rate)


def cmd_serve(a):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.ip, a.port))
    s.listen(1)
    open(a.ready, "w").close()
    s.settimeout(30)
    c, _ = s.accept()
    c.settimeout(30)
    pace(c, a.pace)
    ok = recv_all(c) == pattern(a.bytes)
    c.sendall(pattern(a.back))
    c.close()
    return 0 if ok else 1


def cmd_send(a):
    c = socket.create_connection((a.ip, a.port), timeout=30)
    pace(c, a.pace)
    c.sendall(pattern(a.bytes))
    c.shutdown(socket.SHUT_WR)
    ok = recv_all(c) == pattern(a.back)
    c.close()
    return 0 if ok else 1


def pcap_frames(path, partial=False):
    """The frames of a classic pcap file (what tcpdump -w writes); with
    partial, of one still being written (a last record cut short is
    left out)."""
    b = open(path, "rb").read()
    if len(b) < 24:
        return []
    e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, o = [], 24
    while o + 16 <= len(b):
        incl, orig = struct.unpack(e + "II", b[o + 8:o + 16])
        if incl != orig and not partial:
            raise ValueError("capture truncated a frame (snaplen)")
        if o + 16 + incl > len(b):
            break
        out.append(b[o + 16:o + 16 + incl])
        o += 16 + incl
    return out


def tcp_of(frame):
    """(ip header offset, ihl, tcp offset, sport, dport) of an untagged
    IPv4 TCP frame, else None."""
    if len(frame) < 54 or struct.unpack_from("!H", frame, 12)[0] != 0x0800:
        return None
    ihl = (frame[14] & 0x0f) * 4
    if frame[23] != 6 or len(frame) < 14 + ihl + 20:
        return None
    sport, dport = struct.unpack_from("!HH", frame, 14 + ihl)
    return 14, ihl, 14 + ihl, sport, dport


def decap(raw, encap, coll):
    """(inner frame, direction) of a copy, or raise ValueError."""
    if len(raw) < 34 or struct.unpack_from("!H", raw, 12)[0] != 0x0800:
        raise ValueError("not IPv4")
    ihl = (raw[14] & 0x0f) * 4
    proto = raw[23]
    if ipaddress.ip_address(raw[30:34]) != coll:
        raise ValueError("to %s, not the collector" %
                         ipaddress.ip_address(raw[30:34]))
    if csum16(raw[14:14 + ihl]) != 0xffff:
        raise ValueError("bad outer IPv4 checksum")
    p = 14 + ihl
    if encap == "erspan3":
        if proto != 47:
            raise ValueError("IP protocol %d, not GRE" % proto)
        flags, gproto = struct.unpack_from("!HH", raw, p)
        if flags != 0x1000 or gproto != ETH_ERSPAN3:
            raise ValueError("GRE flags 0x%04x proto 0x%04x" % (flags, gproto))
        q = p + 8
        w0, _, w2 = struct.unpack_from("!III", raw, q)
        if w0 >> 28 != 2:
            raise ValueError("ERSPAN version %d" % (w0 >> 28))
        if w2 & 1:
            raise ValueError("ERSPAN III O bit set (no subheader expected)")
        d = DIR_OUT if w2 & (1 << 3) else DIR_IN
        return raw[q + 12:], d
    if encap == "geneve":
        if proto != 17:
            raise ValueError("IP protocol %d, not UDP" % proto)
        dport = struct.unpack_from("!H", raw, p + 2)[0]
        if dport != GENEVE_PORT:
            raise ValueError("UDP port %d" % dport)
        g = p + 8
        optlen = (raw[g] & 0x3f) * 4
        if raw[g] >> 6 != 0 or struct.unpack_from("!H", raw, g + 2)[0] != ETH_TEB:
            raise ValueError("GENEVE header %s" % raw[g:g + 8].hex())
        d, o = None, g + 8
        while o < g + 8 + optlen:
            cls, typ, ln = struct.unpack_from("!HBB", raw, o)
            ln = (ln & 0x1f) * 4
            if cls == GENEVE_OPT_CLASS and typ == GENEVE_OPT_TYPE_DIR:
                if ln != 4 or raw[o + 4:o + 7] != b"\0\0\0":
                    raise ValueError("direction option %s" %
                                     raw[o:o + 4 + ln].hex())
                d = raw[o + 7]
            o += 4 + ln
        if d not in (DIR_IN, DIR_OUT):
            raise ValueError("no direction option (options %s)" %
                             raw[g + 8:g + 8 + optlen].hex())
        return raw[g + 8 + optlen:], d
    raise ValueError("encap %s" % encap)


def report(ok, name, why):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))
    return ok


def cmd_compare(a):
    coll = ipaddress.ip_address(a.coll_ip)
    mac = bytes.fromhex(a.host_mac.replace(":", ""))
    dirs = {DIR_IN if x == "in" else DIR_OUT for x in a.dirs.split(",")}
    orig = collections.Counter()
    seen = {DIR_IN: 0, DIR_OUT: 0}
    for f in pcap_frames(a.nic):
        t = tcp_of(f)
        if not t or a.port not in (t[3], t[4]):
            continue
        d = DIR_OUT if f[6:12] == mac else DIR_IN
        seen[d] += 1
        if d in dirs:
            orig[(f, d)] += 1
    got, bad = collections.Counter(), []
    cols = pcap_frames(a.col)
    for raw in cols:
        try:
            got[decap(raw, a.encap, coll)] += 1
        except ValueError as e:
            bad.append(str(e))
    n_orig = sum(orig.values())
    ok = True
    ok &= report(n_orig > 0 and all(seen[d] for d in dirs), a.prefix + "_originals",
                 "transfer frames on the NIC: in %d out %d" % (seen[DIR_IN], seen[DIR_OUT]))
    ok &= report(not bad, a.prefix + "_only_copies",
                 "%d of %d collector frames are not copies: %s" %
                 (len(bad), len(cols), "; ".join(sorted(set(bad))[:3])))
    ok &= report(len(cols) == n_orig, a.prefix + "_count",
                 "collector got %d frames, the transfer had %d" % (len(cols), n_orig))
    # Multisets of (bytes, direction): equal means every frame exactly
    # once, byte-identical and in its direction.
    missing, extra = orig - got, got - orig
    wrong_dir = sum(1 for (f, d) in extra if (f, DIR_IN + DIR_OUT - d) in missing)
    ok &= report(not missing and not extra, a.prefix + "_exactly_once",
                 "%d originals missing or changed, %d copies unexpected (%d of them "
                 "with the wrong direction)" % (sum(missing.values()),
                                                sum(extra.values()), wrong_dir))
    if missing and extra:
        # Say how the first missing original differs from the copy
        # nearest to it (same length, most bytes in common).
        (f0, d0) = next(iter(missing))
        near = max((f for (f, d) in extra if len(f) == len(f0)),
                   key=lambda f: sum(a == b for a, b in zip(f, f0)), default=None)
        if near is not None:
            diff = [i for i in range(len(f0)) if f0[i] != near[i]]
            print("# %s: %s original of %d bytes vs nearest copy: bytes %s differ "
                  "(%s vs %s)" % (a.prefix, DIR_NAME[d0], len(f0), diff[:8],
                                  f0[diff[0]:diff[0] + 4].hex() if diff else "",
                                  near[diff[0]:diff[0] + 4].hex() if diff else ""))
    per = collections.Counter(d for (f, d), n in got.items() for _ in range(n))
    print("# %s: originals in %d out %d; copies in %d out %d" %
          (a.prefix, seen[DIR_IN], seen[DIR_OUT], per[DIR_IN], per[DIR_OUT]))
    return 0 if ok else 1


def cmd_count(a):
    """Frames in a pcap file still being written: complete records."""
    try:
        print(len(pcap_frames(a.pcap, partial=True)))
    except OSError:
        print(0)
    return 0


def cmd_stream(a):
    coll = ipaddress.ip_address(a.coll_ip)
    peer = ipaddress.ip_address(a.peer_ip)
    bad_csum, too_long, bad, n = 0, 0, [], 0
    data = {DIR_IN: {}, DIR_OUT: {}}
    for raw in pcap_frames(a.col):
        try:
            f, d = decap(raw, a.encap, coll)
        except ValueError as e:
            bad.append(str(e))
            continue
        t = tcp_of(f)
        if not t or a.port not in (t[3], t[4]):
            bad.append("inner frame not of the transfer")
            continue
        n += 1
        ip, ihl, tcp = t[0], t[1], t[2]
        tot = struct.unpack_from("!H", f, ip + 2)[0]
        if len(f) > a.max_frame:
            too_long += 1
        seg = f[tcp:ip + tot]
        pseudo = f[ip + 12:ip + 20] + struct.pack("!BBH", 0, 6, len(seg))
        if csum16(f[ip:ip + ihl]) != 0xffff or csum16(pseudo + seg) != 0xffff:
            bad_csum += 1
        # Direction from the addresses, independent of the encapsulation.
        want = DIR_OUT if ipaddress.ip_address(f[ip + 16:ip + 20]) == peer else DIR_IN
        if want != d:
            bad.append("direction %s for a frame going %s" % (DIR_NAME[d], DIR_NAME[want]))
        doff = (f[tcp + 12] >> 4) * 4
        seq = struct.unpack_from("!I", f, tcp + 4)[0]
        pay = f[tcp + doff:ip + tot]
        if pay:
            data[want][seq] = pay
    ok = True
    ok &= report(not bad, a.prefix + "_only_copies", "; ".join(sorted(set(bad))[:3]))
    ok &= report(n > 0 and bad_csum == 0, a.prefix + "_checksums",
                 "%d of %d copies with a bad IPv4 or TCP checksum" % (bad_csum, n))
    ok &= report(too_long == 0, a.prefix + "_wire_size",
                 "%d copies longer than %d bytes (unsegmented GSO)" % (too_long, a.max_frame))
    for d, want in ((DIR_OUT, a.bytes_out), (DIR_IN, a.bytes_in)):
        segs = data[d]
        stream, nxt = bytearray(), None
        for seq in sorted(segs):
            if nxt is not None and seq != nxt:
                break
            stream += segs[seq]
            nxt = (seq + len(segs[seq])) & 0xffffffff
        ok &= report(len(stream) == want and stream == pattern(want),
                     "%s_stream_%s" % (a.prefix, DIR_NAME[d]),
                     "copies carry %d contiguous payload bytes, %d were sent"
                     % (len(stream), want))
    print("# %s: %d copies" % (a.prefix, n))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--nic", required=True)
    c.add_argument("--col", required=True)
    c.add_argument("--host-mac", required=True)
    c.add_argument("--dirs", default="in,out")
    s = sub.add_parser("stream")
    s.add_argument("--col", required=True)
    s.add_argument("--peer-ip", required=True)
    s.add_argument("--bytes-out", type=int, required=True)
    s.add_argument("--bytes-in", type=int, required=True)
    s.add_argument("--max-frame", type=int, default=1514)
    for p in (c, s):
        p.add_argument("--coll-ip", required=True)
        p.add_argument("--encap", choices=("erspan3", "geneve"), required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--prefix", required=True)
    n = sub.add_parser("count")
    n.add_argument("pcap")
    for name in ("serve", "send"):
        p = sub.add_parser(name)
        p.add_argument("--ip", required=True)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--bytes", type=int, required=True)
        p.add_argument("--back", type=int, required=True)
        p.add_argument("--pace", type=int, default=0,
                       help="TCP pacing rate, bytes/s (0: unpaced)")
        if name == "serve":
            p.add_argument("--ready", required=True)
    a = ap.parse_args()
    return {"compare": cmd_compare, "stream": cmd_stream, "count": cmd_count,
            "serve": cmd_serve, "send": cmd_send}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
