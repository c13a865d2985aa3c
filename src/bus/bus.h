/*
 * The bus: live fan-out between the parts of hearth that act (the admin API,
 * a moderator's session, the vote timer) and the sessions that must feel it
 * (docs/design.md §4, §5). A revocation, a moderation action or a room event
 * is published once; every subscriber on every node gets it and enforces it
 * on the sessions it holds.
 *
 * The boundary follows sfu.h's: a message is a self-contained struct with
 * no pointers into the publisher's state, carried as bytes by a pure codec
 * (bus_msg.c, fuzzed by fuzz/fuzz_bus.c). Implementations are behind
 * hx_bus_ops, as stores are behind hx_store_ops: bus_local.c delivers
 * within the process now; a Redis pub/sub implementation takes the same
 * bytes between nodes with scale-out (issue 13).
 *
 * Delivery. publish() returns once every local subscriber has had the
 * message: a revocation acknowledged to the operator has already closed the
 * sessions on this node. A publish made while a message is being delivered
 * (a handler that publishes) is queued and delivered right after the
 * current one, before the outer publish returns, so handlers never nest
 * and order is kept. The queue is bounded (HX_BUS_MAX_QUEUE): past it a
 * publish fails with HX_BUS_FULL rather than growing without end.
 */
#ifndef HX_BUS_BUS_H
#define HX_BUS_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HX_BUS_STR 160        /* every string field, NUL included: an identifier (128) fits */
#define HX_BUS_TEXT 2048      /* reason, or an event's JSON */
#define HX_BUS_MAX_BYTES 32768 /* any message encodes within this, every byte escaped */
#define HX_BUS_MAX_QUEUE 1024 /* messages published during a delivery */
#define HX_BUS_MAX_SUBS 8

typedef enum hx_bus_kind {
    HX_BUS_REVOKE = 1,  /* a revocation: sessions it matches are disconnected */
    HX_BUS_MODERATION,  /* a moderation action took effect (or was lifted) */
    HX_BUS_ROOM_EVENT,  /* something every member of a room is told */
    HX_BUS_KIND_MAX = HX_BUS_ROOM_EVENT,
} hx_bus_kind;

/**
 * One message. Which fields mean what, by kind:
 *   REVOKE      action = jti | sid | user, value in `user`/`sid`/`value`,
 *               `at` = not-before (unix s, user only), text = reason
 *   MODERATION  action = mute | unmute | timeout | untimeout | kick | ban |
 *               unban | overturn | vote..., room, target user/device/
 *               participant/track, actor, `at` = expiry (unix ms, 0 none),
 *               policy, id = the action's id, text = reason
 *   ROOM_EVENT  action = the signaling event type, room, text = its JSON data
 * Unused strings are "".
 */
typedef struct hx_bus_msg {
    hx_bus_kind kind;
    char origin[HX_BUS_STR]; /* publishing node ("" = this one) */
    char action[HX_BUS_STR];
    char room[HX_BUS_STR];
    char user[HX_BUS_STR];
    char device[HX_BUS_STR];
    char sid[HX_BUS_STR];
    char participant[HX_BUS_STR];
    char track[HX_BUS_STR];
    char actor[HX_BUS_STR];
    char value[HX_BUS_STR];
    char policy[HX_BUS_STR];
    char id[HX_BUS_STR];
    int64_t at;
    char text[HX_BUS_TEXT];
} hx_bus_msg;

enum {
    HX_BUS_OK = 0,
    HX_BUS_ERROR = -1, /* malformed message, encoding failed */
    HX_BUS_FULL = -2,  /* too many messages queued during a delivery */
};

/** Encode m (JSON text, at most HX_BUS_MAX_BYTES). Returns the length, or -1. */
int hx_bus_encode(const hx_bus_msg *m, char *out, size_t cap);
/** Decode; every string field checked for length, kind for range. 0 or -1. */
int hx_bus_decode(const char *in, size_t len, hx_bus_msg *m);
const char *hx_bus_kind_name(hx_bus_kind k);
/** snprintf into a field, truncating; NULL copies "". */
#define hx_bus_set(field, src) snprintf((field), sizeof(field), "%s", (src) ? (src) : "")

typedef struct hx_bus hx_bus;
typedef void (*hx_bus_cb)(void *arg, const hx_bus_msg *m);

typedef struct hx_bus_ops {
    const char *name;
    /** Deliver m to every subscriber (see Delivery above). HX_BUS_OK or an error. */
    int (*publish)(hx_bus *b, const hx_bus_msg *m);
    /** Add a subscriber for every kind. 0, or -1 when HX_BUS_MAX_SUBS are taken. */
    int (*subscribe)(hx_bus *b, hx_bus_cb cb, void *arg);
    /** Remove a subscriber (cb and arg as given). */
    void (*unsubscribe)(hx_bus *b, hx_bus_cb cb, void *arg);
    void (*close)(hx_bus *b);
} hx_bus_ops;

struct hx_bus {
    const hx_bus_ops *ops;
};

/** The in-process bus. NULL on allocation failure. */
hx_bus *hx_bus_local_new(void);

static inline int hx_bus_publish(hx_bus *b, const hx_bus_msg *m)
{
    return b->ops->publish(b, m);
}

#endif
