/* test_http_fail.c - http_fail_store: a store call's errno through the one
 * errno table; the store failing is a 503 whose body says only that the
 * database is unavailable (the details go to the log: what failed, the errno
 * and the store's text of this thread's call). */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "base/log.h"
#include "server/http.h"
#include "store/store_sql.h"

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

/* The log line of one http_fail_store, with the store's text set as a
 * failing call of this thread would have set it. */
static void logged(int ret, const char *store_text, char *line, size_t size)
{
    struct req r = {.path = "/api/test", .req_id = "req-test"};
    FILE *f = tmpfile();
    size_t n;

    cr_assert_not_null(f);
    log_set_fd(fileno(f));
    sql_set_err(NULL, "%s", store_text);
    http_fail_store(&r, ret, "store failure reading a user");
    log_set_fd(2);
    rewind(f);
    n = fread(line, 1, size - 1, f);
    line[n] = 0;
    fclose(f);
    buf_release(&r.reply);
}

Test(http_fail_store, the_log_line_of_a_5xx_has_the_stores_text)
{
    char line[1024];

    logged(-EIO, "postgres: user by id: terminating connection (SQLSTATE 57P01)\nDETAIL: x", line,
           sizeof(line));
    cr_expect(strstr(line, "store failure reading a user (-5): postgres: user by id: terminating "
                           "connection (SQLSTATE 57P01)"),
              "%s", line);
    cr_expect_null(strstr(line, "DETAIL"), "only the first line: %s", line);
    cr_expect(strstr(line, "req-test"), "%s", line);

    logged(-ENOENT, "sqlite: something", line, sizeof(line));
    cr_expect_str_eq(line, "", "a client's error is not logged as a failure");
}
