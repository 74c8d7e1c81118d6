/* store.c - the backend-independent part of the store: destructors for the
 * records that store_ops functions fill in.  Each *_release frees what the
 * record owns and zeroes it, so releasing twice is harmless; each *_free
 * releases an array and frees it.  All accept NULL.  Also the folder and
 * import rules store_sql.c applies and the tables both drivers back up
 * (store_backend.h). */
#include "store/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/store_backend.h"

void store_blob_release(struct store_blob *b)
{
    if (!b)
        return;
    free(b->ptr);
    *b = (struct store_blob){0};
}

void store_user_release(struct store_user *u)
{
    if (!u)
        return;
    free(u->email);
    store_blob_release(&u->kdf_salt);
    store_blob_release(&u->public_key);
    store_blob_release(&u->encrypted_private_key);
    memset(u, 0, sizeof(*u));
}

void store_org_release(struct store_org *o)
{
    if (!o)
        return;
    free(o->name);
    free(o->slug);
    memset(o, 0, sizeof(*o));
}

void store_org_memberships_free(struct store_org_membership *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++)
        store_org_release(&m[i].org);
    free(m);
}

void store_env_release(struct store_env *e)
{
    if (!e)
        return;
    free(e->slug);
    free(e->name);
    memset(e, 0, sizeof(*e));
}

void store_project_release(struct store_project *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->slug);
    for (size_t i = 0; p->envs && i < p->n_envs; i++)
        store_env_release(&p->envs[i]);
    free(p->envs);
    store_blob_release(&p->server_key);
    memset(p, 0, sizeof(*p));
}

void store_projects_free(struct store_project *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        store_project_release(&p[i]);
    free(p);
}

void store_member_release(struct store_member *m)
{
    if (!m)
        return;
    store_blob_release(&m->wrapped_key);
    free(m->principal_name);
    memset(m, 0, sizeof(*m));
}

void store_secret_release(struct store_secret *s)
{
    if (!s)
        return;
    free(s->key);
    free(s->path);
    store_blob_release(&s->value);
    store_blob_release(&s->comment);
    memset(s, 0, sizeof(*s));
}

void store_secrets_free(struct store_secret *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        store_secret_release(&s[i]);
    free(s);
}

void store_members_free(struct store_member *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++)
        store_member_release(&m[i]);
    free(m);
}

void store_invite_release(struct store_invite *i)
{
    if (!i)
        return;
    free(i->email);
    memset(i, 0, sizeof(*i));
}

void store_invites_free(struct store_invite *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_invite_release(&v[i]);
    free(v);
}

void store_org_member_release(struct store_org_member *m)
{
    if (!m)
        return;
    free(m->email);
    memset(m, 0, sizeof(*m));
}

void store_org_members_free(struct store_org_member *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_org_member_release(&v[i]);
    free(v);
}

void store_role_release(struct store_role *r)
{
    if (!r)
        return;
    free(r->slug);
    free(r->name);
    free(r->rules);
    memset(r, 0, sizeof(*r));
}

void store_roles_free(struct store_role *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        store_role_release(&r[i]);
    free(r);
}

void store_identity_release(struct store_identity *i)
{
    if (!i)
        return;
    free(i->name);
    store_blob_release(&i->public_key);
    free(i->trusted_ips);
    memset(i, 0, sizeof(*i));
}

void store_identities_free(struct store_identity *i, size_t n)
{
    if (!i)
        return;
    for (size_t k = 0; k < n; k++)
        store_identity_release(&i[k]);
    free(i);
}

void store_client_secret_release(struct store_client_secret *c)
{
    if (!c)
        return;
    store_blob_release(&c->encrypted_private_key);
    free(c->description);
    memset(c, 0, sizeof(*c));
}

void store_client_secrets_free(struct store_client_secret *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        store_client_secret_release(&c[i]);
    free(c);
}

void store_service_token_release(struct store_service_token *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->scopes);
    store_blob_release(&t->wrapped_key);
    memset(t, 0, sizeof(*t));
}

void store_service_tokens_free(struct store_service_token *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        store_service_token_release(&t[i]);
    free(t);
}

void store_secrets_at_free(struct store_secret_at *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        store_secret_release(&v[i].current);
        store_secret_release(&v[i].then);
    }
    free(v);
}

static void store_version_ref_release(struct store_version_ref *v)
{
    free(v->environment);
    free(v->path);
    free(v->key);
    store_blob_release(&v->value);
    store_blob_release(&v->comment);
    memset(v, 0, sizeof(*v));
}

