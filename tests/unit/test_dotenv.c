/* test_dotenv.c - the .env reader (dotenv's rules) and writer (dotenv + sh):
 * examples, and properties over generated inputs (below), /bin/sh reading
 * what the writer wrote included.  The comparison with the npm dotenv package
 * itself is tests/e2e/dotenv.test.mjs's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dotenv.h"
#include "base/util.h"

static const char *get(const struct dotenv *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (streq(d->v[i].key, key))
            return d->v[i].value;
    return NULL;
}

static void parse_str(const char *s, struct dotenv *d)
{
    cr_assert_eq(dotenv_parse(s, strlen(s), d), 0, "parse failed: %s", s);
}

Test(dotenv, basics)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;

    parse_str("# comment\n"
              "BASIC=basic\n"
              "\n"
              "EMPTY=\n"
              "SPACED = spaced value   \n"
              "INLINE=value # comment\n"
              "HASHNOSPACE=a#b\n"
              "EQUALS=a=b==\n"
              "export EXPORTED=yes\n"
              "COLON: colon\n"
              "a.b-c=dotted\n",
              &d);
    cr_assert_str_eq(get(&d, "BASIC"), "basic");
    cr_assert_str_eq(get(&d, "EMPTY"), "");
    cr_assert_str_eq(get(&d, "SPACED"), "spaced value");
    cr_assert_str_eq(get(&d, "INLINE"), "value");
    cr_assert_str_eq(get(&d, "HASHNOSPACE"), "a");
    cr_assert_str_eq(get(&d, "EQUALS"), "a=b==");
    cr_assert_str_eq(get(&d, "EXPORTED"), "yes");
    cr_assert_str_eq(get(&d, "COLON"), "colon");
    cr_assert_str_eq(get(&d, "a.b-c"), "dotted");
    cr_assert_eq(d.n, 9);
}

Test(dotenv, quotes)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;

    parse_str("S='  single # not comment  '\n"
              "D=\"  double  \"\n"
              "B=`back'tick\"`\n"
              "ESC_D=\"a\\nb\\rc\"\n"
              "ESC_S='a\\nb'\n"
              "INNER='a'b'\n"
              "UNMATCHED='abc\n"
              "SQ_ESCAPED='it\\'s'\n"
              "TRAILING='abc\\' #''\n",
              &d);
    cr_assert_str_eq(get(&d, "S"), "  single # not comment  ");
    cr_assert_str_eq(get(&d, "D"), "  double  ");
    cr_assert_str_eq(get(&d, "B"), "back'tick\"");
    cr_assert_str_eq(get(&d, "ESC_D"), "a\nb\rc");
    cr_assert_str_eq(get(&d, "ESC_S"), "a\\nb");
    cr_assert_str_eq(get(&d, "INNER"), "a'b");
    cr_assert_str_eq(get(&d, "UNMATCHED"), "'abc");
    cr_assert_str_eq(get(&d, "SQ_ESCAPED"), "it\\'s");
    cr_assert_str_eq(get(&d, "TRAILING"), "abc\\");
}

Test(dotenv, multiline_and_crlf)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;

    parse_str("PEM=\"-----BEGIN KEY-----\r\nAAAA\r\nINNER=no\r\n-----END KEY-----\"\r\n"
              "NEXT=next\r\n"
              "OLD_MAC=x\rLAST='multi\nline'\n",
              &d);
    cr_assert_str_eq(get(&d, "PEM"), "-----BEGIN KEY-----\nAAAA\nINNER=no\n-----END KEY-----");
    cr_assert_null(get(&d, "INNER"));
    cr_assert_str_eq(get(&d, "NEXT"), "next");
    cr_assert_str_eq(get(&d, "OLD_MAC"), "x");
    cr_assert_str_eq(get(&d, "LAST"), "multi\nline");
}

Test(dotenv, last_wins_in_first_appearance_order)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;

    parse_str("B=1\nA=1\nB=2\nC=1\nA=3\n", &d);
    cr_assert_eq(d.n, 3);
    cr_assert_str_eq(d.v[0].key, "B");
    cr_assert_str_eq(d.v[0].value, "2");
    cr_assert_str_eq(d.v[1].key, "A");
    cr_assert_str_eq(d.v[1].value, "3");
    cr_assert_str_eq(d.v[2].key, "C");
}

Test(dotenv, javascript_whitespace_and_line_separators)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;

    /* BOM and NBSP are JS whitespace; U+2028 ends a line for JS's $ */
    parse_str("\xef\xbb\xbf"
              "BOM=x\n"
              "NBSP=\xc2\xa0v\xc2\xa0\n"
              "LS='a'\xe2\x80\xa8"
              "b\n"
              "__proto__=ignored\n",
              &d);
    cr_assert_str_eq(get(&d, "BOM"), "x");
    cr_assert_str_eq(get(&d, "NBSP"), "v");
    cr_assert_str_eq(get(&d, "LS"), "a");
    cr_assert_null(get(&d, "__proto__"));
}

