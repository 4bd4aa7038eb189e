/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xm_cbpf.h - an interpreter for classic BPF, the instruction set libpcap
 * compiles pcap-filter expressions into.  The same source runs in the XDP
 * program (clang -target bpf) and in user space, so a filter rule means
 * exactly what it means to tcpdump on every path.
 *
 * Semantics are those of libpcap's bpf_filter(): A and X start at 0, the
 * scratch words M[0..15] at 0; a load that does not fit in the frame, a
 * division or modulo by zero, an opcode we do not know, a scratch index
 * above 15 or a jump out of the program ends the run with 0 ("no match");
 * LD|LEN is the frame's wire length; shifts by 32 or more give 0; RET
 * returns K or A (pcap programs return the snap length to accept, 0 to
 * reject).  Backward jumps (libpcap has used them for "protochain") are
 * allowed, but as in current libpcap a jump to itself or the 65th backward
 * jump of a run ends it with 0.
 *
 * The interpreter executes one instruction per call of xm_cbpf_step(), so
 * the XDP side can drive it with bpf_loop():
 *
 *	const struct xm_cbpf_prog *p = bpf_map_lookup_elem(&progs, &key);
 *	__u32 ret = p ? xm_cbpf_run_xdp(p, ctx) : 0;
 *
 * A tc program (host mode) calls xm_cbpf_run_skb(p, skb) instead.
 * Either keeps its state (112 bytes) on the caller's stack and calls bpf_loop(XM_CBPF_MAX_STEPS, xm_cbpf_step, &st, 0); it may be
 * called from inside another bpf_loop() callback (a rule walk).  The
 * step count is bounded: the program counter only grows except on a
 * backward jump, and at most XM_CBPF_MAX_BACKJUMPS of those are taken, so
 * a run ends within (XM_CBPF_MAX_BACKJUMPS + 1) * len steps, and within
 * len steps for the forward-only programs libpcap emits today.  bpf_loop
 * stops at the step that returns 1, so the large nr_loops costs nothing.
 * User space calls xm_cbpf_run_user() on a buffer.
 */
#ifndef XM_CBPF_H_INCLUDED
#define XM_CBPF_H_INCLUDED /* XM_CBPF_H is the half-word load size */

#include "xm_compat.h"

#ifdef __bpf__
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/*
 * The context the interpreter loads bytes from.  A BPF object is either
 * an XDP program (the default) or a tc program that defines XM_CBPF_SKB
 * before including this header: the verifier rejects a call of the other
 * kind's load helper even on a path never taken, so the choice is made
 * at compile time.  Only the byte loader differs.
 */
#ifdef XM_CBPF_SKB
#define XM_CBPF_CTX struct __sk_buff
#define xm_cbpf_load_bytes(ctx, off, buf, n) \
	bpf_skb_load_bytes(ctx, off, buf, n)
#else
#define XM_CBPF_CTX struct xdp_md
#define xm_cbpf_load_bytes(ctx, off, buf, n) \
	bpf_xdp_load_bytes(ctx, off, buf, n)
#endif
#endif

/* One instruction: the layout of libpcap's struct bpf_insn and of the
 * kernel's struct sock_filter. */
struct xm_cbpf_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

#define XM_CBPF_MAX_INSNS 512	/* a power of two: pc is masked with it */
#define XM_CBPF_MEMWORDS 16	/* scratch words M[] */
#define XM_CBPF_MAX_BACKJUMPS 64
#define XM_CBPF_MAX_STEPS ((XM_CBPF_MAX_BACKJUMPS + 1) * XM_CBPF_MAX_INSNS)

_Static_assert((XM_CBPF_MAX_INSNS & (XM_CBPF_MAX_INSNS - 1)) == 0,
	       "XM_CBPF_MAX_INSNS must be a power of two");

/* A compiled filter as stored in a BPF array map (one per value). */
struct xm_cbpf_prog {
	__u32 len;		/* instructions in use, 1..XM_CBPF_MAX_INSNS */
	__u32 pad;
	struct xm_cbpf_insn insns[XM_CBPF_MAX_INSNS];
};

/* Instruction classes. */
#define XM_CBPF_CLASS(code) ((code) & 0x07)
#define XM_CBPF_LD 0x00
#define XM_CBPF_LDX 0x01
#define XM_CBPF_ST 0x02
#define XM_CBPF_STX 0x03
#define XM_CBPF_ALU 0x04
#define XM_CBPF_JMP 0x05
#define XM_CBPF_RET 0x06
#define XM_CBPF_MISC 0x07

