/* session.c - the saved session: <config dir>/credentials.json.
 *
 * A user:               {"kind": "user", "apiUrl", "token", "email", "userId",
 *                        "publicKey": base64, "privateKey": base64}
 * A machine identity:   {"kind": "identity", "apiUrl", "token", "identityId",
 *                        "name", "clientId", "publicKey", "privateKey",
 *                        "expiresAt": ms, "maxExpiresAt": ms}
 * A file without "kind" is a user's (written before there were identities).
 * The client secret of an identity is never saved, so a saved identity session
 * lives until its token's max TTL: it is renewed on load when it is near
 * expiry, and then it must log in again.  Service-token sessions are never
 * saved (the token comes from the environment each time).
 *
 * The file holds the user's private key and a bearer token, so it is written
 * 0600 into a 0700 directory, atomically (a temporary file in the same
 * directory, fsync, rename, fsync of the directory), and refused on load when
 * anyone but its owner could read it.  The text is built and read in secret
 * buffers and the JSON strings holding the token and key are wiped before they
 * are released.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
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

#define CREDENTIALS_FILE "credentials.json"
#define CREDENTIALS_MAX (1u << 20) /* 1 MiB: a saved session is a few hundred bytes */
#define CONFIG_PATH_MAX 4096

static void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))

int client_home_path(const char *sub, struct buf *out)
{
    const char *home = secure_getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(geteuid());
        if (!pw || !pw->pw_dir || !*pw->pw_dir)
            return -ENOENT;
        home = pw->pw_dir;
    }
    return buf_printf(out, "%s/%s", home, sub);
}

/* The configuration directory: config_dir, else $ARCA_CONFIG_DIR, else
 * ~/.config/arca. */
static int config_dir_resolve(const char *config_dir, struct buf *out)
{
    if (config_dir && *config_dir)
        return buf_adds(out, config_dir);
    const char *env = secure_getenv("ARCA_CONFIG_DIR");
    if (env && *env)
        return buf_adds(out, env);
    return client_home_path(".config/arca", out);
}

static int credentials_path(const char *config_dir, struct buf *dir, struct buf *file)
{
    buf_init(dir, CONFIG_PATH_MAX);
    buf_init(file, CONFIG_PATH_MAX);
    int r = config_dir_resolve(config_dir, dir);
    if (r >= 0)
        r = buf_printf(file, "%s/" CREDENTIALS_FILE, dir->ptr);
    return r;
}

int client_mkdir_p(const char *path, mode_t mode)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *s = c;
        if (c == 0)
            break;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

int client_write_atomic(const char *dir, const char *file, const void *data, size_t len)
{
    _cleanup_buf_ struct buf tmp = BUF_INIT;
    int r;

    r = buf_printf(&tmp, "%s/.tmp.XXXXXX", dir);
    if (r < 0)
        return r;
    int fd = mkostemp(tmp.ptr, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, 0600) < 0 || (r = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
        r = r < 0 ? r : -errno;
        close(fd);
        unlink(tmp.ptr);
        return r;
    }
    if (close(fd) < 0 || rename(tmp.ptr, file) < 0) {
        r = -errno;
        unlink(tmp.ptr);
        return r;
    }
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd); /* the rename is durable; failing here loses nothing written */
    return 0;
}

static int set_b64(json_t *obj, const char *key, const void *data, size_t len)
{
    _cleanup_buf_ struct buf b = BUF_INIT;
    buf_init_secret(&b, 0);
    int r = b64_encode(&b, data, len, B64_STD);
    if (r < 0)
        return r;
    return json_object_set_new(obj, key, json_string(b.ptr)) < 0 ? -ENOMEM : 0;
}

