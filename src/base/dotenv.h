/* dotenv.h - read and write .env files.
 *
 * The reader follows the `dotenv` npm package exactly (its LINE regular
 * expression, run with PCRE2): `KEY=value`, `export KEY=value`, `KEY: value`,
 * single, double and backtick quotes, multi-line quoted values, `\n`/`\r`
 * escapes inside double quotes only, `#` comments, CRLF normalised to LF, the
 * last assignment of a key wins.
 *
 * The writer emits, for each key, text that both the `dotenv` package and a
 * POSIX shell (`set -a; . ./file`) read back to exactly the same value, and
 * that a shell never executes anything from: keys must be valid names
 * (name_key_valid) and values are quoted so that no expansion, command
 * substitution or word splitting can happen.  Values that cannot be written
 * for both readers (dotenv has no syntax for some mixes of unescaped quote
 * characters with '#', line breaks, carriage returns or literal "\n") are
 * refused with -EINVAL rather than written wrongly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct dotenv_entry {
    char *key;    /* OWNED */
    char *value;  /* OWNED, SECRET: wiped by dotenv_release */
    bool literal; /* it was single-quoted: as in the shell, nothing in it is to be expanded */
};

struct dotenv {
    struct dotenv_entry *v; /* OWNED; in order of first appearance */
    size_t n;
};

#define DOTENV_INIT                                                                                \
    {                                                                                              \
        NULL, 0                                                                                    \
    }
#define DOTENV_MAX_BYTES (16u * 1024 * 1024)

/* Parses <src, len>.  Keys that are not valid arca names are still returned
 * (the caller decides); values never contain NUL.  -E2BIG over DOTENV_MAX_BYTES,
 * -EINVAL if src contains a NUL byte or is not UTF-8 (where Node would silently
 * substitute U+FFFD), -ENOMEM. */
int dotenv_parse(const char *src, size_t len, struct dotenv *ret);
void dotenv_release(struct dotenv *d);

enum dotenv_style {
    DOTENV_PLAIN,  /* KEY='value' */
    DOTENV_EXPORT, /* export KEY='value' */
};

/* Appends one assignment (ending in '\n') to out.  -EINVAL when the key is not
 * a valid name (or is "__proto__", which dotenv drops) or the value (UTF-8)
 * cannot be written for both readers; then *reason (if non-NULL) is set to a
 * static description (never containing the value).  -E2BIG, -ENOMEM. */
int dotenv_write(struct buf *out, const char *key, const char *value, enum dotenv_style style,
                 const char **reason);

static inline void dotenv_releasep(struct dotenv *d)
{
    dotenv_release(d);
}
#define _cleanup_dotenv_ __attribute__((cleanup(dotenv_releasep)))
