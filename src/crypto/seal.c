/* seal.c - the only user of libsodium in arca (see seal.h for the formats).
 *
 * Every primitive is one libsodium call; what this file adds is the framing
 * (version byte, nonce, associated data), the domain separation between uses,
 * and the discipline: key material only in stack temporaries wiped before
 * return, out-parameters written only on success, output appended to a
 * caller's struct buf that is grown before anything is written into it
 * (so the input must not point into that buf: growing may move it).
 *
 * Derivations, fixed forever (tests/vectors/seal.json pins each one and
 * tests/e2e/seal_vectors.test.mjs recomputes it with an independent library):
 *
 *   record AD       "arca.record.v1" 00 project_id 00 environment 00 path 00 key 00 field
 *                   (no trailing 00; fields are C strings, so the encoding is injective)
 *   box AD          "arca.box.v1" 00 label
 *   owner key       BLAKE2b-256 keyed with the user's X25519 secret key (32 bytes), no salt,
 *                   personal "arca-owner-key" 00 00 (16 bytes), over the project id;
 *                   owner-sealed records: the record format with first byte 0x02
 *   AEAD            crypto_aead_xchacha20poly1305_ietf (= XChaCha20-Poly1305,
 * draft-irtf-cfrg-xchacha) password        Argon2id v1.3, t = opslimit, m = memlimit / 1024 KiB, p
 * = 1, 64-byte output: [0..32) auth key, [32..64) KEK secret          BLAKE2b-512, no key, salt 0,
 * personal "arca-secret-kdf\0" (16 bytes), 64-byte output: [0..32) auth key, [32..64) KEK token
 * hash      BLAKE2b-256, no key, salt 0, personal "arca-token-hash\0" (16 bytes) keyed hash
 * BLAKE2b-256 keyed with the 32-byte key, no salt or personal seed key pair
 * crypto_box_seed_keypair: sk = SHA-512(seed)[0..32) (stored unclamped), pk = X25519(sk, 9) (the
 * scalar is clamped inside the multiplication) wrap            crypto_box_seal: epk ||
 * XSalsa20-Poly1305(key = HSalsa20(X25519(esk, pk), 0), nonce = BLAKE2b-192(epk || pk)), tag before
 * ciphertext
 */
#include "seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SEAL_AD_MAX 4096u    /* bytes of associated data, prefix included */
#define SEAL_WRAP_MAX 256u   /* largest key seal_wrap / seal_unwrap handle */
#define SEAL_PREFIX_MAX 64u  /* longest token prefix */
#define SEAL_TOKEN_RAW 32u   /* random bytes in a token */
#define SEAL_TOKEN_CHARS 43u /* their base64url encoding, no padding */

#define AD_RECORD "arca.record.v1"
#define AD_BOX "arca.box.v1"

/* 16 bytes each, the trailing NUL included: BLAKE2b's personal field size. */
static const uint8_t personal_secret[crypto_generichash_blake2b_PERSONALBYTES] = "arca-secret-kdf";
static const uint8_t personal_token[crypto_generichash_blake2b_PERSONALBYTES] = "arca-token-hash";
static const uint8_t personal_owner[crypto_generichash_blake2b_PERSONALBYTES] = "arca-owner-key";

int seal_init(void)
{
    if (sodium_init() < 0)
        return -EIO;
    return 0;
}

void *seal_malloc(size_t n)
{
    return sodium_malloc(n);
}

void seal_free(void *p)
{
    if (p)
        sodium_free(p);
}

void seal_wipe(void *p, size_t n)
{
    if (p && n)
        sodium_memzero(p, n);
}

bool seal_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return true;
    return sodium_memcmp(a, b, n) == 0;
}

void seal_random(void *out, size_t n)
{
    if (n)
        randombytes_buf(out, n);
}

/* Appends the strings to ad, each preceded by a 0x00 except the first.
 * -E2BIG past SEAL_AD_MAX, -EINVAL for a NULL field. */
