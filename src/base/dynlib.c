/* dynlib.c - load a shared library on first use: see dynlib.h.
 *
 * Double-checked: an acquire load of lib->loaded, then under one process-wide
 * mutex dlopen and dlsym of each name (all of them now, so that a missing one
 * is found at once), published by a release store.  RTLD_LAZY binds the
 * library's own calls as the dynamic linker binds a linked one (RTLD_NOW made
 * the CLI's first HTTP request cost about 8 ms more CPU).  The handle is never
 * closed: the library stays for the life of the process, as a linked one
 * would. */
#include "base/dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t dynlib_lock = PTHREAD_MUTEX_INITIALIZER;

static void dynlib_die(const struct dynlib *lib, const char *what)
{
    const char *why = dlerror();

    fprintf(stderr, "arca: cannot load %s%s%s: %s\n", lib->soname, what ? ", symbol " : "",
            what ? what : "", why ? why : "not found");
    _exit(127);
}

void dynlib_need(struct dynlib *lib)
{
    void *h;

    if (__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&dynlib_lock);
    if (!lib->loaded) {
        h = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
        if (!h)
            dynlib_die(lib, NULL);
        for (size_t i = 0; i < lib->n; i++) {
            lib->fns[i] = dlsym(h, lib->names[i]);
            if (!lib->fns[i])
                dynlib_die(lib, lib->names[i]);
        }
        __atomic_store_n(&lib->loaded, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&dynlib_lock);
}
