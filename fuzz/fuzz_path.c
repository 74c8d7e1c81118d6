/* fuzz_path.c - name_path_normalize, the folder-path normaliser every
 * secretPath of a request and every path of the client goes through.
 * Properties: a path it accepts is canonical (absolute, no empty, "." or ".."
 * segment, no trailing '/', within the limits) and normalising it again gives
 * it back unchanged. */
#include <errno.h>

#include "base/names.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    char out[NAME_PATH_MAX + 1], again[NAME_PATH_MAX + 1];
    int r = name_path_normalize(in, out, sizeof(out));

    FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
    if (r == 0) {
        size_t n = strlen(out), depth = 0;

        FUZZ_CHECK(out[0] == '/' && n <= NAME_PATH_MAX);
        FUZZ_CHECK(n == 1 || out[n - 1] != '/');
        FUZZ_CHECK(!strstr(out, "//") && !strstr(out, "/./") && !strstr(out, "/../"));
        FUZZ_CHECK(strcmp(out + (n >= 2 ? n - 2 : 0), "/.") != 0);
        FUZZ_CHECK(n < 3 || strcmp(out + n - 3, "/..") != 0);
        for (const char *p = out; *p; p++)
            depth += *p == '/' && p[1];
        FUZZ_CHECK(depth <= NAME_PATH_DEPTH);
        FUZZ_CHECK(name_path_normalize(out, again, sizeof(again)) == 0);
        FUZZ_CHECK(strcmp(out, again) == 0);
    }
    free(in);
    return 0;
}
