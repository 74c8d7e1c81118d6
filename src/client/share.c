/* share.c - share links (arca.h "share links"; docs/api.md "Share links").
 *
 * A link is "<site>/s/<id>#<key>": id is 16 random bytes and key 32, both
 * base64url without padding.  The key never leaves the client: from it come
 * the access key (sent to open the share; the server keeps its hash) and the
 * content key that seal_box'es the value under the label "share:<id>"
 * (seal_share_keys).  With a password, Argon2id splits it into an
 * authentication key (sent; hashed by the server, so a wrong password is
 * refused before a view is counted) and a key-encryption key mixed into the
 * content key.  The web app does the same in the browser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "base/util.h"
#include "base/wire.h"
#include "client.h"
#include "transport.h"

#define SHARE_ID_RAW 16
#define SHARE_ID_LEN 22  /* base64url of 16 bytes */
#define SHARE_KEY_LEN 43 /* base64url of 32 bytes */
#define SHARE_PATH "/s/"

/* A link taken apart. */
struct share_link {
    char site[CLIENT_URL_MAX + 1];
    char id[SHARE_ID_LEN + 1];
    uint8_t key[SEAL_KEY_BYTES]; /* wiped by share_link_wipe */
};

static void share_link_wipe(struct share_link *l)
{
    seal_wipe(l, sizeof(*l));
}

static bool b64url_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

static int share_link_parse(const char *link, struct share_link *out)
{
    const char *p, *hash;
    size_t site_len;

    if (!link)
        return -EINVAL;
    p = strstr(link, SHARE_PATH);
    hash = strchr(link, '#');
    if (!p || !hash || hash < p)
        return -EINVAL;
    site_len = (size_t)(p - link);
    if (site_len == 0 || site_len > CLIENT_URL_MAX || !startswith(link, "http"))
        return -EINVAL;
    p += strlen(SHARE_PATH);
    if ((size_t)(hash - p) != SHARE_ID_LEN || !b64url_chars(p, SHARE_ID_LEN) ||
        strlen(hash + 1) != SHARE_KEY_LEN || !b64url_chars(hash + 1, SHARE_KEY_LEN))
        return -EINVAL;
    memcpy(out->site, link, site_len);
    out->site[site_len] = 0;
    memcpy(out->id, p, SHARE_ID_LEN);
    out->id[SHARE_ID_LEN] = 0;
    return b64_decode_exact(hash + 1, B64_URL_NOPAD, out->key, SEAL_KEY_BYTES);
}

static int share_link_or_fail(struct arca *a, const char *link, struct share_link *out)
{
    if (share_link_parse(link, out) < 0) {
        share_link_wipe(out);
        return client_error(a, -EINVAL,
                            "'%.80s' is not a share link: expected <site>/s/<id>#<key> as "
                            "'arca share create' prints it (with the part after '#')",
                            link ? link : "");
    }
    return 0;
}

int arca_share_link_site(const char *link, char **ret_site)
{
    struct share_link l;
    int r = share_link_parse(link, &l);

    if (r >= 0 && !(*ret_site = strdup(l.site)))
        r = -ENOMEM;
    share_link_wipe(&l);
    return r < 0 ? r : 0;
}

/* viewsLeft (absent: unlimited) and the flags, which must be there */
static int share_finish(struct arca *a, const json_t *o, void *ret)
{
    struct arca_share *s = ret;
    long long left = -1;
    bool org_only = false, pw = false;
    int r;

    if ((r = wire_get_int(o, "viewsLeft", &left)) < 0 && r != -ENOENT)
        return client_error(a, -EPROTO, "the arca server sent a malformed 'viewsLeft'");
    if (wire_get_bool(o, "orgOnly", &org_only) < 0 ||
        wire_get_bool(o, "passwordProtected", &pw) < 0)
        return client_error(a, -EPROTO, "the arca server sent a malformed share");
    s->views_left = r == -ENOENT ? -1 : left;
    s->org_only = org_only;
    s->password_protected = pw;
    return 0;
}

#define F(field, kind, key, max) CLIENT_FIELD(struct arca_share, field, kind, key, max)
static const struct client_field share_fields[] = {
    F(id, CF_STR, "id", CLIENT_ID_MAX),
    F(created_at, CF_STR, "createdAt", CLIENT_STRING_MAX),
    F(expires_at, CF_STR, "expiresAt", CLIENT_STRING_MAX),
    F(max_views, CF_INT, "maxViews", 0),
};
#undef F
/* no object check: a list's element that is not one fails on its id */
static const struct client_record rec_share =
    CLIENT_RECORD(struct arca_share, NULL, share_fields, .finish = share_finish);