Test(dotenv, empty_and_garbage)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    _cleanup_dotenv_ struct dotenv g = DOTENV_INIT;

    cr_assert_eq(dotenv_parse("", 0, &d), 0);
    cr_assert_eq(d.n, 0);
    parse_str("not an env file\n{\"json\":1}\n=novalue\n!X=1\n", &g);
    cr_assert_eq(g.n, 0);
}

Test(dotenv, refuses_nul_bad_utf8_and_oversize)
{
    struct dotenv d = DOTENV_INIT;
    char *big;

    cr_assert_eq(dotenv_parse("A=1\0B=2", 7, &d), -EINVAL);
    cr_assert_eq(dotenv_parse("A=\xe9\n", 4, &d), -EINVAL);
    big = malloc(DOTENV_MAX_BYTES + 1);
    cr_assert_not_null(big);
    memset(big, '#', DOTENV_MAX_BYTES + 1);
    cr_assert_eq(dotenv_parse(big, DOTENV_MAX_BYTES + 1, &d), -E2BIG);
    free(big);
    cr_assert_null(d.v);
}

Test(dotenv, large_inputs_stay_linear, .timeout = 60)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    _cleanup_dotenv_ struct dotenv q = DOTENV_INIT;
    _cleanup_buf_ struct buf b = BUF_INIT;

    for (int i = 0; i < 100000; i++)
        cr_assert_eq(buf_printf(&b, "KEY_%d=value %d\n", i, i), 0);
    cr_assert_eq(dotenv_parse(b.ptr, b.len, &d), 0);
    cr_assert_eq(d.n, 100000);
    cr_assert_str_eq(d.v[99999].value, "value 99999");

    /* one 8 MiB quoted value: no frame per character in the regex engine */
    buf_clear(&b);
    cr_assert_eq(buf_adds(&b, "BIG=\""), 0);
    for (int i = 0; i < 8 * 1024 * 1024 / 16; i++)
        cr_assert_eq(buf_adds(&b, "0123456789abcde\n"), 0);
    cr_assert_eq(buf_adds(&b, "\"\nAFTER=1\n"), 0);
    cr_assert_eq(dotenv_parse(b.ptr, b.len, &q), 0);
    cr_assert_eq(q.n, 2);
    cr_assert_eq(strlen(get(&q, "BIG")), 8 * 1024 * 1024);
}

Test(dotenv, corpus_file_parses)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    _cleanup_buf_ struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(SOURCE_ROOT "/tests/dotenv/pem.env", "rb");

    cr_assert_not_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cr_assert_eq(buf_add(&b, chunk, n), 0);
    fclose(f);
    cr_assert_eq(dotenv_parse(b.ptr, b.len, &d), 0);
    cr_assert(startswith(get(&d, "PRIVATE_KEY"), "-----BEGIN RSA PRIVATE KEY-----\nMIIE"));
    cr_assert(startswith(get(&d, "PRIVATE_KEY_ESCAPED"), "-----BEGIN PRIVATE KEY-----\nMIIE"));
    cr_assert_str_eq(get(&d, "CERT_AFTER"), "after");
}

/* ---- writer ---- */

static char *write_one(const char *key, const char *value, enum dotenv_style style)
{
    struct buf out = BUF_INIT;
    const char *reason = NULL;

    cr_assert_eq(dotenv_write(&out, key, value, style, &reason), 0, "refused: %s",
                 reason ? reason : "?");
    return buf_detach(&out);
}

