/* Checked allocation and file reading. Allocations return NULL on failure
 * and set the error message (how many bytes); the caller's file:line goes
 * to the debug log (-v), for a bug report. File errors name the file and
 * the reason. */
#ifndef XF_MEM_H
#define XF_MEM_H

#include <stddef.h>
#include <stdio.h>

#define xf_malloc(size) xf_malloc_at((size), __FILE__, __LINE__)
#define xf_calloc(count, size) xf_calloc_at((count), (size), __FILE__, __LINE__)
#define xf_realloc(ptr, size) xf_realloc_at((ptr), (size), __FILE__, __LINE__)

void *xf_malloc_at(size_t size, const char *file, int line);
void *xf_calloc_at(size_t count, size_t size, const char *file, int line);
void *xf_realloc_at(void *ptr, size_t size, const char *file, int line);
/* fopen that sets the message ("cannot open 'PATH' (mode M): reason"). */
FILE *xf_fopen(const char *path, const char *mode);

/* A copy of `s` (NULL on allocation failure, with the message set). */
char *xf_strdup(const char *s);

#include "core/status.h"

/* Opens a regular file for reading and gives its size. A directory, a
 * device (/dev/zero would be read forever), a pipe or a socket is refused
 * before it is opened, with a message that says what the path is. */
xf_status xf_open_regular(const char *path, FILE **file, size_t *size);

/* The first up to `n` bytes of a regular file (*got of them) and the file's
 * size: what a reader checks (magic, declared sizes against the file size)
 * before it allocates for the whole file. */
xf_status xf_read_head(const char *path, void *head, size_t n, size_t *got, size_t *file_size);

/* Reads a whole regular file into a new buffer (NUL-terminated, size
 * excludes it). The buffer is sized from the file's size, so nothing but a
 * regular file is read; a file over `max` bytes is refused before anything
 * is allocated (XF_EFORMAT). */
xf_status xf_read_file_max(const char *path, size_t max, unsigned char **data, size_t *size);
/* xf_read_file_max with no limit but the file's own size. */
xf_status xf_read_file(const char *path, unsigned char **data, size_t *size);

/* Writes `size` bytes to `path` atomically: a temp file in the same folder,
 * fsync, then rename, so a reader never sees a partial file. */
xf_status xf_write_file_atomic(const char *path, const void *data, size_t size);

/* Creates a directory and its parents (like mkdir -p). */
xf_status xf_mkdirs(const char *path);

#endif