void store_version_refs_free(struct store_version_ref *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_version_ref_release(&v[i]);
    free(v);
}

void store_audit_release(struct store_audit *a)
{
    if (!a)
        return;
    free(a->actor_name);
    free(a->event);
    free(a->environment);
    free(a->path);
    free(a->key);
    free(a->ip);
    free(a->user_agent);
    free(a->outcome);
    free(a->metadata);
    memset(a, 0, sizeof(*a));
}

void store_audits_free(struct store_audit *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        store_audit_release(&a[i]);
    free(a);
}

void store_root_keys_free(struct store_root_key *k, size_t n)
{
    if (!k)
        return;
    for (size_t i = 0; i < n; i++)
        store_blob_release(&k[i].audit_key);
    free(k);
}

void store_folder_release(struct store_folder *f)
{
    if (!f)
        return;
    free(f->path);
    memset(f, 0, sizeof(*f));
}

void store_folders_free(struct store_folder *f, size_t n)
{
    if (!f)
        return;
    for (size_t i = 0; i < n; i++)
        store_folder_release(&f[i]);
    free(f);
}

void store_import_release(struct store_import *i)
{
    if (!i)
        return;
    free(i->path);
    free(i->import_path);
    memset(i, 0, sizeof(*i));
}

void store_imports_free(struct store_import *i, size_t n)
{
    if (!i)
        return;
    for (size_t k = 0; k < n; k++)
        store_import_release(&i[k]);
    free(i);
}

void store_share_release(struct store_share *sh)
{
    if (!sh)
        return;
    store_blob_release(&sh->ciphertext);
    store_blob_release(&sh->kdf_salt);
    memset(sh, 0, sizeof(*sh));
}

void store_shares_free(struct store_share *sh, size_t n)
{
    if (!sh)
        return;
    for (size_t k = 0; k < n; k++)
        store_share_release(&sh[k]);
    free(sh);
}

/* ---- for the backends (store_backend.h) ---- */

int store_subtree_prefix(const char *path, char out[NAME_PATH_MAX + 2])
{
    if (!path || path[0] != '/' || strlen(path) > NAME_PATH_MAX)
        return -EINVAL;
    snprintf(out, NAME_PATH_MAX + 2, "%s%s", path, streq(path, "/") ? "" : "/");
    return 0;
}

int store_folders_ensure(const char *path, store_folder_insert_fn insert, void *ctx)
{
    char p[NAME_PATH_MAX + 1];
    int r, created = -1;

    if (!path || strlen(path) >= sizeof(p) || path[0] != '/')
        return -EINVAL;
    strcpy(p, path);
    for (;;) {
        char *slash;

        r = insert(ctx, p);
        if (r < 0)
            return r;
        if (created < 0)
            created = r > 0;
        if (streq(p, "/"))
            return created;
        slash = strrchr(p, '/');
        slash[slash == p ? 1 : 0] = 0;
    }
}

int store_imports_renumber(const char *const *ids, size_t n, const char *moved, int64_t position,
                           store_import_place_fn place, void *ctx)
{
    bool placed = !moved;
    int64_t pos = 1;
    int r = 0;

    for (size_t i = 0; i < n && r >= 0; i++) {
        if (moved && streq(ids[i], moved))
            continue;
        if (!placed && pos >= position) {
            placed = true;
            if ((r = place(ctx, moved, pos++)) < 0)
                break;
        }
        r = place(ctx, ids[i], pos++);
    }
    if (r >= 0 && !placed)
        r = place(ctx, moved, pos); /* after all the others */
    return r < 0 ? r : 0;
}

/* ---- backup and restore: the tables of schema version 9 ---- */

#define TABLE(name, types, key, ...)                                                               \
    {                                                                                              \
        name, (const char *const[]){__VA_ARGS__}, types,                                           \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), key                 \
    }

