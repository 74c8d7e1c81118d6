/* test_seal.c - src/crypto/seal.c: round trips, every refusal path of the
 * record format, wrapping, derivations, tokens, and the known-answer vectors
 * of tests/vectors/seal.json (recomputed independently by
 * tests/e2e/seal_vectors.test.mjs). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "base/buf.h"
#include "crypto/seal.h"

#define VECTORS SOURCE_ROOT "/tests/vectors/seal.json"

static void setup(void)
{
    cr_assert_eq(seal_init(), 0);
}

TestSuite(seal, .init = setup);

static const struct seal_ad ad0 = {
    .project_id = "7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75",
    .environment = "dev",
    .path = "/api",
    .key = "DATABASE_URL",
    .field = "value",
};

static const char plain0[] = "postgres://app:s3cret@db:5432/app";

static void key_fill(uint8_t key[SEAL_KEY_BYTES], uint8_t v)
{
    for (size_t i = 0; i < SEAL_KEY_BYTES; i++)
        key[i] = (uint8_t)(v + i);
}

/* Seals plain0 under key_fill(key, 1) and ad0 into rec. */
static void seal0(struct buf *rec)
{
    uint8_t key[SEAL_KEY_BYTES];

    key_fill(key, 1);
    cr_assert_eq(seal_record_encrypt(key, &ad0, plain0, strlen(plain0), rec), 0);
    cr_assert_eq(rec->len, strlen(plain0) + SEAL_RECORD_OVERHEAD);
}

/* Decrypting <rec, len> under key 1 and ad must fail with -EBADMSG and leave
 * out exactly as it was ("keep" as content). */
static void assert_rejected(const struct seal_ad *ad, const void *rec, size_t len)
{
    uint8_t key[SEAL_KEY_BYTES];
    _cleanup_buf_ struct buf out = BUF_INIT;

    key_fill(key, 1);
    buf_init_secret(&out, 0);
    cr_assert_eq(buf_adds(&out, "keep"), 0);
    cr_assert_eq(seal_record_decrypt(key, ad, rec, len, &out), -EBADMSG);
    cr_assert_eq(out.len, 4);
    cr_assert_str_eq(out.ptr, "keep");
}

Test(seal, record_round_trip)
{
    uint8_t key[SEAL_KEY_BYTES];
    size_t sizes[] = {0, 1, 15, 16, 17, 1000, 70000};

    seal_random(key, sizeof(key));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        _cleanup_buf_ struct buf plain = BUF_INIT, rec = BUF_INIT, out = BUF_INIT;
        size_t n = sizes[i];

        for (size_t j = 0; j < n; j++)
            cr_assert_eq(buf_addch(&plain, (char)(j * 7 + 3)), 0);
        cr_assert_eq(buf_adds(&rec, "hdr"), 0); /* appends after existing content */
        cr_assert_eq(seal_record_encrypt(key, &ad0, plain.ptr, n, &rec), 0);
        cr_assert_eq(rec.len, 3 + n + SEAL_RECORD_OVERHEAD);
        cr_assert_eq(memcmp(rec.ptr, "hdr", 3), 0);
        cr_assert_eq((uint8_t)rec.ptr[3], SEAL_RECORD_VERSION);
        cr_assert_eq(rec.ptr[rec.len], '\0');

        buf_init_secret(&out, 0);
        cr_assert_eq(buf_adds(&out, ">"), 0);
        cr_assert_eq(seal_record_decrypt(key, &ad0, rec.ptr + 3, rec.len - 3, &out), 0);
        cr_assert_eq(out.len, 1 + n);
        cr_assert_eq(out.ptr[0], '>');
        if (n)
            cr_assert_eq(memcmp(out.ptr + 1, plain.ptr, n), 0);
        cr_assert_eq(out.ptr[out.len], '\0');
    }
}

Test(seal, record_nonce_is_random)
{
    _cleanup_buf_ struct buf a = BUF_INIT, b = BUF_INIT;

    seal0(&a);
    seal0(&b);
    cr_assert_neq(memcmp(a.ptr + 1, b.ptr + 1, SEAL_NONCE_BYTES), 0);
    cr_assert_neq(memcmp(a.ptr, b.ptr, a.len), 0);
}