CLIENT_FREE_ONE(arca_share_free, struct arca_share, rec_share)
CLIENT_FREE_ARRAY(arca_shares_free, struct arca_share, rec_share)

/* ret (optional) = a new arca_share from answer.share. */
static int share_answer(struct arca *a, const json_t *answer, struct arca_share **ret)
{
    json_t *o;
    int r;

    if (!ret)
        return 0;
    if ((r = client_answer_obj(a, answer, "share", &o)) < 0)
        return r;
    return client_record_new(a, &rec_share, o, (void **)ret);
}

static int share_path(struct arca *a, const char *id, const char *suffix, struct buf *out)
{
    if (buf_printf(out, CLIENT_API "/shares/%s%s", id, suffix ? suffix : "") < 0)
        return client_error(a, -ENOMEM, "out of memory");
    return 0;
}

int arca_share_create(struct arca *a, const char *value, size_t len,
                      const struct arca_share_options *o, struct arca_share **ret, char **ret_link)
{
    struct arca_share_options def = {0};
    _cleanup_json_ json_t *body = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf ct = BUF_INIT, link = BUF_INIT, id = BUF_INIT;
    uint8_t raw_id[SHARE_ID_RAW], key[SEAL_KEY_BYTES], access[SEAL_KEY_BYTES],
        content[SEAL_KEY_BYTES], auth[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES], salt[SEAL_SALT_BYTES];
    struct seal_kdf_params kdf = {SEAL_KDF_OPSLIMIT, SEAL_KDF_MEMLIMIT};
    char label[8 + SHARE_ID_LEN + 1];
    int r;

    if (!o)
        o = &def;
    if ((r = client_require_login(a)) < 0)
        return r;
    if (!value || !ret_link)
        return client_error(a, -EINVAL, "nothing to share");
    if (len > CLIENT_VALUE_MAX)
        return client_error(a, -E2BIG, "the value is %zu bytes: a share holds at most %u", len,
                            CLIENT_VALUE_MAX);
    if (o->expires_in && (o->expires_in < 300 || o->expires_in > 30 * 24 * 3600))
        return client_error(a, -EINVAL, "a share expires in 5 minutes to 30 days");
    if (o->max_views < -1 || o->max_views > 100)
        return client_error(a, -EINVAL, "a share allows 1 to 100 views, or unlimited");
    if (o->password && (r = client_check_password(a, o->password, o->password_len)) < 0)
        return r;

    buf_init_secret(&link, 0);
    seal_random(key, sizeof(key));
    /* an id never starts with '-': `arca share revoke ID` would read it as a flag */
    do {
        buf_clear(&id);
        seal_random(raw_id, sizeof(raw_id));
        r = b64_encode(&id, raw_id, sizeof(raw_id), B64_URL_NOPAD);
    } while (r >= 0 && id.ptr[0] == '-');
    if (r >= 0 && o->password) {
        seal_random(salt, sizeof(salt));
        r = seal_password_derive(o->password, o->password_len, salt, &kdf, auth, kek);
    }
    if (r >= 0) {
        seal_share_keys(key, o->password ? kek : NULL, access, content);
        snprintf(label, sizeof(label), "share:%s", id.ptr);
        r = seal_box(content, label, value, len, &ct);
    }
    body = json_object();
    if (r >= 0 && (!body || client_set_str(body, "id", id.ptr) < 0 ||
                   client_set_b64(body, "ciphertext", ct.ptr, ct.len, false) < 0 ||
                   client_set_b64(body, "accessKey", access, sizeof(access), true) < 0 ||
                   (o->expires_in &&
                    json_object_set_new(body, "expiresIn", json_integer(o->expires_in)) < 0) ||
                   json_object_set_new(body, "maxViews",
                                       json_integer(o->max_views == -1  ? 0
                                                    : o->max_views == 0 ? 1
                                                                        : o->max_views)) < 0 ||
                   json_object_set_new(body, "orgOnly", json_boolean(o->org_only)) < 0))
        r = -ENOMEM;
    if (r >= 0 && o->password) {
        json_t *pw = json_object();
        if (!pw || json_object_set_new(body, "password", pw) < 0 ||
            client_set_b64(pw, "authKey", auth, sizeof(auth), true) < 0 ||
            client_set_b64(pw, "salt", salt, sizeof(salt), false) < 0 ||
            json_object_set_new(pw, "opslimit", json_integer((json_int_t)kdf.opslimit)) < 0 ||
            json_object_set_new(pw, "memlimit", json_integer((json_int_t)kdf.memlimit)) < 0)
            r = -ENOMEM;
    }
    seal_wipe(access, sizeof(access));
    seal_wipe(content, sizeof(content));
    seal_wipe(auth, sizeof(auth));
    seal_wipe(kek, sizeof(kek));
    if (r < 0) {
        seal_wipe(key, sizeof(key));
        return client_error(a, r, "cannot encrypt the share (%s)", strerror(-r));
    }
    r = transport_call(a, "POST", CLIENT_API "/shares", body, &answer, NULL);
    client_json_wipe(json_object_get(body, "password"), "authKey");
    client_json_wipe(body, "accessKey");
    if (r >= 0 && (buf_printf(&link, "%s" SHARE_PATH "%s#", a->api_url, id.ptr) < 0 ||
                   b64_encode(&link, key, sizeof(key), B64_URL_NOPAD) < 0))
        r = client_error(a, -ENOMEM, "out of memory");
    seal_wipe(key, sizeof(key));
    if (r >= 0)
        r = share_answer(a, answer, ret);
    if (r < 0)
        return r;
    *ret_link = strndup(link.ptr, link.len);
    if (!*ret_link) {
        if (ret)
            arca_share_free(TAKE_PTR(*ret));
        return client_error(a, -ENOMEM, "out of memory");
    }
    return 0;
}

