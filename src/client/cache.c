/* cache.c - the local copy of a folder's answers, for when the server cannot
 * be reached (arca run, arca export).
 *
 * While the cache is on, every GET answered 200 is kept, as the server sent
 * it: end-to-end encrypted records, the project key sealed to the caller's
 * key pair (or, for a service token, under the token's key part), names and
 * versions.  Nothing decrypted is ever kept.  arca_cache_commit writes them as
 * one entry; when a later GET cannot reach the server, the entry is loaded and
 * the rest of the call is answered from it, so the same code opens and checks
 * every record as it would online.
 *
 * An entry is one file in the cache directory:
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       8     "ARCACHE1"
 *   8       n     seal_box(K, "cache:<name>", {"v":1,"savedAt":ms,"answers":{GET path: answer}})
 *
 * K is keyed BLAKE2b of a key only this client holds and the server never
 * sees (the private key of a saved session, the key part of a service token),
 * so an entry opens only for the principal that wrote it; <name>, also the
 * file's name, is the base64url of BLAKE2b keyed with K of what the entry is
 * for (server URL, project, environment, folder and the flags that change the
 * answer), so
 * an entry renamed to another's name fails to open too.
 *
 * Only "cannot reach" failures fall back to the entry: connection refused, an
 * unresolvable host, a time-out, and 502/503/504 from a proxy in front of the
 * server.  A 401, 403 or 404 deletes the entry: a revoked session or token
 * must not keep reading from disk.  TLS failures do not fall back: a
 * certificate problem is something to fix, not to work around.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/util.h"
#include "base/wire.h"
#include "client/client.h"
#include "crypto/seal.h"

#define CACHE_MAGIC "ARCACHE1"
#define CACHE_MAGIC_LEN 8
#define CACHE_ENTRY_MAX (16u * 1024 * 1024) /* plaintext of one entry */
#define CACHE_ENTRIES_MAX 64                /* entries kept; the oldest go first */
#define CACHE_REWRITE_MS (3600 * 1000LL)    /* an unchanged entry is rewritten this often */
#define CACHE_PATH_MAX 4096
#define CACHE_NAME_CHARS 43 /* base64url of 32 bytes */

struct client_cache {
    char *dir;                       /* OWNED */
    char *for_what;                  /* OWNED: what the entry is for (arca_cache_enable) */
    uint8_t *key;                    /* SECRET, seal_malloc'd: K; NULL until a session sets it */
    char name[CACHE_NAME_CHARS + 1]; /* the entry's file name, once key is set */
    json_t *answers;                 /* OWNED: GET path -> answer, kept or loaded */
    json_t *entry;                   /* OWNED: the entry on disk (entry_load), NULL if none */
    bool entry_loaded;               /* entry_load was called */
    bool recalled;                   /* the project's answer came from the entry */
    bool no_recall;                  /* ... and was wrong: ask the server */
    bool replaying;                  /* answers come from the entry, the network is not used */
    bool refused;                    /* 401/403/404 seen: the entry is gone, nothing is saved */
    int err;                         /* the failure that started the replay */
    char errmsg[CLIENT_ERRMSG_MAX];  /* its message */
    int64_t saved_at;                /* ms: when the loaded entry was written */
};

void client_cache_free(struct client_cache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c->for_what);
    seal_free(c->key);
    json_decref(c->answers);
    json_decref(c->entry);
    free(c);
}

/* $XDG_CACHE_HOME/arca, else ~/.cache/arca. */
static int cache_dir_default(struct buf *out)
{
    const char *xdg = secure_getenv("XDG_CACHE_HOME");
    if (xdg && *xdg == '/')
        return buf_printf(out, "%s/arca", xdg);
    return client_home_path(".cache/arca", out);
}

int arca_cache_enable(struct arca *a, const char *dir, const char *for_what)
{
    _cleanup_buf_ struct buf d = BUF_INIT;
    struct client_cache *c;
    int r;

    buf_init(&d, CACHE_PATH_MAX);
    r = dir && *dir ? buf_adds(&d, dir) : cache_dir_default(&d);
    if (r < 0)
        return client_error(a, r, "cannot find the cache directory (set XDG_CACHE_HOME)");
    c = calloc(1, sizeof(*c));
    if (!c || !(c->dir = buf_detach(&d)) || !(c->for_what = strdup(for_what)) ||
        !(c->answers = json_object())) {
        client_cache_free(c);
        return client_error(a, -ENOMEM, "out of memory");
    }
    client_cache_free(a->cache);
    a->cache = c;
    return 0;
}