Test(seal, record_every_ad_field_is_bound)
{
    _cleanup_buf_ struct buf rec = BUF_INIT, out = BUF_INIT;
    uint8_t key[SEAL_KEY_BYTES];
    struct seal_ad ad;

    seal0(&rec);
    key_fill(key, 1);
    cr_assert_eq(seal_record_decrypt(key, &ad0, rec.ptr, rec.len, &out), 0);

    ad = ad0, ad.project_id = "7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a76";
    assert_rejected(&ad, rec.ptr, rec.len);
    ad = ad0, ad.environment = "prod";
    assert_rejected(&ad, rec.ptr, rec.len);
    ad = ad0, ad.path = "/";
    assert_rejected(&ad, rec.ptr, rec.len);
    ad = ad0, ad.key = "DATABASE_URL2";
    assert_rejected(&ad, rec.ptr, rec.len);
    ad = ad0, ad.field = "comment";
    assert_rejected(&ad, rec.ptr, rec.len);
    /* The separators make the encoding injective: moving a boundary fails. */
    ad = ad0, ad.environment = "dev/api", ad.path = "";
    assert_rejected(&ad, rec.ptr, rec.len);
    ad = ad0, ad.key = "DATABASE_", ad.field = "URLvalue";
    assert_rejected(&ad, rec.ptr, rec.len);
}

/* A personal override's field names its owner: it opens neither as the
 * shared value nor as another user's override. */
Test(seal, personal_field_binds_the_owner)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    char field[SEAL_FIELD_MAX], other[SEAL_FIELD_MAX];
    uint8_t key[SEAL_KEY_BYTES];
    struct seal_ad ad = ad0;

    cr_assert_eq(seal_ad_field(NULL, "value", field, sizeof(field)), 0);
    cr_assert_str_eq(field, "value");
    cr_assert_eq(seal_ad_field("", "comment", field, sizeof(field)), 0);
    cr_assert_str_eq(field, "comment");
    cr_assert_eq(
        seal_ad_field("3b9a5c1e-8d2f-4a6b-9c0e-1f2a3b4c5d6e", "comment", field, sizeof(field)), 0);
    cr_assert_str_eq(field, "personal:3b9a5c1e-8d2f-4a6b-9c0e-1f2a3b4c5d6e:comment");
    cr_assert_eq(seal_ad_field("x", "value", field, 10), -E2BIG);

    key_fill(key, 1);
    cr_assert_eq(
        seal_ad_field("3b9a5c1e-8d2f-4a6b-9c0e-1f2a3b4c5d6e", "value", field, sizeof(field)), 0);
    cr_assert_eq(
        seal_ad_field("4b9a5c1e-8d2f-4a6b-9c0e-1f2a3b4c5d6e", "value", other, sizeof(other)), 0);
    ad.field = field;
    cr_assert_eq(seal_record_encrypt(key, &ad, "mine", 4, &rec), 0);
    ad.field = "value";
    assert_rejected(&ad, rec.ptr, rec.len);
    ad.field = other;
    assert_rejected(&ad, rec.ptr, rec.len);
}

Test(seal, record_wrong_key)
{
    _cleanup_buf_ struct buf rec = BUF_INIT, out = BUF_INIT;
    uint8_t key[SEAL_KEY_BYTES];

    seal0(&rec);
    key_fill(key, 2);
    cr_assert_eq(seal_record_decrypt(key, &ad0, rec.ptr, rec.len, &out), -EBADMSG);
    cr_assert_eq(out.len, 0);
}

Test(seal, record_every_flipped_bit_is_rejected)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;

    seal0(&rec);
    /* nonce (1..24), ciphertext, tag: every byte, a low and a high bit */
    for (size_t i = 1; i < rec.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            rec.ptr[i] ^= (char)(1 << bit);
            assert_rejected(&ad0, rec.ptr, rec.len);
            rec.ptr[i] ^= (char)(1 << bit);
        }
    }
}

Test(seal, record_version_byte)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;
    const uint8_t bad[] = {0x00, 0x02, 0x81, 0xff};

    seal0(&rec);
    for (size_t i = 0; i < sizeof(bad); i++) {
        rec.ptr[0] = (char)bad[i];
        assert_rejected(&ad0, rec.ptr, rec.len);
    }
}