/* Load size. */
#define XM_CBPF_W 0x00
#define XM_CBPF_H 0x08
#define XM_CBPF_B 0x10

/* Load mode. */
#define XM_CBPF_IMM 0x00
#define XM_CBPF_ABS 0x20
#define XM_CBPF_IND 0x40
#define XM_CBPF_MEM 0x60
#define XM_CBPF_LEN 0x80
#define XM_CBPF_MSH 0xa0

/* ALU and jump operations. */
#define XM_CBPF_ADD 0x00
#define XM_CBPF_SUB 0x10
#define XM_CBPF_MUL 0x20
#define XM_CBPF_DIV 0x30
#define XM_CBPF_OR 0x40
#define XM_CBPF_AND 0x50
#define XM_CBPF_LSH 0x60
#define XM_CBPF_RSH 0x70
#define XM_CBPF_NEG 0x80
#define XM_CBPF_MOD 0x90
#define XM_CBPF_XOR 0xa0
#define XM_CBPF_JA 0x00
#define XM_CBPF_JEQ 0x10
#define XM_CBPF_JGT 0x20
#define XM_CBPF_JGE 0x30
#define XM_CBPF_JSET 0x40

/* Operand source: the constant k or the register X. */
#define XM_CBPF_K 0x00
#define XM_CBPF_X 0x08

/* RET value, MISC operations. */
#define XM_CBPF_A 0x10
#define XM_CBPF_TAX 0x00
#define XM_CBPF_TXA 0x80

/* Interpreter state: lives on the stack of whoever runs the program. */
struct xm_cbpf_state {
	const struct xm_cbpf_prog *prog;
#ifdef __bpf__
	XM_CBPF_CTX *ctx;
#else
	const __u8 *pkt;
#endif
	__u32 wirelen;		/* what LD|LEN loads */
	__u32 buflen;		/* bytes loads may read */
	__u32 pc;
	__u32 a;
	__u32 x;
	__u32 backjumps;
	__u32 ret;		/* the result once a step returned 1 */
	__u32 started;		/* pc, backjumps set: see xm_cbpf_step() */
	__u32 mem[XM_CBPF_MEMWORDS];
};

/*
 * Hide x's known range from the compiler, so that a mask after a range
 * check is not optimised away: the verifier bounds the index by the mask,
 * and the check it may see on another copy of the register is no use to
 * it.
 */
#define XM_CBPF_OPAQUE(x) __asm__ __volatile__("" : "+r"(x))

/* Index of scratch word k (< XM_CBPF_MEMWORDS, checked by the caller). */
XM_INLINE __u32 xm_cbpf_memidx(__u32 k)
{
	XM_CBPF_OPAQUE(k);
	return k & (XM_CBPF_MEMWORDS - 1);
}

XM_INLINE long xm_cbpf_stop(struct xm_cbpf_state *st, __u32 ret)
{
	st->ret = ret;
	return 1;
}

/*
 * Load n (1, 2 or 4) bytes, big-endian, from offset k + idx into *val.
 * The sum is taken in 64 bits so that no k/X combination can wrap into
 * the frame.  Returns -1 when a byte lies beyond buflen.
 */
XM_INLINE int xm_cbpf_load(const struct xm_cbpf_state *st, __u32 k, __u32 idx,
			   __u32 n, __u32 *val)
{
	__u64 off = (__u64)k + idx;
	__u8 b[4] = { 0, 0, 0, 0 };

	if (off + n > st->buflen)
		return -1;
#ifdef __bpf__
	/* The helper checks the bounds again and reads from fragments of
	 * multi-buffer frames (XDP) or paged data (skb) too. */
	if (xm_cbpf_load_bytes(st->ctx, (__u32)off, b, n))
		return -1;
#else
	{
		__u32 i;

		for (i = 0; i < n; i++)
			b[i] = st->pkt[off + i];
	}
#endif
	if (n == 1)
		*val = b[0];
	else if (n == 2)
		*val = (__u32)b[0] << 8 | b[1];
	else
		*val = (__u32)b[0] << 24 | (__u32)b[1] << 16 |
		       (__u32)b[2] << 8 | b[3];
	return 0;
}

/* A op v for the ALU class; 0 with *stop set for division by zero. */
XM_INLINE __u32 xm_cbpf_alu(__u32 op, __u32 a, __u32 v, int *stop)
{
	switch (op) {
	case XM_CBPF_ADD:
		return a + v;
	case XM_CBPF_SUB:
		return a - v;
	case XM_CBPF_MUL:
		return a * v;
	case XM_CBPF_DIV:
		if (!v)
			break;
		return a / v;
	case XM_CBPF_MOD:
		if (!v)
			break;
		return a % v;
	case XM_CBPF_OR:
		return a | v;
	case XM_CBPF_AND:
		return a & v;
	case XM_CBPF_XOR:
		return a ^ v;
	case XM_CBPF_LSH:
		return v < 32 ? a << v : 0;
	case XM_CBPF_RSH:
		return v < 32 ? a >> v : 0;
	case XM_CBPF_NEG:
		return 0u - a;
	}
	*stop = 1;
	return 0;
}

