/* expand.h - secret references in values, the one expander that the client
 * (arca_secrets_expand) and the server's raw routes (expandSecretReferences)
 * both use, each supplying a lookup of one referenced secret.
 *
 * ${KEY} is KEY in the same environment and folder as the value that holds
 * it, ${env.KEY} KEY at the root of environment env, ${env.a.b.KEY} KEY in
 * folder /a/b of env.  A referenced value is itself expanded, at most
 * EXPAND_DEPTH_MAX references deep; one value resolves at most
 * EXPAND_RESOLVED_MAX references in all, nested ones included (eight levels of
 * eight would otherwise be 16 million lookups for a few hundred bytes of
 * values), and expands to at most EXPAND_VALUE_MAX bytes.  "${" with no
 * closing "}" is kept as is; "\${" is a literal "${" (how a single-quoted
 * .env value is stored).
 *
 * Checks, in this order, for each reference: well formed (a name key, a slug
 * environment, a folder path; else -EINVAL, and the text is not quoted: it may
 * be part of a value), not a cycle (-EINVAL), not too deep (-EINVAL), not one
 * too many (-E2BIG), then the lookup (-ENOENT: does not resolve, -EACCES: the
 * caller may not read the folder).  On these failures x->msg says which
 * secret and which reference, e.g. "secret 'A' refers to ${B}, which forms a
 * cycle"; a lenient caller keeps that one value as written (or, -EACCES,
 * leaves the secret out); a strict one fails.  Any other error is the
 * lookup's own (store, network, decryption, memory), returned as is with
 * x->msg empty. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

#define EXPAND_DEPTH_MAX 8             /* references within references */
#define EXPAND_RESOLVED_MAX 256        /* references resolved for one value */
#define EXPAND_VALUE_MAX (256u * 1024) /* bytes of one expanded value */

/* Appends the value of key in folder path of environment env (both valid,
 * path normalized) to value, a secret buffer of at most EXPAND_VALUE_MAX
 * bytes.  Returns 0; -ENOENT for no such secret; -ENXIO for no such
 * environment; -EACCES when the caller may not read that folder; -E2BIG when
 * the value is too large; anything else for a failure of the lookup's own. */
typedef int (*expand_lookup_fn)(void *ctx, const char *env, const char *path, const char *key,
                                struct buf *value);

struct expander {
    expand_lookup_fn lookup;
    void *ctx;           /* BORROWED: passed to lookup */
    const char *top;     /* BORROWED: the key being expanded (set by expand_value) */
    unsigned n_resolved; /* references resolved for top so far */
    char msg[384];       /* why expand_value failed, "" for a failure of the lookup's own */
};

/* Appends value <value, len>, the value of key in (env, path), to out with
 * every reference replaced by what it refers to.  out should be a secret
 * buffer of at most EXPAND_VALUE_MAX bytes; on failure it holds a part. */
int expand_value(struct expander *x, const char *env, const char *path, const char *key,
                 const char *value, size_t len, struct buf *out);

/* Is r (from expand_value) a failure of the value's references rather than
 * of the lookup (store, network, memory)?  A lenient expansion then goes on
 * without that one value. */
bool expand_ref_failure(int r);
