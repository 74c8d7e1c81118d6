/* fuzz_dotenv.c - dotenv_parse (arca import, .env files) and dotenv_write
 * (arca export).  Properties: parsing ends without a sanitizer report; values
 * hold no NUL; and an entry the writer accepts reads back as exactly the same
 * key and value (the writer's promise, docs/cli.md). */
#include <errno.h>

#include "base/buf.h"
#include "base/dotenv.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dotenv d = DOTENV_INIT;
    int r = dotenv_parse((const char *)data, size, &d);

    FUZZ_CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
    for (size_t i = 0; r == 0 && i < d.n; i++) {
        struct buf out = BUF_INIT;
        struct dotenv back = DOTENV_INIT;

        FUZZ_CHECK(d.v[i].key && d.v[i].value);
        for (enum dotenv_style st = DOTENV_PLAIN; st <= DOTENV_EXPORT; st++) {
            buf_clear(&out);
            if (dotenv_write(&out, d.v[i].key, d.v[i].value, st, NULL) != 0)
                continue;
            FUZZ_CHECK(dotenv_parse(out.ptr, out.len, &back) == 0);
            FUZZ_CHECK(back.n == 1);
            FUZZ_CHECK(strcmp(back.v[0].key, d.v[i].key) == 0);
            FUZZ_CHECK(strcmp(back.v[0].value, d.v[i].value) == 0);
            dotenv_release(&back);
        }
        buf_release(&out);
    }
    dotenv_release(&d);
    return 0;
}
