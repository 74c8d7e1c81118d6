/* backup.c - the backup file (format in backup.h).
 *
 * Writing: the store's backup op streams every row from one snapshot into
 * emit_row, which serialises it as one line, feeds the line to the running
 * BLAKE2b and writes it to a temporary file; the trailer closes it, then
 * fsync and rename.
 *
 * Restoring reads the file twice with the same reader (reader_next): once
 * without a store (backup_check, before the store is even opened), to refuse
 * a malformed, truncated or edited file before anything is written, then as
 * the feed of the store's restore op, which checks it again (the file could
 * change in between) and rolls back on any failure.
 */
#include "server/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/util.h"
#include "base/wire.h"
#include "crypto/seal.h"

#define BACKUP_MAX_COLS 32

static size_t table_index(const struct store_table *t)
{
    return (size_t)(t - store_tables);
}

/* ---- writing ---- */

struct writer {
    FILE *f;
    struct seal_hasher *hash;
    struct buf line;
    struct buf scratch;
    size_t rows[64]; /* per table of store_tables */
    size_t n_rows;
    struct buf *err;
};

/* Serialises v as one line, hashes and writes it. */
static int write_line(struct writer *w, const json_t *v, bool hashed)
{
    int r;

    buf_clear(&w->line);
    if ((r = wire_dump(&w->line, v)) < 0 || (r = buf_addch(&w->line, '\n')) < 0)
        return buf_fail(w->err, r, "a line is over the size limit");
    if (w->line.len > BACKUP_LINE_MAX)
        return buf_fail(w->err, -E2BIG, "a row is over the %u-byte line limit", BACKUP_LINE_MAX);
    if (hashed)
        seal_hasher_update(w->hash, w->line.ptr, w->line.len);
    if (fwrite(w->line.ptr, 1, w->line.len, w->f) != w->line.len)
        return buf_fail(w->err, -errno, "write failed: %s", strerror(errno));
    return 0;
}

static json_t *value_to_json(struct writer *w, char type, const struct store_value *v)
{
    if (v->null)
        return json_null();
    if (type == 'i')
        return json_integer(v->i);
    if (type == 't')
        return json_stringn(v->ptr, v->len); /* NULL unless UTF-8 */
    buf_clear(&w->scratch);
    if (b64_encode(&w->scratch, v->ptr, v->len, B64_STD) < 0)
        return NULL;
    return json_stringn(w->scratch.ptr ? w->scratch.ptr : "", w->scratch.len);
}

static int emit_row(void *ctx, const struct store_table *t, const struct store_value *row)
{
    struct writer *w = ctx;
    _cleanup_json_ json_t *line = NULL;
    json_t *vals = json_array();

    if (!row) {
        for (size_t i = 0; i < t->n_cols && vals; i++)
            if (json_array_append_new(vals, json_string(t->cols[i])) < 0)
                return -ENOMEM;
        line = json_pack("{s:s, s:o}", "t", t->name, "c", vals);
        return line ? write_line(w, line, true) : -ENOMEM;
    }
    for (size_t i = 0; i < t->n_cols && vals; i++) {
        json_t *v = value_to_json(w, t->types[i], &row[i]);
        if (!v) {
            json_decref(vals);
            return buf_fail(w->err, -EINVAL, "table '%s', column '%s': a value is not UTF-8 text",
                            t->name, t->cols[i]);
        }
        json_array_append_new(vals, v);
    }
    line = json_pack("{s:s, s:o}", "t", t->name, "r", vals);
    if (!line)
        return -ENOMEM;
    w->rows[table_index(t)]++;
    w->n_rows++;
    return write_line(w, line, true);
}

static json_t *rows_json(const size_t *rows)
{
    json_t *o = json_object();

    for (size_t i = 0; i < store_n_tables && o; i++)
        if (json_object_set_new(o, store_tables[i].name, json_integer((json_int_t)rows[i])) < 0)
            return json_decref(o), NULL;
    return o;
}

static int hash_b64(struct seal_hasher *h, struct buf *out)
{
    uint8_t sum[SEAL_HASH_BYTES];

    seal_hasher_final(h, sum);
    return b64_encode(out, sum, sizeof(sum), B64_STD);
}

