/* rootkey.c - the root key: where it comes from, the store's check that it is
 * the key the store was made with, and its rotation.
 *
 * Check: the store keeps, per generation of root key (table root_keys,
 * migration 0008), BLAKE2b-256 keyed with that key of a constant.  The value
 * says nothing about the key, yet a server whose key gives another one refuses
 * to start before it answers anything: a wrong ARCA_ENCRYPTION_KEY on a
 * shared database, or a restored store started with another key, would else
 * take writes and break the audit chain.  The first server that starts on a
 * store without a check (a new one, or one made before 0008) writes it with
 * the key it has.
 *
 * Audit keys: each generation's audit chain key is derived from its root key
 * (audit_key_derive) and kept sealed under the newest root key, so that
 * audit_verify checks the records of every generation.
 *
 * Rotation (`arca server rotate-root-key`, with every server stopped): one
 * store transaction appends a link record "server.root_key.rotate" chained
 * with the old audit key and naming the new generation and its check, re-seals
 * under the new root key every project's server-access key and every
 * generation's audit key, and adds the new generation, whose audit key chains
 * the records after the link. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/log.h"
#include "base/util.h"
#include "crypto/seal.h"
#include "server.h"

#define ROOT_KEY_FILE "root.key"
#define ROOT_KEY_CHECK "arca root key check v1"

static void key_check(const uint8_t *root, uint8_t out[STORE_HASH_BYTES])
{
    seal_hash_keyed(root, ROOT_KEY_CHECK, strlen(ROOT_KEY_CHECK), out);
}

static void audit_label(int64_t generation, char *out, size_t size)
{
    snprintf(out, size, "audit-key:%lld", (long long)generation);
}

/* Reads the root key of path into key; -ENOENT if there is no file. */
static int key_file_read(const char *path, uint8_t *key)
{
    char text[64] = {0};
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret;

    if (fd < 0) {
        ret = -errno;
        if (ret != -ENOENT)
            log_error("cannot open the root key file", "file", path, "error", strerror(errno),
                      NULL);
        return ret;
    }
    n = read(fd, text, sizeof(text) - 1);
    ret = fstat(fd, &st);
    close(fd);
    if (ret == 0 && (st.st_mode & 077)) {
        seal_wipe(text, sizeof(text));
        log_error("root key file is readable by others: chmod 600 it", "file", path, NULL);
        return -EACCES;
    }
    text[n > 0 ? strcspn(text, "\r\n") : 0] = 0;
    ret = b64_decode_exact(text, B64_STD, key, SEAL_KEY_BYTES);
    seal_wipe(text, sizeof(text));
    if (ret < 0) {
        log_error("cannot read the root key file", "file", path, NULL);
        return -EINVAL;
    }
    return 0;
}

/* Writes key to path (mode 0600, synced); replaces a file there if replace. */
static int key_file_write(const char *path, const uint8_t *key, bool replace)
{
    _cleanup_buf_ struct buf enc = BUF_INIT;
    int fd, ret;

    buf_init_secret(&enc, 0);
    if (b64_encode(&enc, key, SEAL_KEY_BYTES, B64_STD) < 0 || buf_addch(&enc, '\n') < 0)
        return -ENOMEM;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (replace ? O_TRUNC : O_EXCL),
              0600);
    if (fd < 0 || write(fd, enc.ptr, enc.len) != (ssize_t)enc.len || fsync(fd) < 0) {
        ret = -errno;
        log_error("cannot write the root key file", "file", path, "error", strerror(errno), NULL);
        if (fd >= 0)
            close(fd);
        return ret;
    }
    close(fd);
    return 0;
}

