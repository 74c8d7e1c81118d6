/* archive.c - archiving the audit log (format in archive.h).
 *
 * The records before a time leave the store in four steps, each refusing on
 * any doubt: (1) archive_scan finds the longest run of records after the
 * store's anchor that are all older, checking the chain as it reads (a log
 * that does not verify is not archived: that would throw evidence away);
 * (2) archive_write writes them to a temporary file beside the target,
 * fsyncs it, links it into place and fsyncs the directory; (3) it reads the
 * file back from disk (check_file), recomputing the chain with the chain
 * keys; (4) the store's audit_archive removes them, ARCHIVE_CHUNK records a
 * transaction, each also appending an "audit.archive" record (naming its
 * last record, that record's hash, the file's hash and who) and the new
 * anchor, refused if the log moved meanwhile.  Until (4) the store is
 * untouched.
 *
 * Retention: a thread archives, at start and then daily, the records older
 * than N days into a directory.  Several servers on one database may all
 * try: the store's audit lock and its -ESTALE check let one cut win; the
 * others remove their file and say so. */
#include "server/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/log.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"

#define ARCHIVE_PAGE 5000
#define DAY_MS (24 * 3600 * 1000LL)

static int check_file(struct server *srv, const char *path, struct archive_info *ret,
                      int (*cut)(void *ctx, const struct store_audit *a), void *ctx,
                      struct buf *err);

/* ---- one record as one JSON object, and back ---- */

enum field_kind {
    F_I64,   /* int64_t */
    F_CHARS, /* char[size] */
    F_STR,   /* char * OWNED, NULL as null */
    F_HASH,  /* uint8_t[STORE_HASH_BYTES] as hex */
};

#define F(name, kind, field)                                                                       \
    {                                                                                              \
        name, kind, offsetof(struct store_audit, field), sizeof(((struct store_audit *)0)->field)  \
    }
static const struct field {
    const char *name;
    enum field_kind kind;
    size_t off, size;
} fields[] = {
    F("seq", F_I64, seq),
    F("time", F_I64, time),
    F("actorType", F_CHARS, actor_type),
    F("actorId", F_CHARS, actor_id),
    F("actorName", F_STR, actor_name),
    F("event", F_STR, event),
    F("orgId", F_CHARS, org_id),
    F("projectId", F_CHARS, project_id),
    F("environment", F_STR, environment),
    F("path", F_STR, path),
    F("key", F_STR, key),
    F("ip", F_STR, ip),
    F("userAgent", F_STR, user_agent),
    F("outcome", F_STR, outcome),
    F("metadata", F_STR, metadata),
    F("prevHash", F_HASH, prev_hash),
    F("hash", F_HASH, hash),
};
#undef F

static json_t *hash_json(const uint8_t *h)
{
    char s[2 * STORE_HASH_BYTES + 1];

    hex_encode(h, STORE_HASH_BYTES, s);
    return json_string(s);
}

/* Lower-case hex (as the archive writes it) of n bytes into out: -EINVAL. */
static int hex_parse(const char *s, uint8_t *out, size_t n)
{
    if (!s || s[strspn(s, "0123456789abcdef")])
        return -EINVAL;
    return hex_decode(s, strlen(s), out, n);
}

static int hash_parse(const json_t *v, uint8_t *out)
{
    return hex_parse(json_string_value(v), out, STORE_HASH_BYTES);
}

/* Text as a JSON string, or, if its bytes are not UTF-8 (which no JSON
 * string can hold), as {"hex": ...}: the archive keeps the bytes the record's
 * hash covers.  NULL on ENOMEM. */
static json_t *text_json(const char *s)
{
    size_t n = strlen(s);
    char *hex;
    json_t *j;

    if (utf8_valid(s, n))
        return json_string(s);
    if (!(hex = malloc(2 * n + 1)))
        return NULL;
    hex_encode((const uint8_t *)s, n, hex);
    j = json_pack("{s:s}", "hex", hex);
    free(hex);
    return j;
}