static int write_all(struct store *s, struct writer *w)
{
    _cleanup_json_ json_t *header = NULL, *trailer = NULL;
    _cleanup_buf_ struct buf sum = BUF_INIT;
    char when[25];
    int r;

    time_format_iso(now_ms(), when);
    header = json_pack("{s:s, s:i, s:i, s:s, s:s}", "format", "arca-backup", "version",
                       BACKUP_FORMAT_VERSION, "schema", store_schema_version(), "store",
                       s->ops->name, "createdAt", when);
    if (!header)
        return -ENOMEM;
    if ((r = write_line(w, header, true)) < 0)
        return r;
    r = s->ops->backup(s, emit_row, w);
    if (r < 0)
        return buf_fail(w->err, r, "cannot read the store: %s", store_error());
    if ((r = hash_b64(w->hash, &sum)) < 0)
        return r;
    trailer = json_pack("{s:b, s:o, s:s}", "end", 1, "rows", rows_json(w->rows), "blake2b",
                        buf_str(&sum));
    return trailer ? write_line(w, trailer, false) : -ENOMEM;
}

int backup_write(struct store *s, const char *path, size_t *ret_rows, struct buf *err)
{
    struct writer w = {.line = BUF_INIT, .scratch = BUF_INIT, .err = err};
    _cleanup_free_ char *tmp = NULL, *dir_copy = NULL;
    int fd, r, dfd;

    if (store_n_tables > ELEMENTSOF(w.rows))
        return -E2BIG;
    buf_init(&w.line, BACKUP_LINE_MAX + 1);
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0 || !(dir_copy = strdup(path)))
        return -ENOMEM;
    fd = mkstemp(tmp); /* 0600 */
    if (fd < 0)
        return buf_fail(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
    w.f = fdopen(fd, "w");
    if (!w.f) {
        close(fd);
        unlink(tmp);
        return -ENOMEM;
    }
    r = seal_hasher_new(&w.hash);
    if (r >= 0)
        r = write_all(s, &w);
    if (fflush(w.f) != 0 || fsync(fd) < 0)
        r = r < 0 ? r : buf_fail(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
    if (fclose(w.f) != 0 && r >= 0)
        r = buf_fail(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
    if (r >= 0 && rename(tmp, path) < 0)
        r = buf_fail(err, -errno, "cannot rename to '%s': %s", path, strerror(errno));
    if (r < 0) {
        unlink(tmp);
    } else if ((dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(dfd); /* the rename itself */
        close(dfd);
    }
    seal_hasher_free(w.hash);
    buf_release(&w.line);
    buf_release(&w.scratch);
    if (r >= 0 && ret_rows)
        *ret_rows = w.n_rows;
    return r;
}

/* ---- reading ---- */

struct reader {
    FILE *f;
    struct seal_hasher *hash;
    struct buf line;
    size_t lineno;
    size_t next_table; /* index in store_tables of the next columns line */
    const struct store_table *cur;
    size_t rows[64];
    size_t n_rows;
    bool done;                                /* the trailer was read and checked */
    json_t *row;                              /* the current row's line, OWNED */
    struct store_value vals[BACKUP_MAX_COLS]; /* BORROWED from row and blobs */
    struct buf blobs[BACKUP_MAX_COLS];
    struct buf *err;
};

/* Reads one line (newline included) into r->line: 1, 0 at the end of the
 * file, -E2BIG over the limit.  Byte by byte (stdio buffers): a NUL byte is
 * kept, for the JSON parser to refuse. */
static int read_line(struct reader *r)
{
    int ch = 0;

    buf_clear(&r->line);
    while ((ch = getc_unlocked(r->f)) != EOF) {
        if (r->line.len == BACKUP_LINE_MAX)
            return buf_fail(r->err, -E2BIG, "line %zu: over the %u-byte line limit", r->lineno + 1,
                            BACKUP_LINE_MAX);
        if (buf_addch(&r->line, (char)ch) < 0)
            return -ENOMEM;
        if (ch == '\n')
            break;
    }
    if (ferror(r->f))
        return buf_fail(r->err, -EIO, "read failed: %s", strerror(errno));
    if (r->line.len == 0)
        return 0;
    r->lineno++;
    if (ch != '\n')
        return buf_fail(r->err, -EINVAL, "line %zu: truncated (no newline)", r->lineno);
    return 1;
}

static int bad(struct reader *r, const char *what)
{
    return buf_fail(r->err, -EINVAL, "line %zu: %s", r->lineno, what);
}

/* Parses the current line into *ret (OWNED). */
static int parse_line(struct reader *r, json_t **ret)
{
    _cleanup_buf_ struct buf why = BUF_INIT;

    if (wire_parse(r->line.ptr, r->line.len - 1, ret, &why) < 0 || !json_is_object(*ret)) {
        buf_fail(r->err, -EINVAL, "line %zu: not a JSON object (%s)", r->lineno,
                 why.len ? buf_str(&why) : "wrong type");
        return -EINVAL;
    }
    return 0;
}

static int check_header(struct reader *r)
{
    _cleanup_json_ json_t *h = NULL;
    const char *format = NULL;
    long long version = 0, schema = 0;
    int ret;

    if ((ret = read_line(r)) <= 0)
        return ret < 0 ? ret : buf_fail(r->err, -EINVAL, "empty file: not an arca backup");
    seal_hasher_update(r->hash, r->line.ptr, r->line.len);
    if ((ret = parse_line(r, &h)) < 0)
        return ret;
    if (wire_get_str(h, "format", 64, &format) < 0 || !streq(format, "arca-backup"))
        return bad(r, "not an arca backup (no \"format\": \"arca-backup\")");
    if (wire_get_int(h, "version", &version) < 0 || version != BACKUP_FORMAT_VERSION)
        return bad(r, "unknown backup format version");
    if (wire_get_int(h, "schema", &schema) < 0)
        return bad(r, "no schema version");
    if (schema != store_schema_version())
        return buf_fail(r->err, -ENOTSUP,
                        "the backup is of schema version %lld, this arca's is %d: restore with the "
                        "arca version that made the backup, then upgrade",
                        schema, store_schema_version());
    return 0;
}

static int check_columns(struct reader *r, const json_t *line)
{
    const struct store_table *t;
    const char *name = NULL;
    json_t *cols = NULL;

    if (r->next_table >= store_n_tables)
        return bad(r, "more tables than the schema has");
    t = &store_tables[r->next_table];
    if (wire_get_str(line, "t", 64, &name) < 0 || !streq(name, t->name))
        return buf_fail(r->err, -EINVAL, "line %zu: expected the columns of table '%s'", r->lineno,
                        t->name);
    if (wire_get_arr(line, "c", BACKUP_MAX_COLS, &cols) < 0 || json_array_size(cols) != t->n_cols)
        return buf_fail(r->err, -EINVAL, "line %zu: the columns of '%s' are not this schema's",
                        r->lineno, t->name);
    for (size_t i = 0; i < t->n_cols; i++) {
        const char *c = json_string_value(json_array_get(cols, i));
        if (!c || !streq(c, t->cols[i]))
            return buf_fail(r->err, -EINVAL, "line %zu: the columns of '%s' are not this schema's",
                            r->lineno, t->name);
    }
    r->cur = t;
    r->next_table++;
    return 0;
}

static int check_row(struct reader *r, json_t *line)
{
    const struct store_table *t = r->cur;
    const char *name = NULL;
    json_t *vals = NULL;

    if (!t || wire_get_str(line, "t", 64, &name) < 0 || !streq(name, t->name))
        return bad(r, "a row outside its table's section");
    if (wire_get_arr(line, "r", BACKUP_MAX_COLS, &vals) < 0 || json_array_size(vals) != t->n_cols)
        return buf_fail(r->err, -EINVAL, "line %zu: a row of '%s' with the wrong number of values",
                        r->lineno, t->name);
    for (size_t i = 0; i < t->n_cols; i++) {
        json_t *v = json_array_get(vals, i);
        struct store_value *out = &r->vals[i];
        *out = (struct store_value){.null = json_is_null(v)};
        if (out->null)
            continue;
        if (t->types[i] == 'i' ? !json_is_integer(v) : !json_is_string(v))
            return buf_fail(r->err, -EINVAL, "line %zu: table '%s', column '%s': wrong type",
                            r->lineno, t->name, t->cols[i]);
        if (t->types[i] == 'i') {
            out->i = json_integer_value(v);
        } else if (t->types[i] == 't') {
            out->ptr = json_string_value(v);
            out->len = json_string_length(v);
        } else {
            buf_clear(&r->blobs[i]);
            if (b64_decode(&r->blobs[i], json_string_value(v), json_string_length(v), B64_STD) < 0)
                return buf_fail(r->err, -EINVAL, "line %zu: table '%s', column '%s': bad base64",
                                r->lineno, t->name, t->cols[i]);
            out->ptr = r->blobs[i].ptr ? r->blobs[i].ptr : "";
            out->len = r->blobs[i].len;
        }
    }
    r->rows[table_index(t)]++;
    r->n_rows++;
    return 1;
}

static int check_trailer(struct reader *r, const json_t *line)
{
    _cleanup_buf_ struct buf sum = BUF_INIT;
    _cleanup_json_ json_t *want = rows_json(r->rows);
    json_t *rows = NULL;
    const char *hash = NULL;
    int ret;

    if (r->next_table != store_n_tables)
        return bad(r, "the backup ends before its last table");
    if (wire_get_obj(line, "rows", &rows) < 0 || !want || !json_equal(rows, want))
        return bad(r, "the row counts of the trailer do not match the rows read");
    if ((ret = hash_b64(r->hash, &sum)) < 0)
        return ret;
    if (wire_get_str(line, "blake2b", 128, &hash) < 0 || !streq(hash, buf_str(&sum)))
        return bad(r, "the BLAKE2b hash does not match: the file was changed or damaged");
    if ((ret = read_line(r)) != 0)
        return ret < 0 ? ret : bad(r, "text after the trailer");
    r->done = true;
    return 0;
}

/* The store_restore_fn: the next row, 0 after a good trailer. */
static int reader_next(void *ctx, const struct store_table **ret_t,
                       const struct store_value **ret_row)
{
    struct reader *r = ctx;
    int ret;

    for (;;) {
        _cleanup_json_ json_t *line = NULL;
        bool end = false;

        json_decref(r->row);
        r->row = NULL;
        if (r->done)
            return 0;
        if ((ret = read_line(r)) <= 0)
            return ret < 0 ? ret : bad(r, "truncated: the trailer is missing");
        if ((ret = parse_line(r, &line)) < 0)
            return ret;
        if (wire_get_bool(line, "end", &end) == 0 && end) {
            if ((ret = check_trailer(r, line)) < 0)
                return ret;
            continue;
        }
        seal_hasher_update(r->hash, r->line.ptr, r->line.len);
        if (json_object_get(line, "c")) {
            if ((ret = check_columns(r, line)) < 0)
                return ret;
            continue;
        }
        if ((ret = check_row(r, line)) < 0)
            return ret;
        r->row = line;
        line = NULL;
        *ret_t = r->cur;
        *ret_row = r->vals;
        return 1;
    }
}

static void reader_release(struct reader *r)
{
    if (r->f)
        fclose(r->f);
    seal_hasher_free(r->hash);
    json_decref(r->row);
    buf_release(&r->line);
    for (size_t i = 0; i < BACKUP_MAX_COLS; i++)
        buf_release(&r->blobs[i]);
    memset(r, 0, sizeof(*r));
}

static int reader_open(struct reader *r, const char *path, struct buf *err)
{
    int ret;

    memset(r, 0, sizeof(*r));
    r->err = err;
    buf_init(&r->line, BACKUP_LINE_MAX + 1);
    for (size_t i = 0; i < BACKUP_MAX_COLS; i++)
        buf_init(&r->blobs[i], BACKUP_LINE_MAX);
    if (store_n_tables > ELEMENTSOF(r->rows))
        return -E2BIG;
    r->f = fopen(path, "re");
    if (!r->f)
        return buf_fail(err, -errno, "cannot open '%s': %s", path, strerror(errno));
    if ((ret = seal_hasher_new(&r->hash)) < 0)
        return ret;
    return check_header(r);
}

int backup_check(const char *path, size_t *ret_rows, struct buf *err)
{
    const struct store_table *t;
    const struct store_value *row;
    struct reader r;
    int ret = reader_open(&r, path, err);

    while (ret >= 0 && (ret = reader_next(&r, &t, &row)) > 0)
        ;
    if (ret >= 0 && ret_rows)
        *ret_rows = r.n_rows;
    reader_release(&r);
    return ret;
}

int backup_restore(struct store *s, const char *path, size_t *ret_rows, struct buf *err)
{
    struct reader r;
    int ret = reader_open(&r, path, err);

    if (ret >= 0) {
        ret = s->ops->restore(s, reader_next, &r);
        if (ret < 0 && ret != -ENOTEMPTY)
            ret = buf_fail(err, ret, "cannot restore: %s", store_error());
        else if (ret == -ENOTEMPTY)
            ret = buf_fail(err, ret, "%s: restore only into a new, empty store", store_error());
    }
    if (ret >= 0 && ret_rows)
        *ret_rows = r.n_rows;
    reader_release(&r);
    return ret;
}
