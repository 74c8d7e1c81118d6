/* test_dotenv.c - the .env reader (dotenv's rules) and writer (dotenv + sh).
 * The cross-checks against the real npm dotenv and /bin/sh live in
 * tests/e2e/dotenv.test.mjs; these pin the behaviour in C. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
