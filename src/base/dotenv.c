/* dotenv.c - read and write .env files the way the `dotenv` npm package does.
 *
 * Reader.  dotenv 18.0.10's parse() (dist/index.cjs; the default path, not the
 * opt-in `fast` scanner) is, in JavaScript:
 *
 *     LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|
 *             \s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
 *     src = src.replace(/\r\n?/mg, '\n')
 *     while ((m = LINE.exec(src)) != null) {
 *         value = (m[2] || '').trim(); q = value[0]
 *         value = value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2')
 *         if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r')
 *         obj[m[1]] = value
 *     }
 *
 * We run the same two expressions with PCRE2 in UTF mode, with the JavaScript
 * meanings spelled out, because PCRE2's differ: JS \s also matches U+00A0,
 * U+1680, U+2000-U+200A, U+2028/9, U+202F, U+205F, U+3000 and U+FEFF; JS ^ and $
 * under /m treat LF, CR, U+2028 and U+2029 as line ends (PCRE2 has no such
 * newline convention) and JS $ does not match before a final newline; JS '.'
 * stops at those four; \w is ASCII in both.  trim() strips the same set as JS
 * \s.  The quoted alternatives, e.g. '(?:\\'|[^'])*', are written as
 * '[^']*(?:(?<=\\)'[^']*)*': the same strings, and backtracking tries the same
 * end positions in the same (decreasing) order, but PCRE2 needs a frame per
 * escaped quote instead of one per character (dotenv itself overflows V8's
 * stack on a quoted value of a few MiB; we parse DOTENV_MAX_BYTES).  Text must
 * be UTF-8 (Node would silently replace bad bytes by U+FFFD; we refuse).  The
 * plain-object quirk is kept: assigning "__proto__" does nothing.
 *
 * Writer.  Each value is written in the first of a list of candidate texts that
 * (1) a POSIX shell reads as exactly the value without expanding anything, by
 * construction (single quotes, or printf with a single-quoted format), and
 * (2) our reader -- that is, dotenv -- reads as exactly {key: value}, checked
 * by parsing the candidate, alone and followed by lines that would catch a
 * quoted value running past its end.  When one text cannot serve both, a
 * shell-only line comes first and a dotenv-only line follows inside a
 * `: <<'TAG'` here-document, which the shell skips and dotenv reads (its last
 * assignment wins).  A value no candidate can carry is refused. */
#include "dotenv.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "util.h"

/* JavaScript regex atoms (non-unicode mode, /m flag) in PCRE2 UTF syntax. */
#define JS_S                                                                                       \
    "[\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"          \
    "\\x{205f}\\x{3000}\\x{feff}]"
#define JS_BOL "(?:\\A|(?<=[\\n\\r\\x{2028}\\x{2029}]))"
#define JS_EOL "(?=[\\n\\r\\x{2028}\\x{2029}]|\\z)"
#define JS_DOT "[^\\n\\r\\x{2028}\\x{2029}]"

static const char line_pattern[] =
    "(?:" JS_BOL "|" JS_BOL ")" JS_S "*(?:export" JS_S "+)?([A-Za-z0-9_.-]+)"
    "(?:" JS_S "*=" JS_S "*?|:" JS_S "+?)"
    "(" JS_S "*'[^']*(?:(?<=\\\\)'[^']*)*'"
    "|" JS_S "*\"[^\"]*(?:(?<=\\\\)\"[^\"]*)*\""
    "|" JS_S "*`[^`]*(?:(?<=\\\\)`[^`]*)*`"
    "|[^#\\r\\n]+)?" JS_S "*(?:#" JS_DOT "*)?(?:" JS_EOL "|" JS_EOL ")";

static const char strip_pattern[] = JS_BOL "(['\"`])([\\s\\S]*)\\1" JS_EOL;

static pcre2_code *line_re, *strip_re;
static pcre2_match_context *match_ctx;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static pcre2_code *re_compile(const char *pattern)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re;

    re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_NO_UTF_CHECK,
                       &err, &off, NULL);
    return re;
}

