/* Content hashes of checkpoint files, remembered by the file's identity
 * (device, inode, size and status-change time to the nanosecond: unlike the
 * modification time, no program can set it back), so that a
 * study planned again does not read every checkpoint again: each Slurm
 * array task plans the study, and a zoo of large checkpoints on a shared
 * file system would otherwise be read once per task.
 *
 * The cache is a text file, one line per file:
 *     <16 hex digits> <dev> <ino> <size> <ctime s> <ctime ns> <path>
 * at $XFER_HASH_CACHE, else $XDG_CACHE_HOME/xfer/checkpoint-hashes, else
 * $HOME/.cache/xfer/checkpoint-hashes; XFER_HASH_CACHE=off turns it off.
 * It is only a shortcut: a file whose identity changed is hashed again, a
 * line that does not parse is ignored, and a cache that cannot be read or
 * written leaves hashing as it was. Concurrent writers each replace the
 * file whole (write then rename), so a reader never sees half of one. */
#ifndef XF_HASH_CACHE_H
#define XF_HASH_CACHE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "core/path.h"

/* Entries kept on disk; the oldest beyond it are dropped. */
#define XF_HASH_CACHE_MAX 4096
/* A file changed less than this many seconds ago is not remembered: a file
 * system with coarse timestamps (1 s on ext3, 2 s on FAT) could see it
 * change again without a new change time, and the cache would then keep
 * the old hash (git's "racy" index entries). */
#define XF_HASH_CACHE_SETTLE_S 2

typedef struct {
    char hash[17];
    unsigned long long dev, ino, size;
    long long ctime_s, ctime_ns;
    char *path; /* as last hashed, for a reader of the file */
} xf_hash_entry;

typedef struct {
    char file[XF_PATH_MAX]; /* "" when the cache is off */
    xf_hash_entry *entries;
    int n, cap;
    bool dirty;
} xf_hash_cache;

/* Reads the cache (empty if it is off, absent or unreadable). */
void xf_hash_cache_load(xf_hash_cache *cache);

/* The remembered hash of the file whose stat is sb, into out; false when
 * the cache has none for the file as it is now. */
bool xf_hash_cache_get(const xf_hash_cache *cache, const struct stat *sb, char out[17]);

/* Remembers hash for path as it is now (stat sb), unless it changed in the
 * last XF_HASH_CACHE_SETTLE_S seconds. */
void xf_hash_cache_put(xf_hash_cache *cache, const char *path, const struct stat *sb,
                       const char hash[17]);

/* Writes the cache if anything was put, then frees it. */
void xf_hash_cache_close(xf_hash_cache *cache);

#endif
