/* test_client.c - src/client: what libarca does without a server: API URL
 * normalisation, the saved session (round trip, file and directory modes,
 * refusal of a readable file, another server's session; identity sessions and
 * their expiry), an unreachable server, the checks that refuse bad input before
 * any request is sent, and the pure parts: role rule specs, durations, service
 * token splitting, client secret derivation; which API URLs are cleartext to
 * another machine, an unreadable CA file, and the field-table reader of the
 * server's answers (each kind of field, and the failure it reports first).
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
#include <time.h>
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
    unsetenv("ARCA_CA_CERT");
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

static int cleartext_remote(const char *url)
{
    struct arca *a = NULL;
    cr_assert_eq(arca_new(url, &a), 0, "arca_new(\"%s\")", url);
    int r = arca_url_cleartext_remote(a);
    arca_free(a);
    return r;
}

Test(client, cleartext_remote_url)
{
    const char *local[] = {
        "http://127.0.0.1:8200",     "http://127.9.9.9:8200", "http://localhost:8200",
        "http://LocalHost/arca",     "http://[::1]:8200",     "http://[::ffff:127.0.0.1]:8200",
        "https://vault.example.com", "https://10.0.0.7:8443", "https://[2001:db8::1]:8443"};
    const char *remote[] = {"http://10.0.0.7:8200",         "http://vault.example.com",
                            "http://127.0.0.1.example.com", "http://localhost.example.com",
                            "http://[2001:db8::1]:8200",    "http://[::2]:8200",
                            "http://[::ffff:10.0.0.7]:8200"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        cr_expect_eq(cleartext_remote(local[i]), 0, "%s", local[i]);
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
        cr_expect_eq(cleartext_remote(remote[i]), 1, "%s", remote[i]);
}

Test(client, ca_cert_file)
{
    struct arca *a = NULL;
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no-such-ca.pem", tmpdir);

    cr_assert_eq(arca_new("https://127.0.0.1:8443", &a), 0);
    cr_expect_eq(arca_set_ca_cert(a, missing), -ENOENT);
    cr_expect(strstr(arca_errmsg(a), "no-such-ca.pem"), "%s", arca_errmsg(a));
    cr_expect_eq(arca_set_ca_cert(a, ""), -EINVAL);
    arca_free(a);

    /* ARCA_CA_CERT naming an unreadable file fails arca_new itself */
    setenv("ARCA_CA_CERT", missing, 1);
    a = NULL;
    cr_expect_eq(arca_new("https://127.0.0.1:8443", &a), -ENOENT);
    cr_expect_null(a);
    unsetenv("ARCA_CA_CERT");
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
    cr_expect_str_eq(arca_errmsg(a),
                     "'1PORT' is not a valid secret name: it starts with a digit (names are 1 to "
                     "255 letters, digits and _, not starting with a digit)");

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

/* --- role rule specs ------------------------------------------------------ */

static char *rules_of(struct arca *a, const char *const *allow, size_t n_allow,
                      const char *const *deny, size_t n_deny)
{
    char *json = NULL;
    int r = arca_rules_from_specs(a, allow, n_allow, deny, n_deny, &json);
    cr_assert_eq(r, 0, "arca_rules_from_specs: %d %s", r, arca_errmsg(a));
    return json;
}