static void re_init(void)
{
    line_re = re_compile(line_pattern);
    strip_re = re_compile(strip_pattern);
    match_ctx = pcre2_match_context_create(NULL);
    if (match_ctx) {
        /* A quoted value is matched one character per step: allow the largest file. */
        pcre2_set_match_limit(match_ctx, UINT32_MAX);
        pcre2_set_depth_limit(match_ctx, UINT32_MAX);
    }
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* Code point of the UTF-8 sequence at s (valid, k bytes). */
static uint32_t utf8_cp(const unsigned char *s, size_t k)
{
    switch (k) {
    case 1:
        return s[0];
    case 2:
        return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
    case 3:
        return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
    default:
        return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
               (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
    }
}

/* JavaScript's WhiteSpace + LineTerminator (\s, String.prototype.trim). */
static bool js_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000 || c == 0xfeff;
}

/* Trims JS whitespace from both ends of the valid UTF-8 <*s, *n>. */
static void js_trim(const char **s, size_t *n)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t a = 0, b = *n;

    while (a < b) {
        size_t k = utf8_seq_len((const char *)p + a, b - a);
        if (!js_space(utf8_cp(p + a, k)))
            break;
        a += k;
    }
    while (b > a) {
        size_t k = 1;
        while (k < 4 && b - k > a && (p[b - k] & 0xc0) == 0x80)
            k++;
        if (!js_space(utf8_cp(p + b - k, k)))
            break;
        b -= k;
    }
    *s += a;
    *n = b - a;
}

static void secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* ---- the parsed set: entries in first-appearance order plus an index by key ------------- */

struct dotenv_builder {
    struct dotenv *d;
    size_t cap;     /* entries allocated in d->v */
    size_t *slots;  /* open-addressing table of entry index + 1; 0 = empty */
    size_t n_slots; /* power of two */
};

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

static int builder_rehash(struct dotenv_builder *b, size_t n_slots)
{
    size_t *slots = calloc(n_slots, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < b->d->n; i++) {
        const char *k = b->d->v[i].key;
        size_t j = hash_key(k, strlen(k)) & (n_slots - 1);
        while (slots[j])
            j = (j + 1) & (n_slots - 1);
        slots[j] = i + 1;
    }
    free(b->slots);
    b->slots = slots;
    b->n_slots = n_slots;
    return 0;
}

/* Sets key (<k, kn>) to value (TAKES value, a secret string, even on failure). */
static int builder_set(struct dotenv_builder *b, const char *k, size_t kn, char *value,
                       bool literal)
{
    size_t j;
    int r;

    if (kn == 9 && memcmp(k, "__proto__", 9) == 0) {
        /* dotenv assigns into a plain object, where this key is the prototype setter */
        secret_free(value);
        return 0;
    }
    if (2 * (b->d->n + 1) > b->n_slots) {
        r = builder_rehash(b, b->n_slots ? b->n_slots * 2 : 64);
        if (r < 0) {
            secret_free(value);
            return r;
        }
    }
    j = hash_key(k, kn) & (b->n_slots - 1);
    while (b->slots[j]) {
        struct dotenv_entry *e = &b->d->v[b->slots[j] - 1];
        if (strlen(e->key) == kn && memcmp(e->key, k, kn) == 0) {
            secret_free(e->value);
            e->value = value;
            e->literal = literal;
            return 0;
        }
        j = (j + 1) & (b->n_slots - 1);
    }
    if (b->d->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct dotenv_entry *v = realloc(b->d->v, cap * sizeof(*v));
        if (!v) {
            secret_free(value);
            return -ENOMEM;
        }
        b->d->v = v;
        b->cap = cap;
    }
    b->d->v[b->d->n].key = strndup(k, kn);
    if (!b->d->v[b->d->n].key) {
        secret_free(value);
        return -ENOMEM;
    }
    b->d->v[b->d->n].value = value;
    b->d->v[b->d->n].literal = literal;
    b->slots[j] = ++b->d->n;
    return 0;
}

/* ---- reader ------------------------------------------------------------------------------ */

/* value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2'), then the \n and \r escapes if q is '"'.
 * Returns a malloc'd secret string or NULL. */
