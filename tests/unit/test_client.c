/* test_client.c - src/client: what libarca does without a server: API URL
 * normalisation, the saved session (round trip, file and directory modes,
 * refusal of a readable file, another server's session), an unreachable
 * server, and the checks that refuse bad input before any request is sent.
 * The flows against a real server are in tests/e2e. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arca.h"
#include "client/client.h"
#include "crypto/seal.h"

static char tmpdir[64];

static void setup(void)
{
    cr_assert_eq(seal_init(), 0);
    strcpy(tmpdir, "/tmp/arca-test-client-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    unsetenv("ARCA_API_URL");
    unsetenv("ARCA_CONFIG_DIR");
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(client, .init = setup, .fini = teardown);

static void expect_url(const char *in, const char *want)
{
    struct arca *a = NULL;
    cr_assert_eq(arca_new(in, &a), 0, "arca_new(\"%s\")", in ? in : "NULL");
    cr_assert_str_eq(arca_api_url(a), want, "arca_new(\"%s\")", in ? in : "NULL");
    arca_free(a);
}

Test(client, url_normalisation)
{
    expect_url("http://127.0.0.1:8200", "http://127.0.0.1:8200");
    expect_url("http://127.0.0.1:8200/", "http://127.0.0.1:8200");
    expect_url("http://127.0.0.1:8200//", "http://127.0.0.1:8200");
    expect_url("http://127.0.0.1:8200/api", "http://127.0.0.1:8200");
    expect_url("http://127.0.0.1:8200/api/", "http://127.0.0.1:8200");
    expect_url("https://vault.example.com/arca/api", "https://vault.example.com/arca");
    expect_url("https://vault.example.com/apis", "https://vault.example.com/apis");
}

Test(client, url_default_and_environment)
{
    expect_url(NULL, "http://127.0.0.1:8200");
    setenv("ARCA_API_URL", "http://10.0.0.7:9000/api/", 1);
    expect_url(NULL, "http://10.0.0.7:9000");
    setenv("ARCA_API_URL", "", 1);
    expect_url(NULL, "http://127.0.0.1:8200");
}

Test(client, url_refused)
{
    const char *bad[] = {"",
                         "127.0.0.1:8200",
                         "ftp://host",
                         "http://",
                         "http:///api",
                         "http://host name",
                         "http://host\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct arca *a = NULL;
        cr_expect_eq(arca_new(bad[i], &a), -EINVAL, "arca_new(\"%s\")", bad[i]);
        cr_expect_null(a);
    }
}

/* A client logged in as alice with a fresh key pair, without a server. */
static struct arca *fake_login(const char *url, uint8_t pk[SEAL_PK_BYTES],
                               uint8_t sk[SEAL_SK_BYTES])
{
    struct arca *a = NULL;
    cr_assert_eq(arca_new(url, &a), 0);
    seal_keypair_new(pk, sk);
    cr_assert_eq(client_session_set(a, "arca_tok_0123456789", "alice@example.com",
                                    "5f0c6a1e-1111-4222-8333-944455556666", pk, sk),
                 0);
    return a;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_mode & 07777;
}

Test(client, session_round_trip)
{
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    char dir[128], file[160];
    snprintf(dir, sizeof(dir), "%s/home/.config/arca", tmpdir);
    snprintf(file, sizeof(file), "%s/credentials.json", dir);

    struct arca *a = fake_login("http://127.0.0.1:8200", pk, sk);
    cr_assert_eq(arca_session_save(a, dir), 0, "%s", arca_errmsg(a));
    cr_expect_eq(mode_of(dir), 0700);
    cr_expect_eq(mode_of(file), 0600);
    arca_free(a);

    /* Same server, written differently: the session applies. */
    struct arca *b = NULL;
    cr_assert_eq(arca_new("http://127.0.0.1:8200/api/", &b), 0);
    cr_expect_null(arca_session_email(b));
    cr_assert_eq(arca_session_load(b, dir), 0, "%s", arca_errmsg(b));
    cr_expect_str_eq(arca_session_email(b), "alice@example.com");
    cr_expect_str_eq(b->token, "arca_tok_0123456789");
    cr_expect_str_eq(b->user_id, "5f0c6a1e-1111-4222-8333-944455556666");
    cr_expect(b->has_keypair);
    cr_expect_arr_eq(b->pk, pk, SEAL_PK_BYTES);
    cr_expect_arr_eq(b->sk, sk, SEAL_SK_BYTES);

    /* Saving again replaces the file atomically, leaving no temporary behind. */
    cr_assert_eq(arca_session_save(b, dir), 0, "%s", arca_errmsg(b));
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
    cr_expect_eq(system(cmd), 0, "only credentials.json in the directory");
    arca_free(b);

    cr_assert_eq(arca_session_forget(dir), 0);
    cr_expect_eq(access(file, F_OK), -1);
    cr_expect_eq(arca_session_forget(dir), 0, "forgetting twice is fine");
}