/* The condition of a conditional jump; -1 for an unknown operation. */
XM_INLINE int xm_cbpf_cond(__u32 op, __u32 a, __u32 v)
{
	switch (op) {
	case XM_CBPF_JEQ:
		return a == v;
	case XM_CBPF_JGT:
		return a > v;
	case XM_CBPF_JGE:
		return a >= v;
	case XM_CBPF_JSET:
		return (a & v) != 0;
	}
	return -1;
}

/*
 * Execute one instruction.  Returns 0 to go on, 1 when the run is over
 * (st->ret then holds the result).  The signature is that of a bpf_loop()
 * callback: i is the step number, and the first call must have i == 0.
 * Not inline: bpf_loop() needs its address.
 *
 * The first step sets the program counter and the backward-jump count
 * from i rather than leaving the 0s of xm_cbpf_init().  The values are the
 * same, but the verifier does not know i: had it seen constants, every
 * step would give it another constant pc (1, 2, 3, ...) or count to verify
 * the body with, hundreds of times over, while unknown values make the
 * per-step states converge after a few rounds.
 */
static __attribute__((unused)) long xm_cbpf_step(__u32 i, void *arg)
{
	struct xm_cbpf_state *st = arg;
	const struct xm_cbpf_prog *prog = st->prog;
	struct xm_cbpf_insn in;
	__u32 len = prog->len;
	__u32 pc, next, code, v = 0;
	int stop = 0, c;

	if (!st->started) {
		st->started = 1;
		st->pc = i;
		st->backjumps = i;
	}
	pc = st->pc;
	next = pc + 1;
	if (pc >= len || pc >= XM_CBPF_MAX_INSNS)
		return xm_cbpf_stop(st, 0);
	XM_CBPF_OPAQUE(pc);
	in = prog->insns[pc & (XM_CBPF_MAX_INSNS - 1)];
	code = in.code;

	switch (XM_CBPF_CLASS(code)) {
	case XM_CBPF_RET:
		if (code == (XM_CBPF_RET | XM_CBPF_K))
			return xm_cbpf_stop(st, in.k);
		if (code == (XM_CBPF_RET | XM_CBPF_A))
			return xm_cbpf_stop(st, st->a);
		return xm_cbpf_stop(st, 0);

	case XM_CBPF_LD:
		switch (code) {
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_ABS:
			stop = xm_cbpf_load(st, in.k, 0, 4, &v);
			break;
		case XM_CBPF_LD | XM_CBPF_H | XM_CBPF_ABS:
			stop = xm_cbpf_load(st, in.k, 0, 2, &v);
			break;
		case XM_CBPF_LD | XM_CBPF_B | XM_CBPF_ABS:
			stop = xm_cbpf_load(st, in.k, 0, 1, &v);
			break;
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_IND:
			stop = xm_cbpf_load(st, in.k, st->x, 4, &v);
			break;
		case XM_CBPF_LD | XM_CBPF_H | XM_CBPF_IND:
			stop = xm_cbpf_load(st, in.k, st->x, 2, &v);
			break;
		case XM_CBPF_LD | XM_CBPF_B | XM_CBPF_IND:
			stop = xm_cbpf_load(st, in.k, st->x, 1, &v);
			break;
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_LEN:
			v = st->wirelen;
			break;
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_IMM:
			v = in.k;
			break;
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_MEM:
			if (in.k >= XM_CBPF_MEMWORDS)
				return xm_cbpf_stop(st, 0);
			v = st->mem[xm_cbpf_memidx(in.k)];
			break;
		default:
			return xm_cbpf_stop(st, 0);
		}
		if (stop)
			return xm_cbpf_stop(st, 0);
		st->a = v;
		break;

	case XM_CBPF_LDX:
		switch (code) {
		case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_IMM:
			v = in.k;
			break;
		case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_LEN:
			v = st->wirelen;
			break;
		case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_MEM:
			if (in.k >= XM_CBPF_MEMWORDS)
				return xm_cbpf_stop(st, 0);
			v = st->mem[xm_cbpf_memidx(in.k)];
			break;
		case XM_CBPF_LDX | XM_CBPF_B | XM_CBPF_MSH:
			/* 4 * (low nibble of a byte): the IPv4 header length */
			if (xm_cbpf_load(st, in.k, 0, 1, &v))
				return xm_cbpf_stop(st, 0);
			v = (v & 0xf) << 2;
			break;
		default:
			return xm_cbpf_stop(st, 0);
		}
		st->x = v;
		break;

	case XM_CBPF_ST:
	case XM_CBPF_STX:
		/* only code 0x02/0x03 exist; other bits are not ignored */
		if (code != XM_CBPF_ST && code != XM_CBPF_STX)
			return xm_cbpf_stop(st, 0);
		if (in.k >= XM_CBPF_MEMWORDS)
			return xm_cbpf_stop(st, 0);
		st->mem[xm_cbpf_memidx(in.k)] =
			code == XM_CBPF_ST ? st->a : st->x;
		break;

	case XM_CBPF_ALU:
		if (code == (XM_CBPF_ALU | XM_CBPF_NEG)) {
			st->a = 0u - st->a;
			break;
		}
		/* NEG takes no operand: 0x8c is no instruction */
		if ((code & 0xf0) == XM_CBPF_NEG || code > 0xff)
			return xm_cbpf_stop(st, 0);
		v = (code & XM_CBPF_X) ? st->x : in.k;
		v = xm_cbpf_alu(code & 0xf0, st->a, v, &stop);
		if (stop)
			return xm_cbpf_stop(st, 0);
		st->a = v;
		break;

	case XM_CBPF_JMP:
		if (code == (XM_CBPF_JMP | XM_CBPF_JA)) {
			if ((__s32)in.k < 0 &&
			    ((__s32)in.k == -1 ||
			     st->backjumps++ >= XM_CBPF_MAX_BACKJUMPS))
				return xm_cbpf_stop(st, 0);
			next = pc + 1 + in.k;	/* wraps for backward jumps */
			break;
		}
		if (code > 0xff)
			return xm_cbpf_stop(st, 0);
		v = (code & XM_CBPF_X) ? st->x : in.k;
		c = xm_cbpf_cond(code & 0xf0, st->a, v);
		if (c < 0)
			return xm_cbpf_stop(st, 0);
		next += c ? in.jt : in.jf;
		break;

	case XM_CBPF_MISC:
		if (code == (XM_CBPF_MISC | XM_CBPF_TAX))
			st->x = st->a;
		else if (code == (XM_CBPF_MISC | XM_CBPF_TXA))
			st->a = st->x;
		else
			return xm_cbpf_stop(st, 0);
		break;
	}

	/* running off the end of the program is a reject, as in libpcap */
	if (next >= len)
		return xm_cbpf_stop(st, 0);
	st->pc = next;
	return 0;
}

