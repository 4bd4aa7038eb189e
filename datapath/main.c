// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - mirror-appliance: command line, daemonising with a readiness
 * pipe, signals, and `stop`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/if_link.h>

#include <bpf/libbpf.h>

#include "daemon.h"
#include "host.h"

#define XM_PROG "mirror-appliance"
#define XM_STOP_WAIT_MS 5000

static volatile sig_atomic_t xm_quit;

/* SIGUSR1 only interrupts the control loop's wait. */
static void xm_on_wake(int sig)
{
	(void)sig;
}

static void xm_on_signal(int sig)
{
	(void)sig;
	xm_quit = 1;
}

void xm_log(const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%F %T", &tm);
	fprintf(stderr, "%s " XM_PROG "[%d]: ", ts, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void xm_usage(FILE *f)
{
	fprintf(f,
		"usage: " XM_PROG " start --dev IFACE [--tx-dev IFACE] [--queues N] [--cores LIST]\n"
		"                        [--mode appliance|host] [--direction in|out|both]\n"
		"                        [--datapath auto|xdp|tc|afxdp]\n"
		"                        [--foreground]\n"
		"       " XM_PROG " stop --dev IFACE\n"
		"       " XM_PROG " --help\n"
		"\n"
		"start   attach the mirror XDP program to IFACE, open one AF_XDP socket per\n"
		"        RX queue and send encapsulated copies out of --tx-dev (default IFACE).\n"
		"        --queues N uses RX queues 0..N-1 of IFACE and TX queues 0..N-1 of the\n"
		"        tx device: both need at least N queues (a veth has as many as it was\n"
		"        created with, default 1).  --cores LIST (\"0,1\" or \"0-1\") pins\n"
		"        worker i to the i-th CPU of the list (default CPU i %% nproc).\n"
		"        Returns once the datapath is ready unless --foreground is given.\n"
		"        --datapath: who encapsulates a frame that goes to one collector.\n"
		"        xdp: the XDP program itself (header template written in place, frame\n"
		"        redirected to the tx device), the AF_XDP workers for the rest;\n"
		"        start fails if the tx device takes no XDP redirects.  afxdp: every\n"
		"        copy through the AF_XDP workers.  auto (default): as xdp wherever\n"
		"        the tx device allows it, checked again as it changes.\n"
		"        --mode host mirrors the host's own traffic on IFACE (its only NIC\n"
		"        will do): tc programs on IFACE clone matching frames, in the\n"
		"        --direction given (default both), into a private veth pair\n"
		"        xmr<N>/xmt<N> (N: IFACE's ifindex) whose XDP program hands them to\n"
		"        AF_XDP; copies leave by AF_XDP TX on IFACE, below tc, so they are\n"
		"        never mirrored again.  One queue.  Host mode's --datapath: tc (and\n"
		"        auto, the default): a frame for one collector is cloned into the\n"
		"        kernel path instead, where a tc program on xmr<N> encapsulates the\n"
		"        clone (a GSO frame stays one skb) and redirects it to IFACE; copies\n"
		"        it cannot make whole (snaplen, MTU, GRE/ERSPAN sequence numbers on\n"
		"        a GSO frame, UDP over IPv6) go through AF_XDP.  afxdp: all of them.\n"
		"stop    stop the appliance on IFACE and remove its XDP program and pins\n"
		"        (host mode: its tc programs and veth pair).\n");
}

static int xm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int xm_err(const char *fmt, ...)
{
	va_list ap;

	fputs(XM_PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* ---- argument parsing ------------------------------------------------ */

static int xm_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* "0,1", "0-3", "0-1,4": CPUs in list order. */
static int xm_parse_cores(const char *s, struct xm_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char buf[256], *tok, *save, *dash;
	unsigned long lo, hi, c;

	if (strlen(s) >= sizeof(buf))
		return xm_err("--cores '%s': list too long", s);
	strcpy(buf, s);
	o->ncores = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		dash = strchr(tok, '-');
		if (dash)
			*dash = '\0';
		if (xm_parse_uint(tok, INT_MAX, &lo) ||
		    (dash && xm_parse_uint(dash + 1, INT_MAX, &hi)))
			return xm_err("--cores '%s': not a CPU list (like 0,1 or 0-1)",
				      s);
		if (!dash)
			hi = lo;
		if (lo > hi)
			return xm_err("--cores '%s': range %lu-%lu is reversed",
				      s, lo, hi);
		for (c = lo; c <= hi; c++) {
			if ((long)c >= ncpu)
				return xm_err("--cores '%s': CPU %lu does not exist (%ld CPUs online)",
					      s, c, ncpu);
			if (o->ncores == XM_MAX_QUEUES)
				return xm_err("--cores '%s': more than %d CPUs",
					      s, XM_MAX_QUEUES);
			o->cores[o->ncores++] = (int)c;
		}
	}
	if (!o->ncores)
		return xm_err("--cores '%s': empty CPU list", s);
	return 0;
}

static int xm_set_dev(const char *opt, const char *val, char *dev,
		      unsigned int *ifindex)
{
	if (!*val || strlen(val) >= IF_NAMESIZE)
		return xm_err("%s '%s': not an interface name", opt, val);
	strcpy(dev, val);
	*ifindex = if_nametoindex(val);
	if (!*ifindex)
		return xm_err("%s '%s': no such device", opt, val);
	return 0;
}

static int xm_parse_datapath(const char *val, __u32 *dp)
{
	if (!strcmp(val, "auto"))
		*dp = XM_DP_AUTO;
	else if (!strcmp(val, "xdp"))
		*dp = XM_DP_XDP;
	else if (!strcmp(val, "afxdp"))
		*dp = XM_DP_AFXDP;
	else if (!strcmp(val, "tc"))
		*dp = XM_DP_TC;
	else
		return xm_err("--datapath '%s': must be auto, xdp, tc or afxdp",
			      val);
	return 0;
}

/* ---- host mode (issue 6) --------------------------------------------- */

static int xm_parse_mode(const char *val, __u32 *mode)
{
	if (!strcmp(val, "appliance"))
		*mode = XM_MODE_APPLIANCE;
	else if (!strcmp(val, "host"))
		*mode = XM_MODE_HOST;
	else
		return xm_err("--mode '%s': must be appliance or host", val);
	return 0;
}

static int xm_parse_direction(const char *val, __u32 *dir)
{
	if (!strcmp(val, "in"))
		*dir = XM_DIR_IN;
	else if (!strcmp(val, "out"))
		*dir = XM_DIR_OUT;
	else if (!strcmp(val, "both"))
		*dir = XM_DIR_IN | XM_DIR_OUT;
	else
		return xm_err("--direction '%s': must be in, out or both", val);
	return 0;
}

/* What host mode allows of the other options, and its defaults. */
static int xm_check_host_opts(struct xm_opts *o)
{
	if (o->mode != XM_MODE_HOST) {
		if (o->host_dir)
			return xm_err("--direction needs --mode host");
		if (o->datapath == XM_DP_TC)
			return xm_err("--datapath tc needs --mode host (the appliance's in-kernel path is xdp)");
		return 0;
	}
	if (o->queues != 1)
		return xm_err("--mode host: one queue only (it receives on one veth queue), not --queues %u",
			      o->queues);
	if (o->datapath == XM_DP_XDP)
		return xm_err("--mode host: its in-kernel path is --datapath tc, not xdp");
	if (!o->host_dir)
		o->host_dir = XM_DIR_IN | XM_DIR_OUT;
	return 0;
}

/* Parse the options after start/stop.  Returns 0 or 1 (message given). */
static int xm_parse_opts(int argc, char **argv, bool start, struct xm_opts *o)
{
	unsigned long v;
	const char *a, *val;
	int i;

	memset(o, 0, sizeof(*o));
	o->queues = 1;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (start && !strcmp(a, "--foreground")) {
			o->foreground = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			xm_usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--dev") && (!start ||
		    (strcmp(a, "--tx-dev") && strcmp(a, "--queues") &&
		     strcmp(a, "--cores") && strcmp(a, "--mode") &&
		     strcmp(a, "--config") && strcmp(a, "--datapath") &&
		     strcmp(a, "--direction")))) {
			return xm_err("unknown argument '%s' (see --help)", a);
		}
		if (i + 1 >= argc)
			return xm_err("option '%s' needs a value", a);
		val = argv[++i];
		if (!strcmp(a, "--dev")) {
			if (xm_set_dev(a, val, o->dev, &o->ifindex))
				return 1;
		} else if (!strcmp(a, "--tx-dev")) {
			if (xm_set_dev(a, val, o->tx_dev, &o->tx_ifindex))
				return 1;
		} else if (!strcmp(a, "--queues")) {
			if (xm_parse_uint(val, XM_MAX_QUEUES, &v) || !v)
				return xm_err("--queues '%s': must be 1..%d",
					      val, XM_MAX_QUEUES);
			o->queues = (unsigned int)v;
		} else if (!strcmp(a, "--cores")) {
			if (xm_parse_cores(val, o))
				return 1;
		} else if (!strcmp(a, "--mode")) {
			if (xm_parse_mode(val, &o->mode))
				return 1;
		} else if (!strcmp(a, "--direction")) {
			if (xm_parse_direction(val, &o->host_dir))
				return 1;
		} else if (!strcmp(a, "--datapath")) {
			if (xm_parse_datapath(val, &o->datapath))
				return 1;
		} else {
			return xm_err("%s: not yet supported", a);
		}
	}
	if (!o->dev[0])
		return xm_err("%s needs --dev IFACE", start ? "start" : "stop");
	if (start && xm_check_host_opts(o))
		return 1;
	if (!o->tx_dev[0]) {
		strcpy(o->tx_dev, o->dev);
		o->tx_ifindex = o->ifindex;
	}
	return 0;
}

/* ---- start ----------------------------------------------------------- */

static int xm_run_dir_file(const char *dev, const char *ext, char *buf,
			   size_t len)
{
	int n = snprintf(buf, len, "%s/%s.%s", XM_RUN_DIR, dev, ext);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void xm_write_pidfile(const char *dev)
{
	char path[256];
	FILE *f;

	if (xm_run_dir_file(dev, "pid", path, sizeof(path)))
		return;
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

static void xm_ready_text(const struct xm_daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "ready on %s: %u queue%s, %s mode, tx %s%s%s%s",
		 d->opt.dev, d->opt.queues, d->opt.queues == 1 ? "" : "s",
		 d->xsk->zerocopy ? "zero-copy" : "copy", d->opt.tx_dev,
		 d->attach_flags == XDP_FLAGS_SKB_MODE ? ", generic XDP" : "",
		 /* host mode (issue 6) */
		 d->host ? ", host mode " : "",
		 !d->host ? "" : d->opt.host_dir == XM_DIR_IN ? "(ingress)" :
		 d->opt.host_dir == XM_DIR_OUT ? "(egress)" :
						 "(ingress and egress)");
}

/* Send the start result to the waiting parent ("OK text" / "ERR text"). */
static void xm_report(int fd, bool ok, const char *text)
{
	char buf[512];
	int n;

	if (fd < 0) {
		if (ok)
			printf(XM_PROG ": %s\n", text);
		else
			xm_err("%s", text);
		fflush(stdout);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%s %s", ok ? "OK" : "ERR", text);
	if (n > 0 && write(fd, buf, strlen(buf)) < 0)
		xm_log("readiness pipe: %s", strerror(errno));
	close(fd);
}

static int xm_daemon_main(const struct xm_opts *o, int report_fd)
{
	struct sigaction sa = { .sa_handler = xm_on_signal };
	struct sigaction wake = { .sa_handler = xm_on_wake };
	char msg[384];
	struct xm_daemon *d;
	sigset_t usr1;
	int err;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* mirrorctl's "collectors changed": only the control loop takes it
	 * (xm_daemon_run), every thread started from here has it blocked. */
	sigemptyset(&wake.sa_mask);
	sigaction(SIGUSR1, &wake, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	d = calloc(1, sizeof(*d));
	if (!d) {
		xm_report(report_fd, false, "out of memory");
		return 1;
	}
	d->opt = *o;
	msg[0] = '\0';
	err = xm_daemon_start(d, msg, sizeof(msg));
	if (!err)
		err = xm_daemon_publish_ready(d);
	if (err) {
		if (!msg[0])
			snprintf(msg, sizeof(msg), "start failed: %s",
				 strerror(-err));
		xm_log("%s", msg);
		xm_daemon_stop(d);
		xm_report(report_fd, false, msg);
		free(d);
		return 1;
	}
	xm_write_pidfile(o->dev);
	xm_ready_text(d, msg, sizeof(msg));
	xm_log("%s", msg);
	xm_report(report_fd, true, msg);

	xm_daemon_run(d, (volatile const int *)&xm_quit);

	xm_log("stopping on %s", o->dev);
	xm_daemon_stop(d);
	if (!xm_run_dir_file(o->dev, "pid", msg, sizeof(msg)))
		unlink(msg);
	xm_log("stopped");
	free(d);
	return 0;
}

static int xm_daemon_child(const struct xm_opts *o, int fd)
{
	char path[256];
	int log, null;

	setsid();
	if (xm_run_dir_file(o->dev, "log", path, sizeof(path)) == 0) {
		log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			   0640);
		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
			close(log);
		}
	}
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	return xm_daemon_main(o, fd);
}

static int xm_cmd_start(const struct xm_opts *o)
{
	char buf[512];
	ssize_t n, got = 0;
	int pfd[2];
	pid_t pid;

	if (mkdir(XM_RUN_DIR, 0755) && errno != EEXIST)
		return xm_err("cannot create %s: %s", XM_RUN_DIR,
			      strerror(errno));
	if (o->foreground)
		return xm_daemon_main(o, -1);
	if (pipe2(pfd, O_CLOEXEC))
		return xm_err("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return xm_err("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		_exit(xm_daemon_child(o, pfd[1]));
	}
	close(pfd[1]);
	while ((size_t)got < sizeof(buf) - 1) {
		n = read(pfd[0], buf + got, sizeof(buf) - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(pfd[0]);
	buf[got] = '\0';
	if (!strncmp(buf, "OK ", 3)) {
		printf(XM_PROG ": %s\n", buf + 3);
		return 0;
	}
	if (!strncmp(buf, "ERR ", 4))
		return xm_err("%s", buf + 4);
	waitpid(pid, NULL, WNOHANG);
	return xm_err("the daemon exited during start; see %s/%s.log",
		      XM_RUN_DIR, o->dev);
}

/* ---- stop ------------------------------------------------------------ */

/* Is pid a mirror-appliance?  Guards against a recycled pid. */
static bool xm_pid_is_ours(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	/* comm is cut to 15 characters. */
	return !strncmp(comm, "mirror-applianc", 15);
}

static pid_t xm_find_pid(const char *dev)
{
	char path[256];
	pid_t pid = (pid_t)xm_pinned_pid(dev);
	FILE *f;
	int v;

	if (pid <= 0 && !xm_run_dir_file(dev, "pid", path, sizeof(path))) {
		f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%d", &v) == 1)
				pid = v;
			fclose(f);
		}
	}
	if (!xm_pid_alive(pid) || !xm_pid_is_ours(pid))
		return 0;
	return pid;
}

static bool xm_wait_exit(int pidfd, pid_t pid, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	struct timespec ts = { 0, 20000000 };
	int i;

	if (pidfd >= 0)
		return poll(&p, 1, ms) > 0;
	for (i = 0; i < ms / 20; i++) {
		if (!xm_pid_alive(pid))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static int xm_cmd_stop(const struct xm_opts *o)
{
	char path[256];
	bool had_pins, was_running = false;
	unsigned int ifindex = if_nametoindex(o->dev);
	pid_t pid;
	int pidfd, detached = 0, err;
	struct stat st;

	xm_bpffs_ensure();
	err = xm_pin_dir(o->dev, path, sizeof(path));
	if (err)
		return xm_err("%s: %s", o->dev, strerror(-err));
	had_pins = stat(path, &st) == 0;
	pid = xm_find_pid(o->dev);
	if (pid) {
		was_running = true;
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (kill(pid, SIGTERM) && errno == ESRCH)
			goto cleanup;
		if (!xm_wait_exit(pidfd, pid, XM_STOP_WAIT_MS)) {
			xm_err("pid %d did not exit in %d s: killing it",
			       (int)pid, XM_STOP_WAIT_MS / 1000);
			kill(pid, SIGKILL);
			xm_wait_exit(pidfd, pid, 1000);
		}
		if (pidfd >= 0)
			close(pidfd);
	}
cleanup:
	/* Whatever a crashed or killed daemon left behind. */
	if (ifindex)
		detached = xm_xdp_detach_ours(ifindex) +
			   xm_host_cleanup_stale(ifindex);
	if (stat(path, &st) == 0) {
		err = xm_maps_unpin(o->dev);
		if (err)
			return xm_err("cannot remove %s: %s", path,
				      strerror(-err));
	}
	if (!xm_run_dir_file(o->dev, "pid", path, sizeof(path)))
		unlink(path);
	if (!was_running && !had_pins && !detached)
		return xm_err("no appliance running on %s", o->dev);
	if (was_running)
		printf(XM_PROG ": stopped on %s (pid %d)\n", o->dev, (int)pid);
	else
		printf(XM_PROG ": cleaned up after a dead appliance on %s\n",
		       o->dev);
	return 0;
}

/* libbpf's warnings go to the log; its info and debug noise does not. */
static int xm_libbpf_print(enum libbpf_print_level level, const char *fmt,
			   va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	struct xm_opts o;
	bool start;

	if (argc < 2) {
		xm_usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		xm_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "start") && strcmp(argv[1], "stop"))
		return xm_err("unknown command '%s' (see --help)", argv[1]);
	start = !strcmp(argv[1], "start");
	if (xm_parse_opts(argc - 2, argv + 2, start, &o))
		return 1;
	libbpf_set_print(xm_libbpf_print);
	return start ? xm_cmd_start(&o) : xm_cmd_stop(&o);
}
