/* seal.h - every use of libsodium in arca: random bytes, secure memory, the
 * AEAD record format for secret values, key wrapping, password and secret
 * derivation, tokens and their hashes.  No other module includes sodium.h.
 *
 * Nothing here allocates except through the struct buf passed in, and every
 * temporary holding key material is wiped before returning.
 *
 * Record format (secret values and comments), version 1:
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       1     format version and key: 0x01 the project key; 0x02 the owner key
 *                 (a personal override sealed to its owner, see below)
 *   1       24    random XChaCha20 nonce
 *   25      n+16  XChaCha20-Poly1305-IETF ciphertext of the n plaintext bytes, then tag
 *
 * The associated data binds the record to where it belongs:
 *   "arca.record.v1" 0x00 project_id 0x00 environment 0x00 path 0x00 key 0x00 field
 * so a record copied to another project, environment, folder, key or field
 * ("value", "comment") fails to open (-EBADMSG).  A user's personal override
 * of a shared secret uses the field "personal:<owner_id>:value" (and
 * ":comment"), binding it to its owner too: it cannot be passed off as the
 * shared value or as another user's override.  The same format is used
 * whether the project key is held only by members (end-to-end) or also by the
 * server (server access): switching needs no migration.
 *
 * Owner-sealed records (first byte 0x02): arca's own clients seal a user's
 * personal override not under the project key, which every member (and a
 * server with server access) holds, but under the user's owner key for the
 * project: keyed BLAKE2b-256 of the project id under the user's X25519 secret
 * key (seal_owner_key).  Only the owner's client can derive it, so neither the
 * server nor another member opens the override; the layout and the associated
 * data are those above.  A project-key rotation leaves such records as they are.
 *
 * Key wrapping:
 *   - to a principal's X25519 public key: crypto_box_seal (80 bytes for a 32-byte key);
 *   - under a symmetric key (a user's private key under the password-derived
 *     key-encryption key, a project key under the root key or a service-token
 *     key): seal_box, the record format above with the AD "arca.box.v1" 0x00 label.
 *
 * Password derivation: Argon2id(password, 16-byte salt, opslimit, memlimit) ->
 * 64 bytes; the first 32 are the authentication key (sent to the server, which
 * stores only its hash), the last 32 the key-encryption key (never leaves the
 * client).  A random secret (a machine identity's client secret) is split the
 * same way with BLAKE2b (seal_secret_derive): it is random, so a slow KDF adds
 * nothing.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/buf.h"

#define SEAL_KEY_BYTES 32  /* project keys, root key, KEKs */
#define SEAL_PK_BYTES 32   /* X25519 public key */
#define SEAL_SK_BYTES 32   /* X25519 secret key */
#define SEAL_HASH_BYTES 32 /* token / auth-key hashes */
#define SEAL_SALT_BYTES 16 /* Argon2id salt */
#define SEAL_NONCE_BYTES 24
#define SEAL_TAG_BYTES 16
#define SEAL_RECORD_OVERHEAD (1 + SEAL_NONCE_BYTES + SEAL_TAG_BYTES) /* 41 */
#define SEAL_WRAPPED_BYTES (SEAL_KEY_BYTES + 48) /* crypto_box_seal of a 32-byte key: 80 */
#define SEAL_RECORD_VERSION 0x01

/* Argon2id defaults for passwords: 3 passes over 64 MiB (OWASP's second
 * recommended setting).  Bounds accepted from a server: see seal_kdf_params_ok. */
#define SEAL_KDF_OPSLIMIT 3u
#define SEAL_KDF_MEMLIMIT (64u * 1024 * 1024)

/* Must be called once before anything else (wraps sodium_init).  -EIO. */
int seal_init(void);

/* Secure memory: guarded, locked pages, wiped on free.  NULL on failure.
 * seal_free accepts NULL. */
void *seal_malloc(size_t n);
void seal_free(void *p);
void seal_wipe(void *p, size_t n);
/* Constant-time comparison: true if equal. */
bool seal_equal(const void *a, const void *b, size_t n);

void seal_random(void *out, size_t n);

/* Associated data of a record: every field must be non-NULL. */
struct seal_ad {
    const char *project_id;  /* BORROWED */
    const char *environment; /* BORROWED: environment slug */
    const char *path;        /* BORROWED: canonical folder path */
    const char *key;         /* BORROWED: secret key */
    const char *field;       /* BORROWED: "value" or "comment" */
};

#define SEAL_FIELD_MAX 64 /* "personal:" + a 36-character id + ":comment" fits */

/* Writes the AD field of a record to out: field itself when owner is NULL or
 * "" (a shared secret), else "personal:<owner>:<field>".  -E2BIG if it does
 * not fit in size. */
int seal_ad_field(const char *owner, const char *field, char *out, size_t size);

/* Appends the record sealing <plain, len> to out.  -E2BIG, -ENOMEM. */
int seal_record_encrypt(const uint8_t key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                        const void *plain, size_t len, struct buf *out);
/* Appends the plaintext to out (make it a secret buffer).  -EBADMSG when the
 * record is malformed, of an unknown version, or fails authentication. */
int seal_record_decrypt(const uint8_t key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                        const void *rec, size_t len, struct buf *out);
/* Same, with an explicit nonce (known-answer tests only). */
int seal_record_encrypt_with_nonce(const uint8_t key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                                   const uint8_t nonce[SEAL_NONCE_BYTES], const void *plain,
                                   size_t len, struct buf *out);

#define SEAL_RECORD_OWNER 0x02 /* first byte of an owner-sealed record */

/* The key of record rec: SEAL_RECORD_VERSION (the project key) or
 * SEAL_RECORD_OWNER (its owner's key); -EBADMSG when it is neither, or too
 * short to be a record.  Says nothing of whether it opens. */
