/*
 * Rooms and their participants (control-plane view). A room is created by
 * its first join and closed once it has stayed empty for the configured
 * delay (hx_rooms_sweep, called by the daemon's housekeeping timer). The
 * registry owns rooms; a room links its participants; a participant is owned
 * by its signaling session, which removes it before freeing it. A room also
 * indexes its participants by id and by user and device, and lists those
 * that publish, so a join into a room of a thousand finds the session it
 * replaces and the tracks to subscribe to without a walk of everyone.
 */
#ifndef HX_ROOM_ROOM_H
#define HX_ROOM_ROOM_H

#include "auth/grants.h"
#include "common/strmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_PARTICIPANT_ID_LEN 19 /* "p_" + 16 hex + NUL = 19 bytes */
/* Its signaling JSON ({"id", "user", "device", "joined_at_ms"}, ids being printable ASCII
 * without quotes or backslashes): at most 341 bytes. */
#define HX_PARTICIPANT_JSON_MAX 384

typedef struct hx_room hx_room;

#define HX_MAX_TRACKS 16 /* published tracks per participant */
#define HX_TRACK_ID_LEN 40

/** A track a participant publishes, as the control plane knows it (the engine owns the media). */
typedef struct hx_track_info {
    char id[HX_TRACK_ID_LEN];  /* engine-chosen */
    char kind[8];              /* "audio" | "video" */
    char mid[32];              /* in the publisher's SDP */
    bool muted;                /* by a moderator (mute) */
    bool held;                 /* its publisher is timed out (listen-only) */
} hx_track_info;

/** What the join funnel (core/slo.h) has counted of one participant's session; zero at first. */
typedef struct hx_slo_marks {
    uint8_t reached;         /* bit (1 << stage) per media stage counted */
    bool done;               /* its outcome is counted: media flowed, or it ended before */
    const char *fail_reason; /* static: its transports' last failure, NULL when none */
    int64_t negotiated_ms;   /* monotonic: its first offer; 0 before */
} hx_slo_marks;

typedef struct hx_participant {
    char id[HX_PARTICIPANT_ID_LEN];
    char user[HX_MAX_ID_LEN + 1];
    char device[HX_MAX_ID_LEN + 1];
    char sid[HX_MAX_ID_LEN + 1];
    char jti[HX_MAX_ID_LEN + 1];
    int64_t token_iat;
    int64_t joined_ms;
    uint32_t grants;
    int protocol_version;
    hx_room *room;                       /* set while in a room */
    struct hx_participant *prev, *next;  /* room list */
    uint64_t seq;                        /* its place in the room's join order */
    bool publishing;                     /* in the room's publisher list (n_tracks > 0) */
    struct hx_participant *pub_prev, *pub_next;
    void *owner;                         /* the signaling session */
    /* Published, in publication order: HX_MAX_TRACKS entries from its first track
     * (hx_participant_tracks), NULL for one that never published (memory per participant). */
    hx_track_info *tracks;
    size_t n_tracks;
    hx_slo_marks slo;
    /* Its signaling JSON, encoded once (the fields above it are fixed once it is in a room):
     * a join result lists every member, so a join into a room of N would otherwise build and
     * encode N objects. 0 until first needed (signal/session.c). */
    uint16_t json_len;
    char json[HX_PARTICIPANT_JSON_MAX];
} hx_participant;

struct hx_room {
    char name[HX_MAX_ID_LEN + 1];
    int64_t created_ms;
    int64_t empty_since_ms; /* 0 while occupied */
    int max_participants;
    size_t count;
    hx_participant *head, *tail;
    hx_participant *pub_head, *pub_tail; /* those with tracks, in join order */
    uint64_t next_seq;
    hx_strmap by_id;  /* participant id -> hx_participant * */
    hx_strmap by_who; /* user, 0x1f, device -> the latest such participant */
    size_t who_dups;  /* participants whose user and device another one has too (never, unless a
                       * restart restored such a pair): a leave then looks for the other */
    char *speakers;   /* the engine's last active speakers, "TRACK:LEVEL,..." as sfu.h's
                       * HX_SFU_T_SPEAKERS (signal/speakers.c); NULL while nobody speaks */
};

typedef struct hx_rooms {
    hx_strmap by_name;
    size_t max_rooms;
} hx_rooms;

enum {
    HX_ROOM_OK = 0,
    HX_ROOM_FULL = -1,
    HX_ROOM_LIMIT = -2, /* too many rooms */
    HX_ROOM_NOMEM = -3,
};

void hx_rooms_init(hx_rooms *rs, size_t max_rooms);
/** Frees every room; participants must have been removed (their sessions closed) first. */
void hx_rooms_free(hx_rooms *rs);
hx_room *hx_rooms_find(const hx_rooms *rs, const char *name);
/** Find or create; NULL with *err set to HX_ROOM_LIMIT / HX_ROOM_NOMEM. */
hx_room *hx_rooms_open(hx_rooms *rs, const char *name, int max_participants, int64_t now_ms, int *err);
/** Add to the room's list, respecting its cap; HX_ROOM_NOMEM when it cannot be indexed. */
int hx_room_add(hx_room *r, hx_participant *p);
/** Unlink; marks the room empty-since now when it was the last. */
void hx_room_remove(hx_room *r, hx_participant *p, int64_t now_ms);
/** The participant with this user and device (the latest to join, in the rare case of two), or
 *  NULL. */
hx_participant *hx_room_find_user_device(const hx_room *r, const char *user, const char *device);
/** p's n_tracks changed: it joins (in join order) or leaves the room's publisher list. */
void hx_room_tracks_changed(hx_room *r, hx_participant *p);
/** The participant with this id, or NULL. */
hx_participant *hx_room_find_participant(const hx_room *r, const char *id);
/** Close rooms empty for at least empty_ms (0 = at once). on_close may be NULL. Returns rooms closed. */
size_t hx_rooms_sweep(hx_rooms *rs, int64_t now_ms, int64_t empty_ms,
                      void (*on_close)(void *arg, const hx_room *r), void *arg);
/** Keep a copy of the room's active speakers list (len 0: nobody speaks). 0, or HX_ROOM_NOMEM
 *  (the room then holds none). */
int hx_room_set_speakers(hx_room *r, const char *list, size_t len);
/** Fill a fresh random participant id. */
void hx_participant_new_id(hx_participant *p);

/** p's track table, allocated with its first track (NULL when out of memory). The owner frees
 *  p->tracks when p goes. */
hx_track_info *hx_participant_tracks(hx_participant *p);

#endif