static void round_trip(const char *value)
{
    for (int style = 0; style < 2; style++) {
        _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
        _cleanup_free_ char *text = write_one("K", value, (enum dotenv_style)style);
        cr_assert_eq(dotenv_parse(text, strlen(text), &d), 0);
        cr_assert_eq(d.n, 1, "%s", text);
        cr_assert_str_eq(d.v[0].value, value, "%s", text);
    }
}

Test(dotenv, writer_shapes)
{
    _cleanup_free_ char *a = write_one("K", "hello world", DOTENV_PLAIN);
    _cleanup_free_ char *b = write_one("K", "$HOME `id` $(id)", DOTENV_EXPORT);
    _cleanup_free_ char *c = write_one("K", "it's", DOTENV_PLAIN);
    _cleanup_free_ char *e = write_one("K", "multi\nline", DOTENV_PLAIN);
    _cleanup_free_ char *f = write_one("K", "ends in \\", DOTENV_PLAIN);
    _cleanup_free_ char *g = write_one("K", "it's $5", DOTENV_PLAIN);
    _cleanup_free_ char *h = write_one("K", "it's\n$5", DOTENV_EXPORT);

    cr_assert_str_eq(a, "K='hello world'\n");
    cr_assert_str_eq(b, "export K='$HOME `id` $(id)'\n");
    cr_assert_str_eq(c, "K=\"it's\"\n");
    cr_assert_str_eq(e, "K='multi\nline'\n");
    cr_assert_str_eq(f, "K='ends in \\' #''\n");
    cr_assert_str_eq(g, "K='it'\\''s $5'\n"
                        ": <<'ARCA_DOTENV_K'\n"
                        "K=\"it's $5\"\n"
                        "ARCA_DOTENV_K\n");
    cr_assert_str_eq(h, "export K=\"$(printf -- 'it'\\''s\\n$5x')\"; export K=\"${K%x}\"\n"
                        ": <<'ARCA_DOTENV_K'\n"
                        "export K=\"it's\n$5\"\n"
                        "ARCA_DOTENV_K\n");
}

Test(dotenv, writer_round_trips)
{
    static const char *values[] = {
        "",
        " ",
        "plain",
        "  padded  ",
        "'",
        "\"",
        "`",
        "'\"",
        "'`",
        "\"`",
        "'\"`",
        "a'b\"c`d",
        "#",
        "a # b",
        "\\",
        "a\\",
        "\\n",
        "a\\nb",
        "\n",
        "a\nb\n",
        "\r",
        "a\r\nb",
        "it's\r",
        "$(touch /tmp/x)",
        "`touch /tmp/x`",
        "%s%n",
        "-n",
        "caf\xc3\xa9",
        "\xe2\x80\xa8",
        "a'\xe2\x80\xa8",
        "K=1\nexport B=2\nC: 3",
        "x\nARCA_DOTENV_K\ny'",
        "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n",
    };
    for (size_t i = 0; i < ELEMENTSOF(values); i++)
        round_trip(values[i]);
}

Test(dotenv, writer_entries_do_not_disturb_each_other)
{
    static const char *values[] = {"a\\", "'", "x'y\\", "\n'", "\"\n", "`", "", "'\"\r"};
    _cleanup_buf_ struct buf out = BUF_INIT;
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    char key[8];

    for (size_t i = 0; i < ELEMENTSOF(values); i++) {
        snprintf(key, sizeof(key), "K%zu", i);
        cr_assert_eq(dotenv_write(&out, key, values[i], DOTENV_PLAIN, NULL), 0);
    }
    cr_assert_eq(dotenv_parse(out.ptr, out.len, &d), 0);
    cr_assert_eq(d.n, ELEMENTSOF(values));
    for (size_t i = 0; i < ELEMENTSOF(values); i++)
        cr_assert_str_eq(d.v[i].value, values[i], "K%zu in %s", i, out.ptr);
}