Test(client, rule_specs_to_json)
{
    struct arca *a = NULL;
    cr_assert_eq(arca_new("http://127.0.0.1:1", &a), 0);

    const char *allow[] = {"secrets:read,create,edit,delete:dev,staging:/**"};
    const char *deny[] = {"secrets:*:prod:/**"};
    char *json = rules_of(a, allow, 1, deny, 1);
    cr_expect_str_eq(json, "[{\"subject\":\"secrets\",\"actions\":[\"read\",\"create\",\"edit\","
                           "\"delete\"],\"environments\":[\"dev\",\"staging\"],\"secretPath\":\"/"
                           "**\",\"deny\":false},{\"subject\":\"secrets\",\"actions\":[\"*\"],"
                           "\"environments\":[\"prod\"],\"secretPath\":\"/**\",\"deny\":true}]");
    free(json);

    /* the path defaults to every folder; "*" environments are left out; duplicates dropped */
    const char *more[] = {"folders:read,read:*", "members:read", "audit-logs:*",
                          "secrets:describe:dev:/app/*/config"};
    json = rules_of(a, more, 4, NULL, 0);
    cr_expect_str_eq(json,
                     "[{\"subject\":\"folders\",\"actions\":[\"read\"],\"secretPath\":\"/**\","
                     "\"deny\":false},{\"subject\":\"members\",\"actions\":[\"read\"],"
                     "\"deny\":false},{\"subject\":\"audit-logs\",\"actions\":[\"*\"],"
                     "\"deny\":false},{\"subject\":\"secrets\",\"actions\":[\"describe\"],"
                     "\"environments\":[\"dev\"],\"secretPath\":\"/app/*/config\",\"deny\":"
                     "false}]");
    free(json);
    arca_free(a);
}

static void expect_bad_spec(struct arca *a, const char *spec, const char *part)
{
    char *json = NULL;
    const char *allow[] = {spec};
    cr_expect_eq(arca_rules_from_specs(a, allow, 1, NULL, 0, &json), -EINVAL, "spec '%s'", spec);
    cr_expect_null(json);
    cr_expect(strstr(arca_errmsg(a), part), "spec '%s': message names '%s': %s", spec, part,
              arca_errmsg(a));
}

Test(client, rule_specs_refused)
{
    struct arca *a = NULL;
    cr_assert_eq(arca_new("http://127.0.0.1:1", &a), 0);

    expect_bad_spec(a, "secret:read:dev", "unknown subject 'secret'");
    expect_bad_spec(a, "secrets:rd:dev", "unknown action 'rd'");
    expect_bad_spec(a, "secrets:read,:dev", "unknown action ''");
    expect_bad_spec(a, "secrets:read", "need environments");
    expect_bad_spec(a, "secrets:read:Prod!", "'Prod!' is not an environment slug");
    expect_bad_spec(a, "secrets:read:dev,,qa", "'' is not an environment slug");
    expect_bad_spec(a, "secrets:read:dev:app", "'app' is not a folder glob");
    expect_bad_spec(a, "secrets:read:dev:/a/../b", "'/a/../b' is not a folder glob");
    expect_bad_spec(a, "secrets:read:dev:/a/b**", "'/a/b**' is not a folder glob");
    expect_bad_spec(a, "secrets:read:dev:/:x", "too many ':' parts");
    expect_bad_spec(a, "members:read:dev", "members rules have no environments");
    expect_bad_spec(a, "roles", "roles rules have no environments");
    expect_bad_spec(a, "", "unknown subject ''");

    char *json = NULL;
    cr_expect_eq(arca_rules_from_specs(a, NULL, 0, NULL, 0, &json), -EINVAL, "no allow rule");
    const char *ok[] = {"secrets:read:dev"}, *bad[] = {"secrets:frob:prod"};
    cr_expect_eq(arca_rules_from_specs(a, ok, 1, bad, 1, &json), -EINVAL, "a bad deny spec");
    cr_expect(strstr(arca_errmsg(a), "rule 'secrets:frob:prod'"), "%s", arca_errmsg(a));
    cr_expect_null(json);
    arca_free(a);
}

/* --- durations ------------------------------------------------------------ */

