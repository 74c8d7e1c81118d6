/* conf.c - configuration files: YAML (libyaml's parser, the only user of
 * yaml.h) read into a jansson value, so that one reader checks the fields
 * whatever the file's syntax (JSON is YAML too).
 *
 * Every scalar becomes a string (YAML's "30" and "true" are the same text to
 * the reader, which parses what it needs); mappings become objects, sequences
 * arrays.  Refused: anchors and aliases (a small file could expand without
 * bound), duplicate keys, non-scalar keys, more than one document, nesting
 * deeper than CONF_DEPTH_MAX and more than CONF_NODES_MAX nodes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "base/util.h"
#include "conf.h"

#define CONF_DEPTH_MAX 16
#define CONF_NODES_MAX 10000

struct conf_parser {
    yaml_parser_t p;
    size_t n_nodes;
    struct buf *err;
};

static int fail(struct conf_parser *cp, const yaml_event_t *ev, const char *what)
{
    if (cp->err)
        buf_printf(cp->err, "line %zu: %s", ev ? (size_t)ev->start_mark.line + 1 : 0, what);
    return -EINVAL;
}

static int next(struct conf_parser *cp, yaml_event_t *ev)
{
    if (yaml_parser_parse(&cp->p, ev))
        return 0;
    if (cp->err)
        buf_printf(cp->err, "line %zu: %s", (size_t)cp->p.problem_mark.line + 1,
                   cp->p.problem ? cp->p.problem : "malformed YAML");
    return -EINVAL;
}

/* Reads the node that starts with ev (consumed) into *ret. */
static int node(struct conf_parser *cp, yaml_event_t *ev, unsigned depth, json_t **ret)
{
    yaml_event_t e;
    json_t *v = NULL;
    int r = 0;

    if (++cp->n_nodes > CONF_NODES_MAX)
        return fail(cp, ev, "too many values");
    if (depth > CONF_DEPTH_MAX)
        return fail(cp, ev, "nested too deep");
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            return fail(cp, ev, "anchors (&name) are not supported");
        v = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!v)
            return fail(cp, ev, "a value is not valid UTF-8 text");
        *ret = v;
        return 0;
    case YAML_ALIAS_EVENT:
        return fail(cp, ev, "aliases (*name) are not supported");
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        if ((map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor))
            return fail(cp, ev, "anchors (&name) are not supported");
        v = map ? json_object() : json_array();
        for (;;) {
            json_t *key = NULL, *item = NULL;
            if ((r = next(cp, &e)) < 0)
                break;
            if (e.type == (map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
                yaml_event_delete(&e);
                break;
            }
            if (map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    r = fail(cp, &e, "a key must be a plain name");
                    yaml_event_delete(&e);
                    break;
                }
                r = node(cp, &e, depth + 1, &key);
                if (r == 0 && json_object_get(v, json_string_value(key))) {
                    char msg[160];
                    snprintf(msg, sizeof(msg), "'%.64s' is given twice", json_string_value(key));
                    r = fail(cp, &e, msg);
                }
                yaml_event_delete(&e);
                if (r == 0 && (r = next(cp, &e)) == 0) {
                    r = node(cp, &e, depth + 1, &item);
                    yaml_event_delete(&e);
                }
                if (r == 0)
                    json_object_set_new(v, json_string_value(key), item);
                json_decref(key);
            } else {
                r = node(cp, &e, depth + 1, &item);
                yaml_event_delete(&e);
                if (r == 0)
                    json_array_append_new(v, item);
            }
            if (r < 0)
                break;
        }
        if (r < 0) {
            json_decref(v);
            return r;
        }
        *ret = v;
        return 0;
    }
    default:
        return fail(cp, ev, "unexpected YAML");
    }
}

int conf_parse(const char *text, size_t len, json_t **ret, struct buf *err)
{
    struct conf_parser cp = {.err = err};
    yaml_event_t e;
    json_t *v = NULL;
    int r, docs = 0;

    if (!yaml_parser_initialize(&cp.p))
        return -ENOMEM;
    yaml_parser_set_input_string(&cp.p, (const unsigned char *)text, len);
    while ((r = next(&cp, &e)) == 0) {
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            r = fail(&cp, &e, "only one document is allowed");
        else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT &&
                 t != YAML_DOCUMENT_END_EVENT)
            r = node(&cp, &e, 0, &v);
        yaml_event_delete(&e);
        if (r < 0)
            break;
    }
    yaml_parser_delete(&cp.p);
    if (r < 0) {
        json_decref(v);
        return r;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        if (err)
            buf_adds(err, "the file must be a mapping of settings (name: value)");
        return -EINVAL;
    }
    *ret = v;
    return 0;
}
