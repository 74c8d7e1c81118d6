/* mhd_lazy.c - libmicrohttpd's functions that http.c calls, as forwarders that
 * load libmicrohttpd.so.12 on the first call (base/dynlib.h says why): the
 * arca binary does not link it, so the commands that are not `arca server`
 * never map it and GnuTLS with its eight dependencies, whose loading and
 * constructors were most of the start-up of every `arca run` (measured here:
 * an empty program linked with them took 3.2 ms of CPU and 11 ms to run, 1.2 and
 * 1.5 ms without).  Each forwarder has libmicrohttpd's own prototype
 * (microhttpd.h), so the compiler checks every one; a function http.c starts to
 * use must be added to MHD_FUNCS, or the link fails.
 *
 * MHD_start_daemon is variadic: it forwards its options to MHD_start_daemon_va.
 * MHD_get_daemon_info and MHD_get_connection_info are variadic too, but no info
 * type http.c asks for takes an argument: none is passed on. */
#include <microhttpd.h>
#include <stdarg.h>

#include "base/dynlib.h"
#include "base/util.h"

/* X(return type, name, (parameters), (arguments)); V() for void functions. */
#define MHD_FUNCS(X, V)                                                                            \
    X(enum MHD_Result, MHD_add_response_header,                                                    \
      (struct MHD_Response * response, const char *header, const char *content),                   \
      (response, header, content))                                                                 \
    X(struct MHD_Response *, MHD_create_response_from_buffer,                                      \
      (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))         \
    X(struct MHD_PostProcessor *, MHD_create_post_processor,                                       \
      (struct MHD_Connection * connection, size_t buffer_size, MHD_PostDataIterator iter,          \
       void *iter_cls),                                                                            \
      (connection, buffer_size, iter, iter_cls))                                                   \
    X(enum MHD_Result, MHD_post_process,                                                           \
      (struct MHD_PostProcessor * pp, const char *post_data, size_t post_data_len),                \
      (pp, post_data, post_data_len))                                                              \
    X(enum MHD_Result, MHD_destroy_post_processor, (struct MHD_PostProcessor * pp), (pp))          \
    X(struct MHD_Response *, MHD_create_response_from_buffer_with_free_callback,                   \
      (size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc), (size, buffer, crfc))       \
    V(MHD_destroy_response, (struct MHD_Response * response), (response))                          \
    X(int, MHD_get_connection_values,                                                              \
      (struct MHD_Connection * connection, enum MHD_ValueKind kind, MHD_KeyValueIterator iterator, \
       void *iterator_cls),                                                                        \
      (connection, kind, iterator, iterator_cls))                                                  \
    X(int, MHD_get_connection_values_n,                                                            \
      (struct MHD_Connection * connection, enum MHD_ValueKind kind,                                \
       MHD_KeyValueIteratorN iterator, void *iterator_cls),                                        \
      (connection, kind, iterator, iterator_cls))                                                  \
    X(size_t, MHD_http_unescape, (char *val), (val))                                               \
    X(const char *, MHD_lookup_connection_value,                                                   \
      (struct MHD_Connection * connection, enum MHD_ValueKind kind, const char *key),              \
      (connection, kind, key))                                                                     \
    X(enum MHD_Result, MHD_queue_response,                                                         \
      (struct MHD_Connection * connection, unsigned int status_code,                               \
       struct MHD_Response *response),                                                             \
      (connection, status_code, response))                                                         \
    X(MHD_socket, MHD_quiesce_daemon, (struct MHD_Daemon * daemon), (daemon))                      \
    V(MHD_resume_connection, (struct MHD_Connection * connection), (connection))                   \
    V(MHD_stop_daemon, (struct MHD_Daemon * daemon), (daemon))                                     \
    V(MHD_suspend_connection, (struct MHD_Connection * connection), (connection))

enum {
    MHD_FUNCS(DYNLIB_ENUM, DYNLIB_ENUM_V) FN_MHD_start_daemon_va,
    FN_MHD_get_daemon_info,
    FN_MHD_get_connection_info,
    N_FNS
};

static const char *const mhd_names[] = {MHD_FUNCS(DYNLIB_NAME, DYNLIB_NAME_V) "MHD_start_daemon_va",
                                        "MHD_get_daemon_info", "MHD_get_connection_info"};
static void *mhd_fns[N_FNS];
static struct dynlib mhd_lib = {"libmicrohttpd.so.12", mhd_names, ELEMENTSOF(mhd_names), mhd_fns,
                                false};

#define MHD_FORWARD(ret, name, params, args) DYNLIB_FORWARD(mhd_lib, ret, name, params, args)
#define MHD_FORWARD_V(name, params, args) DYNLIB_FORWARD_V(mhd_lib, name, params, args)
MHD_FUNCS(MHD_FORWARD, MHD_FORWARD_V)

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    struct MHD_Daemon *(*f)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                            MHD_AccessHandlerCallback, void *, va_list);
    struct MHD_Daemon *d;
    va_list ap;

    dynlib_need(&mhd_lib);
    f = (struct MHD_Daemon * (*)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                 MHD_AccessHandlerCallback, void *, va_list))
        mhd_fns[FN_MHD_start_daemon_va];
    va_start(ap, dh_cls);
    d = f(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
                                                enum MHD_DaemonInfoType info_type, ...)
{
    dynlib_need(&mhd_lib);
    return ((const union MHD_DaemonInfo *(*)(struct MHD_Daemon *, enum MHD_DaemonInfoType,
                                             ...))mhd_fns[FN_MHD_get_daemon_info])(daemon,
                                                                                   info_type);
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type, ...)
{
    dynlib_need(&mhd_lib);
    return (
        (const union MHD_ConnectionInfo *(*)(struct MHD_Connection *, enum MHD_ConnectionInfoType,
                                             ...))mhd_fns[FN_MHD_get_connection_info])(connection,
                                                                                       info_type);
}