/* text_json's value back into a malloc'd string: -EINVAL, -ENOMEM. */
static int text_parse(const json_t *v, char **ret)
{
    const char *s = json_string_value(v), *hex;
    size_t n;

    if (s)
        return (*ret = strdup(s)) ? 0 : -ENOMEM;
    if (!json_is_object(v) || json_object_size(v) != 1 ||
        !(hex = json_string_value(json_object_get(v, "hex"))))
        return -EINVAL;
    n = strlen(hex) / 2;
    if (!(*ret = malloc(n + 1)))
        return -ENOMEM;
    if (hex_parse(hex, (uint8_t *)*ret, n) < 0 || memchr(*ret, 0, n)) {
        free(*ret);
        *ret = NULL;
        return -EINVAL;
    }
    (*ret)[n] = 0;
    return 0;
}

/* NULL on ENOMEM. */
static json_t *record_json(const struct store_audit *a)
{
    json_t *o = json_object();

    for (size_t i = 0; i < ELEMENTSOF(fields) && o; i++) {
        const void *p = (const char *)a + fields[i].off;
        const char *str = fields[i].kind == F_STR ? *(char *const *)p : p;
        json_t *v = fields[i].kind == F_I64          ? json_integer(*(const int64_t *)p)
                    : fields[i].kind == F_HASH       ? hash_json(p)
                    : fields[i].kind == F_STR && str ? text_json(str)
                    : str                            ? json_string(str)
                                                     : json_null();
        if (json_object_set_new(o, fields[i].name, v) < 0) /* v NULL fails and is fine */
            return json_decref(o), NULL;
    }
    return o;
}

/* -EINVAL for a missing or mistyped field; ret is released by the caller. */
static int record_parse(const json_t *o, struct store_audit *ret)
{
    if (!json_is_object(o) || json_object_size(o) != ELEMENTSOF(fields))
        return -EINVAL;
    for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
        const json_t *v = json_object_get(o, fields[i].name);
        void *p = (char *)ret + fields[i].off;
        const char *s = json_string_value(v);

        if (!v)
            return -EINVAL;
        switch (fields[i].kind) {
        case F_I64:
            if (!json_is_integer(v))
                return -EINVAL;
            *(int64_t *)p = json_integer_value(v);
            break;
        case F_CHARS:
            if (!s || strlen(s) >= fields[i].size)
                return -EINVAL;
            memcpy(p, s, strlen(s) + 1);
            break;
        case F_STR:
            if (!json_is_null(v)) {
                int r = text_parse(v, p);
                if (r < 0)
                    return r;
            }
            break;
        case F_HASH:
            if (hash_parse(v, p) < 0)
                return -EINVAL;
            break;
        }
    }
    return 0;
}

/* ---- scan: what would go ---- */

int archive_scan(struct server *srv, int64_t before, struct archive_info *ret, struct buf *err)
{
    struct store_audit_query qy = {.limit = ARCHIVE_PAGE};
    struct store_audit_archive anchor = {0};
    struct audit_chain st = {0};
    bool done = false, confirmed = false;
    int r;

    memset(ret, 0, sizeof(*ret));
    r = srv->store->ops->audit_anchor(srv->store, &anchor);
    if (r < 0 && r != -ENOENT)
        return buf_fail(err, r, "cannot read the audit log's anchor: %s", store_error());
    if (r == 0 && (r = audit_anchor_confirmed(srv, &anchor, &confirmed)) < 0)
        return buf_fail(err, r, "cannot read the audit log: %s", store_error());
    if (r == 0 && !confirmed) /* archiving on would launder the removal */
        return buf_fail(err, -EBADMSG,
                        "the records up to %lld were removed, but no audit.archive record "
                        "names that anchor: nothing archived; run 'arca audit-logs verify'",
                        (long long)anchor.seq);
    ret->anchor_seq = qy.after_seq = anchor.seq;
    memcpy(ret->anchor_hash, anchor.hash, sizeof(anchor.hash));
    memcpy(st.prev, anchor.hash, sizeof(st.prev));
    while (!done) {
        struct store_audit *v = NULL;
        size_t n = 0;
        const char *why;

        r = srv->store->ops->audit_query(srv->store, &qy, &v, &n);
        if (r < 0)
            return buf_fail(err, r, "cannot read the audit log: %s", store_error());
        for (size_t i = 0; i < n && !done; i++) {
            bool gap = v[i].seq != ret->anchor_seq + ret->records + 1;

            if (v[i].time >= before || ret->records == ARCHIVE_MAX_RECORDS) {
                ret->more = v[i].time < before;
                done = true;
                break;
            }
            if (gap || audit_chain_next(srv, &st, &v[i], &why) < 0) {
                r = buf_fail(err, -EBADMSG,
                             "the audit log does not verify at record %lld (%s): nothing archived; "
                             "run 'arca audit-logs verify'",
                             (long long)v[i].seq, gap ? "a record is missing" : why);
                break;
            }
            if (!ret->records)
                ret->first_seq = v[i].seq;
            ret->last_seq = v[i].seq;
            memcpy(ret->last_hash, v[i].hash, sizeof(ret->last_hash));
            ret->records++;
        }
        qy.after_seq = n ? v[n - 1].seq : qy.after_seq;
        store_audits_free(v, n);
        if (r < 0)
            return r;
        done = done || n < qy.limit;
    }
    return 0;
}