static char *value_finish(const char *s, size_t n, pcre2_match_data *md)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    bool dq = n > 0 && s[0] == '"';
    PCRE2_SIZE outlen = n + 1;
    char *t;
    int rc;

    buf_init_secret(&out, DOTENV_MAX_BYTES);
    if (buf_grow(&out, n) < 0)
        return NULL;
    rc = pcre2_substitute(strip_re, (PCRE2_SPTR)s, n, 0,
                          PCRE2_SUBSTITUTE_GLOBAL | PCRE2_NO_UTF_CHECK, md, match_ctx,
                          (PCRE2_SPTR) "$2", 2, (PCRE2_UCHAR *)out.ptr, &outlen);
    if (rc < 0)
        return NULL;
    out.len = outlen;
    out.ptr[out.len] = 0;

    if (dq) {
        /* Two passes, as dotenv does: first every "\n", then every "\r". */
        static const char esc[2] = {'n', 'r'};
        static const char rep[2] = {'\n', '\r'};
        for (int pass = 0; pass < 2; pass++) {
            size_t o = 0;
            for (size_t i = 0; i < out.len; i++) {
                if (out.ptr[i] == '\\' && i + 1 < out.len && out.ptr[i + 1] == esc[pass]) {
                    out.ptr[o++] = rep[pass];
                    i++;
                } else {
                    out.ptr[o++] = out.ptr[i];
                }
            }
            buf_truncate(&out, o);
        }
    }
    t = buf_detach(&out);
    return t;
}

int dotenv_parse(const char *src, size_t len, struct dotenv *ret)
{
    _cleanup_buf_ struct buf text = BUF_INIT;
    struct dotenv d = DOTENV_INIT;
    struct dotenv_builder b = {.d = &d};
    pcre2_match_data *md = NULL, *md_strip = NULL;
    size_t off = 0;
    int r = 0;

    if (len > DOTENV_MAX_BYTES)
        return -E2BIG;
    if (memchr(src, 0, len) || !utf8_valid(src, len))
        return -EINVAL;
    pthread_once(&re_once, re_init);
    if (!line_re || !strip_re || !match_ctx)
        return -ENOMEM;

    /* src.replace(/\r\n?/g, '\n') */
    buf_init_secret(&text, DOTENV_MAX_BYTES);
    r = buf_grow(&text, len);
    if (r < 0)
        return r;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            text.ptr[text.len++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else {
            text.ptr[text.len++] = src[i];
        }
    }
    text.ptr[text.len] = 0;

    md = pcre2_match_data_create_from_pattern(line_re, NULL);
    md_strip = pcre2_match_data_create_from_pattern(strip_re, NULL);
    if (!md || !md_strip) {
        r = -ENOMEM;
        goto out;
    }

    while (off <= text.len) {
        const char *v = "";
        size_t vn = 0;
        PCRE2_SIZE *ov;
        char *value;
        int rc;

        rc = pcre2_match(line_re, (PCRE2_SPTR)text.ptr, text.len, off, PCRE2_NO_UTF_CHECK, md,
                         match_ctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            r = rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -E2BIG;
            goto out;
        }
        ov = pcre2_get_ovector_pointer(md);
        if (rc > 2 && ov[4] != PCRE2_UNSET) {
            v = text.ptr + ov[4];
            vn = ov[5] - ov[4];
        }
        js_trim(&v, &vn);
        value = value_finish(v, vn, md_strip);
        if (!value) {
            r = -ENOMEM;
            goto out;
        }
        r = builder_set(&b, text.ptr + ov[2], ov[3] - ov[2], value,
                        vn >= 2 && v[0] == '\'' && v[vn - 1] == '\'');
        if (r < 0)
            goto out;
        off = ov[1]; /* a match is never empty */
    }

out:
    pcre2_match_data_free(md);
    pcre2_match_data_free(md_strip);
    free(b.slots);
    if (r < 0) {
        dotenv_release(&d);
        return r;
    }
    *ret = d;
    return 0;
}

void dotenv_release(struct dotenv *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].key);
        secret_free(d->v[i].value);
    }
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

/* ---- writer ------------------------------------------------------------------------------ */

/* After a candidate, these lines catch a quoted value that runs past its end:
 * each quote character alone on a line would close it. */
static const char probe_suffix[] = "'\n\"\n`\n";

/* 1 if dotenv reads exactly {key: value} from <text, n>, 0 if not, or -errno. */
static int parses_to(const char *text, size_t n, const char *key, const char *value)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    int r = dotenv_parse(text, n, &d);

    if (r < 0)
        return r;
    return d.n == 1 && streq(d.v[0].key, key) && streq(d.v[0].value, value);
}