Test(seal, record_truncated_or_extended)
{
    _cleanup_buf_ struct buf rec = BUF_INIT;

    seal0(&rec);
    for (size_t n = 0; n < rec.len; n++)
        assert_rejected(&ad0, rec.ptr, n);
    assert_rejected(&ad0, NULL, 0);
    cr_assert_eq(buf_addch(&rec, 0), 0);
    assert_rejected(&ad0, rec.ptr, rec.len);
}

Test(seal, record_bad_ad)
{
    _cleanup_buf_ struct buf rec = BUF_INIT, big = BUF_INIT;
    uint8_t key[SEAL_KEY_BYTES];
    struct seal_ad ad;

    key_fill(key, 1);
    ad = ad0, ad.key = NULL;
    cr_assert_eq(seal_record_encrypt(key, &ad, "x", 1, &rec), -EINVAL);
    cr_assert_eq(seal_record_decrypt(key, &ad, "x", 1, &rec), -EINVAL);
    cr_assert_eq(seal_record_encrypt(key, NULL, "x", 1, &rec), -EINVAL);

    /* 4096 bytes of AD in total is the limit: prefix 14 + 5 separators. */
    size_t fixed = 14 + 5 + strlen(ad0.project_id) + strlen(ad0.environment) + strlen(ad0.key) +
                   strlen(ad0.field);
    for (size_t i = 0; i < 4096 - fixed; i++)
        cr_assert_eq(buf_addch(&big, 'p'), 0);
    ad = ad0, ad.path = big.ptr;
    cr_assert_eq(seal_record_encrypt(key, &ad, "x", 1, &rec), 0);
    cr_assert_eq(buf_addch(&big, 'p'), 0);
    ad.path = big.ptr;
    size_t len = rec.len;
    cr_assert_eq(seal_record_encrypt(key, &ad, "x", 1, &rec), -E2BIG);
    cr_assert_eq(seal_record_decrypt(key, &ad, rec.ptr, rec.len, &rec), -E2BIG);
    cr_assert_eq(rec.len, len);
}

Test(seal, record_output_limit)
{
    _cleanup_buf_ struct buf rec = BUF_INIT, out = BUF_INIT;
    uint8_t key[SEAL_KEY_BYTES];
    char plain[100] = {0};

    key_fill(key, 1);
    buf_init(&rec, 100 + SEAL_RECORD_OVERHEAD - 1);
    cr_assert_eq(seal_record_encrypt(key, &ad0, plain, sizeof(plain), &rec), -E2BIG);
    cr_assert_eq(rec.len, 0);
    buf_release(&rec);
    buf_init(&rec, 0);
    cr_assert_eq(seal_record_encrypt(key, &ad0, plain, sizeof(plain), &rec), 0);
    buf_init_secret(&out, 99);
    cr_assert_eq(seal_record_decrypt(key, &ad0, rec.ptr, rec.len, &out), -E2BIG);
    cr_assert_eq(out.len, 0);
}

Test(seal, box_round_trip_and_label_binding)
{
    _cleanup_buf_ struct buf box = BUF_INIT, out = BUF_INIT;
    uint8_t key[SEAL_KEY_BYTES], other[SEAL_KEY_BYTES], secret[SEAL_KEY_BYTES];

    key_fill(key, 9);
    key_fill(other, 10);
    seal_random(secret, sizeof(secret));
    cr_assert_eq(seal_box(key, "user.private_key", secret, sizeof(secret), &box), 0);
    cr_assert_eq(box.len, sizeof(secret) + SEAL_RECORD_OVERHEAD);
    cr_assert_eq((uint8_t)box.ptr[0], SEAL_RECORD_VERSION);

    buf_init_secret(&out, 0);
    cr_assert_eq(seal_unbox(key, "user.private_key", box.ptr, box.len, &out), 0);
    cr_assert_eq(out.len, sizeof(secret));
    cr_assert(seal_equal(out.ptr, secret, sizeof(secret)));
    buf_release(&out);

    cr_assert_eq(seal_unbox(key, "project.key", box.ptr, box.len, &out), -EBADMSG);
    cr_assert_eq(seal_unbox(key, "user.private_ke", box.ptr, box.len, &out), -EBADMSG);
    cr_assert_eq(seal_unbox(key, "", box.ptr, box.len, &out), -EBADMSG);
    cr_assert_eq(seal_unbox(other, "user.private_key", box.ptr, box.len, &out), -EBADMSG);
    /* A box is not a record, whatever the record AD. */
    cr_assert_eq(seal_record_decrypt(key, &ad0, box.ptr, box.len, &out), -EBADMSG);
    box.ptr[box.len - 1] ^= 1;
    cr_assert_eq(seal_unbox(key, "user.private_key", box.ptr, box.len, &out), -EBADMSG);
    cr_assert_eq(seal_unbox(key, "user.private_key", box.ptr, 10, &out), -EBADMSG);
    cr_assert_eq(out.len, 0);
    cr_assert_eq(seal_box(key, NULL, secret, sizeof(secret), &box), -EINVAL);
}

