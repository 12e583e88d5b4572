#include "study/hash_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

/* Where the cache lives; "" when it is off or there is no home for it. */
static void cache_file(char *out, size_t size) {
    const char *forced = getenv("XFER_HASH_CACHE"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    out[0] = 0;
    xf_status st = XF_OK;
    if (forced && forced[0]) {
        if (strcmp(forced, "off") != 0) st = xf_path_format(out, size, "%s", forced);
    } else if (xdg && xdg[0]) {
        st = xf_path_format(out, size, "%s/xfer/checkpoint-hashes", xdg);
    } else if (home && home[0]) {
        st = xf_path_format(out, size, "%s/.cache/xfer/checkpoint-hashes", home);
    }
    if (st != XF_OK) out[0] = 0;
}

static bool same_file(const xf_hash_entry *e, const struct stat *sb) {
    return e->dev == (unsigned long long)sb->st_dev && e->ino == (unsigned long long)sb->st_ino &&
           e->size == (unsigned long long)sb->st_size && e->ctime_s == (long long)sb->st_ctim.tv_sec &&
           e->ctime_ns == (long long)sb->st_ctim.tv_nsec;
}

static xf_hash_entry *find(const xf_hash_cache *cache, const struct stat *sb) {
    for (int i = 0; i < cache->n; i++)
        if (cache->entries[i].dev == (unsigned long long)sb->st_dev &&
            cache->entries[i].ino == (unsigned long long)sb->st_ino)
            return &cache->entries[i];
    return NULL;
}

static xf_hash_entry *append(xf_hash_cache *cache) {
    if (cache->n == cache->cap) {
        int cap = cache->cap ? 2 * cache->cap : 64;
        xf_hash_entry *bigger = xf_realloc(cache->entries, (size_t)cap * sizeof *bigger);
        if (!bigger) return NULL;
        cache->entries = bigger;
        cache->cap = cap;
    }
    xf_hash_entry *e = &cache->entries[cache->n++];
    memset(e, 0, sizeof *e);
    return e;
}

void xf_hash_cache_load(xf_hash_cache *cache) {
    memset(cache, 0, sizeof *cache);
    cache_file(cache->file, sizeof cache->file);
    if (!cache->file[0]) return;
    FILE *f = fopen(cache->file, "r");
    if (!f) return;
    char line[XF_PATH_MAX + 160];
    while (fgets(line, sizeof line, f)) {
        xf_hash_entry e = {0};
        int at = 0;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%16[0-9a-f] %llu %llu %llu %lld %lld %n", e.hash, &e.dev, &e.ino,
                   &e.size, &e.ctime_s, &e.ctime_ns, &at) != 6 ||
            strlen(e.hash) != 16 || at == 0 || !line[at])
            continue; /* not a line this version wrote: hash that file again */
        char *copy = xf_strdup(line + at);
        if (!copy) break;
        struct stat sb = {.st_dev = (dev_t)e.dev, .st_ino = (ino_t)e.ino};
        xf_hash_entry *slot = find(cache, &sb);
        if (!slot) slot = append(cache);
        if (!slot) {
            free(copy);
            break;
        }
        free(slot->path);
        e.path = copy;
        *slot = e;
    }
    fclose(f);
}

bool xf_hash_cache_get(const xf_hash_cache *cache, const struct stat *sb, char out[17]) {
    const xf_hash_entry *e = find(cache, sb);
    if (!e || !same_file(e, sb)) return false;
    memcpy(out, e->hash, 17);
    return true;
}

void xf_hash_cache_put(xf_hash_cache *cache, const char *path, const struct stat *sb,
                       const char hash[17]) {
    if (!cache->file[0] || time(NULL) < sb->st_ctim.tv_sec + XF_HASH_CACHE_SETTLE_S) return;
    xf_hash_entry *e = find(cache, sb);
    if (!e) e = append(cache);
    if (!e) return;
    /* absolute, so that a process elsewhere can tell the file is still there */
    char *copy = realpath(path, NULL);
    if (!copy) copy = xf_strdup(path);
    if (!copy) return;
    free(e->path);
    *e = (xf_hash_entry){.dev = (unsigned long long)sb->st_dev,
                         .ino = (unsigned long long)sb->st_ino,
                         .size = (unsigned long long)sb->st_size,
                         .ctime_s = (long long)sb->st_ctim.tv_sec,
                         .ctime_ns = (long long)sb->st_ctim.tv_nsec,
                         .path = copy};
    memcpy(e->hash, hash, 17);
    cache->dirty = true;
}

/* Writes the newest XF_HASH_CACHE_MAX entries whose file is still there as
 * it was to a file of its own, then renames it over the cache. */
static void save(const xf_hash_cache *cache) {
    char dir[XF_PATH_MAX], tmp[XF_PATH_MAX];
    memcpy(dir, cache->file, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (xf_mkdirs(dir) != XF_OK) {
            xf_log_debug("hash cache: cannot make %s: %s", dir, xf_error_message());
            return;
        }
    }
    /* a name no other writer uses, on this host or another sharing the home */
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
    if (xf_path_format(tmp, sizeof tmp, "%s.%s.%ld.tmp", cache->file, host, (long)getpid()) !=
        XF_OK)
        return;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        xf_log_debug("hash cache: cannot write %s", tmp);
        return;
    }
    int first = cache->n > XF_HASH_CACHE_MAX ? cache->n - XF_HASH_CACHE_MAX : 0;
    for (int i = first; i < cache->n; i++) {
        const xf_hash_entry *e = &cache->entries[i];
        struct stat sb;
        if (stat(e->path, &sb) != 0 || !same_file(e, &sb)) continue;
        fprintf(f, "%s %llu %llu %llu %lld %lld %s\n", e->hash, e->dev, e->ino, e->size,
                e->ctime_s, e->ctime_ns, e->path);
    }
    if (fclose(f) != 0 || rename(tmp, cache->file) != 0) {
        xf_log_debug("hash cache: cannot replace %s", cache->file);
        unlink(tmp);
    }
}

void xf_hash_cache_close(xf_hash_cache *cache) {
    if (cache->dirty && cache->file[0]) save(cache);
    for (int i = 0; i < cache->n; i++) free(cache->entries[i].path);
    free(cache->entries);
    memset(cache, 0, sizeof *cache);
}