/* 1 if dotenv reads exactly {key: value} from text, and still does when
 * anything follows it; 0 if not; -errno. */
static int dotenv_reads(struct buf *scratch, const char *text, size_t n, const char *key,
                        const char *value)
{
    int r = parses_to(text, n, key, value);

    if (r <= 0)
        return r;
    buf_clear(scratch);
    r = buf_add(scratch, text, n);
    if (r >= 0)
        r = buf_adds(scratch, probe_suffix);
    if (r < 0)
        return r;
    return parses_to(scratch->ptr, scratch->len, key, value);
}

static bool has_line_break(const char *v)
{
    return strpbrk(v, "\r\n") || strstr(v, "\xe2\x80\xa8") || strstr(v, "\xe2\x80\xa9");
}

/* POSIX single quoting: 'it'\''s' */
static int add_sh_quoted(struct buf *b, const char *v)
{
    int r = buf_addch(b, '\'');

    for (const char *p = v; r >= 0 && *p; p++)
        r = *p == '\'' ? buf_adds(b, "'\\''") : buf_addch(b, *p);
    return r < 0 ? r : buf_addch(b, '\'');
}

/* The shell-only line: the value quoted for sh on a single line, so that dotenv
 * (which splits lines at LF, CR, U+2028 and U+2029) sees one line.  Values with
 * line breaks go through printf, with a trailing 'x' that command substitution
 * cannot strip. */
static int add_sh_line(struct buf *b, const char *prefix, const char *key, const char *v)
{
    int r;

    if (!has_line_break(v)) {
        r = buf_printf(b, "%s%s=", prefix, key);
        if (r >= 0)
            r = add_sh_quoted(b, v);
        return r < 0 ? r : buf_addch(b, '\n');
    }
    r = buf_printf(b, "%s%s=\"$(printf -- '", prefix, key);
    for (const char *p = v; r >= 0 && *p; p++) {
        if (*p == '%')
            r = buf_adds(b, "%%");
        else if (*p == '\\')
            r = buf_adds(b, "\\\\");
        else if (*p == '\n')
            r = buf_adds(b, "\\n");
        else if (*p == '\r')
            r = buf_adds(b, "\\r");
        else if (*p == '\'')
            r = buf_adds(b, "'\\''");
        else if (startswith(p, "\xe2\x80\xa8") || startswith(p, "\xe2\x80\xa9")) {
            r = buf_printf(b, "\\342\\200\\%o", (unsigned char)p[2]);
            p += 2;
        } else
            r = buf_addch(b, *p);
    }
    if (r >= 0)
        r = buf_printf(b, "x')\"; %s%s=\"${%s%%x}\"\n", prefix, key, key);
    return r;
}

enum dotenv_quote {
    Q_SINGLE,   /* 'value' */
    Q_DOUBLE,   /* "value", CR as \r */
    Q_DOUBLE_1, /* "value", CR as \r and LF as \n: one line */
    Q_BACKTICK, /* `value` */
    Q_NONE,     /* value as is, or escaped as for Q_DOUBLE_1 when it starts with '"' */
    N_QUOTES,
};

/* Appends one dotenv-only assignment (without the final newline). */
static int add_dotenv_line(struct buf *b, const char *prefix, const char *key, const char *v,
                           enum dotenv_quote q)
{
    static const char open[N_QUOTES] = {'\'', '"', '"', '`', 0};
    bool esc_cr = q == Q_DOUBLE || q == Q_DOUBLE_1 || (q == Q_NONE && v[0] == '"');
    bool esc_lf = q == Q_DOUBLE_1 || (q == Q_NONE && v[0] == '"');
    int r = buf_printf(b, "%s%s=", prefix, key);

    if (r >= 0 && open[q])
        r = buf_addch(b, open[q]);
    for (const char *p = v; r >= 0 && *p; p++) {
        if (*p == '\r' && esc_cr)
            r = buf_adds(b, "\\r");
        else if (*p == '\n' && esc_lf)
            r = buf_adds(b, "\\n");
        else
            r = buf_addch(b, *p);
    }
    if (r >= 0 && open[q])
        r = buf_addch(b, open[q]);
    return r;
}

/* Comments that stop a quoted value whose closing quote dotenv takes as escaped
 * (a value ending in '\'): "" is the empty guard. */