static int ad_build(uint8_t ad[static SEAL_AD_MAX], size_t *ret_len, const char *const *parts,
                    size_t n_parts)
{
    size_t len = 0;

    for (size_t i = 0; i < n_parts; i++) {
        if (!parts[i])
            return -EINVAL;
        size_t n = strlen(parts[i]);
        size_t need = n + (i > 0);
        if (need > SEAL_AD_MAX - len)
            return -E2BIG;
        if (i > 0)
            ad[len++] = 0x00;
        memcpy(ad + len, parts[i], n);
        len += n;
    }
    *ret_len = len;
    return 0;
}

static int ad_record(uint8_t ad[static SEAL_AD_MAX], size_t *ret_len, const struct seal_ad *a)
{
    if (!a)
        return -EINVAL;
    const char *parts[] = {AD_RECORD, a->project_id, a->environment, a->path, a->key, a->field};
    return ad_build(ad, ret_len, parts, sizeof(parts) / sizeof(parts[0]));
}

static int ad_box(uint8_t ad[static SEAL_AD_MAX], size_t *ret_len, const char *label)
{
    const char *parts[] = {AD_BOX, label};
    return ad_build(ad, ret_len, parts, sizeof(parts) / sizeof(parts[0]));
}

/* Marks n bytes written at the end of out.  buf_grow(out, n) succeeded
 * before, so the bytes and the terminating NUL fit. */
static void buf_commit(struct buf *out, size_t n)
{
    out->len += n;
    out->ptr[out->len] = '\0';
}

/* The record format over an already built AD: version (the kind of key), nonce,
 * ciphertext||tag. */
static int record_seal_kind(uint8_t kind, const uint8_t key[SEAL_KEY_BYTES], const uint8_t *ad,
                            size_t ad_len, const uint8_t nonce[SEAL_NONCE_BYTES], const void *plain,
                            size_t len, struct buf *out)
{
    unsigned long long clen;
    uint8_t *p;
    int r;

    if (!key || !nonce || !out || (!plain && len > 0))
        return -EINVAL;
    if (len > SIZE_MAX - SEAL_RECORD_OVERHEAD - 1 ||
        len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return -E2BIG;

    r = buf_grow(out, SEAL_RECORD_OVERHEAD + len);
    if (r < 0)
        return r;

    p = (uint8_t *)out->ptr + out->len;
    p[0] = kind;
    memcpy(p + 1, nonce, SEAL_NONCE_BYTES);
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(p + 1 + SEAL_NONCE_BYTES, &clen, plain, len, ad,
                                                   ad_len, NULL, nonce, key) != 0) {
        out->ptr[out->len] = '\0';
        return -EIO;
    }
    buf_commit(out, 1 + SEAL_NONCE_BYTES + (size_t)clen);
    return 0;
}

static int record_seal(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *ad, size_t ad_len,
                       const uint8_t nonce[SEAL_NONCE_BYTES], const void *plain, size_t len,
                       struct buf *out)
{
    return record_seal_kind(SEAL_RECORD_VERSION, key, ad, ad_len, nonce, plain, len, out);
}

static int record_open_kind(uint8_t kind, const uint8_t key[SEAL_KEY_BYTES], const uint8_t *ad,
                            size_t ad_len, const void *rec, size_t len, struct buf *out)
{
    const uint8_t *c = rec;
    unsigned long long mlen;
    size_t n;
    uint8_t *m;
    int r;

    if (!key || !out)
        return -EINVAL;
    if (!rec || len < SEAL_RECORD_OVERHEAD || c[0] != kind)
        return -EBADMSG;

    n = len - SEAL_RECORD_OVERHEAD;
    r = buf_grow(out, n);
    if (r < 0)
        return r;

    m = (uint8_t *)out->ptr + out->len;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, c + 1 + SEAL_NONCE_BYTES,
                                                   len - 1 - SEAL_NONCE_BYTES, ad, ad_len, c + 1,
                                                   key) != 0) {
        /* libsodium writes nothing before the tag checks out; wipe regardless
         * (this also restores the terminating NUL at out->ptr[out->len]). */
        seal_wipe(m, n + 1);
        return -EBADMSG;
    }
    buf_commit(out, (size_t)mlen);
    return 0;
}

