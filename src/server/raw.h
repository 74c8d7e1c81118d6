/* raw.h - the pieces of Infisical's raw secret routes (api_raw.c) that the
 * batch routes (api_batch.c) share: opening the project, environment, folder
 * and project key of a request, sealing and showing secrets, personal
 * overrides. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/names.h"
#include "crypto/seal.h"
#include "server.h"

struct raw {
    struct project_ctx ctx;
    const struct store_env *env; /* BORROWED from ctx.p */
    char path[NAME_PATH_MAX + 1];
    uint8_t key[SEAL_KEY_BYTES]; /* SECRET: the project key (wiped by raw_release) */
    bool expand;                 /* expand ${...} references in values */
    bool strict;       /* a reference that fails fails the request (else: that value as written,
                        * or, not allowed to read it, the secret left out of a list: skip) */
    bool skip;         /* raw_json: NULL because the secret is left out of a list */
    const char *owner; /* BORROWED: whose personal overrides references resolve to, NULL none */
    unsigned status;   /* why raw_json failed: reply status and message */
    char msg[384];
};

/* Opens project (workspaceId / projectId, or on v3 its slug: workspaceSlug /
 * projectSlug), environment and secretPath, and the
 * project key.  Replies and returns < 0 on failure. */
int raw_open(struct req *r, const json_t *body, struct raw *w);
void raw_release(struct raw *w);
/* Checks action on secrets of w's folder (replies 403 and audits). */
int raw_allows(struct req *r, struct raw *w, unsigned action);
struct audit_event raw_event(const struct raw *w, const char *event, const char *key);
/* Infisical's secret object for sec of w's folder (value and comment
 * decrypted); NULL with w->status and w->msg set on failure. */
json_t *raw_json(struct req *r, struct raw *w, const struct store_secret *sec, bool show);
/* The reply object of the secret ws (a create or update of w's folder) wrote
 * at time at: the very records this request wrote, with the id and version
 * the store gave them, not a read-back (another request may have written the
 * key since).  NULL with w->status and w->msg set on failure. */
json_t *raw_written_json(struct req *r, struct raw *w, const struct store_write *ws, int64_t at,
                         bool show);
/* Whether the caller may read secrets of w's folder: a reply to a write
 * carries a value only then (and is audited as a read too). */
bool raw_may_read(struct req *r, struct raw *w);
/* Whether sec is a personal override sealed to its owner (seal_owner_key):
 * the server cannot open it.  raw_refuse_sealed replies 400 when it is. */
bool raw_sealed_to_owner(const struct store_secret *sec);
bool raw_refuse_sealed(struct req *r, const struct store_secret *sec);
/* Opens field ("value", "comment") of sec, a secret of w's folder, whose
 * record is rec, into out (empty for no record).  -EBADMSG. */
int raw_open_field(const struct raw *w, const struct store_secret *sec, const char *field,
                   const struct store_blob *rec, struct buf *out);
/* The owner a request's "type" (body[type], or the query's without a body) is
 * about: "" for shared (or absent), the caller for personal; only users have
 * personal secrets ("Must be user to <verb> personal secret").  Replies 400
 * and returns < 0 otherwise. */
int raw_owner(struct req *r, const json_t *body, const char *verb, const char **ret);
/* Infisical's value rule: trimmed, one trailing newline kept if there was one. */
int raw_normalize_value(const char *in, struct buf *out);
/* Seals plain as field ("value", "comment") of key of owner ("" shared) in
 * w's folder, appending the record to out. */
int raw_seal(const struct raw *w, const char *key, const char *owner, const char *field,
             const char *plain, size_t len, struct buf *out);
/* Replies 400 for what secrets_write's ret means to Infisical's clients (an
 * existing secret, an override without its shared secret) and returns true;
 * false for anything else. */
bool raw_write_failed(struct req *r, int ret, const struct store_write *ws, size_t n);