Test(seal, wrap_unwrap)
{
    _cleanup_buf_ struct buf w = BUF_INIT;
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES], pk2[SEAL_PK_BYTES], sk2[SEAL_SK_BYTES];
    uint8_t key[SEAL_KEY_BYTES], got[SEAL_KEY_BYTES], untouched[SEAL_KEY_BYTES];

    seal_keypair_new(pk, sk);
    seal_keypair_new(pk2, sk2);
    cr_assert_not(seal_equal(pk, pk2, sizeof(pk)));
    seal_random(key, sizeof(key));

    cr_assert_eq(seal_wrap(pk, key, sizeof(key), &w), 0);
    cr_assert_eq(w.len, SEAL_WRAPPED_BYTES);
    cr_assert_eq(seal_unwrap(pk, sk, w.ptr, w.len, got, sizeof(got)), 0);
    cr_assert(seal_equal(got, key, sizeof(key)));

    /* Refusals never write key_out. */
    memset(got, 0xaa, sizeof(got));
    memset(untouched, 0xaa, sizeof(untouched));
    cr_assert_eq(seal_unwrap(pk2, sk2, w.ptr, w.len, got, sizeof(got)), -EBADMSG);
    cr_assert_eq(seal_unwrap(pk, sk2, w.ptr, w.len, got, sizeof(got)), -EBADMSG);
    cr_assert_eq(seal_unwrap(pk, sk, w.ptr, w.len - 1, got, sizeof(got)), -EBADMSG);
    cr_assert_eq(seal_unwrap(pk, sk, w.ptr, w.len, got, sizeof(got) - 1), -EBADMSG);
    for (size_t i = 0; i < w.len; i++) {
        w.ptr[i] ^= 0x01;
        cr_assert_eq(seal_unwrap(pk, sk, w.ptr, w.len, got, sizeof(got)), -EBADMSG);
        w.ptr[i] ^= 0x01;
    }
    cr_assert_eq(memcmp(got, untouched, sizeof(got)), 0);

    /* Appends; other key sizes work too. */
    uint8_t small[5] = {1, 2, 3, 4, 5}, small_got[5];
    size_t at = w.len;
    cr_assert_eq(seal_wrap(pk2, small, sizeof(small), &w), 0);
    cr_assert_eq(w.len, at + sizeof(small) + 48);
    cr_assert_eq(seal_unwrap(pk2, sk2, w.ptr + at, w.len - at, small_got, 5), 0);
    cr_assert_eq(memcmp(small, small_got, 5), 0);
}

Test(seal, keypair_from_seed_is_deterministic)
{
    uint8_t seed[32], pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES], pk2[SEAL_PK_BYTES], sk2[SEAL_SK_BYTES];

    key_fill(seed, 0x20);
    seal_keypair_from_seed(seed, pk, sk);
    seal_keypair_from_seed(seed, pk2, sk2);
    cr_assert_eq(memcmp(pk, pk2, sizeof(pk)), 0);
    cr_assert_eq(memcmp(sk, sk2, sizeof(sk)), 0);
    seed[31] ^= 1;
    seal_keypair_from_seed(seed, pk2, sk2);
    cr_assert_neq(memcmp(pk, pk2, sizeof(pk)), 0);
}

Test(seal, kdf_params_bounds)
{
    const uint64_t MiB = 1024 * 1024;
    struct {
        uint64_t ops, mem;
        bool ok;
    } t[] = {
        {SEAL_KDF_OPSLIMIT, SEAL_KDF_MEMLIMIT, true},
        {1, 8 * MiB, true},
        {10, 1024 * MiB, true},
        {0, 64 * MiB, false},
        {11, 64 * MiB, false},
        {3, 8 * MiB - 1, false},
        {3, 1024 * MiB + 1, false},
        {3, 0, false},
        {UINT64_MAX, UINT64_MAX, false},
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct seal_kdf_params p = {t[i].ops, t[i].mem};
        cr_assert_eq(seal_kdf_params_ok(&p), t[i].ok, "case %zu", i);
    }
    cr_assert_not(seal_kdf_params_ok(NULL));
}