static int record_open(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *ad, size_t ad_len,
                       const void *rec, size_t len, struct buf *out)
{
    return record_open_kind(SEAL_RECORD_VERSION, key, ad, ad_len, rec, len, out);
}

/* A record of the given kind (first byte) under key, bound to ad; nonce NULL
 * draws a random one. */
static int record_encrypt_ad(uint8_t kind, const uint8_t key[SEAL_KEY_BYTES],
                             const struct seal_ad *ad, const uint8_t *nonce, const void *plain,
                             size_t len, struct buf *out)
{
    uint8_t adb[SEAL_AD_MAX], rnd[SEAL_NONCE_BYTES];
    size_t ad_len;
    int r = ad_record(adb, &ad_len, ad);

    if (r < 0)
        return r;
    if (!nonce) {
        randombytes_buf(rnd, sizeof(rnd));
        nonce = rnd;
    }
    return record_seal_kind(kind, key, adb, ad_len, nonce, plain, len, out);
}

static int record_decrypt_ad(uint8_t kind, const uint8_t key[SEAL_KEY_BYTES],
                             const struct seal_ad *ad, const void *rec, size_t len, struct buf *out)
{
    uint8_t adb[SEAL_AD_MAX];
    size_t ad_len;
    int r = ad_record(adb, &ad_len, ad);

    if (r < 0)
        return r;
    return record_open_kind(kind, key, adb, ad_len, rec, len, out);
}

int seal_record_encrypt_with_nonce(const uint8_t key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                                   const uint8_t nonce[SEAL_NONCE_BYTES], const void *plain,
                                   size_t len, struct buf *out)
{
    if (!nonce)
        return -EINVAL;
    return record_encrypt_ad(SEAL_RECORD_VERSION, key, ad, nonce, plain, len, out);
}

int seal_ad_field(const char *owner, const char *field, char *out, size_t size)
{
    int n = owner && *owner ? snprintf(out, size, "personal:%s:%s", owner, field)
                            : snprintf(out, size, "%s", field);

    return n < 0 || (size_t)n >= size ? -E2BIG : 0;
}

int seal_record_encrypt(const uint8_t key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                        const void *plain, size_t len, struct buf *out)
{
    return record_encrypt_ad(SEAL_RECORD_VERSION, key, ad, NULL, plain, len, out);
}

int seal_record_decrypt(const uint8_t key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                        const void *rec, size_t len, struct buf *out)
{
    return record_decrypt_ad(SEAL_RECORD_VERSION, key, ad, rec, len, out);
}

int seal_record_kind(const void *rec, size_t len)
{
    const uint8_t *c = rec;

    if (!rec || len < SEAL_RECORD_OVERHEAD ||
        (c[0] != SEAL_RECORD_VERSION && c[0] != SEAL_RECORD_OWNER))
        return -EBADMSG;
    return c[0];
}

void seal_owner_key(const uint8_t sk[SEAL_SK_BYTES], const char *project_id,
                    uint8_t out[SEAL_KEY_BYTES])
{
    crypto_generichash_blake2b_salt_personal(out, SEAL_KEY_BYTES, (const uint8_t *)project_id,
                                             strlen(project_id), sk, SEAL_SK_BYTES, NULL,
                                             personal_owner);
}

int seal_owner_record_encrypt_with_nonce(const uint8_t owner_key[SEAL_KEY_BYTES],
                                         const struct seal_ad *ad,
                                         const uint8_t nonce[SEAL_NONCE_BYTES], const void *plain,
                                         size_t len, struct buf *out)
{
    if (!nonce)
        return -EINVAL;
    return record_encrypt_ad(SEAL_RECORD_OWNER, owner_key, ad, nonce, plain, len, out);
}

int seal_owner_record_encrypt(const uint8_t owner_key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                              const void *plain, size_t len, struct buf *out)
{
    return record_encrypt_ad(SEAL_RECORD_OWNER, owner_key, ad, NULL, plain, len, out);
}

int seal_owner_record_decrypt(const uint8_t owner_key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                              const void *rec, size_t len, struct buf *out)
{
    return record_decrypt_ad(SEAL_RECORD_OWNER, owner_key, ad, rec, len, out);
}