Test(client, session_from_environment)
{
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/cfg", tmpdir);
    setenv("ARCA_CONFIG_DIR", dir, 1);

    struct arca *a = fake_login(NULL, pk, sk);
    cr_assert_eq(arca_session_save(a, NULL), 0, "%s", arca_errmsg(a));
    arca_free(a);

    struct arca *b = NULL;
    cr_assert_eq(arca_new(NULL, &b), 0);
    cr_assert_eq(arca_session_load(b, NULL), 0, "%s", arca_errmsg(b));
    cr_expect_str_eq(arca_session_email(b), "alice@example.com");
    arca_free(b);
}

Test(client, session_none)
{
    struct arca *a = NULL;
    cr_assert_eq(arca_new(NULL, &a), 0);
    cr_expect_eq(arca_session_load(a, tmpdir), -ENOENT);
    cr_expect_str_eq(arca_errmsg(a), "not logged in");
    cr_expect_eq(arca_session_save(a, tmpdir), -ENOENT, "nothing to save when logged out");
    arca_free(a);
}

Test(client, session_other_server)
{
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    struct arca *a = fake_login("http://127.0.0.1:8200", pk, sk);
    cr_assert_eq(arca_session_save(a, tmpdir), 0, "%s", arca_errmsg(a));
    arca_free(a);

    struct arca *b = NULL;
    cr_assert_eq(arca_new("https://arca.example.com", &b), 0);
    cr_expect_eq(arca_session_load(b, tmpdir), -ENOENT);
    cr_expect(strstr(arca_errmsg(b), "not logged in to https://arca.example.com"), "message: %s",
              arca_errmsg(b));
    cr_expect_null(arca_session_email(b));
    arca_free(b);
}

Test(client, session_readable_file_refused)
{
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    char file[128];
    snprintf(file, sizeof(file), "%s/credentials.json", tmpdir);

    struct arca *a = fake_login("http://127.0.0.1:8200", pk, sk);
    cr_assert_eq(arca_session_save(a, tmpdir), 0, "%s", arca_errmsg(a));
    arca_free(a);
    cr_assert_eq(chmod(file, 0644), 0);

    struct arca *b = NULL;
    cr_assert_eq(arca_new("http://127.0.0.1:8200", &b), 0);
    cr_expect_eq(arca_session_load(b, tmpdir), -EACCES);
    cr_expect(strstr(arca_errmsg(b), "chmod 600"), "message: %s", arca_errmsg(b));
    cr_expect_null(arca_session_email(b));

    cr_assert_eq(chmod(file, 0600), 0);
    cr_expect_eq(arca_session_load(b, tmpdir), 0, "%s", arca_errmsg(b));
    arca_free(b);
}

