// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>

#include "json.h"

void xm_json_init(struct xm_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->more[0] = false;
}

static void xm_json_string(struct xm_json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', j->f);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", j->f);
		else if (*p == '\t')
			fputs("\\t", j->f);
		else if (*p < 0x20)
			fprintf(j->f, "\\u%04x", *p);
		else
			fputc(*p, j->f);
	}
	fputc('"', j->f);
}

/* Comma and key in front of every value. */
static void xm_json_key(struct xm_json *j, const char *key)
{
	if (j->more[j->depth])
		fputc(',', j->f);
	j->more[j->depth] = true;
	if (key) {
		xm_json_string(j, key);
		fputc(':', j->f);
	}
}

static void xm_json_open(struct xm_json *j, const char *key, char c)
{
	xm_json_key(j, key);
	fputc(c, j->f);
	/* Deeper levels than we track still nest correctly, only commas
	 * would go wrong; no mirrorctl document comes close. */
	if (j->depth + 1 < XM_JSON_MAX_DEPTH)
		j->depth++;
	j->more[j->depth] = false;
}

static void xm_json_close(struct xm_json *j, char c)
{
	if (j->depth)
		j->depth--;
	fputc(c, j->f);
}

void xm_json_obj_begin(struct xm_json *j, const char *key)
{
	xm_json_open(j, key, '{');
}

void xm_json_obj_end(struct xm_json *j)
{
	xm_json_close(j, '}');
}

void xm_json_arr_begin(struct xm_json *j, const char *key)
{
	xm_json_open(j, key, '[');
}

void xm_json_arr_end(struct xm_json *j)
{
	xm_json_close(j, ']');
}

void xm_json_u64(struct xm_json *j, const char *key, __u64 v)
{
	xm_json_key(j, key);
	fprintf(j->f, "%" PRIu64, (uint64_t)v);
}

void xm_json_str(struct xm_json *j, const char *key, const char *s)
{
	xm_json_key(j, key);
	xm_json_string(j, s);
}

void xm_json_bool(struct xm_json *j, const char *key, bool v)
{
	xm_json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void xm_json_finish(struct xm_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
