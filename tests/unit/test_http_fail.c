/* test_http_fail.c - http_fail_store: a store call's errno through the one
 * errno table; the store failing is a 503 whose body says only that the
 * database is unavailable (the details go to the log). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "server/http.h"

static unsigned fail(int ret, char *message, size_t size)
{
    struct req r = {.path = "/api/test", .req_id = "req-test"};
    json_t *body;

    http_fail_store(&r, ret, "store failure reading a user");
    body = json_loads(buf_str(&r.reply), 0, NULL);
    cr_assert_not_null(body, "%s", buf_str(&r.reply));
    snprintf(message, size, "%s", json_string_value(json_object_get(body, "message")));
    cr_expect_eq(json_integer_value(json_object_get(body, "statusCode")), r.status);
    json_decref(body);
    buf_release(&r.reply);
    return r.status;
}

Test(http_fail_store, the_store_failing_is_503_with_the_outage_body_only)
{
    static const int errs[] = {-EIO, -EAGAIN, -EBUSY, -ENOMEM, -ECONNREFUSED, -EKEYREJECTED};
    char msg[256];

    for (size_t i = 0; i < sizeof(errs) / sizeof(*errs); i++) {
        cr_expect_eq(fail(errs[i], msg, sizeof(msg)), 503, "errno %d", errs[i]);
        cr_expect_str_eq(msg, "the database is unavailable", "errno %d", errs[i]);
    }
}

Test(http_fail_store, a_client_error_takes_the_table_status_and_says_what_it_means)
{
    char msg[256];

    cr_expect_eq(fail(-ENOENT, msg, sizeof(msg)), 404);
    cr_expect_str_eq(msg, "store failure reading a user: not found");
    cr_expect_eq(fail(-EEXIST, msg, sizeof(msg)), 409);
    cr_expect_str_eq(msg, "store failure reading a user: already exists");
    cr_expect_eq(fail(-EINVAL, msg, sizeof(msg)), 400);
    cr_expect_eq(fail(-E2BIG, msg, sizeof(msg)), 413);
    cr_expect_eq(fail(-EACCES, msg, sizeof(msg)), 403);
}