/* ---- writing ---- */

static int write_line(gzFile gz, const json_t *v, struct buf *line, struct buf *err)
{
    int r;

    buf_clear(line);
    if (!v || (r = wire_dump(line, v)) < 0 || (r = buf_addch(line, '\n')) < 0)
        return buf_fail(err, -EINVAL, "a record cannot be written as JSON (out of memory?)");
    if (line->len > ARCHIVE_LINE_MAX)
        return buf_fail(err, -E2BIG, "a record is over the %u-byte line limit", ARCHIVE_LINE_MAX);
    if (gzwrite(gz, line->ptr, (unsigned)line->len) != (int)line->len)
        return buf_fail(err, -EIO, "cannot write the archive: %s", strerror(errno));
    return 0;
}

static json_t *generations_json(const struct server *srv)
{
    json_t *a = json_array();

    for (size_t i = 0; i < srv->n_audit_gens && a; i++)
        if (json_array_append_new(a, json_pack("{s:I, s:I}", "generation", (json_int_t)(i + 1),
                                               "firstSeq",
                                               (json_int_t)srv->audit_gens[i].first_seq)) < 0)
            return json_decref(a), NULL;
    return a;
}

/* The records of scan, into gz. */
static int write_records(struct server *srv, const struct archive_info *scan, int64_t before,
                         gzFile gz, struct buf *err)
{
    struct store_audit_query qy = {.limit = ARCHIVE_PAGE, .after_seq = scan->anchor_seq};
    _cleanup_buf_ struct buf line = BUF_INIT;
    _cleanup_json_ json_t *head = NULL, *tail = NULL;
    char t_before[25], t_now[25];
    int64_t written = 0;
    int r;

    time_format_iso(before, t_before);
    time_format_iso(now_ms(), t_now);
    head = json_pack("{s:s, s:i, s:I, s:o, s:I, s:I, s:I, s:s, s:s, s:o*}", "format",
                     "arca-audit-archive", "version", ARCHIVE_FORMAT_VERSION, "anchorSeq",
                     (json_int_t)scan->anchor_seq, "anchorHash", hash_json(scan->anchor_hash),
                     "firstSeq", (json_int_t)scan->first_seq, "lastSeq", (json_int_t)scan->last_seq,
                     "records", (json_int_t)scan->records, "before", t_before, "createdAt", t_now,
                     "generations", generations_json(srv));
    if ((r = write_line(gz, head, &line, err)) < 0)
        return r;
    while (written < scan->records) {
        struct store_audit *v = NULL;
        size_t n = 0;

        r = srv->store->ops->audit_query(srv->store, &qy, &v, &n);
        if (r < 0)
            return buf_fail(err, r, "cannot read the audit log: %s", store_error());
        if (n == 0)
            r = buf_fail(err, -ESTALE, "the audit log changed while it was archived");
        for (size_t i = 0; i < n && r >= 0 && written < scan->records; i++, written++) {
            _cleanup_json_ json_t *o = record_json(&v[i]);
            r = write_line(gz, o, &line, err);
        }
        qy.after_seq = n ? v[n - 1].seq : qy.after_seq;
        store_audits_free(v, n);
        if (r < 0)
            return r;
    }
    tail = json_pack("{s:b, s:I, s:o}", "end", 1, "records", (json_int_t)scan->records, "lastHash",
                     hash_json(scan->last_hash));
    return write_line(gz, tail, &line, err);
}

