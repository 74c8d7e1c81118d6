/* template.h - the agent's small template language (format: template).
 *
 * Text with placeholders `{{ KEY }}` (also `{{KEY}}` and Go-template style
 * `{{ .KEY }}`), each replaced by the value of secret KEY escaped for where it
 * goes; nothing else is special.  A placeholder naming no secret is an error
 * (a file is never written with a hole in it), as is a malformed one. */
#pragma once

#include "arca.h"
#include "base/buf.h"

enum template_escape {
    TEMPLATE_RAW,   /* the value as it is */
    TEMPLATE_JSON,  /* inside a JSON string: "...{{ KEY }}..." */
    TEMPLATE_SHELL, /* one shell word: single-quoted, ' as '\'' */
};

/* "none", "json", "shell" -> *ret.  -EINVAL for another name. */
int template_escape_parse(const char *name, enum template_escape *ret);

/* Checks the syntax of text.  -EINVAL with *ret_offset at the bad placeholder. */
int template_check(const char *text, size_t *ret_offset);

/* Appends text with every placeholder replaced to out (a secret buffer).
 * -EINVAL for a malformed placeholder, -ENOENT for a key l does not hold
 * (*bad_key, BORROWED from text's copy in *key_buf, names it), -E2BIG, -ENOMEM. */
int template_render(struct buf *out, const char *text, const struct arca_secret_list *l,
                    enum template_escape esc, char *key_buf, size_t key_size);
