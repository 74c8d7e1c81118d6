/* glob.c - folder-path globs for permission rules.
 *
 * The glob and the path are first split into segments (both at most
 * NAME_PATH_DEPTH of them).  Within one segment, '*' and '?' are matched by the
 * classic iterative algorithm that only remembers the last '*' (quadratic at
 * worst, never exponential).  Across segments, "**" is resolved by dynamic
 * programming over a (glob segment, path segment) table filled from the end,
 * so each pair of segments is compared at most once: the whole match costs at
 * most O(|glob| * |path|) character steps. */
#include "glob.h"

#include <string.h>

#include "names.h"

struct seg {
    const char *s; /* BORROWED from the glob or path */
    size_t n;      /* bytes, without any '/' */
};

/* Splits an absolute path (or glob) into segments.  A trailing '/' is ignored;
 * "/" has no segments.  False when not absolute, too long or too deep, or on an
 * empty segment ("//"). */
static bool split(const char *p, struct seg segs[static NAME_PATH_DEPTH], size_t *ret_n)
{
    size_t n = 0;

    if (!p || p[0] != '/' || strnlen(p, NAME_PATH_MAX + 1) > NAME_PATH_MAX)
        return false;
    for (p++; *p;) {
        const char *start = p;

        while (*p && *p != '/')
            p++;
        if (p == start || n == NAME_PATH_DEPTH)
            return false;
        segs[n].s = start;
        segs[n].n = (size_t)(p - start);
        n++;
        if (*p == '/')
            p++;
    }
    *ret_n = n;
    return true;
}

static bool is_glob_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '*' || c == '?';
}

static bool is_globstar(const struct seg *g)
{
    return g->n == 2 && g->s[0] == '*' && g->s[1] == '*';
}

static bool seg_valid(const struct seg *g)
{
    if ((g->n == 1 && g->s[0] == '.') || (g->n == 2 && g->s[0] == '.' && g->s[1] == '.'))
        return false;
    for (size_t i = 0; i < g->n; i++) {
        if (!is_glob_char(g->s[i]))
            return false;
        if (g->s[i] == '*' && i + 1 < g->n && g->s[i + 1] == '*' && !is_globstar(g))
            return false;
    }
    return true;
}

bool glob_valid(const char *glob)
{
    struct seg segs[NAME_PATH_DEPTH];
    size_t n;

    if (!split(glob, segs, &n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!seg_valid(&segs[i]))
            return false;
    return true;
}

/* One segment against one pattern segment of '*', '?' and literals.  On a
 * mismatch after a '*', the '*' takes one more character and matching resumes
 * just after it: earlier stars never need revisiting. */
static bool seg_match(const struct seg *pat, const struct seg *txt)
{
    size_t pi = 0, ti = 0, star_pi = 0, star_ti = 0;
    bool star = false;

    while (ti < txt->n) {
        if (pi < pat->n && (pat->s[pi] == '?' || pat->s[pi] == txt->s[ti])) {
            pi++;
            ti++;
        } else if (pi < pat->n && pat->s[pi] == '*') {
            star = true;
            star_pi = pi++;
            star_ti = ti;
        } else if (star) {
            pi = star_pi + 1;
            ti = ++star_ti;
        } else {
            return false;
        }
    }
    while (pi < pat->n && pat->s[pi] == '*')
        pi++;
    return pi == pat->n;
}

bool glob_match(const char *glob, const char *path)
{
    struct seg g[NAME_PATH_DEPTH], p[NAME_PATH_DEPTH];
    /* m[i][j]: glob segments i.. match path segments j.. */
    bool m[NAME_PATH_DEPTH + 1][NAME_PATH_DEPTH + 1];
    size_t ng, np;

    if (!glob_valid(glob) || !split(glob, g, &ng) || !split(path, p, &np))
        return false;

    for (size_t j = 0; j <= np; j++)
        m[ng][j] = j == np;
    for (size_t i = ng; i-- > 0;) {
        bool star = is_globstar(&g[i]);

        m[i][np] = star && m[i + 1][np];
        for (size_t j = np; j-- > 0;) {
            if (star)
                m[i][j] = m[i + 1][j] || m[i][j + 1];
            else
                m[i][j] = m[i + 1][j + 1] && seg_match(&g[i], &p[j]);
        }
    }
    return m[0][0];
}