Test(dotenv, writer_refusals)
{
    static const char *impossible[] = {
        "'\"`#",                /* every quote unescaped, and '#' */
        "'\"`\n#",   "x\r\\n'", /* CR and a literal \n */
        "'\"`\n\\n", " '\xe2\x80\xa8`\xe2\x80\xa8\"\xe2\x80\xa8 ",
    };
    static const char *bad_keys[] = {"", "1A", "A-B", "A.B", "A B", "__proto__"};
    _cleanup_buf_ struct buf out = BUF_INIT;
    const char *reason;

    cr_assert_eq(buf_adds(&out, "kept\n"), 0);
    for (size_t i = 0; i < ELEMENTSOF(impossible); i++) {
        reason = NULL;
        cr_assert_eq(dotenv_write(&out, "K", impossible[i], DOTENV_PLAIN, &reason), -EINVAL,
                     "wrote value %zu", i);
        cr_assert_not_null(reason);
        cr_assert_null(strstr(reason, impossible[i]));
    }
    for (size_t i = 0; i < ELEMENTSOF(bad_keys); i++) {
        reason = NULL;
        cr_assert_eq(dotenv_write(&out, bad_keys[i], "v", DOTENV_EXPORT, &reason), -EINVAL);
        cr_assert_not_null(reason);
    }
    cr_assert_eq(dotenv_write(&out, "K", "\xff", DOTENV_PLAIN, NULL), -EINVAL);
    cr_assert_str_eq(buf_str(&out), "kept\n"); /* nothing appended on failure */
}

Test(dotenv, writer_respects_buffer_max)
{
    _cleanup_buf_ struct buf out = BUF_INIT;

    buf_init(&out, 8);
    cr_assert_eq(dotenv_write(&out, "K", "a long value", DOTENV_PLAIN, NULL), -E2BIG);
    cr_assert_str_eq(buf_str(&out), "");
}

/* ==== properties over generated inputs ====
 * What tests/e2e/dotenv.test.mjs checked by driving dotenv_tool from Node, now
 * here, on dotenv.c directly: the writer writes a value exactly when dotenv
 * has a syntax for it (the theory below), what it writes reads back as the
 * value for the reader and for /bin/sh (set -a; . ./file) with nothing
 * executed, and generated files parse into entries the writer can round-trip.
 * What stays in Node is the comparison with the npm dotenv package itself. */

/* mulberry32, as in the Node test: a fixed seed, failures reproduce */
struct rng {
    uint32_t a;
};

static double rng_next(struct rng *r)
{
    uint32_t t;

    r->a += 0x6d2b79f5u;
    t = r->a;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return (double)(t ^ (t >> 14)) / 4294967296.0;
}

/* n pieces (1 + n_max * rand, or n_max * rand when zero is allowed) into out */
static void rng_text(struct rng *r, const char *const *pieces, size_t n_pieces, size_t n_max,
                     bool at_least_one, struct buf *out)
{
    size_t n = (size_t)(rng_next(r) * (double)n_max) + (at_least_one ? 1 : 0);

    buf_clear(out);
    for (size_t j = 0; j < n; j++)
        cr_assert_eq(buf_adds(out, pieces[(size_t)(rng_next(r) * (double)n_pieces)]), 0);
}

/* The theory of what dotenv can express (tests/e2e/dotenv.test.mjs): a value
 * is one of '...' or `...` (no unescaped such quote, no CR), "..." (no
 * unescaped ", and \n or \r escapes make it never hold a literal \n or \r),
 * or an unquoted rest of a line (no '#', and no line break together with a
 * literal \n or \r).  Exact but for U+2028/U+2029, which JavaScript also takes
 * for line ends: with them, the writer may refuse more (Node checks those
 * against the real dotenv). */
static bool unescaped_quote(const char *v, char q)
{
    for (size_t i = 0; v[i]; i++)
        if (v[i] == q && (i == 0 || v[i - 1] != '\\'))
            return true;
    return false;
}

static bool dotenv_cannot(const char *v)
{
    bool cr = strchr(v, '\r'), lf = strchr(v, '\n');
    bool lit = strstr(v, "\\n") || strstr(v, "\\r");

    return (cr || unescaped_quote(v, '\'')) && (cr || unescaped_quote(v, '`')) &&
           (lit || unescaped_quote(v, '"')) && (strchr(v, '#') || ((lf || cr) && lit));
}

static bool has_line_sep(const char *v)
{
    return strstr(v, "\xe2\x80\xa8") || strstr(v, "\xe2\x80\xa9");
}

/* Every assignment of an export-style entry is an export: its first line and
 * the one in the here-document, if any. */
