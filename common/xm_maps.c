// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xm_maps.h"

static const char *const xm_map_names[XM_NMAPS] = {
	XM_MAP_RULES,	   XM_MAP_CTL,		XM_MAP_COLLECTORS,
	XM_MAP_DEV_STATS,  XM_MAP_RULE_STATS,	XM_MAP_COLL_STATS,
	XM_MAP_WORKER_STATS, XM_MAP_XSKS,	XM_MAP_DPINFO,
	XM_MAP_TUPLES,	   XM_MAP_RESID,	XM_MAP_RULE_HASH,
	XM_MAP_FILTERS,	   XM_MAP_QSBR,		XM_MAP_FAST,
	XM_MAP_FAST_STATS, XM_MAP_SEQS,		XM_MAP_TX_PORTS,
};

const char *xm_map_name(unsigned int i)
{
	return i < XM_NMAPS ? xm_map_names[i] : NULL;
}

int xm_bpffs_ensure(void)
{
	struct statfs sf;

	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST)
		return -errno;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

int xm_pin_dir(const char *dev, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", XM_PIN_ROOT, dev);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

void xm_maps_init(struct xm_maps *m)
{
	int *fd = (int *)m;
	unsigned int i;

	for (i = 0; i < XM_NMAPS; i++)
		fd[i] = -1;
}

void xm_maps_close(struct xm_maps *m)
{
	int *fd = (int *)m;
	unsigned int i;

	for (i = 0; i < XM_NMAPS; i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		fd[i] = -1;
	}
}

static int xm_map_path(const char *dev, unsigned int i, char *buf,
		       size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s", XM_PIN_ROOT, dev,
			 xm_map_names[i]);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int xm_maps_open(const char *dev, struct xm_maps *m)
{
	int *fd = (int *)m;
	char path[256];
	unsigned int i;
	int err;

	xm_maps_init(m);
	for (i = 0; i < XM_NMAPS; i++) {
		err = xm_map_path(dev, i, path, sizeof(path));
		if (err)
			goto err_close;
		fd[i] = bpf_obj_get(path);
		if (fd[i] < 0) {
			err = -errno;
			goto err_close;
		}
	}
	return 0;

err_close:
	xm_maps_close(m);
	return err;
}

int xm_maps_pin(const char *dev, const struct xm_maps *m)
{
	const int *fd = (const int *)m;
	char path[256];
	unsigned int i;
	int err;

	if (mkdir(XM_PIN_ROOT, 0700) && errno != EEXIST)
		return -errno;
	err = xm_pin_dir(dev, path, sizeof(path));
	if (err)
		return err;
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	for (i = 0; i < XM_NMAPS; i++) {
		err = xm_map_path(dev, i, path, sizeof(path));
		if (err)
			goto err_unpin;
		if (bpf_obj_pin(fd[i], path)) {
			err = -errno;
			goto err_unpin;
		}
		if (chmod(path, 0600)) {
			err = -errno;
			goto err_unpin;
		}
	}
	return 0;

err_unpin:
	xm_maps_unpin(dev);
	return err;
}

int xm_maps_unpin(const char *dev)
{
	char path[256];
	unsigned int i;
	int err;

	for (i = 0; i < XM_NMAPS; i++) {
		err = xm_map_path(dev, i, path, sizeof(path));
		if (err)
			return err;
		if (unlink(path) && errno != ENOENT)
			return -errno;
	}
	err = xm_pin_dir(dev, path, sizeof(path));
	if (err)
		return err;
	if (rmdir(path) && errno != ENOENT)
		return -errno;
	/* The root goes with the last device; others keep it busy. */
	if (rmdir(XM_PIN_ROOT) && errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	return 0;
}

int xm_pinned_devs(char (*names)[IF_NAMESIZE], int max)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(XM_PIN_ROOT);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		if (strlen(de->d_name) >= IF_NAMESIZE)
			continue;
		strcpy(names[n++], de->d_name);
	}
	closedir(d);
	return n;
}

int xm_percpu_sum(int map_fd, __u32 key, __u64 *out, unsigned int nwords)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	int c, err = 0;
	unsigned int w;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, nwords * sizeof(__u64));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, vals)) {
		err = -errno;
		goto out;
	}
	memset(out, 0, nwords * sizeof(__u64));
	for (c = 0; c < ncpu; c++)
		for (w = 0; w < nwords; w++)
			out[w] += vals[(size_t)c * nwords + w];
out:
	free(vals);
	return err;
}

/* flock on the pin directory itself: bpffs refuses regular files, but a
 * directory fd can be locked on any file system. */
int xm_lock(const char *dev)
{
	char path[256];
	int fd, err;

	err = xm_pin_dir(dev, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void xm_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
