/* Where xfer keeps data it installs or prepares: $XFER_DATA, else
 * $HOME/.cache/xfer. scripts/install-deps.sh uses the same rule, so the
 * packages it unpacks (packages/<name>/) are found here. */
#ifndef XF_CACHE_H
#define XF_CACHE_H

#include <stddef.h>

#include "core/status.h"

/* The data directory, or NULL (message set) when neither XFER_DATA nor
 * HOME is set. The string stays valid until the next call on this thread. */
const char *xf_data_dir(void);

/* Writes "<data dir>/<relative>" into buf. */
xf_status xf_data_path(char *buf, size_t size, const char *relative);

#endif
