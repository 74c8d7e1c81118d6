/* client.h - libarca's internal state: the definition of struct arca, shared by
 * client.c (the API), session.c (credentials on disk) and transport.c (HTTP).
 * Nothing here is installed; applications see only include/arca.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arca.h"
#include "base/buf.h"
#include "crypto/seal.h"

#define CLIENT_URL_MAX 2048           /* length of an API URL */
#define CLIENT_ERRMSG_MAX 4096        /* length of arca_errmsg() */
#define CLIENT_KEY_CACHE 16           /* opened project keys kept per handle */
#define CLIENT_VALUE_MAX (64u * 1024) /* plaintext of a value or comment */
#define CLIENT_BATCH_MAX 1000         /* secrets per batch request */
#define CLIENT_TOKEN_MAX 4096         /* length of a session token */

struct transport;

struct client_project_key {
    char *project_id; /* OWNED */
    uint8_t *key;     /* SECRET: seal_malloc'd, SEAL_KEY_BYTES */
};

struct arca {
    char *api_url;               /* OWNED: normalised, no trailing "/" or "/api" */
    bool url_defaulted;          /* no URL was given: a saved session's URL is adopted */
    char err[CLIENT_ERRMSG_MAX]; /* message of the last failure, "" before any */
    struct transport *transport; /* OWNED: the HTTP connection (transport.c) */
    char *token;                 /* OWNED, wiped on free; NULL when logged out */
    char *email;                 /* OWNED; NULL when logged out */
    char *user_id;               /* OWNED; NULL when logged out */
    bool has_keypair;            /* pk and sk are set */
    uint8_t pk[SEAL_PK_BYTES];   /* the user's X25519 public key */
    uint8_t *sk;                 /* SECRET: seal_malloc'd, SEAL_SK_BYTES */
    struct client_project_key keys[CLIENT_KEY_CACHE]; /* opened project keys */
    size_t n_keys;                                    /* entries used in keys */
};

/* Sets arca_errmsg() and returns r (a negative errno), so that failures read
 * `return client_error(a, -EINVAL, "...", ...);`. */
int client_error(struct arca *a, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The canonical form of an API URL: scheme http or https, a host, no trailing
 * "/" and no trailing "/api", no spaces or control characters.  *ret OWNED
 * (free).  -EINVAL, -ENOMEM. */
int client_url_normalize(const char *in, char **ret);

/* Forgets the logged-in user: token, identity, key pair and opened project keys. */
void client_session_clear(struct arca *a);

/* Installs a session (the strings are copied; sk is copied into secure memory).
 * -ENOMEM. */
int client_session_set(struct arca *a, const char *token, const char *email, const char *user_id,
                       const uint8_t pk[SEAL_PK_BYTES], const uint8_t sk[SEAL_SK_BYTES]);

/* Overwrites the characters of the JSON string obj[key], if there is one, before
 * the object is released: for tokens and keys that jansson holds in ordinary memory. */
void client_json_wipe(json_t *obj, const char *key);
