/* SPDX-License-Identifier: GPL-2.0 */
/*
 * json.h - the one JSON writer of mirrorctl.  Compact output; the writer
 * tracks nesting and commas so callers only name keys and values.
 */
#ifndef XM_JSON_H
#define XM_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#define XM_JSON_MAX_DEPTH 16

struct xm_json {
	FILE *f;
	unsigned int depth;
	bool more[XM_JSON_MAX_DEPTH];	/* a value was written at this level */
};

void xm_json_init(struct xm_json *j, FILE *f);
/* key is NULL inside arrays and at the top level. */
void xm_json_obj_begin(struct xm_json *j, const char *key);
void xm_json_obj_end(struct xm_json *j);
void xm_json_arr_begin(struct xm_json *j, const char *key);
void xm_json_arr_end(struct xm_json *j);
void xm_json_u64(struct xm_json *j, const char *key, __u64 v);
void xm_json_str(struct xm_json *j, const char *key, const char *s);
void xm_json_bool(struct xm_json *j, const char *key, bool v);
/* Ends the document with a newline. */
void xm_json_finish(struct xm_json *j);

#endif /* XM_JSON_H */