/* POSTs {accessKey[, authKey]} to /shares/<id><suffix>. */
static int share_call(struct arca *a, const struct share_link *l, const char *suffix,
                      const uint8_t *auth, json_t **ret_answer)
{
    _cleanup_json_ json_t *body = json_object();
    _cleanup_buf_ struct buf path = BUF_INIT;
    uint8_t access[SEAL_KEY_BYTES], content[SEAL_KEY_BYTES];
    int r;

    seal_share_keys(l->key, NULL, access, content);
    seal_wipe(content, sizeof(content));
    r = share_path(a, l->id, suffix, &path);
    if (r >= 0 && (!body || client_set_b64(body, "accessKey", access, sizeof(access), true) < 0 ||
                   (auth && client_set_b64(body, "authKey", auth, SEAL_KEY_BYTES, true) < 0)))
        r = client_error(a, -ENOMEM, "out of memory");
    seal_wipe(access, sizeof(access));
    if (r >= 0)
        r = transport_call(a, "POST", path.ptr, body, ret_answer, NULL);
    client_json_wipe(body, "accessKey");
    client_json_wipe(body, "authKey");
    if (r == -ENOENT)
        return client_error(a, r,
                            "this share does not exist, has expired or has been viewed "
                            "already");
    return r;
}

int arca_share_info(struct arca *a, const char *link, struct arca_share **ret)
{
    _cleanup_json_ json_t *answer = NULL;
    struct share_link l;
    int r;

    if ((r = share_link_or_fail(a, link, &l)) < 0)
        return r;
    r = share_call(a, &l, "/info", NULL, &answer);
    share_link_wipe(&l);
    return r < 0 ? r : share_answer(a, answer, ret);
}

