/* web.h - the web app's files, embedded at build time (gen_web.py), and how
 * the server answers for them.
 *
 * The app is served on the API's origin: a GET or HEAD that no API route
 * matches and that is not under /api/ is the app's (web_route).  A known file
 * is answered as it is; an unknown path outside /assets/ gets index.html, so
 * the app's own routes (/projects/..., /signup) load it.  http.c sends the
 * bytes with web_headers, the file's ETag and caching: content-hashed files
 * (assets/) immutable for a year, the rest revalidated each time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct req;

struct web_asset {
    const char *path; /* "/index.html", "/assets/index-AbC123.js" */
    const char *type; /* Content-Type */
    const char *body; /* the bytes */
    size_t len;       /* of body */
    const char *gz;   /* their gzip, NULL when it would not be smaller */
    size_t gz_len;    /* of gz */
    const char *etag; /* strong ETag, quoted */
    bool immutable;   /* content-hashed name: cache for a year */
};

/* The build's files (generated web_assets.c), a NULL path after the last;
 * none with -Dweb=disabled. */
extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

/* Headers on every reply of the app: CSP, framing, referrer, sniffing. */
struct web_header {
    const char *name;
    const char *value;
};
extern const struct web_header web_headers[];

/* The asset at path, or NULL. */
const struct web_asset *web_find(const char *path);

/* Whether r (which no API route matched) is the app's: then r->asset is set
 * (r->status 200, or 304 for a matching If-None-Match) or an error replied,
 * and true is returned. */
bool web_route(struct req *r);

/* Whether the binary carries the app. */
bool web_built_in(void);
