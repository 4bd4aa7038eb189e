// SPDX-License-Identifier: GPL-2.0
/*
 * xdpfeat.c - a device's XDP feature mask over generic netlink.  The
 * fast path redirects into the TX device only when it advertises
 * ndo_xdp_xmit (a veth does so only while its peer can take XDP frames,
 * so this is also how a bad collector-side setup is noticed).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>

#include "xdpfeat.h"

struct xm_genl_reply {
	__u16 family;
	__u64 feat;
	int have;
};

static int xm_genl_attr_family(const struct nlattr *a, void *data)
{
	struct xm_genl_reply *r = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
		r->family = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int xm_genl_attr_feat(const struct nlattr *a, void *data)
{
	struct xm_genl_reply *r = data;

	if (mnl_attr_get_type(a) == XM_NETDEV_A_DEV_XDP_FEATURES &&
	    mnl_attr_validate(a, MNL_TYPE_U64) >= 0) {
		r->feat = mnl_attr_get_u64(a);
		r->have = 1;
	}
	return MNL_CB_OK;
}

static int xm_genl_cb_family(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr),
			      xm_genl_attr_family, data);
}

static int xm_genl_cb_feat(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr),
			      xm_genl_attr_feat, data);
}

/* Send the request in buf and run cb over the replies. */
static int xm_genl_call(struct mnl_socket *s, struct nlmsghdr *nlh,
			mnl_cb_t cb, struct xm_genl_reply *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	__u32 portid = mnl_socket_get_portid(s);
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, r);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

static struct nlmsghdr *xm_genl_msg(char *buf, __u16 type, __u8 cmd,
				    __u32 seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	/* The ack ends the reply: mnl_cb_run returns 0 on it. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	return nlh;
}

int xm_xdp_features(unsigned int ifindex, __u64 *feat)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct xm_genl_reply r = { 0 };
	struct timeval tmo = { .tv_sec = 1 };
	__u32 seq = (__u32)time(NULL);
	struct mnl_socket *s;
	struct nlmsghdr *nlh;
	int err;

	s = mnl_socket_open(NETLINK_GENERIC);
	if (!s)
		return -errno;
	/* Never hang the daemon's control loop on a lost reply. */
	if (setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tmo,
		       sizeof(tmo))) {
		err = -errno;
		goto out;
	}
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	nlh = xm_genl_msg(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, seq);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, XM_NETDEV_FAMILY);
	err = xm_genl_call(s, nlh, xm_genl_cb_family, &r);
	if (err == -ENOENT || (!err && !r.family)) {
		err = -EOPNOTSUPP;
		goto out;
	}
	if (err)
		goto out;
	nlh = xm_genl_msg(buf, r.family, XM_NETDEV_CMD_DEV_GET, seq + 1);
	mnl_attr_put_u32(nlh, XM_NETDEV_A_DEV_IFINDEX, ifindex);
	err = xm_genl_call(s, nlh, xm_genl_cb_feat, &r);
	if (!err && !r.have)
		err = -EOPNOTSUPP;
	if (!err)
		*feat = r.feat;
out:
	mnl_socket_close(s);
	return err;
}