Test(seal, password_derive)
{
    const uint64_t MiB = 1024 * 1024;
    uint8_t salt[SEAL_SALT_BYTES], a1[32], k1[32], a2[32], k2[32];
    struct seal_kdf_params p = {1, 8 * MiB}; /* the weakest accepted */
    struct seal_kdf_params bad[] = {{0, 8 * MiB}, {1, 8 * MiB - 1024}, {11, 8 * MiB}};

    memset(salt, 7, sizeof(salt));
    cr_assert_eq(seal_password_derive("hunter2", 7, salt, &p, a1, k1), 0);
    cr_assert_not(seal_equal(a1, k1, 32));
    cr_assert_eq(seal_password_derive("hunter2", 7, salt, &p, a2, k2), 0);
    cr_assert(seal_equal(a1, a2, 32));
    cr_assert(seal_equal(k1, k2, 32));
    cr_assert_eq(seal_password_derive("hunter3", 7, salt, &p, a2, k2), 0);
    cr_assert_not(seal_equal(a1, a2, 32));
    salt[15] ^= 1;
    cr_assert_eq(seal_password_derive("hunter2", 7, salt, &p, a2, k2), 0);
    cr_assert_not(seal_equal(k1, k2, 32));
    cr_assert_eq(seal_password_derive("", 0, salt, &p, a2, k2), 0);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(a2, a1, 32);
        cr_assert_eq(seal_password_derive("hunter2", 7, salt, &bad[i], a2, k2), -EINVAL);
        cr_assert_eq(memcmp(a2, a1, 32), 0); /* not written */
    }
    cr_assert_eq(seal_password_derive("hunter2", 7, salt, NULL, a2, k2), -EINVAL);
}

Test(seal, secret_derive)
{
    uint8_t a1[32], k1[32], a2[32], k2[32];

    seal_secret_derive("cs_secret", 9, a1, k1);
    seal_secret_derive("cs_secret", 9, a2, k2);
    cr_assert(seal_equal(a1, a2, 32));
    cr_assert(seal_equal(k1, k2, 32));
    cr_assert_not(seal_equal(a1, k1, 32));
    seal_secret_derive("cs_secreT", 9, a2, k2);
    cr_assert_not(seal_equal(a1, a2, 32));
    cr_assert_not(seal_equal(k1, k2, 32));
}

Test(seal, hashes_are_domain_separated)
{
    uint8_t key[SEAL_KEY_BYTES], h1[SEAL_HASH_BYTES], h2[SEAL_HASH_BYTES], h3[SEAL_HASH_BYTES];

    key_fill(key, 0);
    seal_hash_token("abc", 3, h1);
    seal_hash_token("abc", 3, h2);
    cr_assert(seal_equal(h1, h2, sizeof(h1)));
    seal_hash_token("abd", 3, h2);
    cr_assert_not(seal_equal(h1, h2, sizeof(h1)));
    seal_hash_keyed(key, "abc", 3, h2);
    cr_assert_not(seal_equal(h1, h2, sizeof(h1)));
    key[0] ^= 1;
    seal_hash_keyed(key, "abc", 3, h3);
    cr_assert_not(seal_equal(h2, h3, sizeof(h2)));
}

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

