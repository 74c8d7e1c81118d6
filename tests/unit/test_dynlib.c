/* test_dynlib.c - a library loaded on first use: its symbols resolve once and
 * work; a missing library or symbol ends the process with 127, as the dynamic
 * linker does. */
#include <criterion/criterion.h>

#include "base/dynlib.h"
#include "base/util.h"

static const char *const z_names[] = {"zlibVersion", "crc32"};

Test(dynlib, loads_once_and_calls_through)
{
    static void *fns[2];
    static struct dynlib lib = {"libz.so.1", z_names, ELEMENTSOF(z_names), fns, false};
    unsigned long (*crc)(unsigned long, const unsigned char *, unsigned);

    dynlib_need(&lib);
    cr_assert(lib.loaded);
    void *first = fns[1];
    dynlib_need(&lib); /* again: nothing changes */
    cr_assert_eq(fns[1], first);
    crc = (unsigned long (*)(unsigned long, const unsigned char *, unsigned))fns[1];
    cr_assert_eq(crc(0, (const unsigned char *)"123456789", 9), 0xcbf43926ul); /* CRC-32 check */
}

Test(dynlib, missing_library_exits_127, .exit_code = 127)
{
    static void *fns[1];
    static struct dynlib lib = {"libarca-no-such-library.so.9", z_names, 1, fns, false};

    dynlib_need(&lib);
}

Test(dynlib, missing_symbol_exits_127, .exit_code = 127)
{
    static const char *const names[] = {"zlibVersion", "no_such_symbol_in_zlib"};
    static void *fns[2];
    static struct dynlib lib = {"libz.so.1", names, ELEMENTSOF(names), fns, false};

    dynlib_need(&lib);
}