int seal_box(const uint8_t key[SEAL_KEY_BYTES], const char *label, const void *plain, size_t len,
             struct buf *out)
{
    uint8_t adb[SEAL_AD_MAX];
    uint8_t nonce[SEAL_NONCE_BYTES];
    size_t ad_len;
    int r;

    r = ad_box(adb, &ad_len, label);
    if (r < 0)
        return r;
    randombytes_buf(nonce, sizeof(nonce));
    return record_seal(key, adb, ad_len, nonce, plain, len, out);
}

int seal_unbox(const uint8_t key[SEAL_KEY_BYTES], const char *label, const void *box, size_t len,
               struct buf *out)
{
    uint8_t adb[SEAL_AD_MAX];
    size_t ad_len;
    int r;

    r = ad_box(adb, &ad_len, label);
    if (r < 0)
        return r;
    return record_open(key, adb, ad_len, box, len, out);
}

void seal_keypair_new(uint8_t pk[SEAL_PK_BYTES], uint8_t sk[SEAL_SK_BYTES])
{
    crypto_box_keypair(pk, sk);
}

void seal_keypair_from_seed(const uint8_t seed[32], uint8_t pk[SEAL_PK_BYTES],
                            uint8_t sk[SEAL_SK_BYTES])
{
    crypto_box_seed_keypair(pk, sk, seed);
}

int seal_wrap(const uint8_t pk[SEAL_PK_BYTES], const uint8_t *key, size_t key_len, struct buf *out)
{
    int r;

    if (!pk || !key || key_len == 0 || !out)
        return -EINVAL;
    if (key_len > SEAL_WRAP_MAX)
        return -E2BIG;

    r = buf_grow(out, key_len + crypto_box_SEALBYTES);
    if (r < 0)
        return r;
    if (crypto_box_seal((uint8_t *)out->ptr + out->len, key, key_len, pk) != 0) {
        out->ptr[out->len] = '\0';
        return -EINVAL; /* pk is not a valid point */
    }
    buf_commit(out, key_len + crypto_box_SEALBYTES);
    return 0;
}

int seal_unwrap(const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES],
                const void *wrapped, size_t len, uint8_t *key_out, size_t key_len)
{
    uint8_t tmp[SEAL_WRAP_MAX];
    int r = 0;

    if (!pk || !sk || !key_out || key_len == 0)
        return -EINVAL;
    if (key_len > SEAL_WRAP_MAX)
        return -E2BIG;
    if (!wrapped || len != key_len + crypto_box_SEALBYTES)
        return -EBADMSG;

    if (crypto_box_seal_open(tmp, wrapped, len, pk, sk) != 0)
        r = -EBADMSG;
    else
        memcpy(key_out, tmp, key_len);
    seal_wipe(tmp, key_len);
    return r;
}

bool seal_kdf_params_ok(const struct seal_kdf_params *p)
{
    return p && p->opslimit >= 1 && p->opslimit <= 10 && p->memlimit >= 8u * 1024 * 1024 &&
           p->memlimit <= 1024u * 1024 * 1024;
}