int arca_share_open(struct arca *a, const char *link, const char *password, size_t password_len,
                    char **ret_value, size_t *ret_len, struct arca_share **ret)
{
    _cleanup_json_ json_t *info = NULL;
    _cleanup_json_ json_t *answer = NULL;
    _cleanup_buf_ struct buf salt = BUF_INIT, ct = BUF_INIT, plain = BUF_INIT;
    uint8_t auth[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES], access[SEAL_KEY_BYTES],
        content[SEAL_KEY_BYTES];
    char label[8 + SHARE_ID_LEN + 1];
    bool protected = false;
    struct share_link l;
    json_t *o, *kdf;
    int r;

    if (!ret_value || !ret_len)
        return client_error(a, -EINVAL, "nowhere to put the value");
    if ((r = share_link_or_fail(a, link, &l)) < 0)
        return r;
    buf_init_secret(&plain, 0);
    r = share_call(a, &l, "/info", NULL, &info);
    if (r >= 0 && (r = client_answer_obj(a, info, "share", &o)) >= 0 &&
        wire_get_bool(o, "passwordProtected", &protected) < 0)
        r = client_error(a, -EPROTO, "the arca server sent a malformed share");
    if (r >= 0 && protected && !password)
        r = client_error(a, -EACCES,
                         "this share is protected by a password: give it "
                         "(--password-stdin)");
    if (r >= 0 && protected) {
        long long ops = 0, mem = 0;
        struct seal_kdf_params p;
        if ((r = client_check_password(a, password, password_len)) >= 0 &&
            (r = client_answer_obj(a, o, "kdf", &kdf)) >= 0 &&
            (r = client_answer_int(a, kdf, "opslimit", &ops)) >= 0 &&
            (r = client_answer_int(a, kdf, "memlimit", &mem)) >= 0 &&
            (r = client_get_b64(a, kdf, "salt", &salt)) >= 0) {
            p = (struct seal_kdf_params){(uint64_t)ops, (uint64_t)mem};
            if (ops <= 0 || mem <= 0 || salt.len != SEAL_SALT_BYTES || !seal_kdf_params_ok(&p))
                r = client_error(a, -EPROTO,
                                 "the arca server sent unacceptable password "
                                 "parameters for this share");
            else
                r = seal_password_derive(password, password_len, (const uint8_t *)salt.ptr, &p,
                                         auth, kek);
        }
    }
    if (r >= 0) {
        r = share_call(a, &l, "/open", protected ? auth : NULL, &answer);
        if (r == -EACCES && protected)
            r = client_error(a, r, "wrong password for this share (no view was counted)");
    }
    if (r >= 0 && (r = client_answer_obj(a, answer, "share", &o)) >= 0)
        r = client_get_b64(a, o, "ciphertext", &ct);
    if (r >= 0) {
        seal_share_keys(l.key, protected ? kek : NULL, access, content);
        snprintf(label, sizeof(label), "share:%s", l.id);
        if (seal_unbox(content, label, ct.ptr, ct.len, &plain) < 0)
            r = client_error(a, -EBADMSG,
                             "the link's key does not open this share: is the "
                             "link complete, with the part after '#'?");
    }
    seal_wipe(auth, sizeof(auth));
    seal_wipe(kek, sizeof(kek));
    seal_wipe(access, sizeof(access));
    seal_wipe(content, sizeof(content));
    share_link_wipe(&l);
    if (r >= 0)
        r = share_answer(a, answer, ret);
    if (r < 0)
        return r;
    *ret_value = malloc(plain.len + 1);
    if (!*ret_value) {
        if (ret)
            arca_share_free(TAKE_PTR(*ret));
        return client_error(a, -ENOMEM, "out of memory");
    }
    memcpy(*ret_value, plain.ptr, plain.len);
    (*ret_value)[plain.len] = 0;
    *ret_len = plain.len;
    return 0;
}

int arca_shares_list(struct arca *a, struct arca_share **ret, size_t *ret_n)
{
    return client_list_items(a, NULL, "/shares", "shares", &rec_share, (void **)ret, ret_n);
}

int arca_share_revoke(struct arca *a, const char *id)
{
    _cleanup_buf_ struct buf path = BUF_INIT;
    int r = client_require_login(a);

    if (r < 0)
        return r;
    if (!id || strlen(id) != SHARE_ID_LEN || !b64url_chars(id, SHARE_ID_LEN))
        return client_error(a, -EINVAL, "'%s' is not a share id (see 'arca share list')",
                            id ? id : "");
    if ((r = share_path(a, id, NULL, &path)) < 0)
        return r;
    return transport_call(a, "DELETE", path.ptr, NULL, NULL, NULL);
}

int arca_share_policy_get(struct arca *a, int64_t *ret_max_expires_in, int *ret_allow_anonymous)
{
    _cleanup_json_ json_t *answer = NULL;
    long long ttl;
    bool anon;
    json_t *o;
    int r = client_require_login(a);

    if (r >= 0)
        r = transport_call(a, "GET", CLIENT_API "/share-policy", NULL, &answer, NULL);
    if (r >= 0 && (r = client_answer_obj(a, answer, "policy", &o)) >= 0 &&
        (r = client_answer_int(a, o, "maxExpiresIn", &ttl)) >= 0 &&
        wire_get_bool(o, "allowAnonymous", &anon) < 0)
        r = client_error(a, -EPROTO, "the arca server sent a malformed share policy");
    if (r < 0)
        return r;
    *ret_max_expires_in = ttl;
    *ret_allow_anonymous = anon;
    return 0;
}

int arca_share_policy_set(struct arca *a, int64_t max_expires_in, int allow_anonymous)
{
    _cleanup_json_ json_t *body = json_object();
    int r = client_require_login(a);

    if (r < 0)
        return r;
    if (!body ||
        (max_expires_in &&
         json_object_set_new(body, "maxExpiresIn", json_integer(max_expires_in)) < 0) ||
        (allow_anonymous >= 0 &&
         json_object_set_new(body, "allowAnonymous", json_boolean(allow_anonymous)) < 0))
        return client_error(a, -ENOMEM, "out of memory");
    return transport_call(a, "PUT", CLIENT_API "/share-policy", body, NULL, NULL);
}
