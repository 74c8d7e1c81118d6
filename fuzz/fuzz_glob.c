/* fuzz_glob.c - glob_valid and glob_match, the folder patterns of roles and
 * service-token scopes.  Input: "<glob>\n<path>".  Properties: matching ends
 * (the fuzzer's timeout catches blow-ups) and agrees with the obvious cases:
 * a canonical path is a glob matching itself, "/" "**" matches every path, and a
 * glob without wildcards matches exactly its own canonical path. */
#include <stdbool.h>

#include "base/glob.h"
#include "base/names.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *glob = fuzz_cstr(data, size);
    char *path = fuzz_split(glob);
    char canon[NAME_PATH_MAX + 1], gcanon[NAME_PATH_MAX + 1];
    bool valid = glob_valid(glob);
    bool match = glob_match(glob, path);

    if (name_path_normalize(path, canon, sizeof(canon)) == 0) {
        FUZZ_CHECK(glob_valid(canon) && glob_match(canon, canon));
        FUZZ_CHECK(glob_match("/**", canon));
        if (valid && !strpbrk(glob, "*?") && name_path_normalize(glob, gcanon, sizeof(gcanon)) == 0)
            FUZZ_CHECK(glob_match(glob, canon) == (strcmp(gcanon, canon) == 0));
    }
    (void)match;
    free(glob);
    return 0;
}