/* Zero the state; 0 when prog is runnable, -1 when its length is not. */
XM_INLINE int xm_cbpf_init(struct xm_cbpf_state *st,
			   const struct xm_cbpf_prog *prog, __u32 wirelen,
			   __u32 buflen)
{
	__builtin_memset(st, 0, sizeof(*st));
	st->prog = prog;
	st->wirelen = wirelen;
	st->buflen = buflen;
	return prog->len && prog->len <= XM_CBPF_MAX_INSNS ? 0 : -1;
}

#ifdef __bpf__
/* Run prog on a frame of len bytes in ctx, all of it "captured". */
XM_INLINE __u32 xm_cbpf_run_ctx(const struct xm_cbpf_prog *prog,
				XM_CBPF_CTX *ctx, __u32 len)
{
	struct xm_cbpf_state st;

	if (xm_cbpf_init(&st, prog, len, len))
		return 0;
	st.ctx = ctx;
	if (bpf_loop(XM_CBPF_MAX_STEPS, xm_cbpf_step, &st, 0) < 0)
		return 0;
	return st.ret;
}

#ifdef XM_CBPF_SKB
/* Run prog (a map value) on a tc program's skb, from its Ethernet
 * header (where tc programs see it on ingress and egress) to the end of
 * its paged data.  A VLAN tag held in skb metadata (VLAN offload) is
 * not part of the bytes, as for a kernel socket filter. */
XM_INLINE __u32 xm_cbpf_run_skb(const struct xm_cbpf_prog *prog,
				struct __sk_buff *skb)
{
	return xm_cbpf_run_ctx(prog, skb, skb->len);
}
#else
/* Run prog (a map value) on the XDP frame; the whole frame is "captured",
 * including the fragments of a multi-buffer frame. */
