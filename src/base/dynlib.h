/* dynlib.h - a shared library loaded on its first use, not at start-up.
 *
 * libcurl (the client) and libpq (the PostgreSQL store) bring some twenty
 * libraries of their own (OpenSSL, Kerberos, LDAP, SSH ...).  Linked as usual,
 * every start of the binary maps and relocates all of them: about half of
 * `arca server`'s start-up time and 3.4 MB of its idle RSS, though most
 * commands need one of them and the server on SQLite neither.  libmicrohttpd
 * (the server) brings GnuTLS, whose constructors cost every command about 2 ms
 * of CPU.  So the modules that use them define the few functions they call as
 * forwarders (see src/client/curl_lazy.c, src/store/pq_lazy.c,
 * src/server/mhd_lazy.c) that load the library on the first call, and the
 * binary does not link it.  The installed libarca.so
 * still links libcurl the usual way.
 *
 * Usage: a static struct dynlib naming the library and its symbols, and an
 * array of as many pointers; each forwarder calls dynlib_need() and then
 * calls through its pointer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct dynlib {
    const char *soname;       /* "libpq.so.5": the name the linker would have recorded */
    const char *const *names; /* the symbols to resolve, n of them */
    size_t n;
    void **fns;  /* n addresses, filled by dynlib_need */
    bool loaded; /* fns are set (read and written atomically) */
};

/* Loads lib and resolves all its symbols, once, thread-safely; then returns at
 * the cost of one atomic load.  When the library or one of its symbols cannot
 * be found, prints why on stderr and ends the process with 127, as the dynamic
 * linker does for a missing library at start-up (there is no caller that could
 * go on without it). */
void dynlib_need(struct dynlib *lib);

/* For a list of functions written as X(return type, name, (parameters),
 * (arguments)), or V(name, (parameters), (arguments)) for a void one:
 * DYNLIB_ENUM gives FN_<name> indices, DYNLIB_NAME the names as strings, and
 * DYNLIB_FORWARD/_V define each function as a forwarder through lib's fns. */
#define DYNLIB_ENUM(ret, name, params, args) FN_##name,
#define DYNLIB_ENUM_V(name, params, args) FN_##name,
#define DYNLIB_NAME(ret, name, params, args) #name,
#define DYNLIB_NAME_V(name, params, args) #name,
#define DYNLIB_FORWARD(lib, ret, name, params, args)                                               \
    ret name params                                                                                \
    {                                                                                              \
        dynlib_need(&(lib));                                                                       \
        return ((ret(*) params)(lib).fns[FN_##name])args;                                          \
    }
#define DYNLIB_FORWARD_V(lib, name, params, args)                                                  \
    void name params                                                                               \
    {                                                                                              \
        dynlib_need(&(lib));                                                                       \
        ((void(*) params)(lib).fns[FN_##name]) args;                                               \
    }
