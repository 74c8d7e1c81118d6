/* archive.h - archiving the audit log: `arca audit-logs archive`, `arca
 * audit-logs verify --archive` and the server's retention (docs/deploy.md).
 *
 * The archive file is gzip-compressed JSON lines:
 *
 *   LINE      DESCRIPTION
 *   1         header {"format": "arca-audit-archive", "version": 1,
 *             "anchorSeq": N, "anchorHash": hex (the record before the first:
 *             0 and zeros at the start of the log), "firstSeq": N, "lastSeq": N,
 *             "records": N, "before": ISO 8601, "createdAt": ISO 8601,
 *             "generations": [{"generation": G, "firstSeq": N}, ...] (the root
 *             key generations whose chain keys verify the records)}
 *   2 ...     one record per line, in seq order: {"seq", "time" (ms), "actorType",
 *             "actorId", "actorName", "event", "orgId", "projectId", "environment",
 *             "path", "key", "ip", "userAgent", "outcome", "metadata" (the stored
 *             text), "prevHash", "hash"}: every stored field as stored (null where
 *             the store holds NULL), hashes in hex; a text field whose bytes are
 *             not UTF-8 (stored by a version before such text was repaired on
 *             the way in) is {"hex": its bytes in hex}
 *   last      trailer {"end": true, "records": N, "lastHash": hex}
 *
 * Checking one recomputes its chain from anchorHash with the chain keys of the
 * store's root key generations, so it needs the store and the root key, as
 * the server has them.  An archive holds what the log holds (names, e-mails,
 * addresses, paths, key names), never a value, token or key: keep it like the
 * database. */
#pragma once

#include <stdint.h>

#include "base/buf.h"
#include "server.h"

#define ARCHIVE_FORMAT_VERSION 1
#define ARCHIVE_LINE_MAX (1u << 20) /* bytes of one line, newline included */
/* Records of one archive at most: a file of about 55 MB. */
#define ARCHIVE_MAX_RECORDS 1000000
/* Records removed in one store transaction (with their own audit.archive
 * record and anchor): a transaction holds the store's writer, and so every
 * audited request; 1,000,000 records with the six indexes of migration 0002
 * took 23 s to delete on SQLite here, 10,000 take a fraction of a second. */
#define ARCHIVE_CHUNK 10000

struct archive_info {
    int64_t anchor_seq; /* the record before the first (0: the log's start) */
    uint8_t anchor_hash[STORE_HASH_BYTES];
    int64_t first_seq, last_seq, records; /* records 0: nothing to archive */
    bool more; /* archive_scan: more records are older (over ARCHIVE_MAX_RECORDS) */
    uint8_t last_hash[STORE_HASH_BYTES];
    uint8_t file_hash[STORE_HASH_BYTES]; /* archive_check: BLAKE2b-256 of the file */
};

/* What archiving the records before `before` (ms) would take: the longest
 * run of records after the store's anchor whose times are all before it (at
 * most ARCHIVE_MAX_RECORDS: ret->more says whether more are older),
 * checked against the chain as it is read.  -EBADMSG (err says where and why)
 * if the log does not verify: such a log is not archived. */
int archive_scan(struct server *srv, int64_t before, struct archive_info *ret, struct buf *err);

/* Archives what scan found: writes the records to path (0600, through a
 * temporary file beside it that is fsynced and linked into place; -EEXIST if
 * path exists), checks the file read back from disk (archive_check), then has the
 * store remove them, ARCHIVE_CHUNK records a transaction, each chunk with an
 * "audit.archive" record by `by` (srv->audit_key chains it) and its anchor.
 * A failure before the first chunk leaves the store as it was and removes the
 * file (-ESTALE when the log changed since the scan: another archive ran); a
 * failure after it is -EINPROGRESS: the file is kept (it holds every record),
 * the records of the chunks not removed stay in the store. */
int archive_write(struct server *srv, const struct archive_info *scan, int64_t before,
                  const char *path, const char *by, struct buf *err);

/* Checks an archive file: format, limits, contiguous seqs, header and
 * trailer, and the chain from anchorHash with the store's chain keys.
 * -EBADMSG (a record does not verify), -EINVAL (not a complete archive), or
 * -errno; err says what.  ret (filled on success): what it holds. */
int archive_check(struct server *srv, const char *path, struct archive_info *ret, struct buf *err);

/* The server's retention thread: with cfg.audit_retention_days >= 0, archives
 * the records older than that to cfg.audit_archive_dir at start and then
 * daily, logging what it did. */
int archive_retention_start(struct server *srv);
void archive_retention_stop(struct server *srv);

/* The local commands, on the store of cfg with its root key (as `arca
 * server rotate-root-key`); the store and key errors are logged, the others
 * go to err.  server_audit_archive: before in ms; confirm sees the plan and
 * says whether to go on (-ECANCELED if not); -ENODATA: nothing to archive. */
int server_audit_archive(const struct server_config *cfg, int64_t before, const char *path,
                         bool (*confirm)(void *ctx, const struct archive_info *plan), void *ctx,
                         struct buf *err);
int server_audit_archive_verify(const struct server_config *cfg, const char *path,
                                struct archive_info *ret, struct buf *err);
