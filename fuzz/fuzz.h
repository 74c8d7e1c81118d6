/* fuzz.h - shared by the libFuzzer targets of this folder (see
 * docs/internals/fuzzing.md): the input as C strings, and a check that aborts
 * (so that libFuzzer keeps the input as a crash) when a property fails. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* <data, size> as a NUL-terminated string (cut at the first NUL, as a C string
 * would be).  Free with free(). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* Splits s at its first '\n' into two strings: s (before) and the returned
 * rest ("" without a '\n'). */
static inline char *fuzz_split(char *s)
{
    char *nl = strchr(s, '\n');

    if (!nl)
        return s + strlen(s);
    *nl = 0;
    return nl + 1;
}
