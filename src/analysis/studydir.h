/* A study directory (runs/<study>/) as the analysis reads it. */
#ifndef XF_STUDYDIR_H
#define XF_STUDYDIR_H

#include "core/status.h"
#include "study/store.h"

/* Opens DIR/study.db to read it; it must already exist: unlike xf_store_open, which
 * creates an empty store, a fit or report of a mistyped directory should
 * fail and say how a store is made. */
xf_status xf_studydir_open(const char *dir, xf_store **store);

#endif
