/*
 * A signaling peer for unit tests: a session on a test server
 * (test_server.h) plus the recording client that sees what its WebSocket
 * would carry, and the steps tests repeat (mint a ticket, join, read the
 * last event, count audit records). Failures are cmocka assertions.
 */
#ifndef HX_TESTS_SUPPORT_TEST_PEER_H
#define HX_TESTS_SUPPORT_TEST_PEER_H

#include "support/test_server.h"

#include "auth/ticket.h"
#include "sfu/sfu.h"

#include <stdarg.h>

typedef struct peer {
    hx_test_client c;
    hx_session *sess;
} peer;

/** Open a session asking for `version` (0: not named). */
void peer_open(hx_server *s, peer *p, int version);
/** The transport noticed the connection is gone. */
void peer_gone(peer *p);
/** peer_gone, then free the recording. */
void peer_free(peer *p);
void send_text(peer *p, const char *text);
/** Send a message built from a json_t (stolen). */
void send_json(peer *p, json_t *m);
void send_join(peer *p, const char *id, const char *ticket, const char *room);
/** A ticket with the default grants; text holds HX_TICKET_MAX_TEXT + 1. */
void mint(hx_server *s, const char *room, const char *user, const char *device, const char *sid,
          const char *jti, int version, char *text);
/** Mint, join, and check the ack; returns the ack's data (borrowed from the client). */
json_t *join_ok(hx_server *s, peer *p, const char *room, const char *user, const char *device);
/** join_ok with these grants (HX_GRANT_*): a moderator is HX_GRANT_DEFAULT_FLAGS |
 * HX_GRANT_MODERATE. */
json_t *join_with_grants(hx_server *s, peer *p, const char *room, const char *user,
                         const char *device, uint32_t grants);
/** The data of the last message of `type` (asserted present), borrowed. */
json_t *last_data(const peer *p, const char *type);
/** o[key], asserted a string / an integer. */
const char *str_at(json_t *o, const char *key);
json_int_t int_at(json_t *o, const char *key);
/** Audit records of `kind` (NULL: all) in the store. */
int count_events(hx_server *s, const char *kind);

/** The last audit record a walk saw. */
typedef struct last_event {
    char code[64], room[64], user[64], device[64], sid[64], detail[256];
    int n;
} last_event;
/** query_events callback filling a last_event. */
int keep_event_cb(void *arg, const hx_event *ev);
/** Whether /metrics has this text. */
bool metrics_have(hx_server *s, const char *line);

/** An engine that takes every command and does nothing (for hx_server.sfu_post); with an
 *  engine_record as hx_server.sfu_ctx it keeps the last command too. */
int fake_engine_post(void *ctx, const uint8_t *msg, size_t len);
typedef struct engine_record {
    uint8_t last[1024]; /* the last command (one larger than this is not kept: len 0) */
    size_t len;
    int posts;
} engine_record;
/** A peer's publisher (role 0) or subscriber (role 1) transport id. */
uint64_t peer_transport(const peer *p, int role);
/**
 * Give the control plane an engine event for `transport`: text fields as (tag, value) pairs
 * ended by 0 in ap, then flags (0: none).
 */
void engine_event_v(hx_server *s, uint64_t transport, hx_sfu_kind kind, uint32_t flags, va_list ap);
/** The same with the pairs as arguments (no flags). */
void engine_event_to(hx_server *s, uint64_t transport, hx_sfu_kind kind, ...);
/** The engine says p published `track` (media kind, mid; a rid list, or NULL) in room "r". */
void publish_track(hx_server *s, const peer *p, const char *track, const char *kind,
                   const char *mid, const char *layers);

#endif