int arca_session_save(struct arca *a, const char *config_dir)
{
    _cleanup_buf_ struct buf dir = BUF_INIT;
    _cleanup_buf_ struct buf file = BUF_INIT;
    _cleanup_buf_ struct buf text = BUF_INIT;
    _cleanup_json_ json_t *o = NULL;
    int r;

    if (!a->token || !a->has_keypair)
        return client_error(a, a->kind == ARCA_SESSION_SERVICE_TOKEN ? -EINVAL : -ENOENT,
                            a->kind == ARCA_SESSION_SERVICE_TOKEN
                                ? "a service-token session is not saved"
                                : "not logged in: no session to save");
    r = credentials_path(config_dir, &dir, &file);
    if (r < 0)
        return client_error(a, r, "cannot find the configuration directory (set ARCA_CONFIG_DIR)");
    r = client_mkdir_p(dir.ptr, 0700);
    if (r < 0)
        return client_error(a, r, "cannot create '%s': %s", dir.ptr, strerror(-r));

    bool identity = a->kind == ARCA_SESSION_IDENTITY;
    o = json_object();
    if (!o || wire_set_str(o, "kind", identity ? "identity" : "user") < 0 ||
        wire_set_str(o, "apiUrl", a->api_url) < 0 || wire_set_str(o, "token", a->token) < 0 ||
        set_b64(o, "publicKey", a->pk, SEAL_PK_BYTES) < 0 ||
        set_b64(o, "privateKey", a->sk, SEAL_SK_BYTES) < 0)
        r = -ENOMEM;
    else if (!identity &&
             (wire_set_str(o, "email", a->email) < 0 || wire_set_str(o, "userId", a->user_id) < 0))
        r = -ENOMEM;
    else if (identity &&
             (wire_set_str(o, "identityId", a->user_id) < 0 ||
              wire_set_str(o, "name", a->name) < 0 ||
              wire_set_str(o, "clientId", a->client_id) < 0 ||
              json_object_set_new(o, "expiresAt", json_integer(a->expires_at)) < 0 ||
              json_object_set_new(o, "maxExpiresAt", json_integer(a->max_expires_at)) < 0))
        r = -ENOMEM;
    if (r >= 0) {
        buf_init_secret(&text, CREDENTIALS_MAX);
        r = wire_dump(&text, o);
        if (r >= 0)
            r = buf_addch(&text, '\n');
    }
    client_json_wipe(o, "token");
    client_json_wipe(o, "privateKey");
    if (r < 0)
        return client_error(a, r, "out of memory");

    r = client_write_atomic(dir.ptr, file.ptr, text.ptr, text.len);
    if (r < 0)
        return client_error(a, r, "cannot write '%s': %s", file.ptr, strerror(-r));
    return 0;
}

int client_read_private(struct arca *a, const char *file, size_t max, struct buf *out)
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    struct stat st;

    if (fd < 0 && errno == ENOENT)
        return client_error(a, -ENOENT, "'%s' does not exist", file);
    if (fd < 0 && errno == ELOOP)
        return client_error(a, -EACCES, "'%s' is a symbolic link: refusing to read it", file);
    if (fd < 0)
        return client_error(a, -errno, "cannot open '%s': %m", file);
    if (fstat(fd, &st) < 0)
        return client_error(a, -errno, "cannot read '%s': %m", file);
    if (!S_ISREG(st.st_mode))
        return client_error(a, -EINVAL, "'%s' is not a regular file", file);
    if (st.st_uid != geteuid())
        return client_error(a, -EACCES, "'%s' belongs to another user", file);
    if (st.st_mode & 077)
        return client_error(a, -EACCES,
                            "'%s' can be read by other users: run 'chmod 600 %s' and check who "
                            "could have read it",
                            file, file);
    if ((size_t)st.st_size > max)
        return client_error(a, -E2BIG, "'%s' is larger than %zu KiB", file, max / 1024);

    buf_init_secret(out, max);
    int r = buf_grow(out, (size_t)st.st_size + 1);
    if (r < 0)
        return client_error(a, r, "out of memory");
    for (;;) {
        char chunk[4096];
        ssize_t k = read(fd, chunk, sizeof(chunk));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = -errno;
            explicit_bzero(chunk, sizeof(chunk));
            return client_error(a, r, "cannot read '%s': %s", file, strerror(-r));
        }
        if (k == 0)
            break;
        r = buf_add(out, chunk, (size_t)k);
        explicit_bzero(chunk, sizeof(chunk));
        if (r == -E2BIG)
            return client_error(a, r, "'%s' is larger than %zu KiB", file, max / 1024);
        if (r < 0)
            return client_error(a, r, "out of memory");
    }
    return 0;
}

/* Installs the session described by o (a parsed credentials file) if it is for
 * a's server.  -EINVAL when o is malformed (the caller says the file is damaged). */