Test(seal, token_new)
{
    _cleanup_buf_ struct buf t1 = BUF_INIT, t2 = BUF_INIT;
    uint8_t h1[SEAL_HASH_BYTES], h2[SEAL_HASH_BYTES];
    static const char last_ok[] = "AEIMQUYcgkosw048"; /* 4 bits + 2 zero bits */

    buf_init_secret(&t1, 0);
    cr_assert_eq(seal_token_new("arca_st_", &t1, h1), 0);
    cr_assert_eq(t1.len, 8 + 43);
    cr_assert_eq(strlen(t1.ptr), t1.len);
    cr_assert_eq(strncmp(t1.ptr, "arca_st_", 8), 0);
    for (size_t i = 8; i < t1.len; i++)
        cr_assert(is_b64url(t1.ptr[i]), "char %zu: %c", i, t1.ptr[i]);
    cr_assert_neq(strchr(last_ok, t1.ptr[t1.len - 1]), NULL);
    seal_hash_token(t1.ptr, t1.len, h2);
    cr_assert(seal_equal(h1, h2, sizeof(h1)));

    /* Appends, and the hash covers only the new token. */
    cr_assert_eq(buf_adds(&t2, "x="), 0);
    cr_assert_eq(seal_token_new("", &t2, h2), 0);
    cr_assert_eq(t2.len, 2 + 43);
    seal_hash_token(t2.ptr + 2, 43, h1);
    cr_assert(seal_equal(h1, h2, sizeof(h1)));
    cr_assert_neq(memcmp(t1.ptr + 8, t2.ptr + 2, 43), 0);

    size_t len = t2.len;
    char longp[66];
    memset(longp, 'p', 65);
    longp[65] = 0;
    cr_assert_eq(seal_token_new(longp, &t2, h1), -E2BIG);
    cr_assert_eq(t2.len, len);
    buf_release(&t2);
    buf_init(&t2, 8 + 42);
    cr_assert_eq(seal_token_new("arca_st_", &t2, h1), -E2BIG);
    cr_assert_eq(t2.len, 0);
}

Test(seal, equal_and_memory)
{
    uint8_t a[64], b[64];

    seal_random(a, sizeof(a));
    memcpy(b, a, sizeof(a));
    cr_assert(seal_equal(a, b, sizeof(a)));
    cr_assert(seal_equal(a, b, 0));
    b[0] ^= 0x80;
    cr_assert_not(seal_equal(a, b, sizeof(a)));
    b[0] ^= 0x80;
    b[63] ^= 0x01;
    cr_assert_not(seal_equal(a, b, sizeof(a)));

    uint8_t *p = seal_malloc(100);
    cr_assert_not_null(p);
    memset(p, 0x5a, 100);
    seal_wipe(p, 100);
    for (size_t i = 0; i < 100; i++)
        cr_assert_eq(p[i], 0);
    seal_free(p);
    seal_free(NULL);
}

/* Known-answer vectors. */

static json_t *vectors(const char *section)
{
    static json_t *root;
    json_error_t err;

    if (!root) {
        root = json_load_file(VECTORS, 0, &err);
        cr_assert_not_null(root, "%s:%d: %s", VECTORS, err.line, err.text);
    }
    json_t *a = json_object_get(root, section);
    cr_assert(json_is_array(a) && json_array_size(a) > 0, "no vectors for %s", section);
    return a;
}

static const char *str(json_t *v, const char *name)
{
    const char *s = json_string_value(json_object_get(v, name));
    cr_assert_not_null(s, "missing %s", name);
    return s;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    cr_assert_fail("bad hex digit %c", c);
    return -1;
}

/* The hex field name of v, decoded into out (a fresh, non-secret buffer). */
static void hex(json_t *v, const char *name, struct buf *out)
{
    const char *s = str(v, name);
    size_t n = strlen(s);

    buf_release(out);
    cr_assert_eq(n % 2, 0);
    cr_assert_eq(buf_grow(out, 0), 0);
    for (size_t i = 0; i < n; i += 2)
        cr_assert_eq(buf_addch(out, (char)(nibble(s[i]) << 4 | nibble(s[i + 1]))), 0);
}

static void hex_fixed(json_t *v, const char *name, uint8_t *out, size_t n)
{
    _cleanup_buf_ struct buf b = BUF_INIT;

    hex(v, name, &b);
    cr_assert_eq(b.len, n, "%s: %zu bytes, want %zu", name, b.len, n);
    memcpy(out, b.ptr, n);
}

static void assert_bytes(const void *got, size_t got_len, json_t *v, const char *name)
{
    _cleanup_buf_ struct buf want = BUF_INIT;

    hex(v, name, &want);
    cr_assert_eq(got_len, want.len, "%s: length %zu, want %zu", name, got_len, want.len);
    cr_assert_eq(memcmp(got, want.ptr, want.len), 0, "%s differs", name);
}

