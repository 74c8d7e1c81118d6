/* test_log.c - JSON-lines logging: fields, escaping, levels, whole lines under threads. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"

static int pipe_fd[2];

static void setup(void)
{
    cr_assert_eq(pipe(pipe_fd), 0);
    log_set_fd(pipe_fd[1]);
    log_set_level(LOG_INFO);
}

static void teardown(void)
{
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

/* Everything logged so far (closes the write end). */
static void drain(struct buf *out)
{
    char chunk[4096];
    ssize_t n;

    close(pipe_fd[1]);
    pipe_fd[1] = -1;
    while ((n = read(pipe_fd[0], chunk, sizeof(chunk))) > 0)
        cr_assert_eq(buf_add(out, chunk, (size_t)n), 0);
}

static json_t *one_line(struct buf *all)
{
    json_error_t e;
    json_t *o;
    char *nl = strchr(all->ptr, '\n');

    cr_assert_not_null(nl, "no newline");
    cr_assert_eq((size_t)(nl - all->ptr) + 1, all->len, "more than one line: %s", all->ptr);
    o = json_loadb(all->ptr, all->len - 1, 0, &e);
    cr_assert_not_null(o, "not JSON: %s", all->ptr);
    return o;
}

static bool iso_time(const char *s)
{
    /* 2026-11-29T10:00:00.000Z */
    if (strlen(s) != 24)
        return false;
    for (int i = 0; i < 24; i++) {
        char c = s[i];
        bool digit = c >= '0' && c <= '9';
        if ((i == 4 || i == 7)     ? c != '-'
            : i == 10              ? c != 'T'
            : (i == 13 || i == 16) ? c != ':'
            : i == 19              ? c != '.'
            : i == 23              ? c != 'Z'
                                   : !digit)
            return false;
    }
    return true;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, info_line_has_time_level_msg_and_fields)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_info("server started", "listen", "127.0.0.1:8200", "dataDir", "/srv/arca", NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert(iso_time(json_string_value(json_object_get(o, "time"))));
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "info");
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "server started");
    cr_assert_str_eq(json_string_value(json_object_get(o, "listen")), "127.0.0.1:8200");
    cr_assert_str_eq(json_string_value(json_object_get(o, "dataDir")), "/srv/arca");
    cr_assert_eq(json_object_size(o), 5);
    /* fixed field order: time first */
    cr_assert(strncmp(all.ptr, "{\"time\":\"", 9) == 0, "%s", all.ptr);
    json_decref(o);
}

Test(log, escapes_quotes_newlines_and_control_characters)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    const char *nasty = "a\"b\\c\nd\re\tf\x01g</script>";
    json_t *o;

    log_warn("bad \"input\"\n", "path", nasty, NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "warn");
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "bad \"input\"\n");
    cr_assert_str_eq(json_string_value(json_object_get(o, "path")), nasty);
    json_decref(o);
}

Test(log, invalid_utf8_still_gives_valid_json)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_error("x", "name", "caf\xe9", "null", NULL, NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "name")), "caf\xef\xbf\xbd");
    cr_assert(json_is_null(json_object_get(o, "null")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "error");
    json_decref(o);
}

Test(log, fixed_fields_cannot_be_overridden)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_info("real", "msg", "fake", "level", "error", "time", "0", NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "real");
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "info");
    cr_assert(iso_time(json_string_value(json_object_get(o, "time"))));
    json_decref(o);
}

Test(log, level_filter)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_debug("hidden at info", NULL);
    log_set_level(LOG_WARN);
    log_info("hidden at warn", NULL);
    log_request(LOG_INFO, "r1", "GET", "/", 200, 5, "127.0.0.1");
    log_request(LOG_DEBUG, "probe", "GET", "/api/ready", 200, 5, "127.0.0.1");
    log_error("shown", NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "shown");
    json_decref(o);
}

Test(log, debug_when_enabled)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_set_level(LOG_DEBUG);
    log_debug("dbg", NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "debug");
    json_decref(o);
}

Test(log, request_line)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_request(LOG_INFO, "req-1", "POST", "/api/v3/secrets/raw/KEY", 201, 1234, "10.0.0.1:5555");
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "msg")), "request");
    cr_assert_str_eq(json_string_value(json_object_get(o, "level")), "info");
    cr_assert_str_eq(json_string_value(json_object_get(o, "reqId")), "req-1");
    cr_assert_str_eq(json_string_value(json_object_get(o, "method")), "POST");
    cr_assert_str_eq(json_string_value(json_object_get(o, "path")), "/api/v3/secrets/raw/KEY");
    cr_assert(json_is_integer(json_object_get(o, "status")));
    cr_assert_eq(json_integer_value(json_object_get(o, "status")), 201);
    cr_assert_eq(json_integer_value(json_object_get(o, "durationUs")), 1234);
    cr_assert_str_eq(json_string_value(json_object_get(o, "remote")), "10.0.0.1:5555");
    json_decref(o);
}

/* The request line is built without a jansson object: its strings must still
 * come out escaped, invalid UTF-8 repaired, and a missing one as null. */
Test(log, request_line_escapes_what_the_client_sent)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    json_t *o;

    log_request(LOG_INFO, "req-2", "GE\"T", "/a\"b\\c\n\x01\xff/\xe2\x82", 404, -1, NULL);
    drain(&all);
    o = one_line(&all);
    cr_assert_str_eq(json_string_value(json_object_get(o, "method")), "GE\"T");
    cr_assert_str_eq(json_string_value(json_object_get(o, "path")),
                     "/a\"b\\c\n\x01\xef\xbf\xbd/\xef\xbf\xbd\xef\xbf\xbd");
    cr_assert_eq(json_integer_value(json_object_get(o, "status")), 404);
    cr_assert_eq(json_integer_value(json_object_get(o, "durationUs")), -1);
    cr_assert(json_is_null(json_object_get(o, "remote")));
    cr_assert_eq(json_object_size(o), 9);
    json_decref(o);
}

static void *logger(void *arg)
{
    char id[16];

    snprintf(id, sizeof(id), "t%ld", (long)(intptr_t)arg);
    for (int i = 0; i < 200; i++)
        log_info("from a thread", "thread", id, "pad",
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
    return NULL;
}

static void *reader(void *arg)
{
    drain(arg);
    return NULL;
}

Test(log, concurrent_lines_stay_whole)
{
    _cleanup_buf_ struct buf all = BUF_INIT;
    pthread_t t[4], r;
    size_t lines = 0;
    int wfd = pipe_fd[1];

    /* read while writing: the pipe buffer is smaller than the output */
    pipe_fd[1] = dup(wfd);
    log_set_fd(wfd);
    cr_assert_eq(pthread_create(&r, NULL, reader, &all), 0);
    for (long i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, logger, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    close(wfd);
    pthread_join(r, NULL);

    for (char *p = all.ptr, *nl; p && (nl = strchr(p, '\n')); p = nl + 1) {
        json_error_t e;
        json_t *o = json_loadb(p, (size_t)(nl - p), 0, &e);
        cr_assert_not_null(o, "torn line");
        json_decref(o);
        lines++;
    }
    cr_assert_eq(lines, 800);
}
