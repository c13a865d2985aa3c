/*
 * Room registry: a string map from name to hx_room, each room a doubly
 * linked list of participants in join order plus two string maps over it:
 * by participant id (resume, moderation) and by user and device (a join
 * replaces the session of the same user and device). Joins, leaves and both
 * lookups are O(1); only the walks that must see everyone (a room's events,
 * its join result) are O(members).
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

static void room_free(hx_room *r)
{
    hx_strmap_free(&r->by_id);
    hx_strmap_free(&r->by_who);
    free(r->speakers);
    free(r);
}

static int free_room(void *arg, const char *key, void *value)
{
    room_free(value);
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
    hx_strmap_init(&r->by_id);
    hx_strmap_init(&r->by_who);
    r->created_ms = now_ms;
    r->empty_since_ms = now_ms ? now_ms : 1; /* empty until the first join; 0 would mean occupied */
    r->max_participants = max_participants;
    return r;
}

/* The by_who key of a user and device: ids are printable ASCII, so 0x1f parts them. */
#define WHO_KEY_LEN (2 * HX_MAX_ID_LEN + 2)

static const char *who_key(char key[WHO_KEY_LEN], const char *user, const char *device)
{
    snprintf(key, WHO_KEY_LEN, "%s\x1f%s", user, device);
    return key;
}

int hx_room_add(hx_room *r, hx_participant *p)
{
    if (r->max_participants > 0 && r->count >= (size_t)r->max_participants) return HX_ROOM_FULL;
    char key[WHO_KEY_LEN];
    void *shadowed = NULL;
    if (hx_strmap_put(&r->by_id, p->id, p, NULL)) return HX_ROOM_NOMEM;
    if (hx_strmap_put(&r->by_who, who_key(key, p->user, p->device), p, &shadowed)) {
        hx_strmap_del(&r->by_id, p->id);
        return HX_ROOM_NOMEM;
    }
    if (shadowed) r->who_dups++;
    p->seq = ++r->next_seq;
    p->publishing = false;
    p->pub_prev = p->pub_next = NULL;
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
    hx_room_tracks_changed(r, p);
    return HX_ROOM_OK;
}

static void pub_unlink(hx_room *r, hx_participant *p)
{
    if (!p->publishing) return;
    if (p->pub_prev)
        p->pub_prev->pub_next = p->pub_next;
    else
        r->pub_head = p->pub_next;
    if (p->pub_next)
        p->pub_next->pub_prev = p->pub_prev;
    else
        r->pub_tail = p->pub_prev;
    p->pub_prev = p->pub_next = NULL;
    p->publishing = false;
}

void hx_room_tracks_changed(hx_room *r, hx_participant *p)
{
    if (p->room != r) return;
    if (!p->n_tracks) {
        pub_unlink(r, p);
        return;
    }
    if (p->publishing) return;
    /* In join order: after the last publisher that joined before it (publishers are few). */
    hx_participant *after = r->pub_tail;
    while (after && after->seq > p->seq)
        after = after->pub_prev;
    p->pub_prev = after;
    p->pub_next = after ? after->pub_next : r->pub_head;
    if (p->pub_next)
        p->pub_next->pub_prev = p;
    else
        r->pub_tail = p;
    if (after)
        after->pub_next = p;
    else
        r->pub_head = p;
    p->publishing = true;
}

/* p leaves the indexes; a participant it shadowed in by_who takes its place. */
static void unindex(hx_room *r, const hx_participant *p)
{
    char key[WHO_KEY_LEN];
    if (hx_strmap_get(&r->by_id, p->id) == p) hx_strmap_del(&r->by_id, p->id);
    who_key(key, p->user, p->device);
    if (hx_strmap_get(&r->by_who, key) != p) { /* shadowed itself */
        if (r->who_dups) r->who_dups--;
        return;
    }
    hx_strmap_del(&r->by_who, key);
    if (!r->who_dups) return;
    for (hx_participant *q = r->tail; q; q = q->prev) /* the latest other one, as at add */
        if (q != p && !strcmp(q->user, p->user) && !strcmp(q->device, p->device)) {
            if (hx_strmap_put(&r->by_who, key, q, NULL) == 0) r->who_dups--;
            return;
        }
}

void hx_room_remove(hx_room *r, hx_participant *p, int64_t now_ms)
{
    if (p->room != r) return;
    unindex(r, p);
    pub_unlink(r, p);
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
    char key[WHO_KEY_LEN];
    return hx_strmap_get(&r->by_who, who_key(key, user, device));
}

hx_participant *hx_room_find_participant(const hx_room *r, const char *id)
{
    return hx_strmap_get(&r->by_id, id);
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
    room_free(r);
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

int hx_room_set_speakers(hx_room *r, const char *list, size_t len)
{
    free(r->speakers);
    r->speakers = NULL;
    if (!len) return HX_ROOM_OK;
    if (!(r->speakers = malloc(len + 1))) return HX_ROOM_NOMEM;
    memcpy(r->speakers, list, len);
    r->speakers[len] = '\0';
    return HX_ROOM_OK;
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

hx_track_info *hx_participant_tracks(hx_participant *p)
{
    if (!p->tracks) p->tracks = calloc(HX_MAX_TRACKS, sizeof *p->tracks);
    return p->tracks;
}
