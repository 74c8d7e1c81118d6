/* auth.c - who is calling: Authorization: Bearer <token> -> principal.
 *
 * Three kinds of token, told apart by their prefix:
 *   arca_s_<43>          a user's session
 *   arca_i_<43>          a machine identity's access token
 *   st.<id>.<secret>     a service token (the client keeps the 4th part, the key)
 * The server stores only hashes (BLAKE2b) of sessions, access tokens and
 * service-token secrets, so a database leak gives no usable token; lookups are
 * by hash (or by id, then a constant-time comparison of hashes).
 *
 * Failed authentications are audited ("auth.token.invalid") without the token. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authz.h"
#include "base/util.h"
#include "base/wire.h"
#include "cache.h"
#include "crypto/seal.h"
#include "metrics.h"
#include "ratelimit.h"
#include "server.h"

#define TOKEN_MAX 512

static int refuse(struct req *r, const char *why)
{
    struct audit_event e = {.event = "auth.token.invalid", .outcome = "failure"};
    json_t *meta;

    /* token guessing is limited per address (429 past it), which also bounds
     * how many refusals are audited */
    unsigned wait = ratelimit_take(r->srv->rl_token, r->remote, now_ms());
    if (wait) {
        metrics_rate_limited(METRICS_LIMIT_TOKEN);
        r->retry_after = wait;
        http_fail(r, 429, "too many invalid tokens: retry in %u seconds", wait);
        return -EAGAIN;
    }
    meta = json_pack("{s:s}", "reason", why);
    e.metadata = meta;
    audit_log(r, &e); /* best effort: the request is refused either way */
    json_decref(meta);
    http_fail(r, 401, "invalid or expired token: %s", why);
    return -EACCES;
}

/* Records a refused request with what it asked for (method and path, never
 * a header): audit_denied. */
static void denied(struct req *r, const char *event, const char *outcome, const char *why)
{
    json_t *meta = json_pack("{s:s, s:s, s:s%}", "reason", why, "method", r->method, "request",
                             r->path, strnlen(r->path, 256));

    audit_denied(r, &(struct audit_event){.event = event, .outcome = outcome, .metadata = meta});
    json_decref(meta);
}

/* Does addr (text) fall in one of the comma-separated CIDRs of list? */
bool ip_allowed(const char *list, const char *addr)
{
    uint8_t a[16], n[16];
    int fa = strchr(addr, ':') ? AF_INET6 : AF_INET;
    size_t alen = fa == AF_INET6 ? 16 : 4;
    char item[64];

    if (!list || !*list)
        return true;
    if (inet_pton(fa, addr, a) != 1)
        return false;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        char *slash;
        long bits;
        int fn;

        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : 0), p);
        p += len + (p[len] == ',');
        slash = strchr(item, '/');
        if (slash)
            *slash = 0;
        fn = strchr(item, ':') ? AF_INET6 : AF_INET;
        if (fn != fa || inet_pton(fn, item, n) != 1)
            continue;
        bits = slash ? strtol(slash + 1, NULL, 10) : (long)alen * 8;
        if (bits < 0 || bits > (long)alen * 8)
            continue;
        size_t full = (size_t)bits / 8;
        unsigned rest = (unsigned)bits % 8;
        if (memcmp(a, n, full) != 0)
            continue;
        if (rest && ((a[full] ^ n[full]) & (uint8_t)(0xff << (8 - rest))))
            continue;
        return true;
    }
    return false;
}

/* Principals of sessions and access tokens, by the token's hash (cache.h):
 * the principal as the store gave it, its expiry and the identity's trusted
 * addresses, re-checked on every request.  Tokens with a use limit are never
 * kept (each use is counted in the store), nor are service tokens. */
struct principal_entry {
    struct principal who; /* policy NULL */
    int64_t expires_at;
    char trusted_ips[]; /* NUL-terminated */
};

static void principal_key(const uint8_t hash[32], char key[2 + 64 + 1])
{
    memcpy(key, "p:", 2);
    hex_encode(hash, 32, key + 2);
}

/* Whether r->who.token_hash names a current principal in the cache; if so
 * r->who is it.  Anything else (expired, another address) goes to the store. */
