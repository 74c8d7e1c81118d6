/* auth.c - who is calling: Authorization: Bearer <token> -> principal.
 *
 * User session tokens are "arca_s_" + 43 base64url characters.  The server
 * stores only their BLAKE2b hash, so the lookup is by hash; a database leak
 * does not give usable tokens.  Expired sessions are refused (and removed). */
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "crypto/seal.h"
#include "server.h"

#define TOKEN_MAX 512

int auth_request(struct req *r)
{
    const char *h = req_header(r, "Authorization");
    const char *tok;
    size_t len;
    struct store_session sess;
    int ret;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == 0) {
        http_fail(r, 401, "authentication required: send Authorization: Bearer <token>");
        return -EACCES;
    }
    tok = h + 7;
    len = strlen(tok);
    if (len > TOKEN_MAX) {
        http_fail(r, 401, "invalid or expired token");
        return -EACCES;
    }
    seal_hash_token(tok, len, r->who.token_hash);
    ret = r->srv->store->ops->session_get(r->srv->store, r->who.token_hash, &sess);
    if (ret == -ENOENT || (ret == 0 && sess.expires_at <= now_ms())) {
        if (ret == 0)
            r->srv->store->ops->session_delete(r->srv->store, r->who.token_hash);
        http_fail(r, 401, "invalid or expired token: log in again");
        return -EACCES;
    }
    if (ret < 0) {
        http_fail(r, 503, "store failure while checking a session (%d)", ret);
        return ret;
    }
    r->who.kind = PRINCIPAL_USER;
    memcpy(r->who.id, sess.user_id, sizeof(r->who.id));
    return 0;
}