XM_INLINE __u32 xm_cbpf_run_xdp(const struct xm_cbpf_prog *prog,
				struct xdp_md *ctx)
{
	return xm_cbpf_run_ctx(prog, ctx, (__u32)bpf_xdp_get_buff_len(ctx));
}
#endif
#else
/* Run prog on a frame of which buflen bytes are at pkt and wirelen were
 * on the wire (the arguments of libpcap's bpf_filter()). */
static inline __u32 xm_cbpf_run_buf(const struct xm_cbpf_prog *prog,
				    const __u8 *pkt, __u32 wirelen,
				    __u32 buflen)
{
	struct xm_cbpf_state st;
	__u32 n;

	if (xm_cbpf_init(&st, prog, wirelen, buflen))
		return 0;
	st.pkt = pkt;
	for (n = 0; n < XM_CBPF_MAX_STEPS; n++)
		if (xm_cbpf_step(n, &st))
			break;
	return st.ret;
}

/* Run prog on a whole frame of len bytes. */
static inline __u32 xm_cbpf_run_user(const struct xm_cbpf_prog *prog,
				     const __u8 *pkt, __u32 len)
{
	return xm_cbpf_run_buf(prog, pkt, len, len);
}

/*
 * Check a program before it is installed: every opcode one the
 * interpreter runs, scratch indexes below 16, constant divisors non-zero,
 * constant shifts below 32, every jump target inside the program and the
 * last instruction a RET.  Returns -1 when all is well, else the index of
 * the first bad instruction (len itself for a bad length).
 */
static inline int xm_cbpf_check(const struct xm_cbpf_prog *prog)
{
	__u32 n = prog->len, pc, code, k, op;

	if (!n || n > XM_CBPF_MAX_INSNS)
		return (int)n;
	for (pc = 0; pc < n; pc++) {
		code = prog->insns[pc].code;
		k = prog->insns[pc].k;
		op = code & 0xf0;
		switch (code) {
		case XM_CBPF_RET | XM_CBPF_K:
		case XM_CBPF_RET | XM_CBPF_A:
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_ABS:
		case XM_CBPF_LD | XM_CBPF_H | XM_CBPF_ABS:
		case XM_CBPF_LD | XM_CBPF_B | XM_CBPF_ABS:
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_IND:
		case XM_CBPF_LD | XM_CBPF_H | XM_CBPF_IND:
		case XM_CBPF_LD | XM_CBPF_B | XM_CBPF_IND:
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_LEN:
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_IMM:
		case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_IMM:
		case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_LEN:
		case XM_CBPF_LDX | XM_CBPF_B | XM_CBPF_MSH:
		case XM_CBPF_ALU | XM_CBPF_NEG:
		case XM_CBPF_MISC | XM_CBPF_TAX:
		case XM_CBPF_MISC | XM_CBPF_TXA:
			break;
		case XM_CBPF_LD | XM_CBPF_W | XM_CBPF_MEM:
		case XM_CBPF_LDX | XM_CBPF_W | XM_CBPF_MEM:
		case XM_CBPF_ST:
		case XM_CBPF_STX:
			if (k >= XM_CBPF_MEMWORDS)
				return (int)pc;
			break;
		case XM_CBPF_JMP | XM_CBPF_JA:
			if (pc + 1 + k >= n || (__s32)k == -1)
				return (int)pc;
			break;
		default:
			if (code > 0xff)
				return (int)pc;
			if (XM_CBPF_CLASS(code) == XM_CBPF_ALU &&
			    op <= XM_CBPF_XOR &&
			    op != XM_CBPF_NEG) {
				if (!(code & XM_CBPF_X) && !k &&
				    (op == XM_CBPF_DIV || op == XM_CBPF_MOD))
					return (int)pc;
				if (!(code & XM_CBPF_X) && k >= 32 &&
				    (op == XM_CBPF_LSH || op == XM_CBPF_RSH))
					return (int)pc;
				break;
			}
			if (XM_CBPF_CLASS(code) == XM_CBPF_JMP &&
			    op >= XM_CBPF_JEQ &&
			    op <= XM_CBPF_JSET) {
				if (pc + 1 + prog->insns[pc].jt >= n ||
				    pc + 1 + prog->insns[pc].jf >= n)
					return (int)pc;
				break;
			}
			return (int)pc;
		}
	}
	code = prog->insns[n - 1].code;
	if (code != (XM_CBPF_RET | XM_CBPF_K) &&
	    code != (XM_CBPF_RET | XM_CBPF_A))
		return (int)(n - 1);
	return -1;
}
#endif /* __bpf__ */

#endif /* XM_CBPF_H_INCLUDED */