int seal_record_kind(const void *rec, size_t len);
/* The owner key of the user with X25519 secret key sk in project_id (see
 * above).  SECRET: wipe out after use. */
void seal_owner_key(const uint8_t sk[SEAL_SK_BYTES], const char *project_id,
                    uint8_t out[SEAL_KEY_BYTES]);
/* seal_record_encrypt / _decrypt for owner-sealed records (first byte 0x02)
 * under an owner key: decrypt refuses a record of the other kind. */
int seal_owner_record_encrypt(const uint8_t owner_key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                              const void *plain, size_t len, struct buf *out);
int seal_owner_record_encrypt_with_nonce(const uint8_t owner_key[SEAL_KEY_BYTES],
                                         const struct seal_ad *ad,
                                         const uint8_t nonce[SEAL_NONCE_BYTES], const void *plain,
                                         size_t len, struct buf *out);
int seal_owner_record_decrypt(const uint8_t owner_key[SEAL_KEY_BYTES], const struct seal_ad *ad,
                              const void *rec, size_t len, struct buf *out);

/* Symmetric wrapping of key material under key, bound to label. */
int seal_box(const uint8_t key[SEAL_KEY_BYTES], const char *label, const void *plain, size_t len,
             struct buf *out);
int seal_unbox(const uint8_t key[SEAL_KEY_BYTES], const char *label, const void *box, size_t len,
               struct buf *out);

/* X25519 key pairs and sealed boxes. */
void seal_keypair_new(uint8_t pk[SEAL_PK_BYTES], uint8_t sk[SEAL_SK_BYTES]);
/* Derives a key pair from a 32-byte seed (tests). */
void seal_keypair_from_seed(const uint8_t seed[32], uint8_t pk[SEAL_PK_BYTES],
                            uint8_t sk[SEAL_SK_BYTES]);
/* Appends crypto_box_seal(key) for recipient pk to out (SEAL_WRAPPED_BYTES for a 32-byte key). */
int seal_wrap(const uint8_t pk[SEAL_PK_BYTES], const uint8_t *key, size_t key_len, struct buf *out);
/* Opens a sealed box into key_out (exactly key_len bytes).  -EBADMSG. */
int seal_unwrap(const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES],
                const void *wrapped, size_t len, uint8_t *key_out, size_t key_len);

struct seal_kdf_params {
    uint64_t opslimit; /* Argon2id passes */
    uint64_t memlimit; /* bytes */
};
/* True if the parameters are within what a client accepts from a server
 * (opslimit 1..10, memlimit 8 MiB..1 GiB): a malicious server must not be able
 * to weaken the derivation to nothing or make the client allocate unbounded memory. */
bool seal_kdf_params_ok(const struct seal_kdf_params *p);

/* Argon2id(password) split into auth_key and kek.  -EINVAL on bad params, -ENOMEM. */
int seal_password_derive(const char *password, size_t len, const uint8_t salt[SEAL_SALT_BYTES],
                         const struct seal_kdf_params *p, uint8_t auth_key[SEAL_KEY_BYTES],
                         uint8_t kek[SEAL_KEY_BYTES]);
/* BLAKE2b split of a high-entropy secret into auth_key and kek. */
void seal_secret_derive(const void *secret, size_t len, uint8_t auth_key[SEAL_KEY_BYTES],
                        uint8_t kek[SEAL_KEY_BYTES]);

/* Hash of a token or an authentication key, as stored by the server
 * (BLAKE2b-256 with a fixed personal string). */
void seal_hash_token(const void *token, size_t len, uint8_t out[SEAL_HASH_BYTES]);
/* SipHash-2-4 of data under a random key: bucket index for hash tables whose
 * keys come from outside (no flooding one bucket). */
#define SEAL_SHORTHASH_KEY_BYTES 16
uint64_t seal_shorthash(const uint8_t key[SEAL_SHORTHASH_KEY_BYTES], const void *data, size_t len);
/* Keyed BLAKE2b-256 (e.g. a deterministic decoy salt for unknown accounts). */
void seal_hash_keyed(const uint8_t key[SEAL_KEY_BYTES], const void *data, size_t len,
                     uint8_t out[SEAL_HASH_BYTES]);

/* Share links (docs/api.md): from the 32-byte key in a link's fragment, the
 * access key an opener shows the server (it keeps only its hash) and the key
 * that seal_box'es the value (label "share:<id>"):
 *   access  = BLAKE2b-256(key = link_key, "arca.share.access.v1")
 *   content = BLAKE2b-256(key = link_key, "arca.share.content.v1"), and with a
 *             password BLAKE2b-256(key = kek, that), kek from seal_password_derive
 * kek may be NULL (no password). */
void seal_share_keys(const uint8_t link_key[SEAL_KEY_BYTES], const uint8_t *kek,
                     uint8_t access[SEAL_KEY_BYTES], uint8_t content[SEAL_KEY_BYTES]);

/* Streaming BLAKE2b-256 of a long input (a backup file): new, update as
 * often as needed, final writes the hash; free accepts NULL. */
struct seal_hasher;
int seal_hasher_new(struct seal_hasher **ret);
void seal_hasher_update(struct seal_hasher *h, const void *data, size_t len);
void seal_hasher_final(struct seal_hasher *h, uint8_t out[SEAL_HASH_BYTES]);
void seal_hasher_free(struct seal_hasher *h);

/* Appends a new token "<prefix><43 chars base64url of 32 random bytes>" to out
 * and writes its hash.  -E2BIG, -ENOMEM. */
int seal_token_new(const char *prefix, struct buf *out, uint8_t hash[SEAL_HASH_BYTES]);