int seal_password_derive(const char *password, size_t len, const uint8_t salt[SEAL_SALT_BYTES],
                         const struct seal_kdf_params *p, uint8_t auth_key[SEAL_KEY_BYTES],
                         uint8_t kek[SEAL_KEY_BYTES])
{
    uint8_t out[2 * SEAL_KEY_BYTES];

    if ((!password && len > 0) || !salt || !auth_key || !kek || !seal_kdf_params_ok(p))
        return -EINVAL;
    if (len > crypto_pwhash_PASSWD_MAX)
        return -E2BIG;

    if (crypto_pwhash(out, sizeof(out), password ? password : "", len, salt,
                      (unsigned long long)p->opslimit, (size_t)p->memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        seal_wipe(out, sizeof(out));
        return -ENOMEM; /* the only failure left once the parameters are checked */
    }
    memcpy(auth_key, out, SEAL_KEY_BYTES);
    memcpy(kek, out + SEAL_KEY_BYTES, SEAL_KEY_BYTES);
    seal_wipe(out, sizeof(out));
    return 0;
}

void seal_secret_derive(const void *secret, size_t len, uint8_t auth_key[SEAL_KEY_BYTES],
                        uint8_t kek[SEAL_KEY_BYTES])
{
    uint8_t out[2 * SEAL_KEY_BYTES];

    crypto_generichash_blake2b_salt_personal(out, sizeof(out), secret, len, NULL, 0, NULL,
                                             personal_secret);
    memcpy(auth_key, out, SEAL_KEY_BYTES);
    memcpy(kek, out + SEAL_KEY_BYTES, SEAL_KEY_BYTES);
    seal_wipe(out, sizeof(out));
}

void seal_hash_token(const void *token, size_t len, uint8_t out[SEAL_HASH_BYTES])
{
    crypto_generichash_blake2b_salt_personal(out, SEAL_HASH_BYTES, token, len, NULL, 0, NULL,
                                             personal_token);
}

uint64_t seal_shorthash(const uint8_t key[SEAL_SHORTHASH_KEY_BYTES], const void *data, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v = 0;

    crypto_shorthash(h, data, len, key);
    for (size_t i = 0; i < sizeof(h); i++)
        v = v << 8 | h[i];
    return v;
}

void seal_hash_keyed(const uint8_t key[SEAL_KEY_BYTES], const void *data, size_t len,
                     uint8_t out[SEAL_HASH_BYTES])
{
    crypto_generichash(out, SEAL_HASH_BYTES, data, len, key, SEAL_KEY_BYTES);
}

void seal_share_keys(const uint8_t link_key[SEAL_KEY_BYTES], const uint8_t *kek,
                     uint8_t access[SEAL_KEY_BYTES], uint8_t content[SEAL_KEY_BYTES])
{
    static const char a[] = "arca.share.access.v1", c[] = "arca.share.content.v1";
    uint8_t k0[SEAL_KEY_BYTES];

    seal_hash_keyed(link_key, a, sizeof(a) - 1, access);
    seal_hash_keyed(link_key, c, sizeof(c) - 1, k0);
    if (kek)
        seal_hash_keyed(kek, k0, sizeof(k0), content);
    else
        memcpy(content, k0, sizeof(k0));
    seal_wipe(k0, sizeof(k0));
}

int seal_token_new(const char *prefix, struct buf *out, uint8_t hash[SEAL_HASH_BYTES])
{
    uint8_t raw[SEAL_TOKEN_RAW];
    char enc[sodium_base64_ENCODED_LEN(SEAL_TOKEN_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    size_t plen, start;
    int r;

    if (!prefix || !out || !hash)
        return -EINVAL;
    plen = strlen(prefix);
    if (plen > SEAL_PREFIX_MAX)
        return -E2BIG;

    r = buf_grow(out, plen + SEAL_TOKEN_CHARS);
    if (r < 0)
        return r;

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(enc, sizeof(enc), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    seal_wipe(raw, sizeof(raw));

    start = out->len;
    memcpy(out->ptr + start, prefix, plen);
    memcpy(out->ptr + start + plen, enc, SEAL_TOKEN_CHARS);
    seal_wipe(enc, sizeof(enc));
    buf_commit(out, plen + SEAL_TOKEN_CHARS);

    seal_hash_token(out->ptr + start, plen + SEAL_TOKEN_CHARS, hash);
    return 0;
}

struct seal_hasher {
    crypto_generichash_state st;
};

int seal_hasher_new(struct seal_hasher **ret)
{
    struct seal_hasher *h = sodium_malloc(sizeof(*h));

    if (!h)
        return -ENOMEM;
    crypto_generichash_init(&h->st, NULL, 0, SEAL_HASH_BYTES);
    *ret = h;
    return 0;
}

void seal_hasher_update(struct seal_hasher *h, const void *data, size_t len)
{
    crypto_generichash_update(&h->st, data, len);
}

void seal_hasher_final(struct seal_hasher *h, uint8_t out[SEAL_HASH_BYTES])
{
    crypto_generichash_final(&h->st, out, SEAL_HASH_BYTES);
}

void seal_hasher_free(struct seal_hasher *h)
{
    sodium_free(h);
}