static bool principal_cached(struct req *r)
{
    _cleanup_buf_ struct buf v = BUF_INIT;
    const struct principal_entry *e;
    char key[2 + 64 + 1];
    int64_t now = now_ms();
    uint64_t at = 0;

    principal_key(r->who.token_hash, key);
    /* a principal depends on nothing of a project: global changes only */
    if (!r->epoch_ok || !cache_get(r->srv->cache, key, now, &v, &at) ||
        !epoch_current(r, at, NULL) || v.len <= sizeof(*e) || v.ptr[v.len - 1] != 0)
        return false;
    e = (const struct principal_entry *)v.ptr;
    if (e->expires_at <= now || !ip_allowed(e->trusted_ips, r->remote))
        return false;
    r->who = e->who;
    return true;
}

static void principal_keep(struct req *r, int64_t expires_at, const char *trusted_ips)
{
    _cleanup_buf_ struct buf v = BUF_INIT;
    struct principal_entry e = {.who = r->who, .expires_at = expires_at};
    char key[2 + 64 + 1];

    if (!r->epoch_ok)
        return;
    e.who.policy = NULL;
    trusted_ips = trusted_ips ? trusted_ips : "";
    if (buf_add(&v, &e, sizeof(e)) < 0 || buf_add(&v, trusted_ips, strlen(trusted_ips) + 1) < 0)
        return;
    principal_key(r->who.token_hash, key);
    cache_put(r->srv->cache, key, r->epoch.all, now_ms(), v.ptr, v.len);
}

static int auth_session(struct req *r, const char *tok, size_t len)
{
    struct store *s = r->srv->store;
    struct store_session sess;
    struct store_user u = {0};
    int ret;

    seal_hash_token(tok, len, r->who.token_hash);
    if (principal_cached(r))
        return 0;
    ret = s->ops->session_get(s, r->who.token_hash, &sess);
    if (ret == -ENOENT || (ret == 0 && sess.expires_at <= now_ms())) {
        if (ret == 0)
            s->ops->session_delete(s, r->who.token_hash);
        return refuse(r, "log in again");
    }
    if (ret == 0)
        ret = s->ops->user_get(s, sess.user_id, &u);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure checking a session");
        return ret;
    }
    r->who.kind = PRINCIPAL_USER;
    memcpy(r->who.id, sess.user_id, sizeof(r->who.id));
    snprintf(r->who.name, sizeof(r->who.name), "%s", u.email);
    store_user_release(&u);
    principal_keep(r, sess.expires_at, NULL);
    return 0;
}

static int auth_identity(struct req *r, const char *tok, size_t len)
{
    struct store *s = r->srv->store;
    struct store_access_token t;
    struct store_identity id = {0};
    int64_t now = now_ms();
    int ret;

    seal_hash_token(tok, len, r->who.token_hash);
    if (principal_cached(r))
        return 0;
    ret = s->ops->access_token_get(s, r->who.token_hash, &t);
    if (ret == -ENOENT || (ret == 0 && (t.revoked || t.expires_at <= now)))
        return refuse(r, ret == 0 && t.revoked ? "revoked" : "log in again");
    if (ret == 0 && t.num_uses_limit > 0) {
        ret = s->ops->access_token_use(s, r->who.token_hash, now);
        if (ret == -EACCES)
            return refuse(r, "out of uses");
    }
    if (ret == 0)
        ret = s->ops->identity_get(s, t.identity_id, &id);
    if (ret == -ENOENT)
        return refuse(r, "identity deleted");
    if (ret < 0) {
        http_fail_store(r, ret, "store failure checking an access token");
        return ret;
    }
    if (!ip_allowed(id.trusted_ips, r->remote)) {
        r->who.kind = PRINCIPAL_IDENTITY; /* the record names who was refused */
        memcpy(r->who.id, id.id, sizeof(r->who.id));
        memcpy(r->who.org_id, id.org_id, sizeof(r->who.org_id));
        snprintf(r->who.name, sizeof(r->who.name), "%s", id.name);
        store_identity_release(&id);
        denied(r, "auth.ip.denied", "denied", "address not trusted");
        http_fail(r, 403, "this identity may not be used from %s", r->remote);
        r->who.kind = PRINCIPAL_NONE;
        return -EACCES;
    }
    r->who.kind = PRINCIPAL_IDENTITY;
    memcpy(r->who.id, id.id, sizeof(r->who.id));
    memcpy(r->who.org_id, id.org_id, sizeof(r->who.org_id));
    snprintf(r->who.name, sizeof(r->who.name), "%s", id.name);
    if (t.num_uses_limit == 0)
        principal_keep(r, t.expires_at, id.trusted_ips);
    store_identity_release(&id);
    return 0;
}

