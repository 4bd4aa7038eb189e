// SPDX-License-Identifier: GPL-2.0
/*
 * batch.c - `mirrorctl -batch FILE`: one command per line, parsed and
 * checked completely before anything is written, then applied as one
 * change (a single rule-table flip).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mirrorctl.h"

#define XM_BATCH_MAX_ARGS 256

/*
 * Split line in place into words.  Whitespace separates words, quotes
 * ('...' or "...") group (for later pcap filter expressions) and a '#'
 * at the start of a word comments out the rest of the line.
 */
static int xm_batch_split(const struct xm_cli *cli, char *line, char **argv,
			  int max)
{
	char *src = line, *dst, quote;
	int argc = 0;

	for (;;) {
		while (*src == ' ' || *src == '\t' || *src == '\r' ||
		       *src == '\n')
			src++;
		if (!*src || *src == '#')
			return argc;
		if (argc == max) {
			xm_err(cli, "more than %d words on a line", max);
			return -E2BIG;
		}
		argv[argc++] = dst = src;
		quote = 0;
		for (; *src; src++) {
			if (quote && *src == quote) {
				quote = 0;
			} else if (!quote && (*src == '\'' || *src == '"')) {
				quote = *src;
			} else if (!quote && (*src == ' ' || *src == '\t' ||
					      *src == '\r' || *src == '\n')) {
				break;
			} else {
				*dst++ = *src;
			}
		}
		if (quote) {
			xm_err(cli, "unterminated quote");
			return -EINVAL;
		}
		/* dst trails src, so terminating here never cuts the next
		 * word; step past the separator first. */
		if (*src)
			src++;
		*dst = '\0';
	}
}

struct xm_batch {
	struct xm_cmd *cmds;
	unsigned int n, cap;
};

static struct xm_cmd *xm_batch_slot(struct xm_batch *b)
{
	struct xm_cmd *c;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		c = realloc(b->cmds, b->cap * sizeof(*c));
		if (!c)
			return NULL;
		b->cmds = c;
	}
	return &b->cmds[b->n];
}

static int xm_batch_line(struct xm_cli *cli, struct xm_batch *b, char *line)
{
	char *argv[XM_BATCH_MAX_ARGS];
	struct xm_cmd *cmd;
	int argc, err;

	argc = xm_batch_split(cli, line, argv, XM_BATCH_MAX_ARGS);
	if (argc <= 0)
		return argc;
	cmd = xm_batch_slot(b);
	if (!cmd) {
		xm_err(cli, "out of memory");
		return -ENOMEM;
	}
	err = xm_cmd_parse(cli, argc, argv, cmd);
	if (!err)
		b->n++;
	return err;
}

static int xm_batch_read(struct xm_cli *cli, const char *file, FILE *f,
			 struct xm_batch *b)
{
	unsigned long lineno = 0;
	size_t cap = 0;
	char *line = NULL;
	int err = 0;

	while (!err && getline(&line, &cap, f) >= 0) {
		lineno++;
		snprintf(cli->where, sizeof(cli->where), "%s:%lu: ", file,
			 lineno);
		err = xm_batch_line(cli, b, line);
	}
	if (!err && ferror(f)) {
		err = -EIO;
		xm_err(cli, "read error");
	}
	cli->where[0] = '\0';
	free(line);
	return err;
}

int xm_batch_run(struct xm_cli *cli, const char *file)
{
	struct xm_batch b = { 0 };
	bool is_stdin = !strcmp(file, "-");
	FILE *f;
	int err;

	f = is_stdin ? stdin : fopen(file, "r");
	if (!f) {
		err = -errno;
		xm_err(cli, "cannot open '%s': %s", file, strerror(errno));
		return err;
	}
	err = xm_batch_read(cli, is_stdin ? "<stdin>" : file, f, &b);
	if (!is_stdin)
		fclose(f);
	if (!err && b.n)
		err = xm_cmds_exec(cli, b.cmds, b.n);
	free(b.cmds);
	return err;
}