Test(client, durations)
{
    const struct {
        const char *in;
        int64_t seconds;
    } good[] = {
        {"0", 0},        {"30d", 30 * 86400}, {"12h", 12 * 3600}, {"45m", 45 * 60},
        {"3600s", 3600}, {"1s", 1},           {"0s", 0},          {"36500d", 36500LL * 86400}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t s = -1;
        cr_expect_eq(arca_duration_parse(good[i].in, &s), 0, "'%s'", good[i].in);
        cr_expect_eq(s, good[i].seconds, "'%s'", good[i].in);
    }
    const char *bad[] = {"",
                         "d",
                         "30",
                         "30x",
                         "30dd",
                         "-1d",
                         "1.5h",
                         " 1d",
                         "1d ",
                         "36501d",
                         "99999999999999999999s",
                         "1D"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t s = 77;
        cr_expect_eq(arca_duration_parse(bad[i], &s), -EINVAL, "'%s'", bad[i]);
        cr_expect_eq(s, 77, "'%s': nothing written", bad[i]);
    }
    cr_expect_eq(arca_duration_parse(NULL, NULL), -EINVAL);
}

/* --- service tokens ------------------------------------------------------- */

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

Test(client, service_token_split)
{
    struct client_service_token t;
    const char *tok = "st.3d673655-5abf-48da-af4b-ff36ecf80b82.AbC_d-9." KEY_HEX;

    cr_assert_eq(client_service_token_split(tok, &t), 0);
    cr_expect_str_eq(t.bearer, "st.3d673655-5abf-48da-af4b-ff36ecf80b82.AbC_d-9");
    cr_expect_str_eq(t.id, "3d673655-5abf-48da-af4b-ff36ecf80b82");
    for (int i = 0; i < SEAL_KEY_BYTES; i++)
        cr_expect_eq(t.key[i], i);
    client_service_token_release(&t);
    cr_expect_null(t.bearer);

    /* upper-case hex is the same key */
    cr_assert_eq(client_service_token_split("st.id.secret.000102030405060708090A0B0C0D0E0F"
                                            "101112131415161718191A1B1C1D1E1F",
                                            &t),
                 0);
    cr_expect_eq(t.key[10], 10);
    client_service_token_release(&t);

    const char *bad[] = {
        "",
        "st.",
        "st.id.secret",                  /* no key: what is sent must not be all there is */
        "st..secret." KEY_HEX,           /* empty id */
        "st.id.." KEY_HEX,               /* empty secret */
        "st.id.secret." KEY_HEX ".more", /* five parts */
        "ST.id.secret." KEY_HEX,         /* prefix */
        "xt.id.secret." KEY_HEX,
        "st.id.secret.0001",          /* short key */
        "st.id.secret." KEY_HEX "00", /* long key */
        "st.id.secret.g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "st.i d.secret." KEY_HEX,  /* a space in the id */
        "st.id.sec/ret." KEY_HEX,  /* not base64url */
        "arca_i_0123456789abcdef", /* an identity token */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&t, 0x55, sizeof(t));
        cr_expect_eq(client_service_token_split(bad[i], &t), -EINVAL, "'%s'", bad[i]);
    }
    cr_expect_eq(client_service_token_split(NULL, &t), -EINVAL);
}

Test(client, malformed_token_in_environment_never_echoed)
{
    struct arca *a = NULL;
    const char *secretish = "st.id.s3cr3t-part.nothex";

    cr_assert_eq(arca_new("http://127.0.0.1:1", &a), 0);
    unsetenv("ARCA_TOKEN");
    unsetenv("INFISICAL_TOKEN");
    unsetenv("ARCA_CLIENT_ID");
    unsetenv("ARCA_CLIENT_SECRET");
    unsetenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID");
    unsetenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET");
    cr_expect_eq(arca_login_environment(a), -ENOENT, "nothing set: nothing to do");

    setenv("ARCA_TOKEN", secretish, 1);
    cr_expect_eq(arca_login_environment(a), -EACCES);
    cr_expect(strstr(arca_errmsg(a), "ARCA_TOKEN is malformed"), "%s", arca_errmsg(a));
    cr_expect_null(strstr(arca_errmsg(a), "s3cr3t"), "the token is not repeated");
    cr_expect_eq(arca_session_kind(a), ARCA_SESSION_NONE);

    unsetenv("ARCA_TOKEN");
    setenv("INFISICAL_TOKEN", "some-other-token-s3cr3t", 1);
    cr_expect_eq(arca_login_environment(a), -EACCES);
    cr_expect(strstr(arca_errmsg(a), "INFISICAL_TOKEN is not a service token"), "%s",
              arca_errmsg(a));
    cr_expect_null(strstr(arca_errmsg(a), "s3cr3t"));
    unsetenv("INFISICAL_TOKEN");

    setenv("ARCA_CLIENT_ID", "51c33856-ca68-4334-aa94-ffa5570a71aa", 1);
    cr_expect_eq(arca_login_environment(a), -EINVAL, "a client ID without a secret");
    cr_expect(strstr(arca_errmsg(a), "ARCA_CLIENT_SECRET is not"), "%s", arca_errmsg(a));
    setenv("ARCA_CLIENT_SECRET", "not-hex", 1);
    cr_expect_eq(arca_login_environment(a), -EINVAL, "a secret that is not 64 hex characters");
    unsetenv("ARCA_CLIENT_ID");
    unsetenv("ARCA_CLIENT_SECRET");
    arca_free(a);
}