/* A service token never does more than its creator's role allows now: a
 * narrower role narrows the token, and once the creator has left the project
 * the token is refused. */
static int service_token_limit(struct req *r, const struct store_service_token *st)
{
    struct store_member m = {0};
    struct authz_policy *within = NULL;
    int ret = r->srv->store->ops->member_get(r->srv->store, st->project_id, st->created_by, &m);

    if (ret == -ENOENT)
        return refuse(r, "its creator is no longer a member of the project: create a new one");
    if (ret == 0)
        ret = project_role_policy(r, st->project_id, m.role, &within);
    store_member_release(&m);
    if (ret < 0) {
        http_fail_store(r, ret, "store failure checking a service token's creator");
        return ret;
    }
    authz_policy_limit(r->who.policy, within);
    return 0;
}

/* "st.<id>.<secret>" */
static int auth_service(struct req *r, const char *tok)
{
    struct store *s = r->srv->store;
    struct store_service_token st = {0};
    _cleanup_json_ json_t *scopes = NULL;
    char id[STORE_ID_LEN + 1];
    const char *dot = strchr(tok + 3, '.'), *secret;
    uint8_t hash[SEAL_HASH_BYTES];
    const char *envs[64], *globs[64];
    size_t n = 0;
    json_t *sc;
    int ret;

    if (!dot || dot - (tok + 3) != STORE_ID_LEN || strchr(dot + 1, '.'))
        return refuse(r, "malformed service token (send st.<id>.<secret>, never the key)");
    memcpy(id, tok + 3, STORE_ID_LEN);
    id[STORE_ID_LEN] = 0;
    secret = dot + 1;
    seal_hash_token(secret, strlen(secret), hash);
    ret = s->ops->service_token_get(s, id, &st);
    if (ret == -ENOENT)
        return refuse(r, "unknown service token");
    if (ret < 0) {
        http_fail_store(r, ret, "store failure checking a service token");
        return ret;
    }
    if (!seal_equal(hash, st.secret_hash, SEAL_HASH_BYTES) || st.revoked ||
        (st.expires_at && st.expires_at <= now_ms())) {
        bool revoked = st.revoked;
        store_service_token_release(&st);
        return refuse(r, revoked ? "revoked" : "expired or wrong");
    }
    if (wire_parse(st.scopes, strlen(st.scopes), &scopes, NULL) == 0 && json_is_array(scopes))
        json_array_foreach(scopes, n, sc)
        {
            if (n == ELEMENTSOF(envs))
                break;
            envs[n] = json_string_value(json_object_get(sc, "environment"));
            globs[n] = json_string_value(json_object_get(sc, "secretPath"));
            if (!envs[n] || !globs[n])
                break;
        }
    ret = n ? authz_policy_for_scopes(envs, globs, n, st.write, &r->who.policy) : -EINVAL;
    if (ret < 0) {
        store_service_token_release(&st);
        http_fail(r, 500, "service token %s has unusable scopes", id);
        return ret;
    }
    ret = service_token_limit(r, &st);
    if (ret < 0) {
        store_service_token_release(&st);
        return ret;
    }
    r->who.kind = PRINCIPAL_SERVICE;
    r->who.token_write = st.write;
    memcpy(r->who.id, st.id, sizeof(r->who.id));
    memcpy(r->who.project_id, st.project_id, sizeof(r->who.project_id));
    snprintf(r->who.name, sizeof(r->who.name), "%s", st.name);
    store_service_token_release(&st);
    return 0;
}

int auth_request(struct req *r)
{
    const char *h = req_header(r, "Authorization");
    const char *tok;
    size_t len;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == 0) {
        denied(r, "auth.token.missing", "failure", "no bearer token");
        http_fail(r, 401, "authentication required: send Authorization: Bearer <token>");
        return -EACCES;
    }
    tok = h + 7;
    len = strlen(tok);
    if (len > TOKEN_MAX)
        return refuse(r, "too long");
    if (startswith(tok, "arca_s_"))
        return auth_session(r, tok, len);
    if (startswith(tok, "arca_i_"))
        return auth_identity(r, tok, len);
    if (startswith(tok, "st."))
        return auth_service(r, tok);
    return refuse(r, "unknown token format");
}