int root_key_load(struct server *srv, char **ret_file)
{
    const char *env = getenv("ARCA_ENCRYPTION_KEY");
    _cleanup_free_ char *path = NULL;
    int ret;

    srv->root_key = seal_malloc(SEAL_KEY_BYTES);
    if (!srv->root_key)
        return -ENOMEM;
    if (env && *env) {
        if (b64_decode_exact(env, B64_STD, srv->root_key, SEAL_KEY_BYTES) < 0) {
            log_error("ARCA_ENCRYPTION_KEY must be the base64 encoding of 32 bytes "
                      "(make one with: head -c32 /dev/urandom | base64)",
                      NULL);
            return -EINVAL;
        }
        return 0;
    }
    if (asprintf(&path, "%s/%s", srv->cfg.data_dir, ROOT_KEY_FILE) < 0)
        return -ENOMEM;
    ret = key_file_read(path, srv->root_key);
    if (ret != -ENOENT)
        goto out;
    if (srv->cfg.database_url) {
        log_error("with a PostgreSQL database, set ARCA_ENCRYPTION_KEY (the same on every server; "
                  "make one with: head -c32 /dev/urandom | base64)",
                  NULL);
        return -EINVAL;
    }
    seal_random(srv->root_key, SEAL_KEY_BYTES);
    ret = key_file_write(path, srv->root_key, false);
    if (ret == 0)
        log_warn("generated a root key in the data directory; for production set "
                 "ARCA_ENCRYPTION_KEY and keep the key away from the database",
                 "file", path, NULL);
out:
    if (ret == 0 && ret_file)
        *ret_file = TAKE_PTR(path);
    return ret;
}

void audit_gens_free(struct server *srv)
{
    for (size_t i = 0; i < srv->n_audit_gens; i++)
        seal_free(srv->audit_gens[i].key);
    free(srv->audit_gens);
    srv->audit_gens = NULL;
    srv->n_audit_gens = 0;
}

/* The first generation of a store that has none: the key in use. */
static int root_key_first(struct server *srv)
{
    struct store_root_key k = {.generation = 1, .first_seq = 1, .created_at = now_ms()};
    _cleanup_buf_ struct buf sealed = BUF_INIT;
    uint8_t *audit = seal_malloc(SEAL_KEY_BYTES);
    char label[32];
    int r;

    if (!audit)
        return -ENOMEM;
    key_check(srv->root_key, k.check);
    audit_key_derive(srv->root_key, audit);
    audit_label(1, label, sizeof(label));
    r = seal_box(srv->root_key, label, audit, SEAL_KEY_BYTES, &sealed);
    seal_free(audit);
    if (r < 0)
        return -EIO;
    k.audit_key = (struct store_blob){(uint8_t *)sealed.ptr, sealed.len};
    return srv->store->ops->root_key_init(srv->store, &k);
}

int root_key_check(struct server *srv)
{
    struct store_root_key *keys = NULL;
    uint8_t check[STORE_HASH_BYTES];
    size_t n = 0;
    int r;

    key_check(srv->root_key, check);
    for (int attempt = 0;; attempt++) {
        r = srv->store->ops->root_keys(srv->store, &keys, &n);
        if (r < 0 || n > 0 || attempt > 0)
            break;
        r = root_key_first(srv); /* -EEXIST: another server was first, read its check */
        if (r < 0 && r != -EEXIST)
            break;
        if (r == 0)
            log_info("the store had no root key check: wrote the one of this server's key "
                     "(servers with another key will refuse to start)",
                     NULL);
    }
    if (r < 0 || n == 0) {
        log_error("cannot read or write the root key check in the store", "error", store_error(),
                  NULL);
        store_root_keys_free(keys, n);
        return r < 0 ? r : -EIO;
    }
    for (size_t i = 0; i + 1 < n && !seal_equal(keys[n - 1].check, check, sizeof(check)); i++)
        if (seal_equal(keys[i].check, check, sizeof(check))) {
            char gen[24];
            snprintf(gen, sizeof(gen), "%lld", (long long)keys[i].generation);
            log_error("the root key is one this store had before 'arca server rotate-root-key' "
                      "replaced it: refusing to start (set ARCA_ENCRYPTION_KEY, or root.key in "
                      "the data directory, to the new key, as on every server of this store)",
                      "generation", gen, NULL);
            store_root_keys_free(keys, n);
            return -EKEYREJECTED;
        }
    if (!seal_equal(keys[n - 1].check, check, sizeof(check))) {
        log_error("the root key is not the one this store was made with: refusing to start "
                  "(set ARCA_ENCRYPTION_KEY, or root.key in the data directory, to the key of "
                  "the servers that wrote this store: every server on a database needs the same "
                  "key, and a restored backup the key of the server it came from)",
                  NULL);
        store_root_keys_free(keys, n);
        return -EKEYREJECTED;
    }
    audit_gens_free(srv);
    srv->audit_gens = calloc(n, sizeof(*srv->audit_gens));
    r = srv->audit_gens ? 0 : -ENOMEM;
    for (size_t i = 0; i < n && r == 0; i++) {
        _cleanup_buf_ struct buf key = BUF_INIT;
        char label[32];

        buf_init_secret(&key, 0);
        audit_label(keys[i].generation, label, sizeof(label));
        srv->audit_gens[i].first_seq = keys[i].first_seq;
        srv->audit_gens[i].key = seal_malloc(SEAL_KEY_BYTES);
        srv->n_audit_gens++;
        if (!srv->audit_gens[i].key)
            r = -ENOMEM;
        else if (seal_unbox(srv->root_key, label, keys[i].audit_key.ptr, keys[i].audit_key.len,
                            &key) < 0 ||
                 key.len != SEAL_KEY_BYTES)
            r = -EBADMSG;
        else
            memcpy(srv->audit_gens[i].key, key.ptr, SEAL_KEY_BYTES);
    }
    if (r == -EBADMSG)
        log_error("an audit chain key in the store does not open with the root key (the "
                  "root_keys table was changed?): refusing to start",
                  NULL);
    srv->root_generation = keys[n - 1].generation;
    store_root_keys_free(keys, n);
    if (r == 0) /* a rotation from now on fails the audit log, closed */
        srv->store->root_generation = srv->root_generation;
    return r;
}