Test(seal, kat_record)
{
    json_t *arr = vectors("record"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf plain = BUF_INIT, rec = BUF_INIT, out = BUF_INIT;
        uint8_t key[SEAL_KEY_BYTES], nonce[SEAL_NONCE_BYTES];
        json_t *a = json_object_get(v, "ad");
        struct seal_ad ad = {str(a, "project_id"), str(a, "environment"), str(a, "path"),
                             str(a, "key"), str(a, "field")};

        hex_fixed(v, "key", key, sizeof(key));
        hex_fixed(v, "nonce", nonce, sizeof(nonce));
        hex(v, "plaintext", &plain);
        cr_assert_eq(seal_record_encrypt_with_nonce(key, &ad, nonce, plain.ptr, plain.len, &rec),
                     0);
        assert_bytes(rec.ptr, rec.len, v, "record");

        hex(v, "record", &rec);
        cr_assert_eq(seal_record_decrypt(key, &ad, rec.ptr, rec.len, &out), 0);
        assert_bytes(out.ptr, out.len, v, "plaintext");
    }
}

Test(seal, kat_owner_record)
{
    json_t *arr = vectors("owner_record"), *v;
    size_t i;

    cr_assert_gt(json_array_size(arr), 0);
    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf plain = BUF_INIT, rec = BUF_INIT, out = BUF_INIT;
        uint8_t sk[SEAL_SK_BYTES], key[SEAL_KEY_BYTES], nonce[SEAL_NONCE_BYTES];
        json_t *a = json_object_get(v, "ad");
        struct seal_ad ad = {str(a, "project_id"), str(a, "environment"), str(a, "path"),
                             str(a, "key"), str(a, "field")};

        hex_fixed(v, "sk", sk, sizeof(sk));
        seal_owner_key(sk, ad.project_id, key);
        assert_bytes(key, sizeof(key), v, "owner_key");
        hex_fixed(v, "nonce", nonce, sizeof(nonce));
        hex(v, "plaintext", &plain);
        cr_assert_eq(
            seal_owner_record_encrypt_with_nonce(key, &ad, nonce, plain.ptr, plain.len, &rec), 0);
        assert_bytes(rec.ptr, rec.len, v, "record");
        cr_assert_eq(seal_record_kind(rec.ptr, rec.len), SEAL_RECORD_OWNER);

        hex(v, "record", &rec);
        cr_assert_eq(seal_owner_record_decrypt(key, &ad, rec.ptr, rec.len, &out), 0);
        assert_bytes(out.ptr, out.len, v, "plaintext");
        /* the other kind of record, or the project-key opener, refuses it */
        cr_assert_eq(seal_record_decrypt(key, &ad, rec.ptr, rec.len, &out), -EBADMSG);
        rec.ptr[0] = SEAL_RECORD_VERSION;
        cr_assert_eq(seal_owner_record_decrypt(key, &ad, rec.ptr, rec.len, &out), -EBADMSG);
    }
}

Test(seal, owner_key_is_per_user_and_project)
{
    uint8_t sk1[SEAL_SK_BYTES], sk2[SEAL_SK_BYTES], a[SEAL_KEY_BYTES], b[SEAL_KEY_BYTES];

    key_fill(sk1, 1);
    key_fill(sk2, 2);
    seal_owner_key(sk1, "p1", a);
    seal_owner_key(sk1, "p1", b);
    cr_assert(seal_equal(a, b, sizeof(a)));
    seal_owner_key(sk1, "p2", b);
    cr_assert_not(seal_equal(a, b, sizeof(a)));
    seal_owner_key(sk2, "p1", b);
    cr_assert_not(seal_equal(a, b, sizeof(a)));
    cr_assert_eq(seal_record_kind("\x01", 1), -EBADMSG);
}

Test(seal, kat_box)
{
    json_t *arr = vectors("box"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf box = BUF_INIT, out = BUF_INIT, plain = BUF_INIT;
        uint8_t key[SEAL_KEY_BYTES];
        const char *label = str(v, "label");

        hex_fixed(v, "key", key, sizeof(key));
        /* seal_box draws its nonce, so the known answer is checked on opening:
         * the tag only verifies with exactly the documented AD and layout. */
        hex(v, "box", &box);
        cr_assert_eq(seal_unbox(key, label, box.ptr, box.len, &out), 0);
        assert_bytes(out.ptr, out.len, v, "plaintext");
        buf_release(&out);
        cr_assert_eq(seal_unbox(key, "other", box.ptr, box.len, &out), -EBADMSG);

        /* ...and what seal_box writes opens the same way. */
        hex(v, "plaintext", &plain);
        buf_release(&box);
        cr_assert_eq(seal_box(key, label, plain.ptr, plain.len, &box), 0);
        cr_assert_eq(seal_unbox(key, label, box.ptr, box.len, &out), 0);
        assert_bytes(out.ptr, out.len, v, "plaintext");
    }
}

