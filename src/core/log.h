/* Leveled logging to stderr. The level is process-wide: it is set once by
 * the command line (-v / -q / XFER_LOG) and only read afterwards. */
#ifndef XF_LOG_H
#define XF_LOG_H

typedef enum { XF_LOG_ERROR = 0, XF_LOG_WARN, XF_LOG_INFO, XF_LOG_DEBUG } xf_log_level;

void xf_log_set_level(xf_log_level level);
xf_log_level xf_log_get_level(void);
void xf_log(xf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define xf_log_error(...) xf_log(XF_LOG_ERROR, __VA_ARGS__)
#define xf_log_warn(...) xf_log(XF_LOG_WARN, __VA_ARGS__)
#define xf_log_info(...) xf_log(XF_LOG_INFO, __VA_ARGS__)
#define xf_log_debug(...) xf_log(XF_LOG_DEBUG, __VA_ARGS__)

#endif