static void check_export_shape(const char *text)
{
    const char *tag;

    cr_assert(startswith(text, "export K="), "%s", text);
    tag = strstr(text, "\n: <<'ARCA_DOTENV_K");
    if (tag) {
        const char *next = strchr(tag + 1, '\n');
        cr_assert_not_null(next, "%s", text);
        cr_assert(startswith(next + 1, "export K="), "%s", text);
    }
}

/* Writes v in style; if accepted, it must be expressible and read back as v.
 * Returns whether it was written. */
static bool check_value(const char *v, enum dotenv_style style)
{
    _cleanup_buf_ struct buf out = BUF_INIT;
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    const char *reason = NULL;
    int r = dotenv_write(&out, "K", v, style, &reason);

    if (r < 0) {
        cr_assert_eq(r, -EINVAL, "unexpected failure %d for '%s'", r, v);
        cr_assert_not_null(reason);
        cr_assert(strlen(v) < 3 || !strstr(reason, v), "the refusal echoes the value");
        cr_assert(dotenv_cannot(v) || has_line_sep(v), "refused a value dotenv can express: '%s'",
                  v);
        return false;
    }
    cr_assert(!dotenv_cannot(v), "wrote a value dotenv cannot express: '%s' as %s", v,
              buf_str(&out));
    if (style == DOTENV_EXPORT)
        check_export_shape(buf_str(&out));
    cr_assert_eq(dotenv_parse(out.ptr, out.len, &d), 0);
    cr_assert_eq(d.n, 1, "'%s' as %s", v, buf_str(&out));
    cr_assert_str_eq(d.v[0].key, "K");
    cr_assert_str_eq(d.v[0].value, v, "as %s", buf_str(&out));
    return true;
}

