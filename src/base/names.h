/* names.h - the rules for names that come from outside: secret keys, folder
 * paths, environment slugs, project names, e-mail addresses.  Shared by the
 * server (which enforces them) and the client (which checks early, to give a
 * better message).  Every rule has a length limit. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define NAME_KEY_MAX 255   /* secret key length */
#define NAME_PATH_MAX 1024 /* folder path length */
#define NAME_PATH_DEPTH 32 /* folder path segments */
#define NAME_SLUG_MAX 64   /* environment / project / org slug */
#define NAME_TITLE_MAX 128 /* display names of projects, orgs, environments */
#define NAME_EMAIL_MAX 254

/* A secret key is a portable environment variable name: [A-Za-z_][A-Za-z0-9_]*,
 * 1..NAME_KEY_MAX bytes. */
bool name_key_valid(const char *key);
/* Why key is not a valid name, in words ("it starts with a digit", "'-' is
 * not a letter ..., a digit or _", "it is longer than 255 characters"): a
 * static string or buf. */
const char *name_key_problem(const char *key, char *buf, size_t size);

/* Normalises a folder path: must start with '/', segments of [A-Za-z0-9_.-]
 * that are not "." or "..", no empty segments except that a trailing '/' is
 * dropped; "/" is the root.  Writes the canonical form to out (at least
 * NAME_PATH_MAX + 1 bytes).  -EINVAL (bad character, "..", not absolute),
 * -E2BIG (too long or too deep). */
int name_path_normalize(const char *path, char *out, size_t out_size);

/* Slug: [a-z0-9] then [a-z0-9-]*, 1..NAME_SLUG_MAX. */
bool name_slug_valid(const char *slug);

/* Makes a slug from a display name into out (NAME_SLUG_MAX + 1 bytes):
 * lowercase, runs of other characters become '-', trimmed of '-'.
 * -EINVAL when nothing is left. */
int name_slugify(const char *title, char *out, size_t out_size);

/* Display name: 1..NAME_TITLE_MAX bytes, valid UTF-8, no control characters. */
bool name_title_valid(const char *title);

/* Something@something, 3..NAME_EMAIL_MAX bytes, no whitespace or control chars. */
bool name_email_valid(const char *email);

/* Generates a random UUID v4 string into out (37 bytes) using getrandom(2). */
void name_uuid(char out[static 37]);
bool name_uuid_valid(const char *s);
