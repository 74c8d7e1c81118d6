/* curl_lazy.c - libcurl's functions that transport.c calls, as forwarders that
 * load libcurl.so.4 on the first call (base/dynlib.h says why): the arca
 * binary does not link libcurl, so `arca server` never maps it and its twenty
 * dependencies.  Each forwarder has libcurl's own prototype (curl/curl.h), so
 * the compiler checks every one; a function transport.c starts to use must be
 * added to CURL_FUNCS, or the link fails.  The installed libarca.so links
 * libcurl as usual and does not contain this file.
 *
 * curl_easy_setopt and curl_easy_getinfo take one variadic argument whose type
 * the option number says (curl.h's CURLOPTTYPE_* ranges; getinfo's is always
 * a pointer): it is read with that type and passed on. */
#define CURL_DISABLE_TYPECHECK /* its macros would rename the definitions below */
#include <curl/curl.h>
#include <stdarg.h>

#include "base/dynlib.h"
#include "base/util.h"

/* X(return type, name, (parameters), (arguments)); V() for void functions. */
#define CURL_FUNCS(X, V)                                                                           \
    V(curl_easy_cleanup, (CURL * curl), (curl))                                                    \
    X(char *, curl_easy_escape, (CURL * curl, const char *s, int len), (curl, s, len))             \
    X(CURL *, curl_easy_init, (void), ())                                                          \
    X(CURLcode, curl_easy_perform, (CURL * curl), (curl))                                          \
    X(const char *, curl_easy_strerror, (CURLcode code), (code))                                   \
    V(curl_free, (void *p), (p))                                                                   \
    X(struct curl_slist *, curl_slist_append, (struct curl_slist * list, const char *data),        \
      (list, data))                                                                                \
    V(curl_slist_free_all, (struct curl_slist * list), (list))                                     \
    X(CURLU *, curl_url, (void), ())                                                               \
    V(curl_url_cleanup, (CURLU * url), (url))                                                      \
    X(CURLUcode, curl_url_get, (CURLU * url, CURLUPart what, char **part, unsigned int flags),     \
      (url, what, part, flags))                                                                    \
    X(CURLUcode, curl_url_set,                                                                     \
      (CURLU * url, CURLUPart what, const char *part, unsigned int flags),                         \
      (url, what, part, flags))

enum { CURL_FUNCS(DYNLIB_ENUM, DYNLIB_ENUM_V) FN_curl_easy_setopt, FN_curl_easy_getinfo, N_FNS };

static const char *const curl_names[] = {CURL_FUNCS(DYNLIB_NAME, DYNLIB_NAME_V) "curl_easy_setopt",
                                         "curl_easy_getinfo"};
static void *curl_fns[N_FNS];
static struct dynlib curl_lib = {"libcurl.so.4", curl_names, ELEMENTSOF(curl_names), curl_fns,
                                 false};

#define CURL_FORWARD(ret, name, params, args) DYNLIB_FORWARD(curl_lib, ret, name, params, args)
#define CURL_FORWARD_V(name, params, args) DYNLIB_FORWARD_V(curl_lib, name, params, args)
CURL_FUNCS(CURL_FORWARD, CURL_FORWARD_V)

/* Calls the variadic function fn as fn(curl, what, the one argument of ap),
 * that argument read as a long ('l'), a curl_off_t ('o') or a pointer. */
static CURLcode forward_va(size_t fn, CURL *curl, int what, char type, va_list ap)
{
    CURLcode (*f)(CURL *, int, ...);

    dynlib_need(&curl_lib);
    f = (CURLcode(*)(CURL *, int, ...))curl_fns[fn];
    if (type == 'l')
        return f(curl, what, va_arg(ap, long));
    if (type == 'o')
        return f(curl, what, va_arg(ap, curl_off_t));
    return f(curl, what, va_arg(ap, void *));
}

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    char type = option < CURLOPTTYPE_OBJECTPOINT                           ? 'l'
                : option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB ? 'o'
                                                                           : 'p';
    CURLcode rc;
    va_list ap;

    va_start(ap, option);
    rc = forward_va(FN_curl_easy_setopt, curl, (int)option, type, ap);
    va_end(ap);
    return rc;
}

/* its argument is always a pointer (to where the answer goes) */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    CURLcode rc;
    va_list ap;

    va_start(ap, info);
    rc = forward_va(FN_curl_easy_getinfo, curl, (int)info, 'p', ap);
    va_end(ap);
    return rc;
}
