/* pq_lazy.c - libpq's functions that store_pg.c calls, as forwarders that load
 * libpq.so.5 on the first call (base/dynlib.h says why): the binary does not
 * link libpq, so a server on SQLite never maps it.  Each forwarder has libpq's
 * own prototype (libpq-fe.h), so the compiler checks every one; a function
 * store_pg.c starts to use must be added to PQ_FUNCS, or the link fails. */
#include <libpq-fe.h>

#include "base/dynlib.h"
#include "base/util.h"

/* X(return type, name, (parameters), (arguments)); V() for void functions. */
#define PQ_FUNCS(X, V)                                                                             \
    V(PQclear, (PGresult * res), (res))                                                            \
    X(char *, PQcmdStatus, (PGresult * res), (res))                                                \
    X(char *, PQcmdTuples, (PGresult * res), (res))                                                \
    X(PGconn *, PQconnectdbParams,                                                                 \
      (const char *const *keywords, const char *const *values, int expand_dbname),                 \
      (keywords, values, expand_dbname))                                                           \
    V(PQconninfoFree, (PQconninfoOption * options), (options))                                     \
    X(PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),                  \
      (conninfo, errmsg))                                                                          \
    X(int, PQenterPipelineMode, (PGconn * conn), (conn))                                           \
    X(char *, PQerrorMessage, (const PGconn *conn), (conn))                                        \
    X(PGresult *, PQexec, (PGconn * conn, const char *query), (conn, query))                       \
    X(PGresult *, PQexecParams,                                                                    \
      (PGconn * conn, const char *command, int n, const Oid *types, const char *const *values,     \
       const int *lengths, const int *formats, int result_format),                                 \
      (conn, command, n, types, values, lengths, formats, result_format))                          \
    X(PGresult *, PQexecPrepared,                                                                  \
      (PGconn * conn, const char *name, int n, const char *const *values, const int *lengths,      \
       const int *formats, int result_format),                                                     \
      (conn, name, n, values, lengths, formats, result_format))                                    \
    X(int, PQexitPipelineMode, (PGconn * conn), (conn))                                            \
    V(PQfinish, (PGconn * conn), (conn))                                                           \
    X(char *, PQfname, (const PGresult *res, int field), (res, field))                             \
    X(Oid, PQftype, (const PGresult *res, int field), (res, field))                                \
    X(int, PQgetisnull, (const PGresult *res, int row, int field), (res, row, field))              \
    X(int, PQgetlength, (const PGresult *res, int row, int field), (res, row, field))              \
    X(PGresult *, PQgetResult, (PGconn * conn), (conn))                                            \
    X(char *, PQgetvalue, (const PGresult *res, int row, int field), (res, row, field))            \
    X(int, PQnfields, (const PGresult *res), (res))                                                \
    X(int, PQntuples, (const PGresult *res), (res))                                                \
    X(PGpipelineStatus, PQpipelineStatus, (const PGconn *conn), (conn))                            \
    X(int, PQpipelineSync, (PGconn * conn), (conn))                                                \
    X(PGresult *, PQprepare,                                                                       \
      (PGconn * conn, const char *name, const char *query, int n, const Oid *types),               \
      (conn, name, query, n, types))                                                               \
    X(char *, PQresultErrorField, (const PGresult *res, int code), (res, code))                    \
    X(ExecStatusType, PQresultStatus, (const PGresult *res), (res))                                \
    X(int, PQsendPrepare,                                                                          \
      (PGconn * conn, const char *name, const char *query, int n, const Oid *types),               \
      (conn, name, query, n, types))                                                               \
    X(int, PQsendQueryParams,                                                                      \
      (PGconn * conn, const char *command, int n, const Oid *types, const char *const *values,     \
       const int *lengths, const int *formats, int result_format),                                 \
      (conn, command, n, types, values, lengths, formats, result_format))                          \
    X(int, PQsendQueryPrepared,                                                                    \
      (PGconn * conn, const char *name, int n, const char *const *values, const int *lengths,      \
       const int *formats, int result_format),                                                     \
      (conn, name, n, values, lengths, formats, result_format))                                    \
    X(int, PQserverVersion, (const PGconn *conn), (conn))                                          \
    X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void *arg), \
      (conn, proc, arg))                                                                           \
    X(ConnStatusType, PQstatus, (const PGconn *conn), (conn))                                      \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn))

enum { PQ_FUNCS(DYNLIB_ENUM, DYNLIB_ENUM_V) N_FNS };

static const char *const pq_names[] = {PQ_FUNCS(DYNLIB_NAME, DYNLIB_NAME_V)};
static void *pq_fns[N_FNS];
static struct dynlib pq_lib = {"libpq.so.5", pq_names, ELEMENTSOF(pq_names), pq_fns, false};

#define PQ_FORWARD(ret, name, params, args) DYNLIB_FORWARD(pq_lib, ret, name, params, args)
#define PQ_FORWARD_V(name, params, args) DYNLIB_FORWARD_V(pq_lib, name, params, args)
PQ_FUNCS(PQ_FORWARD, PQ_FORWARD_V)
