/* web.c - which embedded file answers a request for the web app, and the
 * security headers it goes out with (web.h).  http.c sends it: this file knows
 * nothing of libmicrohttpd. */
#include "web.h"

#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "http.h"

/* The app loads only its own files; libsodium's WebAssembly needs
 * 'wasm-unsafe-eval' (not 'unsafe-eval'); no inline script or style. */
const struct web_header web_headers[] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
     "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
     "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Content-Type-Options", "nosniff"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
    {NULL, NULL},
};

bool web_built_in(void)
{
    return web_n_assets > 0;
}

const struct web_asset *web_find(const char *path)
{
    for (size_t i = 0; i < web_n_assets; i++)
        if (streq(web_assets[i].path, path))
            return &web_assets[i];
    return NULL;
}

/* An If-None-Match list holding etag (or "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    if (!inm)
        return false;
    if (streq(inm, "*"))
        return true;
    for (const char *p = inm; (p = strstr(p, etag)); p += n)
        if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
            (p[n] == 0 || p[n] == ',' || p[n] == ' '))
            return true;
    return false;
}

bool web_route(struct req *r)
{
    const struct web_asset *a;

    if (!streq(r->method, "GET") && !streq(r->method, "HEAD"))
        return false;
    /* the API's paths, and /metrics: a scraper pointed at the API's address gets
     * a 404, not the app's page (metrics have a listener of their own) */
    if (streq(r->path, "/api") || startswith(r->path, "/api/") || streq(r->path, "/metrics"))
        return false;
    if (!web_built_in()) {
        if (!streq(r->path, "/"))
            return false;
        http_fail(r, 404,
                  "this arca server was built without the web app (-Dweb=disabled): "
                  "use the arca CLI or the API");
        return true;
    }
    a = streq(r->path, "/") ? web_find("/index.html") : web_find(r->path);
    if (!a) {
        /* a missing hashed file is a 404, never the app in its place */
        if (startswith(r->path, "/assets/") || strchr(strrchr(r->path, '/'), '.'))
            return false;
        a = web_find("/index.html");
    }
    r->asset = a;
    r->status = etag_matches(req_header(r, "If-None-Match"), a->etag) ? 304 : 200;
    return true;
}