void client_cache_set_key(struct arca *a, const uint8_t secret[SEAL_KEY_BYTES])
{
    static const char label[] = "arca.cache.v1";
    struct client_cache *c = a->cache;
    uint8_t id[SEAL_HASH_BYTES];
    _cleanup_buf_ struct buf what = BUF_INIT;
    _cleanup_buf_ struct buf name = BUF_INIT;

    if (!c)
        return;
    if (!c->key && !(c->key = seal_malloc(SEAL_KEY_BYTES)))
        return;
    /* the URL is final here: a saved session may have brought its own */
    seal_hash_keyed(secret, label, sizeof(label) - 1, c->key);
    if (buf_printf(&what, "%s\n%s", a->api_url, c->for_what) >= 0)
        seal_hash_keyed(c->key, what.ptr, what.len, id);
    if (!what.ptr || b64_encode(&name, id, sizeof(id), B64_URL_NOPAD) < 0 ||
        name.len != CACHE_NAME_CHARS) {
        seal_free(c->key);
        c->key = NULL;
        return;
    }
    memcpy(c->name, name.ptr, CACHE_NAME_CHARS + 1);
}

static int entry_path(const struct client_cache *c, struct buf *out)
{
    buf_init(out, CACHE_PATH_MAX);
    return buf_printf(out, "%s/%s", c->dir, c->name);
}

static int entry_label(const struct client_cache *c, char *out, size_t size)
{
    return snprintf(out, size, "cache:%s", c->name) < (int)size ? 0 : -E2BIG;
}

/* Opens the entry's file into {v, savedAt, answers}.  -ENOENT when there is
 * none; -EBADMSG (with the message) when it does not authenticate. */
static int entry_read(struct arca *a, json_t **ret)
{
    struct client_cache *c = a->cache;
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_buf_ struct buf file = BUF_INIT;
    _cleanup_buf_ struct buf plain = BUF_INIT;
    char label[64];
    json_t *o = NULL;
    long long v;
    int r;

    if (entry_path(c, &path) < 0 || entry_label(c, label, sizeof(label)) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = client_read_private(a, path.ptr, CACHE_ENTRY_MAX + 1024, &file);
    if (r < 0)
        return r;
    buf_init(&plain, CACHE_ENTRY_MAX);
    if (file.len < CACHE_MAGIC_LEN || memcmp(file.ptr, CACHE_MAGIC, CACHE_MAGIC_LEN) != 0 ||
        seal_unbox(c->key, label, file.ptr + CACHE_MAGIC_LEN, file.len - CACHE_MAGIC_LEN, &plain) <
            0 ||
        wire_parse(buf_str(&plain), plain.len, &o, NULL) < 0 || wire_get_int(o, "v", &v) < 0 ||
        v != 1 || wire_get_int(o, "savedAt", &v) < 0 ||
        !json_is_object(json_object_get(o, "answers"))) {
        json_decref(o);
        return client_error(a, -EBADMSG,
                            "the cached copy '%s' failed authentication: it is damaged, "
                            "truncated or not yours; refusing it (delete it, or run once with "
                            "the server up to replace it)",
                            path.ptr);
    }
    *ret = o;
    return 0;
}

/* The entry, read once; NULL when there is none or it does not open (that is
 * reported where it matters: when the server is down). */
static json_t *entry_load(struct arca *a)
{
    struct client_cache *c = a->cache;
    char err[sizeof(a->err)];

    if (!c->entry_loaded) {
        c->entry_loaded = true;
        memcpy(err, a->err, sizeof(err));
        (void)entry_read(a, &c->entry);
        memcpy(a->err, err, sizeof(err));
    }
    return c->entry;
}

bool client_cache_recall(struct arca *a, const char *path, json_t **ret)
{
    struct client_cache *c = a->cache;
    json_t *o;

    if (!c || !c->key || c->replaying || c->refused || c->no_recall || !entry_load(a))
        return false;
    o = json_object_get(json_object_get(c->entry, "answers"), path);
    if (!o || !(*ret = json_deep_copy(o)))
        return false;
    client_cache_keep(a, "GET", path, o);
    c->recalled = true;
    return true;
}

bool client_cache_recalled(struct arca *a)
{
    struct client_cache *c = a->cache;

    if (!c || !c->recalled)
        return false;
    c->recalled = false;
    c->no_recall = true;
    return true;
}

bool client_cache_offline(const struct arca *a)
{
    return a->cache && a->cache->replaying;
}

int client_cache_answer(struct arca *a, const char *method, const char *path, json_t **ret_body)
{
    struct client_cache *c = a->cache;
    json_t *o = streq(method, "GET") ? json_object_get(c->answers, path) : NULL;

    if (!o)
        return client_error(a, c->err, "%s (and no cached copy of this request)", c->errmsg);
    if (ret_body) {
        *ret_body = json_deep_copy(o);
        if (!*ret_body)
            return client_error(a, -ENOMEM, "out of memory");
    }
    return 0;
}

int client_cache_fallback(struct arca *a, int r, long status, const char *method, const char *path,
                          json_t **ret_body)
{
    struct client_cache *c = a->cache;
    json_t *entry = NULL;
    long long saved_at;
    bool down = status ? status >= 502 && status <= 504
                       : r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -ETIMEDOUT;

    if (!c || !c->key || c->refused || !down || !streq(method, "GET"))
        return r;
    c->err = r;
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", a->err);
    entry = json_incref(entry_load(a));        /* read already when online it spared a round trip */
    int e = entry ? 0 : entry_read(a, &entry); /* none, or refused: read again for the reason */
    if (e == -ENOENT)
        return client_error(a, r, "%s", c->errmsg);
    if (e < 0)
        return e;
    (void)wire_get_int(entry, "savedAt", &saved_at);
    json_decref(c->answers);
    c->answers = json_incref(json_object_get(entry, "answers"));
    json_decref(entry);
    c->saved_at = saved_at;
    c->replaying = true;
    return client_cache_answer(a, method, path, ret_body);
}

void client_cache_keep(struct arca *a, const char *method, const char *path, const json_t *answer)
{
    struct client_cache *c = a->cache;

    if (!c || c->replaying || !streq(method, "GET"))
        return;
    json_t *copy = json_deep_copy(answer);
    if (!copy || json_object_set_new(c->answers, path, copy) < 0)
        c->refused = true; /* out of memory: an incomplete entry is never written */
}

void client_cache_refuse(struct arca *a)
{
    struct client_cache *c = a->cache;
    _cleanup_buf_ struct buf path = BUF_INIT;

    if (!c)
        return;
    c->refused = true;
    if (c->key && entry_path(c, &path) >= 0)
        (void)unlink(path.ptr);
}

struct cache_file {
    char name[CACHE_NAME_CHARS + 1];
    time_t mtime;
};

static int newest_first(const void *x, const void *y)
{
    const struct cache_file *p = x, *q = y;
    return (p->mtime < q->mtime) - (p->mtime > q->mtime);
}

/* Keeps the CACHE_ENTRIES_MAX - 1 newest entries of the directory besides
 * keep (the one about to be written). */
static void evict(const char *dir, const char *keep)
{
    struct cache_file v[4 * CACHE_ENTRIES_MAX];
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) && n < ELEMENTSOF(v)) {
        struct stat st;
        if (strlen(e->d_name) != CACHE_NAME_CHARS || streq(e->d_name, keep) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        memcpy(v[n].name, e->d_name, CACHE_NAME_CHARS + 1);
        v[n++].mtime = st.st_mtime;
    }
    qsort(v, n, sizeof(v[0]), newest_first);
    for (size_t i = CACHE_ENTRIES_MAX - 1; i < n; i++)
        (void)unlinkat(dirfd(d), v[i].name, 0);
    closedir(d);
}