struct rewrap {
    const uint8_t *old_key, *new_key; /* SECRET, BORROWED */
    size_t n_projects;
};

static int rewrap(void *ctx, const char *what, const char *id, const struct store_blob *old,
                  struct buf *out)
{
    struct rewrap *w = ctx;
    _cleanup_buf_ struct buf plain = BUF_INIT;
    char label[64];
    bool project = streq(what, "project");

    buf_init_secret(&plain, 0);
    if (project)
        project_server_key_label(id, label, sizeof(label));
    else
        snprintf(label, sizeof(label), "audit-key:%s", id);
    if (seal_unbox(w->old_key, label, old->ptr, old->len, &plain) < 0) {
        log_error(project ? "a project's server-access key does not open with the root key"
                          : "an audit chain key does not open with the root key",
                  "id", id, NULL);
        return -EBADMSG;
    }
    if (seal_box(w->new_key, label, plain.ptr, plain.len, out) < 0)
        return -EIO;
    w->n_projects += project;
    return 0;
}

/* The new root key: ARCA_NEW_ENCRYPTION_KEY, else (the key came from a file)
 * a random one. */
static int new_key_get(const char *file, uint8_t *key)
{
    const char *env = getenv("ARCA_NEW_ENCRYPTION_KEY");

    if (env && *env) {
        if (b64_decode_exact(env, B64_STD, key, SEAL_KEY_BYTES) < 0) {
            log_error("ARCA_NEW_ENCRYPTION_KEY must be the base64 encoding of 32 bytes "
                      "(make one with: head -c32 /dev/urandom | base64)",
                      NULL);
            return -EINVAL;
        }
        return 0;
    }
    if (!file) {
        log_error("set ARCA_NEW_ENCRYPTION_KEY to the new root key (make one with: "
                  "head -c32 /dev/urandom | base64); ARCA_ENCRYPTION_KEY stays the current one",
                  NULL);
        return -EINVAL;
    }
    seal_random(key, SEAL_KEY_BYTES);
    return 0;
}

/* The link record: a server-level event that names the new generation. */
static int link_record(struct store_audit *a, int64_t generation, const uint8_t *check)
{
    char hex[2 * STORE_HASH_BYTES + 1], *meta;

    hex_encode(check, STORE_HASH_BYTES, hex);
    if (asprintf(&meta, "{\"generation\":%lld,\"keyCheck\":\"%s\"}", (long long)generation, hex) <
        0)
        meta = NULL;
    return audit_server_record(a, "arca server rotate-root-key", "server.root_key.rotate", meta);
}