static void rm_dir(const char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* All accepted values of a style in one file (K0, K1, ...): the reader and
 * /bin/sh (set -a; . ./vars.env) each read back every one of them, and the
 * shell ran nothing (the values that would create dir/canary did not). */
static void check_whole_file(const char *dir, const char *const *values, size_t n,
                             enum dotenv_style style)
{
    _cleanup_buf_ struct buf out = BUF_INIT, env = BUF_INIT;
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;
    char path[256], cmd[512], key[32], chunk[4096];
    size_t len;
    FILE *f;

    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "K%zu", i);
        cr_assert_eq(dotenv_write(&out, key, values[i], style, NULL), 0);
    }
    cr_assert_eq(dotenv_parse(out.ptr, out.len, &d), 0);
    cr_assert_eq(d.n, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(d.v[i].value, values[i], "K%zu", i);

    snprintf(path, sizeof(path), "%s/vars.env", dir);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(out.ptr, 1, out.len, f), out.len);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && env -i PATH=/usr/bin:/bin /bin/sh -c 'set -a; . ./vars.env; exec env -0'",
             dir);
    f = popen(cmd, "r");
    cr_assert_not_null(f);
    while ((len = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cr_assert_eq(buf_add(&env, chunk, len), 0);
    cr_assert_eq(pclose(f), 0, "sh failed on %s", buf_str(&out));
    for (size_t i = 0; i < n; i++) {
        const char *p = env.ptr, *end = env.ptr + env.len, *got = NULL;
        size_t klen = (size_t)snprintf(key, sizeof(key), "K%zu=", i);
        for (; p < end; p += strlen(p) + 1)
            if (strncmp(p, key, klen) == 0)
                got = p + klen;
        cr_assert_not_null(got, "sh has no %s", key);
        cr_assert_str_eq(got, values[i], "sh reads %s differently", key);
    }
    snprintf(path, sizeof(path), "%s/canary", dir);
    cr_assert_neq(access(path, F_OK), 0, "the shell executed a value");
}

/* Checks values (TAKES them and the array) one by one in both styles, then
 * the accepted ones in one file each; returns how many were refused (in
 * either style). */
static size_t check_values(char **values, size_t n)
{
    char dir[] = "/tmp/arca-test-dotenv-XXXXXX";
    const char **ok = calloc(n ? n : 1, sizeof(*ok));
    size_t refused = 0;

    cr_assert_not_null(ok);
    cr_assert_not_null(mkdtemp(dir));
    for (int style = DOTENV_PLAIN; style <= DOTENV_EXPORT; style++) {
        size_t n_ok = 0;
        for (size_t i = 0; i < n; i++) {
            if (check_value(values[i], (enum dotenv_style)style))
                ok[n_ok++] = values[i];
            else
                refused++;
        }
        check_whole_file(dir, ok, n_ok, (enum dotenv_style)style);
    }
    rm_dir(dir);
    free(ok);
    for (size_t i = 0; i < n; i++)
        free(values[i]);
    free(values);
    return refused;
}

static const char *const value_pieces[] = {
    "'",
    "\"",
    "`",
    "\\",
    "$",
    "(",
    ")",
    "{",
    "}",
    "#",
    " ",
    "\t",
    "\n",
    "\r",
    "n",
    "r",
    "x",
    "=",
    ":",
    "K=",
    "export ",
    "%",
    "-",
    ";",
    "|",
    "&",
    "<",
    ">",
    "*",
    "~",
    "!",
    "\xc3\xa9",
    "\xf0\x9f\x98\x80",
    "\xe2\x80\xa8",
    "\xe2\x80\xa9",
    "\xc2\xa0",
    "\xef\xbb\xbf",
    "\\n",
    "$(",
    "${",
    "ARCA_DOTENV_K",
};

Test(dotenv, writer_generated_values_are_written_exactly_when_dotenv_can_read_them, .timeout = 60)
{
    enum { N = 2000 };
    struct rng r = {4242};
    _cleanup_buf_ struct buf v = BUF_INIT;
    char **values = calloc(N, sizeof(*values));
    size_t refused;

    cr_assert_not_null(values);
    for (size_t i = 0; i < N; i++) {
        rng_text(&r, value_pieces, ELEMENTSOF(value_pieces), 12, false, &v);
        values[i] = strdup(buf_str(&v));
        cr_assert_not_null(values[i]);
    }
    refused = check_values(values, N);
    cr_assert(refused > 0 && refused < 2 * N, "refused %zu", refused);
}

/* piece n times, then tail (OWNED) */
static char *repeated(const char *piece, int n, const char *tail)
{
    _cleanup_buf_ struct buf v = BUF_INIT;

    for (int i = 0; i < n; i++)
        cr_assert_eq(buf_adds(&v, piece), 0);
    cr_assert_eq(buf_adds(&v, tail), 0);
    return buf_detach(&v);
}

Test(dotenv, writer_hand_picked_values_read_back_for_dotenv_and_sh_and_nothing_runs)
{
    /* "@" stands for the canary's path: the value tries to create it */
    static const char *const picked[] = {
        "",
        "plain",
        "with spaces",
        "  leading",
        "trailing  ",
        " both ",
        "\t tab \t",
        "'",
        "\"",
        "`",
        "''",
        "\"\"",
        "``",
        "it's",
        "say \"hi\"",
        "a `b` c",
        "'\"",
        "'`",
        "\"`",
        "'\"`",
        "a'b\"c`d",
        "'quoted'",
        "\"quoted\"",
        "`quoted`",
        "'x\" y'",
        "$HOME",
        "${HOME}",
        "$(id)",
        "`id`",
        "$'x'",
        "$1 $@ $*",
        "a$",
        "$",
        "$(touch @)",
        "`touch @`",
        "'; touch @; '",
        "\"; touch @; \"",
        "$(touch @)'",
        "`touch @`'\"",
        "x'$(touch @)'\n",
        "\n$(touch @)\n",
        "'\n`touch @`\n\"",
        "%s%n$(touch @)",
        "\\",
        "\\\\",
        "a\\",
        "a\\'",
        "a\\\"",
        "C:\\Users\\new",
        "\\n",
        "\\r",
        "a\\nb",
        "\\\\n",
        "\\n'",
        "\\n\"",
        "\\n`",
        "\\'",
        "'\\",
        "\"\\",
        "`\\",
        "x'\\",
        "x\"\\",
        "x'\"\\",
        "x'\"`\\",
        "\n",
        "\n\n",
        "a\nb",
        "a\n",
        "\na",
        "a\nb'c",
        "a\n\"b\"\nc",
        "a\n'b'\n`c`",
        "line1\nINNER=evil\nexport X=1\nY: 2",
        "it's\nA=1\n'",
        "x\nARCA_DOTENV_K\ny",
        "ARCA_DOTENV_K",
        "x\nARCA_DOTENV_K\nARCA_DOTENV_K_1\ny'\"`",
        "\r",
        "a\rb",
        "a\r\nb",
        "\r\n",
        "it's\r",
        "a\"b\r",
        "a\\n\r",
        "'\"\r",
        "'\"`\r",
        "#",
        "a#b",
        "a #b",
        "# comment",
        "#'",
        "#\"",
        "#`",
        "'#\"`",
        "'#\"`\n",
        "'\"`#\\",
        "%",
        "%%",
        "%s",
        "%d%n",
        "-n",
        "-e",
        "--",
        "-n\n",
        "\xc3\xa9",
        "\xe3\x81\x93\xe3\x82\x93",
        "\xf0\x9f\x98\x80 smile",
        "\xc2\xa0nbsp\xc2\xa0",
        "\xef\xbb\xbf"
        "bom",
        "\xe3\x80\x80wide\xe3\x80\x80",
        "\xe2\x80\xa8",
        "a\xe2\x80\xa8"
        "b",
        "\xe2\x80\xa9",
        "a'\xe2\x80\xa8"
        "b",
        "a\"\xe2\x80\xa8"
        "b\"",
        "'\xe2\x80\xa8`\xe2\x80\xa8\"",
        " '\xe2\x80\xa8`\xe2\x80\xa8\"\xe2\x80\xa8 ",
        "x\xe2\x80\xa8K=v",
        "\xe2\x80\xa8'",
        "-----BEGIN PRIVATE "
        "KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
        "-----END PRIVATE KEY-----\n",
        "-----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIUQ\r\n-----END CERTIFICATE-----\r\n",
    };
    /* the shell's working directory is check_whole_file's, where it looks */
    static const char canary[] = "./canary";
    size_t n = ELEMENTSOF(picked) + 4;
    char **values = calloc(n, sizeof(*values));
    _cleanup_buf_ struct buf v = BUF_INIT;

    cr_assert_not_null(values);
    for (size_t i = 0; i < ELEMENTSOF(picked); i++) {
        buf_clear(&v);
        for (const char *p = picked[i]; *p; p++)
            cr_assert_eq(*p == '@' ? buf_adds(&v, canary) : buf_add(&v, p, 1), 0);
        values[i] = strdup(buf_str(&v));
    }
    values[n - 4] = repeated("x", 4096, "");
    values[n - 3] = repeated("'", 300, "");
    values[n - 2] = repeated("\\", 301, "");
    values[n - 1] = repeated("\n", 50, "x");
    for (size_t i = 0; i < n; i++)
        cr_assert_not_null(values[i]);
    cr_assert_gt(check_values(values, n), 0);
}

Test(dotenv, writer_refuses_exactly_what_dotenv_has_no_syntax_for)
{
    static const char *const impossible[] = {
        "'\"`#",
        "a'b\"c`d #e",
        "'\"`\n#",
        "x\r\\n'",
        "\\r\r'`",
        "'\"`\n\\n",
        " '\xe2\x80\xa8`\xe2\x80\xa8\"\xe2\x80\xa8 ", /* U+2028 ends a line after each quote */
    };
    static const char *const possible[] = {"'\"`\n",  "'\"`\r",  "'\"`",     "'\"\\`",
                                           "'\"`\\n", "\\'\"`#", "'\\\"`#\n"};

    for (size_t i = 0; i < ELEMENTSOF(impossible); i++)
        for (int style = DOTENV_PLAIN; style <= DOTENV_EXPORT; style++) {
            _cleanup_buf_ struct buf out = BUF_INIT;
            const char *reason = NULL;
            cr_assert_eq(dotenv_write(&out, "K", impossible[i], style, &reason), -EINVAL,
                         "should refuse %zu", i);
            cr_assert(strstr(reason, "dotenv has no syntax"), "%s", reason);
        }
    for (size_t i = 0; i < ELEMENTSOF(possible); i++)
        cr_assert(check_value(possible[i], DOTENV_PLAIN), "should write %zu", i);
}

Test(dotenv, writer_keys_are_names_of_at_most_255_bytes)
{
    static const char *const bad[] = {"", "1A", "A-B", "A.B", "A B", "\xc3\x89", "__proto__"};
    _cleanup_buf_ struct buf out = BUF_INIT;
    char key[258];

    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        cr_assert_eq(dotenv_write(&out, bad[i], "v", DOTENV_PLAIN, NULL), -EINVAL, "%zu", i);
    memset(key, 'x', 256);
    key[256] = 0;
    cr_assert_eq(dotenv_write(&out, key, "v", DOTENV_PLAIN, NULL), -EINVAL);
    key[255] = 0;
    cr_assert_eq(dotenv_write(&out, key, "v", DOTENV_PLAIN, NULL), 0);
    cr_assert_eq(dotenv_write(&out, "_ok", "v", DOTENV_PLAIN, NULL), 0);
    cr_assert_eq(dotenv_write(&out, "A1", "v", DOTENV_PLAIN, NULL), 0);
}

/* Every entry the reader returns, written again (when the writer can),
 * reads back as the same key and value (the fuzz target's property). */
static void check_entries_round_trip(const char *src, size_t len)
{
    _cleanup_dotenv_ struct dotenv d = DOTENV_INIT;

    cr_assert_eq(dotenv_parse(src, len, &d), 0, "%.*s", (int)len, src);
    for (size_t i = 0; i < d.n; i++) {
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(d.v[i].key, d.v[j].key, "a key twice");
        for (int style = DOTENV_PLAIN; style <= DOTENV_EXPORT; style++) {
            _cleanup_buf_ struct buf out = BUF_INIT;
            _cleanup_dotenv_ struct dotenv back = DOTENV_INIT;
            if (dotenv_write(&out, d.v[i].key, d.v[i].value, style, NULL) < 0)
                continue;
            cr_assert_eq(dotenv_parse(out.ptr, out.len, &back), 0);
            cr_assert_eq(back.n, 1);
            cr_assert_str_eq(back.v[0].key, d.v[i].key);
            cr_assert_str_eq(back.v[0].value, d.v[i].value);
        }
    }
}

Test(dotenv, reader_generated_files_give_entries_that_round_trip, .timeout = 60)
{
    static const char *const pieces[] = {
        "A",
        "B",
        "KEY",
        "export ",
        "export",
        "=",
        " = ",
        ":",
        ": ",
        "\n",
        "\r\n",
        "\r",
        " ",
        "\t",
        "'",
        "\"",
        "`",
        "\\",
        "\\'",
        "\\\"",
        "\\`",
        "\\n",
        "\\r",
        "#",
        " #",
        "x",
        "value",
        "$X",
        ".",
        "-",
        "\xe2\x80\xa8",
        "\xe2\x80\xa9",
        "\xc2\xa0",
        "\xef\xbb\xbf",
        "\xc3\xa9",
        "\xf0\x9f\x98\x80",
        "\xe3\x80\x80",
        "\x0b",
        "\x0c",
        "==",
    };
    struct rng r = {20261129};
    _cleanup_buf_ struct buf text = BUF_INIT;

    for (int i = 0; i < 3000; i++) {
        rng_text(&r, pieces, ELEMENTSOF(pieces), 40, true, &text);
        check_entries_round_trip(text.ptr, text.len);
    }
}

Test(dotenv, reader_corpus_files_give_entries_that_round_trip)
{
    static const char *const files[] = {
        "backslashes",
        "basic",
        "comments",
        "cr_only",
        "crlf",
        "duplicates",
        "empty",
        "export",
        "garbage",
        "line_separators",
        "mixed_eol",
        "multiline",
        "no_trailing_newline",
        "only_comments",
        "pem",
        "quotes",
        "tricky_empty",
        "unicode",
        "unterminated",
        "whitespace",
        "writer_output",
    };
    char path[512], chunk[4096];

    for (size_t i = 0; i < ELEMENTSOF(files); i++) {
        _cleanup_buf_ struct buf b = BUF_INIT;
        size_t n;
        FILE *f;
        snprintf(path, sizeof(path), SOURCE_ROOT "/tests/dotenv/%s.env", files[i]);
        f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            cr_assert_eq(buf_add(&b, chunk, n), 0);
        fclose(f);
        check_entries_round_trip(b.ptr ? b.ptr : "", b.len);
    }
}