/* --- client secrets ------------------------------------------------------- */

Test(client, client_secret_round_trip)
{
    char secret[CLIENT_SECRET_HEX + 1], upper[CLIENT_SECRET_HEX + 1], other[CLIENT_SECRET_HEX + 1];
    uint8_t auth[SEAL_KEY_BYTES], kek[SEAL_KEY_BYTES], auth2[SEAL_KEY_BYTES], kek2[SEAL_KEY_BYTES];
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    struct buf sealed = BUF_INIT, opened = BUF_INIT;

    client_secret_new(secret);
    cr_assert_eq(strlen(secret), CLIENT_SECRET_HEX);
    cr_expect_eq(strspn(secret, "0123456789abcdef"), CLIENT_SECRET_HEX, "lowercase hex: %s",
                 secret);
    client_secret_new(other);
    cr_expect_str_neq(secret, other, "random");

    /* made at identity creation: the private key sealed under the secret's KEK */
    cr_assert_eq(client_secret_derive(secret, auth, kek), 0);
    seal_keypair_new(pk, sk);
    cr_assert_eq(seal_box(kek, "identity-private-key", sk, sizeof(sk), &sealed), 0);

    /* the derivation is seal_secret_derive over the hex text */
    seal_secret_derive(secret, CLIENT_SECRET_HEX, auth2, kek2);
    cr_expect_arr_eq(auth, auth2, SEAL_KEY_BYTES);
    cr_expect_arr_eq(kek, kek2, SEAL_KEY_BYTES);
    cr_expect_arr_neq(auth, kek, SEAL_KEY_BYTES);

    /* at login, from the text the user pasted (in any case): the same keys open it */
    for (size_t i = 0; i <= CLIENT_SECRET_HEX; i++)
        upper[i] = (secret[i] >= 'a' && secret[i] <= 'f') ? (char)(secret[i] - 32) : secret[i];
    cr_assert_eq(client_secret_derive(upper, auth2, kek2), 0);
    cr_expect_arr_eq(auth, auth2, SEAL_KEY_BYTES);
    buf_init_secret(&opened, 0);
    cr_assert_eq(seal_unbox(kek2, "identity-private-key", sealed.ptr, sealed.len, &opened), 0);
    cr_assert_eq(opened.len, SEAL_SK_BYTES);
    cr_expect_arr_eq(opened.ptr, sk, SEAL_SK_BYTES);

    /* another secret does not open it */
    cr_assert_eq(client_secret_derive(other, auth2, kek2), 0);
    buf_clear(&opened);
    cr_expect_eq(seal_unbox(kek2, "identity-private-key", sealed.ptr, sealed.len, &opened),
                 -EBADMSG);

    const char *bad[] = {"", "abc",
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(client_secret_derive(bad[i], auth2, kek2), -EINVAL, "'%s'", bad[i]);
    cr_expect_eq(client_secret_derive(NULL, auth2, kek2), -EINVAL);
    buf_release(&sealed);
    buf_release(&opened);
}

/* --- identity and service-token sessions ---------------------------------- */

static struct arca *fake_identity(const char *url, int64_t expires_at, int64_t max_expires_at)
{
    struct arca *a = NULL;
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    cr_assert_eq(arca_new(url, &a), 0);
    seal_keypair_new(pk, sk);
    cr_assert_eq(client_session_set_identity(
                     a, "arca_i_token", "d924b5ef-27e0-40f5-8c85-8a60bec86365", "ci-bot",
                     "51c33856-ca68-4334-aa94-ffa5570a71aa", pk, sk, expires_at, max_expires_at),
                 0);
    return a;
}

Test(client, identity_session_round_trip)
{
    int64_t now = (int64_t)time(NULL) * 1000;
    struct arca *a = fake_identity("http://127.0.0.1:8200", now + 3600 * 1000, now + 86400 * 1000);
    cr_assert_eq(arca_session_save(a, tmpdir), 0, "%s", arca_errmsg(a));
    arca_free(a);

    struct arca *b = NULL;
    int64_t exp, max;
    cr_assert_eq(arca_new("http://127.0.0.1:8200", &b), 0);
    cr_assert_eq(arca_session_load(b, tmpdir), 0, "%s", arca_errmsg(b));
    cr_expect_eq(arca_session_kind(b), ARCA_SESSION_IDENTITY);
    cr_expect_str_eq(arca_session_name(b), "ci-bot");
    cr_expect_null(arca_session_email(b));
    cr_expect_str_eq(arca_session_id(b), "d924b5ef-27e0-40f5-8c85-8a60bec86365");
    cr_expect_str_eq(b->token, "arca_i_token");
    arca_session_expiry(b, &exp, &max);
    cr_expect_eq(exp, now + 3600 * 1000);
    cr_expect_eq(max, now + 86400 * 1000);
    arca_free(b);
}

Test(client, identity_session_near_expiry)
{
    char url[64];
    int64_t now = (int64_t)time(NULL) * 1000;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", unused_port());

    /* near expiry: renewal is attempted; the server is down, so the session
     * loads as it is (still valid; the offline cache may serve the call) */
    struct arca *a = fake_identity(url, now + 60 * 1000, now + 86400 * 1000);
    cr_assert_eq(arca_session_save(a, tmpdir), 0, "%s", arca_errmsg(a));
    arca_free(a);
    struct arca *b = NULL;
    cr_assert_eq(arca_new(url, &b), 0);
    cr_expect_eq(arca_session_load(b, tmpdir), 0, "%s", arca_errmsg(b));
    cr_expect_eq(arca_session_kind(b), ARCA_SESSION_IDENTITY);
    arca_free(b);

    /* past the max TTL: no request, log in again */
    a = fake_identity(url, now - 1000, now - 1000);
    cr_assert_eq(arca_session_save(a, tmpdir), 0, "%s", arca_errmsg(a));
    arca_free(a);
    cr_assert_eq(arca_new(url, &b), 0);
    cr_expect_eq(arca_session_load(b, tmpdir), -EACCES);
    cr_expect(strstr(arca_errmsg(b), "log in again with 'arca login --method=universal-auth'"),
              "%s", arca_errmsg(b));
    cr_expect_eq(arca_session_kind(b), ARCA_SESSION_NONE);
    arca_free(b);

    /* renewing is for identities only */
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    struct arca *u = fake_login(url, pk, sk);
    cr_expect_eq(arca_token_renew(u), -EINVAL);
    arca_free(u);
}

Test(client, client_secret_create_never_by_the_identity)
{
    char url[64];
    uint8_t pk[SEAL_PK_BYTES], sk[SEAL_SK_BYTES];
    char *secret = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", unused_port());

    /* an identity never makes its own: refused before any request */
    struct arca *a = fake_identity(url, 0, 0);
    cr_expect_eq(arca_client_secret_create(a, "ci-bot", NULL, NULL, &secret), -EACCES);
    cr_expect(strstr(arca_errmsg(a), "cannot make or revoke its own client secrets"), "%s",
              arca_errmsg(a));
    cr_expect_null(secret);
    arca_free(a);

    /* bad options are refused before any request */
    struct arca *u = fake_login(url, pk, sk);
    const struct arca_client_secret_options neg = {.num_uses_limit = -1};
    const struct arca_client_secret_options ctl = {.description = "a\nb"};
    cr_expect_eq(arca_client_secret_create(u, "ci-bot", &neg, NULL, &secret), -EINVAL);
    cr_expect_eq(arca_client_secret_create(u, "ci-bot", &ctl, NULL, &secret), -EINVAL);
    cr_expect_eq(arca_client_secret_revoke(u, "ci-bot", ""), -EINVAL);
    /* a user looks the identity up first (the server is down here) */
    cr_expect_eq(arca_client_secret_create(u, "ci-bot", NULL, NULL, &secret), -ECONNREFUSED);
    cr_expect_null(secret);
    arca_free(u);
}

Test(client, service_token_session_not_saved)
{
    struct arca *a = NULL;
    uint8_t key[SEAL_KEY_BYTES] = {1};
    const struct arca_scope scope = {"7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", "prod", "/"};
    struct arca_project *p = NULL;

    cr_assert_eq(arca_new("http://127.0.0.1:1", &a), 0);
    cr_assert_eq(client_session_set_service(a, "st.id.secret", "id", "GitHub Actions",
                                            "7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75", key),
                 0);
    cr_expect_eq(arca_session_kind(a), ARCA_SESSION_SERVICE_TOKEN);
    cr_expect_str_eq(arca_session_project_id(a), "7f3c2a9e-5b1d-4c8e-a0f2-6d4b3e1c9a75");
    cr_expect_eq(arca_session_save(a, tmpdir), -EINVAL);
    cr_expect(strstr(arca_errmsg(a), "not saved"), "%s", arca_errmsg(a));

    /* it holds its project's key only, and no key pair */
    cr_expect_eq(arca_project_create(a, "web", &p), -EACCES);
    cr_expect(strstr(arca_errmsg(a), "a service token cannot"), "%s", arca_errmsg(a));
    const struct arca_scope other = {"11111111-2222-4333-8444-555555555555", "prod", "/"};
    struct arca_secret_list *l = NULL;
    cr_expect_eq(arca_secrets_list(a, &other, &l), -EACCES);
    cr_expect(strstr(arca_errmsg(a), "not for project"), "%s", arca_errmsg(a));
    /* its own project's secrets are fetched (the server is unreachable here) */
    cr_expect_eq(arca_secrets_list(a, &scope, &l), -ECONNREFUSED);
    cr_expect_eq(arca_logout(a), 0, "a service token is forgotten, not revoked");
    cr_expect_eq(arca_session_kind(a), ARCA_SESSION_NONE);
    arca_free(a);
}

/* ---- records read from answers through a field table (client.h) ---- */

struct rec_test {
    char *id;      /* CF_STR */
    char *note;    /* CF_STR_OR_EMPTY */
    char *expires; /* CF_STR_OR_NULL */
    char *loose;   /* CF_STR_LENIENT */
    char *inner;   /* CF_STR in "sub" */
    int64_t n;     /* CF_INT */
    int64_t limit; /* CF_INT_OPT */
    int flag;      /* CF_BOOL_OPT */
    int revoked;   /* CF_TRUE */
};

#define F(field, kind, key, max) CLIENT_FIELD(struct rec_test, field, kind, key, max)
static const struct client_field rec_test_fields[] = {
    {.key = "sub", .kind = CF_OBJ},
    F(id, CF_STR, "id", 8),
    F(note, CF_STR_OR_EMPTY, "note", 8),
    F(expires, CF_STR_OR_NULL, "expires", 32),
    F(loose, CF_STR_LENIENT, "loose", 4),
    {.key = "inner",
     .in = "sub",
     .kind = CF_STR,
     .off = offsetof(struct rec_test, inner),
     .max = 8},
    F(n, CF_INT, "n", 0),
    F(limit, CF_INT_OPT, "limit", 0),
    F(flag, CF_BOOL_OPT, "flag", 0),
    F(revoked, CF_TRUE, "revoked", 0),
};
#undef F
static const struct client_record rec_test =
    CLIENT_RECORD(struct rec_test, "test record", rec_test_fields);

/* Parses text with rec_test: the result, and the message in msg. */
static int parse_rec(const char *text, struct rec_test *out, char *msg, size_t size)
{
    struct arca *a = NULL;
    json_t *o = json_loads(text, 0, NULL);
    int r;

    cr_assert_eq(arca_new("http://127.0.0.1:1", &a), 0);
    *out = (struct rec_test){0};
    r = client_record_parse(a, &rec_test, o, out);
    snprintf(msg, size, "%s", r < 0 ? arca_errmsg(a) : "");
    json_decref(o);
    arca_free(a);
    return r;
}

Test(client, record_fields_by_kind)
{
    struct rec_test t;
    char msg[256];

    cr_assert_eq(
        parse_rec("{\"sub\": {\"inner\": \"in\"}, \"id\": \"abc\", \"n\": 7, \"limit\": 3, "
                  "\"flag\": true, \"revoked\": true, \"loose\": \"x\", \"expires\": \"t\"}",
                  &t, msg, sizeof(msg)),
        0, "%s", msg);
    cr_expect_str_eq(t.id, "abc");
    cr_expect_str_eq(t.note, "", "absent: empty");
    cr_expect_str_eq(t.expires, "t");
    cr_expect_str_eq(t.loose, "x");
    cr_expect_str_eq(t.inner, "in");
    cr_expect_eq(t.n, 7);
    cr_expect_eq(t.limit, 3);
    cr_expect_eq(t.flag, 1);
    cr_expect_eq(t.revoked, 1);
    client_record_release(&rec_test, &t);
    cr_expect_null(t.id, "released and zeroed");

    /* the optional ones absent, null or of another type */
    cr_assert_eq(
        parse_rec("{\"sub\": {\"inner\": \"in\"}, \"id\": \"abc\", \"n\": 1, \"note\": null, "
                  "\"expires\": null, \"loose\": \"too long\", \"limit\": \"3\", "
                  "\"flag\": 1, \"revoked\": \"yes\"}",
                  &t, msg, sizeof(msg)),
        0, "%s", msg);
    cr_expect_str_eq(t.note, "");
    cr_expect_null(t.expires, "null: NULL");
    cr_expect_str_eq(t.loose, "", "lenient: anything but a short string is empty");
    cr_expect_eq(t.limit, 0);
    cr_expect_eq(t.flag, 0);
    cr_expect_eq(t.revoked, 0);
    client_record_release(&rec_test, &t);
}

Test(client, record_failures_name_the_first_bad_field)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"[1]", "the arca server sent a malformed test record"},
        {"{\"id\": \"abc\", \"n\": 1}", "the arca server sent a malformed test record"},
        {"{\"sub\": {}, \"n\": 1}", "the arca server sent a missing or malformed 'id'"},
        {"{\"sub\": {}, \"id\": \"123456789\"}",
         "the arca server sent a missing or malformed 'id'"},
        {"{\"sub\": {}, \"id\": \"a\", \"note\": 5}", "the arca server sent a malformed 'note'"},
        {"{\"sub\": {}, \"id\": \"a\"}", "the arca server sent a missing or malformed 'inner'"},
        {"{\"sub\": {\"inner\": \"i\"}, \"id\": \"a\", \"n\": \"1\"}",
         "the arca server sent a missing or malformed 'n'"},
    };
    struct rec_test t;
    char msg[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        cr_expect_eq(parse_rec(cases[i].text, &t, msg, sizeof(msg)), -EPROTO, "%s", cases[i].text);
        cr_expect(strstr(msg, cases[i].msg), "%s: %s", cases[i].text, msg);
        client_record_release(&rec_test, &t); /* what was read before the failure */
    }
}
