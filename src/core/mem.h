/* Checked allocation and file opening. On failure they return NULL and set
 * the error message with the caller's file:line, so an out-of-memory or a
 * missing file in a long study says where it happened. */
#ifndef XF_MEM_H
#define XF_MEM_H

#include <stddef.h>
#include <stdio.h>

#define xf_malloc(size) xf_malloc_at((size), __FILE__, __LINE__)
#define xf_calloc(count, size) xf_calloc_at((count), (size), __FILE__, __LINE__)
#define xf_realloc(ptr, size) xf_realloc_at((ptr), (size), __FILE__, __LINE__)
#define xf_fopen(path, mode) xf_fopen_at((path), (mode), __FILE__, __LINE__)

void *xf_malloc_at(size_t size, const char *file, int line);
void *xf_calloc_at(size_t count, size_t size, const char *file, int line);
void *xf_realloc_at(void *ptr, size_t size, const char *file, int line);
FILE *xf_fopen_at(const char *path, const char *mode, const char *file, int line);

/* A copy of `s` (NULL on allocation failure, with the message set). */
char *xf_strdup(const char *s);

/* Reads a whole file into a new buffer (NUL-terminated, size excludes it). */
#include "core/status.h"
xf_status xf_read_file(const char *path, unsigned char **data, size_t *size);

/* Writes `size` bytes to `path` atomically: a temp file in the same folder,
 * fsync, then rename, so a reader never sees a partial file. */
xf_status xf_write_file_atomic(const char *path, const void *data, size_t size);

/* Creates a directory and its parents (like mkdir -p). */
xf_status xf_mkdirs(const char *path);

#endif
