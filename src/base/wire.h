/* wire.h - JSON helpers over jansson: bounded parsing, typed field access with
 * limits, and serialisation into a struct buf.  Handlers and the client use
 * jansson's json_t directly for building values (json_pack); this module holds
 * what would otherwise be repeated at every call site. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Parses <s, len> as one JSON value of any type (no trailing garbage, no NUL in
 * strings, no duplicate keys).
 * On failure returns -EINVAL and writes a short reason (never the input) to err
 * if err is non-NULL.  ret is OWNED (json_decref). */
int wire_parse(const char *s, size_t len, json_t **ret, struct buf *err);

/* Appends the compact serialisation of v to out.  -E2BIG, -ENOMEM. */
int wire_dump(struct buf *out, const json_t *v);

/* Typed getters.  ret_* BORROWED from obj.  Return 0, -ENOENT when the key is
 * absent or null, -EINVAL when the value has the wrong type, -E2BIG when a string
 * is longer than max bytes (max 0 = no limit). */
int wire_get_str(const json_t *obj, const char *key, size_t max, const char **ret);
int wire_get_bool(const json_t *obj, const char *key, bool *ret);
int wire_get_int(const json_t *obj, const char *key, long long *ret);
int wire_get_obj(const json_t *obj, const char *key, json_t **ret);
int wire_get_arr(const json_t *obj, const char *key, size_t max_items, json_t **ret);

/* Like wire_get_str, but an absent key yields def (0 is returned). */
int wire_get_str_or(const json_t *obj, const char *key, size_t max, const char *def,
                    const char **ret);

/* A new JSON string for text that may come from outside (a header, a path):
 * bytes that are not UTF-8 are replaced by U+FFFD (utf8_repaired); NULL s is
 * null.  NULL on ENOMEM. */
json_t *wire_text(const char *s);

/* Sets obj[key] to a new JSON string; NULL value sets null.  -EINVAL (obj not
 * an object, value not UTF-8), -ENOMEM. */
int wire_set_str(json_t *obj, const char *key, const char *value);

/* jansson (>= 2.11) provides json_decrefp for cleanup attributes */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))
