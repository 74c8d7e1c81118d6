/* template.c - `{{ KEY }}` placeholders replaced by escaped values (template.h). */
#include "template.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int template_escape_parse(const char *name, enum template_escape *ret)
{
    if (streq(name, "none"))
        *ret = TEMPLATE_RAW;
    else if (streq(name, "json"))
        *ret = TEMPLATE_JSON;
    else if (streq(name, "shell"))
        *ret = TEMPLATE_SHELL;
    else
        return -EINVAL;
    return 0;
}

/* Parses the placeholder at p ("{{"): the key's <start, len> and the end. */
static int placeholder(const char *p, const char **key, size_t *key_len, const char **end)
{
    const char *s = p + 2;

    while (*s == ' ')
        s++;
    if (*s == '.')
        s++;
    *key = s;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
           *s == '_')
        s++;
    *key_len = (size_t)(s - *key);
    while (*s == ' ')
        s++;
    if (*key_len == 0 || s[0] != '}' || s[1] != '}')
        return -EINVAL;
    *end = s + 2;
    return 0;
}

int template_check(const char *text, size_t *ret_offset)
{
    const char *p = text, *key, *end;
    size_t len;

    while ((p = strstr(p, "{{"))) {
        if (placeholder(p, &key, &len, &end) < 0) {
            *ret_offset = (size_t)(p - text);
            return -EINVAL;
        }
        p = end;
    }
    return 0;
}

static int add_escaped(struct buf *out, const char *v, enum template_escape esc)
{
    json_t *j;
    char *text;
    int r;

    switch (esc) {
    case TEMPLATE_RAW:
        return buf_adds(out, v);
    case TEMPLATE_SHELL:
        r = buf_addch(out, '\'');
        for (; r == 0 && *v; v++)
            r = *v == '\'' ? buf_adds(out, "'\\''") : buf_addch(out, *v);
        return r < 0 ? r : buf_addch(out, '\'');
    case TEMPLATE_JSON:
        j = json_string(v);
        if (!j)
            return -EINVAL; /* not UTF-8 */
        text = json_dumps(j, JSON_ENCODE_ANY);
        json_decref(j);
        if (!text)
            return -ENOMEM;
        r = buf_add(out, text + 1, strlen(text) - 2); /* without the quotes */
        explicit_bzero(text, strlen(text));
        free(text);
        return r;
    }
    return -EINVAL;
}

int template_render(struct buf *out, const char *text, const struct arca_secret_list *l,
                    enum template_escape esc, char *key_buf, size_t key_size)
{
    const char *p = text, *q, *key, *end;
    size_t len;
    int r = 0;

    while (r == 0 && (q = strstr(p, "{{"))) {
        const char *value = NULL;

        if ((r = buf_add(out, p, (size_t)(q - p))) < 0)
            return r;
        if (placeholder(q, &key, &len, &end) < 0)
            return -EINVAL;
        for (size_t i = 0; i < l->n && !value; i++)
            if (strlen(l->v[i].key) == len && memcmp(l->v[i].key, key, len) == 0)
                value = l->v[i].value;
        if (!value) {
            snprintf(key_buf, key_size, "%.*s", (int)len, key);
            return -ENOENT;
        }
        r = add_escaped(out, value, esc);
        p = end;
    }
    return r < 0 ? r : buf_adds(out, p);
}