const struct store_table store_tables[] = {
    TABLE("users", "ttbbiibbiii", "id", "id", "email", "auth_hash", "kdf_salt", "kdf_opslimit",
          "kdf_memlimit", "public_key", "encrypted_private_key", "created_at", "failed_logins",
          "locked_until"),
    TABLE("orgs", "ttti", "id", "id", "name", "slug", "created_at"),
    TABLE("org_members", "ttti", "org_id, user_id", "org_id", "user_id", "role", "created_at"),
    TABLE("sessions", "btii", "token_hash", "token_hash", "user_id", "created_at", "expires_at"),
    TABLE("projects", "ttttib", "id", "id", "org_id", "name", "slug", "created_at", "server_key"),
    TABLE("environments", "tttti", "id", "id", "project_id", "slug", "name", "position"),
    TABLE("project_members", "tttbit", "project_id, principal_id", "project_id", "principal_id",
          "role", "wrapped_key", "created_at", "principal_type"),
    TABLE("secrets", "tttttttibbit", "id", "id", "project_id", "env_id", "path", "key", "type",
          "owner_id", "version", "value", "comment", "updated_at", "updated_by"),
    TABLE("secret_versions", "tibbit", "secret_id, version", "secret_id", "version", "value",
          "comment", "created_at", "actor_id"),
    TABLE("org_invites", "ttttbtiii", "id", "id", "org_id", "email", "org_role", "token_hash",
          "created_by", "created_at", "expires_at", "accepted_at"),
    TABLE("project_roles", "ttttti", "id", "id", "project_id", "slug", "name", "rules",
          "created_at"),
    TABLE("identities", "tttbtiiitti", "id", "id", "org_id", "name", "public_key", "client_id",
          "access_token_ttl", "access_token_max_ttl", "access_token_num_uses_limit", "trusted_ips",
          "created_by", "created_at"),
    TABLE("identity_client_secrets", "ttbbttiiiii", "id", "id", "identity_id", "auth_hash",
          "encrypted_private_key", "prefix", "description", "created_at", "expires_at", "num_uses",
          "num_uses_limit", "revoked"),
    TABLE("identity_access_tokens", "bttiiiiii", "token_hash", "token_hash", "identity_id",
          "client_secret_id", "created_at", "expires_at", "max_expires_at", "num_uses",
          "num_uses_limit", "revoked"),
    TABLE("service_tokens", "tttbtibtiii", "id", "id", "project_id", "name", "secret_hash",
          "scopes", "read_write", "wrapped_key", "created_by", "created_at", "expires_at",
          "revoked"),
    TABLE("audit_log", "iitttttttttttttbb", "seq", "seq", "time", "actor_type", "actor_id",
          "actor_name", "event", "org_id", "project_id", "environment", "path", "key", "ip",
          "user_agent", "outcome", "metadata", "prev_hash", "hash"),
    TABLE("folders", "tttti", "id", "id", "project_id", "env_id", "path", "created_at"),
    TABLE("secret_imports", "ttttttiit", "id", "id", "project_id", "env_id", "path",
          "import_env_id", "import_path", "position", "created_at", "created_by"),
    TABLE("root_keys", "ibbii", "generation", "generation", "key_check", "audit_key", "first_seq",
          "created_at"),
    /* Not "shares": a share is short-lived and viewed a limited number of
     * times, which a restored copy would undo. */
    TABLE("org_share_policy", "tii", "org_id", "org_id", "max_ttl", "allow_anonymous"),
};
const size_t store_n_tables = ELEMENTSOF(store_tables);

int store_schema_version(void)
{
    return 10;
}

int store_table_sql(const struct store_table *t, enum store_table_sql kind, struct buf *out)
{
    int r = 0;

    if (kind == STORE_SQL_ANY)
        return buf_printf(out, "SELECT 1 FROM %s LIMIT 1", t->name);
    r = buf_adds(out, kind == STORE_SQL_SELECT ? "SELECT " : "INSERT INTO ");
    if (r >= 0 && kind != STORE_SQL_SELECT)
        r = buf_printf(out, "%s (", t->name);
    for (size_t i = 0; i < t->n_cols && r >= 0; i++)
        r = buf_printf(out, "%s%s", i ? ", " : "", t->cols[i]);
    if (r < 0)
        return r;
    if (kind == STORE_SQL_SELECT)
        return buf_printf(out, " FROM %s ORDER BY %s", t->name, t->key);
    r = buf_adds(out, ") VALUES (");
    for (size_t i = 0; i < t->n_cols && r >= 0; i++)
        r = kind == STORE_SQL_INSERT_PG ? buf_printf(out, "%s$%zu", i ? ", " : "", i + 1)
                                        : buf_adds(out, i ? ", ?" : "?");
    return r < 0 ? r : buf_addch(out, ')');
}

int store_identity_rekey_check(const char *identity_id, const uint8_t *public_key,
                               size_t public_key_len, const struct store_rekey_membership *m,
                               size_t n)
{
    if (!identity_id || !public_key || !public_key_len || (n && !m))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!m[i].project_id || !m[i].wrapped_key || !m[i].wrapped_key_len)
            return -EINVAL;
        for (size_t k = 0; k < i; k++) /* an identity is in a few projects */
            if (streq(m[k].project_id, m[i].project_id))
                return -EINVAL;
    }
    return 0;
}