Test(client, session_damaged_file_refused)
{
    char file[128];
    snprintf(file, sizeof(file), "%s/credentials.json", tmpdir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("{\"apiUrl\": \"http://127.0.0.1:8200\", \"token\": 3}", f);
    fclose(f);
    cr_assert_eq(chmod(file, 0600), 0);

    struct arca *a = NULL;
    cr_assert_eq(arca_new("http://127.0.0.1:8200", &a), 0);
    cr_expect_eq(arca_session_load(a, tmpdir), -EINVAL);
    cr_expect(strstr(arca_errmsg(a), "is damaged"), "message: %s", arca_errmsg(a));
    arca_free(a);
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

Test(client, unreachable_server)
{
    char url[64], want[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", unused_port());
    snprintf(want, sizeof(want), "cannot reach the arca server at %s: is it running?", url);

    struct arca *a = NULL;
    cr_assert_eq(arca_new(url, &a), 0);
    cr_expect_eq(arca_status(a), -ECONNREFUSED);
    cr_expect(strstr(arca_errmsg(a), want), "message: %s", arca_errmsg(a));
    cr_expect(strstr(arca_errmsg(a), "ARCA_API_URL"), "message: %s", arca_errmsg(a));
    arca_free(a);
}

Test(client, logged_out_refused)
{
    struct arca *a = NULL;
    struct arca_project *p = NULL;
    struct arca_secret_list *l = NULL;
    const struct arca_scope scope = {"7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", "dev", "/"};

    cr_assert_eq(arca_new("http://127.0.0.1:1", &a), 0);
    cr_expect_eq(arca_project_create(a, "web", &p), -EACCES);
    cr_expect_str_eq(arca_errmsg(a), "not logged in");
    cr_expect_eq(arca_secrets_list(a, &scope, &l), -EACCES);
    cr_expect_eq(arca_logout(a), 0, "logging out when logged out is a no-op");
    arca_free(a);
}

/* Bad input is refused before anything is sent: the server URL points nowhere,
 * so a request would fail with -ECONNREFUSED instead. */
Test(client, bad_input_refused_early)
{
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", unused_port());
    struct arca *a = fake_login(url, pk, sk);
    const struct arca_scope scope = {"7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", "dev", "/app"};
    enum arca_change changes[2];
    int64_t versions[2];

    const struct arca_secret_input bad_key[] = {{"1PORT", "80", NULL}};
    cr_expect_eq(arca_secrets_set(a, &scope, bad_key, 1, changes, versions), -EINVAL);
    cr_expect_str_eq(arca_errmsg(a), "'1PORT' is not a valid secret name: use letters, digits "
                                     "and _; not starting with a digit");

    const struct arca_secret_input dup[] = {{"PORT", "80", NULL}, {"PORT", "81", NULL}};
    cr_expect_eq(arca_secrets_set(a, &scope, dup, 2, changes, versions), -EINVAL);
    cr_expect(strstr(arca_errmsg(a), "more than once"), "message: %s", arca_errmsg(a));

    size_t big_len = 64 * 1024 + 1;
    char *big = malloc(big_len + 1);
    cr_assert_not_null(big);
    memset(big, 'x', big_len);
    big[big_len] = 0;
    const struct arca_secret_input too_big[] = {{"BLOB", big, NULL}};
    cr_expect_eq(arca_secrets_set(a, &scope, too_big, 1, changes, versions), -E2BIG);
    cr_expect_str_eq(arca_errmsg(a), "value of 'BLOB' is larger than 64 KiB");
    free(big);

    const struct arca_scope bad_path = {"7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", "dev",
                                        "/app/../etc"};
    const struct arca_secret_input ok[] = {{"PORT", "80", NULL}};
    cr_expect_eq(arca_secrets_set(a, &bad_path, ok, 1, changes, versions), -EINVAL);
    cr_expect(strstr(arca_errmsg(a), "not a valid folder path"), "message: %s", arca_errmsg(a));

    const struct arca_scope bad_env = {"7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", "Prod!", "/"};
    cr_expect_eq(arca_secrets_set(a, &bad_env, ok, 1, changes, versions), -EINVAL);

    const char *del[] = {"A", "bad-key"};
    cr_expect_eq(arca_secrets_delete(a, &scope, del, 2), -EINVAL);

    struct arca_secret *s = NULL;
    cr_expect_eq(arca_secret_get(a, &scope, "", &s), -EINVAL);
    cr_expect_null(s);

    /* Nothing to write: no request at all. */
    cr_expect_eq(arca_secrets_set(a, &scope, ok, 0, NULL, NULL), 0);
    cr_expect_eq(arca_secrets_delete(a, &scope, del, 0), 0);

    /* A valid request does reach for the server. */
    cr_expect_eq(arca_secrets_set(a, &scope, ok, 1, changes, versions), -ECONNREFUSED);

    cr_expect_eq(arca_login_password(a, "not an email", "pw", 2), -EINVAL);
    cr_expect_eq(arca_login_password(a, "bob@example.com", "", 0), -EINVAL);
    cr_expect_eq(arca_bootstrap(a, "bob@example.com", "pw", 2, ""), -EINVAL);
    arca_free(a);
}

Test(client, secret_string_free_accepts_null)
{
    arca_secret_string_free(NULL);
    arca_secret_free(NULL);
    arca_secret_list_free(NULL);
    arca_project_free(NULL);
    arca_projects_free(NULL, 0);
    arca_free(NULL);
    char *s = strdup("hunter2");
    arca_secret_string_free(s);
}
