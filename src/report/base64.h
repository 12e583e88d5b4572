/* Standard base64 (RFC 4648, with '=' padding), for embedding the report's
 * PNG figures in its HTML as data URIs. */
#ifndef XF_BASE64_H
#define XF_BASE64_H

#include <stddef.h>

/* Characters the encoding of n bytes takes, without the NUL. */
size_t xf_base64_len(size_t n);
/* Writes xf_base64_len(n) characters and a NUL to out. */
void xf_base64_encode(const unsigned char *in, size_t n, char *out);

#endif
