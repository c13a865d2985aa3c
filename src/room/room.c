/*
 * Room registry: a string map from name to hx_room, each room a doubly
 * linked list of participants in join order. Joins and leaves are O(1);
 * finding a user+device (for session replacement) is a walk of one room,
 * bounded by its participant cap.
 */
#include "room/room.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

void hx_rooms_init(hx_rooms *rs, size_t max_rooms)
{
    hx_strmap_init(&rs->by_name);
    rs->max_rooms = max_rooms;
}

static int free_room(void *arg, const char *key, void *value)
{
    free(value);
    return 1;
}

void hx_rooms_free(hx_rooms *rs)
{
    hx_strmap_foreach(&rs->by_name, free_room, NULL);
    hx_strmap_free(&rs->by_name);
}

hx_room *hx_rooms_find(const hx_rooms *rs, const char *name)
{
    return hx_strmap_get(&rs->by_name, name);
}

hx_room *hx_rooms_open(hx_rooms *rs, const char *name, int max_participants, int64_t now_ms, int *err)
{
    hx_room *r = hx_rooms_find(rs, name);
    if (r) return r;
    if (rs->max_rooms && rs->by_name.count >= rs->max_rooms) {
        *err = HX_ROOM_LIMIT;
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r || hx_strmap_put(&rs->by_name, name, r, NULL)) {
        free(r);
        *err = HX_ROOM_NOMEM;
        return NULL;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->created_ms = now_ms;
    r->empty_since_ms = now_ms ? now_ms : 1; /* empty until the first join; 0 would mean occupied */
    r->max_participants = max_participants;
    return r;
}

int hx_room_add(hx_room *r, hx_participant *p)
{
    if (r->max_participants > 0 && r->count >= (size_t)r->max_participants) return HX_ROOM_FULL;
    p->room = r;
    p->next = NULL;
    p->prev = r->tail;
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->count++;
    r->empty_since_ms = 0;
    return HX_ROOM_OK;
}

void hx_room_remove(hx_room *r, hx_participant *p, int64_t now_ms)
{
    if (p->room != r) return;
    if (p->prev)
        p->prev->next = p->next;
    else
        r->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        r->tail = p->prev;
    p->prev = p->next = NULL;
    p->room = NULL;
    if (--r->count == 0) r->empty_since_ms = now_ms ? now_ms : 1;
}

hx_participant *hx_room_find_user_device(const hx_room *r, const char *user, const char *device)
{
    for (hx_participant *p = r->head; p; p = p->next)
        if (strcmp(p->user, user) == 0 && strcmp(p->device, device) == 0) return p;
    return NULL;
}

hx_participant *hx_room_find_participant(const hx_room *r, const char *id)
{
    for (hx_participant *p = r->head; p; p = p->next)
        if (strcmp(p->id, id) == 0) return p;
    return NULL;
}

struct sweep {
    int64_t now_ms, empty_ms;
    void (*on_close)(void *, const hx_room *);
    void *arg;
    size_t closed;
};

static int sweep_room(void *arg, const char *key, void *value)
{
    struct sweep *s = arg;
    hx_room *r = value;
    if (r->count || !r->empty_since_ms || s->now_ms - r->empty_since_ms < s->empty_ms) return 0;
    if (s->on_close) s->on_close(s->arg, r);
    free(r);
    s->closed++;
    return 1;
}

size_t hx_rooms_sweep(hx_rooms *rs, int64_t now_ms, int64_t empty_ms,
                      void (*on_close)(void *arg, const hx_room *r), void *arg)
{
    struct sweep s = {now_ms, empty_ms, on_close, arg, 0};
    hx_strmap_foreach(&rs->by_name, sweep_room, &s);
    return s.closed;
}

void hx_participant_new_id(hx_participant *p)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t rnd[8] = {0};
    RAND_bytes(rnd, sizeof rnd);
    p->id[0] = 'p';
    p->id[1] = '_';
    for (int i = 0; i < 8; i++) {
        p->id[2 + 2 * i] = hex[rnd[i] >> 4];
        p->id[3 + 2 * i] = hex[rnd[i] & 15];
    }
    p->id[18] = '\0';
}
