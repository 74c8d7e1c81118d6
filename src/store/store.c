/* store.c - the backend-independent part of the store: destructors for the
 * records that store_ops functions fill in.  Each *_release frees what the
 * record owns and zeroes it, so releasing twice is harmless; each *_free
 * releases an array and frees it.  All accept NULL. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

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
