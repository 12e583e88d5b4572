/* Status codes and the error message that goes with them.
 *
 * Library functions return an xf_status; on failure they leave a message in
 * a thread-local buffer (like errno, but with words: which file, which field
 * or byte, what was expected). Only src/cli/ prints it and exits. */
#ifndef XF_STATUS_H
#define XF_STATUS_H

typedef enum {
    XF_OK = 0,
    XF_EINVAL,    /* a bad argument or configuration value */
    XF_EIO,       /* a file could not be opened, read or written */
    XF_EFORMAT,   /* a file's contents are not what its format requires */
    XF_ENOMEM,    /* an allocation failed */
    XF_ENOTFOUND, /* a named thing (task, tensor, trial) does not exist */
    XF_EDIVERGED, /* training produced a NaN or Inf loss */
    XF_EDB,       /* the results store refused an operation */
    XF_ENUMERIC,  /* a numerical routine failed (singular system, no convergence) */
    XF_EENV,      /* the machine failed the work, not the input: a full disk (ENOSPC,
                     SQLITE_FULL), a quota (EDQUOT), an I/O error (EIO, SQLITE_IOERR), a
                     lost NFS handle (ESTALE); the same work may succeed once it is fixed */
} xf_status;

enum { XF_ERROR_CAPACITY = 2048 }; /* bytes of a message, with its NUL */

/* Sets the thread's error message (printf format) and returns `code`, so a
 * failing function can `return xf_fail(XF_EIO, "...", ...)`. */
xf_status xf_fail(xf_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with more context ("loading task mnist: ")
 * and returns `code` unchanged. */
xf_status xf_fail_context(xf_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* xf_fail for a system call that failed with errno `err`: XF_EENV when the
 * errno is one of the machine's (see XF_EENV), else XF_EIO; the message
 * ends with ": " and strerror(err). */
xf_status xf_fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A failure kept while cleanup code runs that may fail too (and set its
 * own message): save it, clean up, restore it. */
typedef struct {
    xf_status code;
    char message[XF_ERROR_CAPACITY];
} xf_saved_error;

void xf_error_save(xf_saved_error *saved, xf_status code);
/* The saved failure with its message, the cleanup's message added when
 * `cleanup` failed too; `cleanup` itself when nothing failed before. */
xf_status xf_error_restore(const xf_saved_error *saved, xf_status cleanup);

/* The message set by the last failing call on this thread ("" if none). */
const char *xf_error_message(void);

/* A short name for a status code ("io error", "format error", ...). */
const char *xf_status_name(xf_status code);

/* Always-on check of an internal invariant (never of user input): prints
 * the condition with file:line and aborts. */
#define XF_ASSERT(cond)                                                      \
    do {                                                                     \
        if (!(cond)) xf_assert_fail(#cond, __FILE__, __LINE__);              \
    } while (0)

_Noreturn void xf_assert_fail(const char *cond, const char *file, int line);

#endif
