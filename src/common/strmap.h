/*
 * A string-keyed hash map with chaining. Keys are copied and owned by the
 * map; values are borrowed pointers. Used on the control plane (rooms by
 * name, revocations, per-address rate limits), never on the media path.
 */
#ifndef HX_COMMON_STRMAP_H
#define HX_COMMON_STRMAP_H

#include <stddef.h>

typedef struct hx_strmap_entry {
    struct hx_strmap_entry *next;
    void *value;
    char key[]; /* NUL-terminated */
} hx_strmap_entry;

typedef struct hx_strmap {
    hx_strmap_entry **buckets;
    size_t nbuckets;
    size_t count;
} hx_strmap;

void hx_strmap_init(hx_strmap *m);
/** Frees the entries; values are the caller's (free them first with hx_strmap_foreach). */
void hx_strmap_free(hx_strmap *m);
void *hx_strmap_get(const hx_strmap *m, const char *key);
/** Insert or replace: 0, or -1 on allocation failure. *old (if given) gets the replaced value. */
int hx_strmap_put(hx_strmap *m, const char *key, void *value, void **old);
/** Remove and return the value (NULL if absent). */
void *hx_strmap_del(hx_strmap *m, const char *key);
/** Visit every entry; fn returning 1 deletes that entry, -1 stops. */
void hx_strmap_foreach(hx_strmap *m, int (*fn)(void *arg, const char *key, void *value), void *arg);

#endif