static int session_install(struct arca *a, const json_t *o)
{
    _cleanup_seal_ uint8_t *sk = NULL;
    uint8_t pk[SEAL_PK_BYTES];
    const char *kind, *api_url, *token, *pk_b64, *sk_b64;
    const char *email = NULL, *id = NULL, *name = NULL, *client_id = NULL;
    long long expires_at = 0, max_expires_at = 0;
    int r;

    sk = seal_malloc(SEAL_SK_BYTES);
    if (!sk)
        return client_error(a, -ENOMEM, "out of memory");
    if (!json_is_object(o) || wire_get_str_or(o, "kind", 16, "user", &kind) < 0 ||
        wire_get_str(o, "apiUrl", CLIENT_URL_MAX, &api_url) < 0 ||
        wire_get_str(o, "token", CLIENT_TOKEN_MAX, &token) < 0 ||
        wire_get_str(o, "publicKey", 128, &pk_b64) < 0 ||
        wire_get_str(o, "privateKey", 128, &sk_b64) < 0 ||
        b64_decode_exact(pk_b64, B64_STD, pk, sizeof(pk)) < 0 ||
        b64_decode_exact(sk_b64, B64_STD, sk, SEAL_SK_BYTES) < 0)
        return -EINVAL;
    bool identity = streq(kind, "identity");
    if (identity) {
        if (wire_get_str(o, "identityId", CLIENT_ID_MAX, &id) < 0 ||
            wire_get_str(o, "name", CLIENT_STRING_MAX, &name) < 0 ||
            wire_get_str_or(o, "clientId", CLIENT_ID_MAX, NULL, &client_id) < 0 ||
            wire_get_int(o, "expiresAt", &expires_at) < 0 ||
            wire_get_int(o, "maxExpiresAt", &max_expires_at) < 0)
            return -EINVAL;
    } else if (!streq(kind, "user") || wire_get_str(o, "email", 1024, &email) < 0 ||
               wire_get_str(o, "userId", 1024, &id) < 0) {
        return -EINVAL;
    }

    /* Compare canonical forms: "http://h:1/api/" and "http://h:1" are the same server. */
    _cleanup_free_ char *saved_url = NULL;
    bool same = client_url_normalize(api_url, &saved_url) >= 0 && streq(saved_url, a->api_url);
    if (!same && saved_url && a->url_defaulted) {
        /* no URL was asked for: use the server this session belongs to */
        free(a->api_url);
        a->api_url = TAKE_PTR(saved_url);
        same = true;
    }
    if (!same)
        r = client_error(a, -ENOENT, "not logged in to %s (the saved session is for %.*s)",
                         a->api_url, 512, api_url);
    else if (identity)
        r = client_session_set_identity(a, token, id, name, client_id, pk, sk, expires_at,
                                        max_expires_at);
    else
        r = client_session_set(a, token, email, id, pk, sk);
    if (r == -ENOMEM)
        client_error(a, r, "out of memory");
    if (r >= 0)
        client_cache_set_key(a, a->sk);
    seal_wipe(pk, sizeof(pk));
    return r;
}

/* A saved identity session near its expiry is renewed and saved again. */
static int session_refresh(struct arca *a, const char *config_dir)
{
    int64_t now = now_ms();

    if (a->kind != ARCA_SESSION_IDENTITY || a->expires_at == 0 ||
        now + CLIENT_RENEW_BEFORE_MS < a->expires_at)
        return 0;
    if (a->max_expires_at && now >= a->max_expires_at) {
        client_session_clear(a);
        return client_error(a, -EACCES,
                            "the machine identity's session reached its maximum lifetime: log in "
                            "again with 'arca login --method=universal-auth'");
    }
    int r = arca_token_renew(a);
    if (r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -ETIMEDOUT) {
        a->err[0] = 0; /* still valid until it expires; a call on a server that is down fails
                        * on its own, or is answered from the offline cache */
        return 0;
    }
    if (r == -EACCES) {
        client_session_clear(a);
        return client_error(a, r,
                            "the machine identity's session expired and cannot be renewed: log "
                            "in again with 'arca login --method=universal-auth'");
    }
    if (r < 0)
        return r;
    (void)arca_session_save(a, config_dir); /* renewed either way; the next load renews again */
    a->err[0] = 0;
    return 0;
}

int arca_session_load(struct arca *a, const char *config_dir)
{
    _cleanup_buf_ struct buf dir = BUF_INIT;
    _cleanup_buf_ struct buf file = BUF_INIT;
    _cleanup_buf_ struct buf text = BUF_INIT;
    _cleanup_json_ json_t *o = NULL;
    int r;

    r = credentials_path(config_dir, &dir, &file);
    if (r < 0)
        return client_error(a, r, "cannot find the configuration directory (set ARCA_CONFIG_DIR)");
    r = client_read_private(a, file.ptr, CREDENTIALS_MAX, &text);
    if (r == -ENOENT)
        return client_error(a, r, "not logged in");
    if (r < 0)
        return r;

    r = wire_parse(buf_str(&text), text.len, &o, NULL);
    if (r >= 0)
        r = session_install(a, o);
    else
        r = -EINVAL;
    client_json_wipe(o, "token");
    client_json_wipe(o, "privateKey");
    if (r == -EINVAL)
        return client_error(a, -EINVAL, "'%s' is damaged: log in again", file.ptr);
    if (r < 0)
        return r;
    return session_refresh(a, config_dir);
}

int arca_session_forget(const char *config_dir)
{
    _cleanup_buf_ struct buf dir = BUF_INIT;
    _cleanup_buf_ struct buf file = BUF_INIT;

    int r = credentials_path(config_dir, &dir, &file);
    if (r < 0)
        return r;
    if (unlink(file.ptr) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}
