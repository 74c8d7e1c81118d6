/* fuzz_dotenv.c - dotenv_parse (arca import, .env files) and dotenv_write
 * (arca export).  Properties: parsing ends without a sanitizer report; values
 * hold no NUL; an entry the writer accepts reads back as exactly the same key
 * and value (the writer's promise, docs/cli.md), for the entries of the input
 * read as a file and for the input itself as a value.  The generated-input
 * property tests are tests/unit/test_dotenv.c's. */
#include <errno.h>

#include "base/buf.h"
#include "base/dotenv.h"
#include "fuzz.h"

/* key=value written in both styles reads back as itself, or the writer
 * refuses it (-EINVAL: no syntax for it, not UTF-8, not a name; -E2BIG). */
static void round_trip(const char *key, const char *value)
{
    struct buf out = BUF_INIT;
    struct dotenv back = DOTENV_INIT;

    for (enum dotenv_style st = DOTENV_PLAIN; st <= DOTENV_EXPORT; st++) {
        int r;
        buf_clear(&out);
        r = dotenv_write(&out, key, value, st, NULL);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
        if (r != 0)
            continue;
        FUZZ_CHECK(dotenv_parse(out.ptr, out.len, &back) == 0);
        FUZZ_CHECK(back.n == 1);
        FUZZ_CHECK(strcmp(back.v[0].key, key) == 0);
        FUZZ_CHECK(strcmp(back.v[0].value, value) == 0);
        dotenv_release(&back);
    }
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dotenv d = DOTENV_INIT;
    int r = dotenv_parse((const char *)data, size, &d);
    char *value;

    FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
    for (size_t i = 0; r == 0 && i < d.n; i++) {
        FUZZ_CHECK(d.v[i].key && d.v[i].value);
        round_trip(d.v[i].key, d.v[i].value);
    }
    dotenv_release(&d);
    value = fuzz_cstr(data, size);
    round_trip("K", value);
    free(value);
    return 0;
}