int arca_cache_commit(struct arca *a)
{
    struct client_cache *c = a->cache;
    _cleanup_json_ json_t *old = NULL;
    _cleanup_json_ json_t *o = NULL;
    _cleanup_buf_ struct buf path = BUF_INIT;
    _cleanup_buf_ struct buf plain = BUF_INIT;
    _cleanup_buf_ struct buf file = BUF_INIT;
    char label[64];
    long long saved_at;
    int r;

    if (!c || !c->key || c->replaying || c->refused || json_object_size(c->answers) == 0)
        return 0;
    /* an unchanged entry is left alone for an hour: no fsync on every run */
    old = json_incref(entry_load(a));
    if (old && wire_get_int(old, "savedAt", &saved_at) >= 0 &&
        now_ms() - saved_at < CACHE_REWRITE_MS &&
        json_equal(json_object_get(old, "answers"), c->answers))
        return 0;
    a->err[0] = 0;
    o = json_pack("{s:i, s:I, s:O}", "v", 1, "savedAt", (json_int_t)now_ms(), "answers",
                  c->answers);
    buf_init(&plain, CACHE_ENTRY_MAX);
    buf_init(&file, 0);
    if (!o || entry_path(c, &path) < 0 || entry_label(c, label, sizeof(label)) < 0)
        return client_error(a, -ENOMEM, "out of memory");
    r = wire_dump(&plain, o);
    if (r == -E2BIG)
        return 0; /* larger than an entry may be: not cached */
    if (r >= 0)
        r = buf_add(&file, CACHE_MAGIC, CACHE_MAGIC_LEN);
    if (r >= 0)
        r = seal_box(c->key, label, plain.ptr, plain.len, &file);
    if (r < 0)
        return client_error(a, r, "out of memory");
    r = client_mkdir_p(c->dir, 0700);
    if (r >= 0 && chmod(c->dir, 0700) < 0)
        r = -errno;
    if (r < 0)
        return client_error(a, r, "cannot create the cache directory '%s': %s", c->dir,
                            strerror(-r));
    evict(c->dir, c->name);
    r = client_write_atomic(c->dir, path.ptr, file.ptr, file.len);
    if (r < 0)
        return client_error(a, r, "cannot write '%s': %s", path.ptr, strerror(-r));
    return 0;
}

int arca_cache_used(const struct arca *a, int64_t *ret_saved_at)
{
    if (!client_cache_offline(a))
        return 0;
    if (ret_saved_at)
        *ret_saved_at = a->cache->saved_at;
    return a->cache->err;
}