static void sync_dir(const char *path)
{
    _cleanup_free_ char *dir = strdup(path);
    int fd = dir ? open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* The "audit.archive" record: a server-level event naming the anchor it makes. */
static int archive_record(struct store_audit *a, const struct archive_info *info, const char *by,
                          const char *path)
{
    char last[2 * STORE_HASH_BYTES + 1], file[2 * STORE_HASH_BYTES + 1];
    _cleanup_json_ json_t *m = NULL;
    _cleanup_free_ char *base = strdup(path);

    hex_encode(info->last_hash, STORE_HASH_BYTES, last);
    hex_encode(info->file_hash, STORE_HASH_BYTES, file);
    m = json_pack("{s:I, s:I, s:I, s:s, s:s, s:s}", "firstSeq", (json_int_t)info->first_seq,
                  "lastSeq", (json_int_t)info->last_seq, "records", (json_int_t)info->records,
                  "lastHash", last, "fileHash", file, "file", base ? basename(base) : "");
    return audit_server_record(a, by, "audit.archive",
                               m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL);
}

/* Where the records of a file are cut: the seq and hash of every chunk's last. */
struct cuts {
    struct cut {
        int64_t seq;
        uint8_t hash[STORE_HASH_BYTES];
    } * v;
    size_t n;
};

static int cut_add(void *ctx, const struct store_audit *a)
{
    struct cuts *c = ctx;
    struct cut *v = reallocarray(c->v, c->n + 1, sizeof(*v));

    if (!v)
        return -ENOMEM;
    c->v = v;
    v[c->n].seq = a->seq;
    memcpy(v[c->n++].hash, a->hash, STORE_HASH_BYTES);
    return 1;
}

/* Removes the records of a checked file, chunk by chunk, each chunk one store
 * transaction with its audit.archive record and anchor. */
static int remove_chunks(struct server *srv, const struct archive_info *got, const struct cuts *c,
                         const char *by, const char *path, struct buf *err)
{
    int64_t from = got->first_seq;
    int r = 0;

    for (size_t i = 0; i < c->n && r >= 0; i++) {
        struct archive_info part = *got;
        struct store_audit_archive a = {.seq = c->v[i].seq,
                                        .first_seq = from,
                                        .records = c->v[i].seq - from + 1,
                                        .archived_at = now_ms()};
        struct store_audit rec = {0};

        part.first_seq = from;
        part.last_seq = a.seq;
        part.records = a.records;
        memcpy(part.last_hash, c->v[i].hash, sizeof(part.last_hash));
        memcpy(a.hash, c->v[i].hash, sizeof(a.hash));
        memcpy(a.file_hash, got->file_hash, sizeof(a.file_hash));
        snprintf(a.archived_by, sizeof(a.archived_by), "%s", by);
        r = archive_record(&rec, &part, by, path);
        if (r >= 0)
            r = srv->store->ops->audit_archive(srv->store, &a, &rec, audit_chain_fn(), srv);
        store_audit_release(&rec);
        if (r < 0 && i == 0)
            return r == -ESTALE ? buf_fail(err, r,
                                           "the audit log was archived meanwhile (by another "
                                           "server?): the file is removed")
                                : buf_fail(err, r,
                                           "cannot remove the archived records: %s (the "
                                           "file is removed)",
                                           store_error());
        if (r < 0) /* the file is complete: keep it, the rest stays in the store */
            return buf_fail(err, 1,
                            "only the records up to %lld were removed: %s (the file holds them "
                            "all; the rest stays in the store for the next archive)",
                            (long long)(from - 1), store_error());
        from = a.seq + 1;
    }
    return 0;
}

int archive_write(struct server *srv, const struct archive_info *scan, int64_t before,
                  const char *path, const char *by, struct buf *err)
{
    _cleanup_free_ char *tmp = NULL;
    struct archive_info got;
    struct cuts cuts = {0};
    gzFile gz;
    int fd, r;

    if (scan->records == 0)
        return buf_fail(err, -ENODATA, "nothing to archive");
    if (access(path, F_OK) == 0)
        return buf_fail(err, -EEXIST, "'%s' exists: give a new file", path);
    if (asprintf(&tmp, "%s.partial", path) < 0)
        return tmp = NULL, -ENOMEM;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return buf_fail(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
    gz = gzdopen(dup(fd), "wb6");
    r = gz ? write_records(srv, scan, before, gz, err) : buf_fail(err, -ENOMEM, "out of memory");
    if (gz && gzclose(gz) != Z_OK && r >= 0)
        r = buf_fail(err, -EIO, "cannot write '%s'", tmp);
    if (r >= 0 && fsync(fd) < 0)
        r = buf_fail(err, -errno, "cannot sync '%s': %s", tmp, strerror(errno));
    close(fd);
    /* link, not rename: never over a file made meanwhile (rename where the
     * file system has no links) */
    if (r >= 0 && link(tmp, path) < 0 &&
        ((errno != EPERM && errno != EOPNOTSUPP) || rename(tmp, path) < 0))
        r = buf_fail(err, -errno, "cannot create '%s': %s", path, strerror(errno));
    unlink(tmp);
    if (r < 0)
        return r;
    sync_dir(path);

    /* what is on disk, not what was meant to be */
    r = check_file(srv, path, &got, cut_add, &cuts, err);
    if (r >= 0 && (got.anchor_seq != scan->anchor_seq || got.last_seq != scan->last_seq ||
                   got.records != scan->records ||
                   memcmp(got.last_hash, scan->last_hash, sizeof(got.last_hash)) != 0))
        r = buf_fail(err, -ESTALE, "the audit log changed while it was archived");
    if (r >= 0)
        r = remove_chunks(srv, &got, &cuts, by, path, err);
    free(cuts.v);
    if (r < 0)
        unlink(path);
    return r < 0 ? r : r > 0 ? -EINPROGRESS : 0;
}

/* ---- checking ---- */

static int file_hash(const char *path, uint8_t out[STORE_HASH_BYTES], struct buf *err)
{
    struct seal_hasher *h = NULL;
    uint8_t chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return buf_fail(err, -errno, "cannot open '%s': %s", path, strerror(errno));
    if (seal_hasher_new(&h) < 0) {
        close(fd);
        return -ENOMEM;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        seal_hasher_update(h, chunk, (size_t)n);
    seal_hasher_final(h, out);
    seal_hasher_free(h);
    close(fd);
    return n < 0 ? buf_fail(err, -EIO, "cannot read '%s'", path) : 0;
}

/* The next line of gz as JSON into *ret; 0 at the end of the file. */
static int read_line(gzFile gz, char *line, json_t **ret, struct buf *err)
{
    int zerr;
    size_t len;

    if (!gzgets(gz, line, ARCHIVE_LINE_MAX + 1)) {
        const char *msg = gzerror(gz, &zerr);
        return zerr == Z_OK && gzeof(gz) ? 0
                                         : buf_fail(err, -EINVAL,
                                                    "the file is damaged or "
                                                    "truncated (%s)",
                                                    msg);
    }
    len = strlen(line);
    if (len == 0 || line[len - 1] != '\n')
        return buf_fail(err, -EINVAL, "a line is over %u bytes or the file is truncated",
                        ARCHIVE_LINE_MAX);
    if (wire_parse(line, len - 1, ret, NULL) < 0)
        return buf_fail(err, -EINVAL, "a line is not JSON");
    return 1;
}

/* archive_check, calling cut(ctx, record) (when not NULL) for every record
 * that ends a chunk of ARCHIVE_CHUNK records, and the last one. */
static int check_file(struct server *srv, const char *path, struct archive_info *ret,
                      int (*cut)(void *ctx, const struct store_audit *a), void *ctx,
                      struct buf *err)
{
    _cleanup_free_ char *line = malloc(ARCHIVE_LINE_MAX + 1);
    _cleanup_json_ json_t *head = NULL;
    struct archive_info info = {0};
    struct audit_chain st = {0};
    json_int_t version = 0, anchor = 0, first = 0, last = 0, records = 0;
    const char *format = NULL;
    json_t *anchor_hash = NULL;
    bool ended = false;
    gzFile gz;
    int r;

    if (!line)
        return -ENOMEM;
    if ((r = file_hash(path, info.file_hash, err)) < 0)
        return r;
    gz = gzopen(path, "rb");
    if (!gz)
        return buf_fail(err, -errno ? -errno : -ENOMEM, "cannot open '%s'", path);
    r = read_line(gz, line, &head, err);
    if (r == 0 ||
        (r > 0 && json_unpack(head, "{s:s, s:I, s:I, s:o, s:I, s:I, s:I}", "format", &format,
                              "version", &version, "anchorSeq", &anchor, "anchorHash", &anchor_hash,
                              "firstSeq", &first, "lastSeq", &last, "records", &records) < 0))
        r = buf_fail(err, -EINVAL, "not an arca audit archive (no header)");
    if (r > 0 && (!streq(format, "arca-audit-archive") || version != ARCHIVE_FORMAT_VERSION))
        r = buf_fail(err, -EINVAL, "not an arca audit archive of version %d",
                     ARCHIVE_FORMAT_VERSION);
    if (r > 0 && (hash_parse(anchor_hash, info.anchor_hash) < 0 || anchor < 0 ||
                  first != anchor + 1 || records != last - first + 1 || records < 1))
        r = buf_fail(err, -EINVAL, "the header's sequence numbers do not add up");
    info.anchor_seq = anchor;
    memcpy(st.prev, info.anchor_hash, sizeof(st.prev));
    while (r > 0 && !ended) {
        _cleanup_json_ json_t *o = NULL;
        struct store_audit a = {0};
        const char *why = NULL;
        json_int_t n = -1;

        r = read_line(gz, line, &o, err);
        if (r == 0)
            r = buf_fail(err, -EINVAL, "the file is truncated (no trailer)");
        if (r <= 0)
            break;
        if (json_object_get(o, "end")) {
            ended = true;
            if (json_unpack(o, "{s:b, s:I, s:o}", "end", &(int){0}, "records", &n, "lastHash",
                            &anchor_hash) < 0 ||
                hash_parse(anchor_hash, info.last_hash) < 0 || n != records ||
                info.records != records || memcmp(info.last_hash, st.prev, sizeof(st.prev)) != 0)
                r = buf_fail(err, -EINVAL, "the trailer does not match the records (%lld of %lld)",
                             (long long)info.records, (long long)records);
            continue;
        }
        if (record_parse(o, &a) < 0)
            r = buf_fail(err, -EINVAL, "record %lld is malformed",
                         (long long)(first + info.records));
        else if (a.seq != first + info.records || a.seq > last)
            r = buf_fail(err, -EBADMSG, "record %lld is missing or out of place (found %lld)",
                         (long long)(first + info.records), (long long)a.seq);
        else if (audit_chain_next(srv, &st, &a, &why) < 0)
            r = buf_fail(err, -EBADMSG, "record %lld does not verify: %s", (long long)a.seq, why);
        else if (++info.records % ARCHIVE_CHUNK == 0 || a.seq == last)
            r = cut ? cut(ctx, &a) : 1;
        store_audit_release(&a);
    }
    if (r > 0) {
        _cleanup_json_ json_t *extra = NULL;
        if (read_line(gz, line, &extra, err) != 0)
            r = buf_fail(err, -EINVAL, "data after the trailer");
    }
    gzclose(gz);
    if (r < 0)
        return r;
    info.first_seq = first;
    info.last_seq = last;
    *ret = info;
    return 0;
}

/* ---- retention ---- */

struct retention {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

/* One run: the records older than the setting, into a new file of the directory. */
static bool retention_run(struct server *srv)
{
    _cleanup_buf_ struct buf err = BUF_INIT;
    _cleanup_free_ char *path = NULL;
    int64_t now = now_ms(), before = now - srv->cfg.audit_retention_days * DAY_MS;
    struct archive_info scan;
    char iso[25], t[25], first[24], last[24], n[24], days[24];
    int r;

    time_format_iso(now, iso);
    for (size_t i = 0, j = 0; i < sizeof(iso); i++) /* 20261206T101104.781Z: no ':' */
        if (iso[i] != '-' && iso[i] != ':')
            t[j++] = iso[i];
    snprintf(days, sizeof(days), "%d", srv->cfg.audit_retention_days);
    r = archive_scan(srv, before, &scan, &err);
    if (r >= 0 && scan.records == 0) {
        log_info("audit retention: nothing to archive", "days", days, NULL);
        return false;
    }
    if (r >= 0 && mkdir(srv->cfg.audit_archive_dir, 0700) < 0 && errno != EEXIST)
        r = buf_fail(&err, -errno, "cannot create the archive directory '%s': %s",
                     srv->cfg.audit_archive_dir, strerror(errno));
    if (r >= 0 && asprintf(&path, "%s/audit-%s.jsonl.gz", srv->cfg.audit_archive_dir, t) < 0) {
        path = NULL;
        r = -ENOMEM;
    }
    if (r >= 0)
        r = archive_write(srv, &scan, before, path, "retention", &err);
    if (r == -ESTALE) { /* several servers on one database: another one did it */
        log_info("audit retention: another server archived them meanwhile (its file has them)",
                 "days", days, NULL);
        return false;
    }
    if (r < 0) {
        log_error(r == -EINPROGRESS ? "audit retention: archived, but removed only part"
                                    : "audit retention: cannot archive (nothing removed)",
                  "error", err.len ? buf_str(&err) : strerror(-r), NULL);
        return false;
    }
    snprintf(first, sizeof(first), "%lld", (long long)scan.first_seq);
    snprintf(last, sizeof(last), "%lld", (long long)scan.last_seq);
    snprintf(n, sizeof(n), "%lld", (long long)scan.records);
    log_info("audit retention: archived and removed the records older than the setting", "days",
             days, "records", n, "firstSeq", first, "lastSeq", last, "file", path, "more",
             scan.more ? "true" : "false", NULL);
    return scan.more;
}

static void *retention_thread(void *arg)
{
    struct server *srv = arg;
    struct retention *t = srv->retention;

    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        struct timespec until;

        bool more;

        pthread_mutex_unlock(&t->lock);
        more = retention_run(srv);
        pthread_mutex_lock(&t->lock);
        if (more)
            continue;
        until = realtime_after_ms(DAY_MS);
        while (!t->stopping && pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int archive_retention_start(struct server *srv)
{
    struct retention *t;

    if (!srv->cfg.audit_retention)
        return 0;
    t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    srv->retention = t;
    if (pthread_create(&t->thread, NULL, retention_thread, srv) != 0) {
        srv->retention = NULL;
        free(t);
        return -EAGAIN;
    }
    return 0;
}

void archive_retention_stop(struct server *srv)
{
    struct retention *t = srv->retention;

    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
    srv->retention = NULL;
}

/* ---- the local commands ---- */

/* The store of cfg and its chain keys, as a server has them. */
static int open_local(struct server *srv)
{
    _cleanup_buf_ struct buf where = BUF_INIT;
    int r;

    if (seal_init() < 0)
        return -EIO;
    r = server_store_open(&srv->cfg, &srv->store, &where);
    if (r >= 0)
        r = root_key_load(srv, NULL);
    if (r >= 0)
        r = root_key_check(srv);
    srv->audit_key = r >= 0 ? seal_malloc(SEAL_KEY_BYTES) : NULL;
    if (r >= 0 && !srv->audit_key)
        r = -ENOMEM;
    if (r >= 0)
        audit_key_derive(srv->root_key, srv->audit_key);
    return r;
}

static void close_local(struct server *srv)
{
    store_close(srv->store);
    audit_gens_free(srv);
    seal_free(srv->root_key);
    seal_free(srv->audit_key);
}

int server_audit_archive(const struct server_config *cfg, int64_t before, const char *path,
                         bool (*confirm)(void *ctx, const struct archive_info *plan), void *ctx,
                         struct buf *err)
{
    struct server srv = {.cfg = *cfg};
    struct archive_info scan = {0};
    int r = open_local(&srv);

    if (r >= 0)
        r = archive_scan(&srv, before, &scan, err);
    if (r >= 0 && scan.records == 0)
        r = -ENODATA;
    if (r >= 0 && !confirm(ctx, &scan))
        r = -ECANCELED;
    if (r >= 0)
        r = archive_write(&srv, &scan, before, path, "arca audit-logs archive", err);
    close_local(&srv);
    return r;
}

int server_audit_archive_verify(const struct server_config *cfg, const char *path,
                                struct archive_info *ret, struct buf *err)
{
    struct server srv = {.cfg = *cfg};
    int r = open_local(&srv);

    if (r >= 0)
        r = archive_check(&srv, path, ret, err);
    close_local(&srv);
    return r;
}

int archive_check(struct server *srv, const char *path, struct archive_info *ret, struct buf *err)
{
    return check_file(srv, path, ret, NULL, NULL, err);
}
