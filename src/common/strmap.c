/*
 * Chained hash table keyed by C strings (FNV-1a), doubling when the load
 * factor passes 1. Entry and key share one allocation.
 */
#include "common/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

void hx_strmap_init(hx_strmap *m)
{
    memset(m, 0, sizeof *m);
}

void hx_strmap_free(hx_strmap *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hx_strmap_entry *e = m->buckets[i];
        while (e) {
            hx_strmap_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    memset(m, 0, sizeof *m);
}

static hx_strmap_entry **find(const hx_strmap *m, const char *key)
{
    if (!m->nbuckets) return NULL;
    hx_strmap_entry **pp = &m->buckets[hash(key) & (m->nbuckets - 1)];
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    return pp;
}

void *hx_strmap_get(const hx_strmap *m, const char *key)
{
    hx_strmap_entry **pp = find(m, key);
    return pp && *pp ? (*pp)->value : NULL;
}

static int grow(hx_strmap *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
    hx_strmap_entry **b = calloc(n, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < m->nbuckets; i++) {
        hx_strmap_entry *e = m->buckets[i];
        while (e) {
            hx_strmap_entry *next = e->next;
            size_t j = hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

int hx_strmap_put(hx_strmap *m, const char *key, void *value, void **old)
{
    if (old) *old = NULL;
    hx_strmap_entry **pp = find(m, key);
    if (pp && *pp) {
        if (old) *old = (*pp)->value;
        (*pp)->value = value;
        return 0;
    }
    if (m->count + 1 > m->nbuckets && grow(m)) return -1;
    size_t len = strlen(key);
    hx_strmap_entry *e = malloc(sizeof *e + len + 1);
    if (!e) return -1;
    memcpy(e->key, key, len + 1);
    e->value = value;
    pp = &m->buckets[hash(key) & (m->nbuckets - 1)];
    e->next = *pp;
    *pp = e;
    m->count++;
    return 0;
}

void *hx_strmap_del(hx_strmap *m, const char *key)
{
    hx_strmap_entry **pp = find(m, key);
    if (!pp || !*pp) return NULL;
    hx_strmap_entry *e = *pp;
    void *v = e->value;
    *pp = e->next;
    free(e);
    m->count--;
    return v;
}

void hx_strmap_foreach(hx_strmap *m, int (*fn)(void *arg, const char *key, void *value), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        hx_strmap_entry **pp = &m->buckets[i];
        while (*pp) {
            hx_strmap_entry *e = *pp;
            int r = fn(arg, e->key, e->value);
            if (r < 0) return;
            if (r == 1) {
                *pp = e->next;
                free(e);
                m->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}