/* The rename that makes the new key file the key file, synced. */
static int key_file_commit(const char *tmp, const char *path)
{
    _cleanup_free_ char *dir = strdup(path);
    int dfd;

    if (!dir)
        return -ENOMEM;
    if (rename(tmp, path) < 0)
        return -errno;
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

int server_rotate_root_key(const struct server_config *cfg)
{
    struct server srv = {.cfg = *cfg};
    _cleanup_buf_ struct buf where = BUF_INIT, sealed = BUF_INIT;
    _cleanup_free_ char *file = NULL, *tmp = NULL;
    struct store_audit linkrec = {0};
    struct store_root_key k = {.created_at = now_ms()};
    struct rewrap w = {0};
    uint8_t *new_key = NULL, *audit = NULL;
    char label[32], gen[24];
    int r;

    if (seal_init() < 0)
        return -EIO;
    r = server_store_open(&srv.cfg, &srv.store, &where);
    if (r >= 0)
        r = root_key_load(&srv, &file);
    if (r >= 0)
        r = root_key_check(&srv);
    new_key = seal_malloc(SEAL_KEY_BYTES);
    audit = seal_malloc(SEAL_KEY_BYTES);
    srv.audit_key = seal_malloc(SEAL_KEY_BYTES);
    if (r >= 0 && (!new_key || !audit || !srv.audit_key))
        r = -ENOMEM;
    if (r >= 0)
        r = new_key_get(file, new_key);
    if (r >= 0 && seal_equal(new_key, srv.root_key, SEAL_KEY_BYTES)) {
        log_error("the new root key is the current one", NULL);
        r = -EINVAL;
    }
    if (r < 0)
        goto out;

    k.generation = srv.root_generation + 1;
    key_check(new_key, k.check);
    audit_key_derive(srv.root_key, srv.audit_key); /* the link is chained with the old key */
    audit_key_derive(new_key, audit);
    audit_label(k.generation, label, sizeof(label));
    if (seal_box(new_key, label, audit, SEAL_KEY_BYTES, &sealed) < 0 ||
        link_record(&linkrec, k.generation, k.check) < 0) {
        r = -ENOMEM;
        goto out;
    }
    k.audit_key = (struct store_blob){(uint8_t *)sealed.ptr, sealed.len};
    if (file) {
        /* written before the store changes: a crash in between leaves it there */
        if (asprintf(&tmp, "%s.new", file) < 0) {
            tmp = NULL;
            r = -ENOMEM;
            goto out;
        }
        if ((r = key_file_write(tmp, new_key, true)) < 0)
            goto out;
    }
    w.old_key = srv.root_key;
    w.new_key = new_key;
    r = srv.store->ops->root_key_rotate(srv.store, &k, &linkrec, audit_chain_fn(), &srv, rewrap,
                                        &w);
    if (r < 0) {
        log_error(r == -ESTALE ? "the root key was rotated meanwhile: nothing was changed"
                               : "cannot rotate the root key: nothing was changed",
                  "error", r == -ESTALE ? "" : store_error(), NULL);
        if (tmp)
            unlink(tmp);
        goto out;
    }
    if (tmp && (r = key_file_commit(tmp, file)) < 0) {
        log_error("the store uses the new root key, but it could not be moved into place: "
                  "rename the new file over the old one before starting the server",
                  "new", tmp, "file", file, "error", strerror(-r), NULL);
        goto out;
    }
    snprintf(gen, sizeof(gen), "%lld", (long long)k.generation);
    {
        char seq[24], projects[24];
        snprintf(seq, sizeof(seq), "%lld", (long long)linkrec.seq);
        snprintf(projects, sizeof(projects), "%zu", w.n_projects);
        log_info("root key rotated", "generation", gen, "linkRecord", seq, "serverAccessProjects",
                 projects, "keyFile",
                 tmp ? file : "(none: set ARCA_ENCRYPTION_KEY to the new key on every server)",
                 NULL);
    }
out:
    store_audit_release(&linkrec);
    store_close(srv.store);
    audit_gens_free(&srv);
    seal_free(srv.root_key);
    seal_free(srv.audit_key);
    seal_free(new_key);
    seal_free(audit);
    return r;
}