Test(seal, kat_password, .timeout = 60)
{
    json_t *arr = vectors("password"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf pw = BUF_INIT;
        uint8_t salt[SEAL_SALT_BYTES], auth[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES];
        struct seal_kdf_params p = {
            (uint64_t)json_integer_value(json_object_get(v, "opslimit")),
            (uint64_t)json_integer_value(json_object_get(v, "memlimit")),
        };

        cr_assert(seal_kdf_params_ok(&p));
        hex(v, "password", &pw);
        hex_fixed(v, "salt", salt, sizeof(salt));
        cr_assert_eq(seal_password_derive(pw.ptr, pw.len, salt, &p, auth, kek), 0);
        assert_bytes(auth, sizeof(auth), v, "auth_key");
        assert_bytes(kek, sizeof(kek), v, "kek");
    }
}

Test(seal, kat_secret)
{
    json_t *arr = vectors("secret"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf secret = BUF_INIT;
        uint8_t auth[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES];

        hex(v, "secret", &secret);
        seal_secret_derive(secret.ptr, secret.len, auth, kek);
        assert_bytes(auth, sizeof(auth), v, "auth_key");
        assert_bytes(kek, sizeof(kek), v, "kek");
    }
}

Test(seal, kat_token_hash)
{
    json_t *arr = vectors("token_hash"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        uint8_t h[SEAL_HASH_BYTES];
        const char *token = str(v, "token");

        seal_hash_token(token, strlen(token), h);
        assert_bytes(h, sizeof(h), v, "hash");
    }
}

Test(seal, kat_keyed_hash)
{
    json_t *arr = vectors("keyed_hash"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf data = BUF_INIT;
        uint8_t key[SEAL_KEY_BYTES], h[SEAL_HASH_BYTES];

        hex_fixed(v, "key", key, sizeof(key));
        hex(v, "data", &data);
        seal_hash_keyed(key, data.ptr, data.len, h);
        assert_bytes(h, sizeof(h), v, "hash");
    }
}

Test(seal, kat_share_keys)
{
    json_t *arr = vectors("share"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        uint8_t link[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES], access[SEAL_KEY_BYTES],
            content[SEAL_KEY_BYTES];
        bool has_kek = json_object_get(v, "kek") != NULL;

        hex_fixed(v, "link_key", link, sizeof(link));
        if (has_kek)
            hex_fixed(v, "kek", kek, sizeof(kek));
        seal_share_keys(link, has_kek ? kek : NULL, access, content);
        assert_bytes(access, sizeof(access), v, "access");
        assert_bytes(content, sizeof(content), v, "content");
    }
}

Test(seal, kat_keypair)
{
    json_t *arr = vectors("keypair"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        uint8_t seed[32], pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];

        hex_fixed(v, "seed", seed, sizeof(seed));
        seal_keypair_from_seed(seed, pk, sk);
        assert_bytes(pk, sizeof(pk), v, "pk");
        assert_bytes(sk, sizeof(sk), v, "sk");
    }
}

Test(seal, kat_sealed_box)
{
    json_t *arr = vectors("sealed_box"), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        _cleanup_buf_ struct buf wrapped = BUF_INIT, plain = BUF_INIT;
        uint8_t seed[32], pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES], got[64];

        hex_fixed(v, "recipient_seed", seed, sizeof(seed));
        seal_keypair_from_seed(seed, pk, sk);
        assert_bytes(pk, sizeof(pk), v, "recipient_pk");
        assert_bytes(sk, sizeof(sk), v, "recipient_sk");
        hex(v, "wrapped", &wrapped);
        hex(v, "plaintext", &plain);
        cr_assert_leq(plain.len, sizeof(got));
        cr_assert_eq(seal_unwrap(pk, sk, wrapped.ptr, wrapped.len, got, plain.len), 0);
        assert_bytes(got, plain.len, v, "plaintext");
    }
}