static const char *const guards[] = {"", " #''", " #\"\"", " #``"};

/* The dotenv-only line's forms, most readable first. */
static const enum dotenv_quote split_order[] = {Q_DOUBLE, Q_SINGLE, Q_BACKTICK, Q_DOUBLE_1, Q_NONE};

/* Chooses a here-document delimiter that is not a line of body. */
static int pick_tag(struct buf *tag, const char *key, const char *body, size_t n)
{
    for (unsigned i = 0;; i++) {
        const char *p = body, *end = body + n;
        bool clash = false;
        int r;

        buf_clear(tag);
        r = i ? buf_printf(tag, "ARCA_DOTENV_%s_%u", key, i)
              : buf_printf(tag, "ARCA_DOTENV_%s", key);
        if (r < 0)
            return r;
        while (p < end && !clash) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            clash = len == tag->len && memcmp(p, tag->ptr, len) == 0;
            p += len + 1;
        }
        if (!clash)
            return 0;
    }
}

int dotenv_write(struct buf *out, const char *key, const char *value, enum dotenv_style style,
                 const char **reason)
{
    _cleanup_buf_ struct buf text = BUF_INIT, line = BUF_INIT, tag = BUF_INIT, scratch = BUF_INIT;
    const char *prefix = style == DOTENV_EXPORT ? "export " : "";
    size_t vlen;
    int r;

    if (!name_key_valid(key)) {
        if (reason)
            *reason = "key is not a valid name ([A-Za-z_][A-Za-z0-9_]*)";
        return -EINVAL;
    }
    if (streq(key, "__proto__")) {
        if (reason)
            *reason = "dotenv ignores the key __proto__";
        return -EINVAL;
    }
    vlen = strlen(value);
    if (!utf8_valid(value, vlen)) {
        if (reason)
            *reason = "value is not valid UTF-8";
        return -EINVAL;
    }
    buf_init_secret(&text, 0);
    buf_init_secret(&line, 0);
    buf_init_secret(&scratch, 0);

    /* One line for both readers: 'value' (sh: literal) or "value" (sh: nothing to expand). */
    for (size_t g = 0; g < ELEMENTSOF(guards); g++) {
        for (int dq = 0; dq < 2; dq++) {
            if (dq ? strpbrk(value, "\"$`\\") != NULL : strchr(value, '\'') != NULL)
                continue;
            buf_clear(&text);
            r = add_dotenv_line(&text, prefix, key, value, dq ? Q_DOUBLE : Q_SINGLE);
            if (r >= 0 && dq && strchr(value, '\r'))
                continue; /* Q_DOUBLE wrote \r, which sh would keep as two characters */
            if (r >= 0)
                r = buf_adds(&text, guards[g]);
            if (r >= 0)
                r = buf_addch(&text, '\n');
            if (r >= 0)
                r = dotenv_reads(&scratch, text.ptr, text.len, key, value);
            if (r < 0)
                return r;
            if (r > 0)
                return buf_add(out, text.ptr, text.len);
        }
    }

    /* A shell-only line, then a dotenv-only line in a here-document sh skips. */
    for (size_t i = 0; i < ELEMENTSOF(split_order); i++) {
        for (size_t g = 0; g < ELEMENTSOF(guards); g++) {
            buf_clear(&line);
            r = add_dotenv_line(&line, prefix, key, value, split_order[i]);
            if (r >= 0)
                r = buf_adds(&line, guards[g]);
            if (r >= 0)
                r = pick_tag(&tag, key, line.ptr, line.len);
            buf_clear(&text);
            if (r >= 0)
                r = add_sh_line(&text, prefix, key, value);
            if (r >= 0)
                r = buf_printf(&text, ": <<'%s'\n%s\n%s\n", buf_str(&tag), line.ptr, buf_str(&tag));
            if (r >= 0)
                r = dotenv_reads(&scratch, text.ptr, text.len, key, value);
            if (r < 0)
                return r;
            if (r > 0)
                return buf_add(out, text.ptr, text.len);
        }
    }

    if (reason)
        *reason = "dotenv has no syntax for this value: it has unescaped ', \" and ` quotes "
                  "together with '#', a line break, a carriage return or a literal \\n or \\r";
    return -EINVAL;
}
