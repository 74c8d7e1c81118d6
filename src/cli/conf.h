/* conf.h - configuration files (arca agent --config): YAML or JSON. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

/* Parses a YAML (or JSON) document whose top level is a mapping into *ret
 * (OWNED, json_decref): mappings as objects, sequences as arrays, every scalar
 * as a string.  -EINVAL with "line N: why" in err (optional) for malformed
 * YAML, anchors or aliases, duplicate keys, too deep or too large a document;
 * -ENOMEM. */
int conf_parse(const char *text, size_t len, json_t **ret, struct buf *err);
