/*
 * A hearthd context for unit tests, without libwebsockets, libuv or a
 * socket: a temporary data dir with a real SQLite store, a random ticket
 * key, a known admin key, empty revocations/rooms/metrics, logs to
 * /dev/null (stderr when HX_TEST_VERBOSE is set). The HTTP API
 * (hx_api_handle) and signaling sessions (hx_session_*) run against it
 * directly.
 *
 * Beside it, a recording hx_sig_io, the "test client": every message a
 * session sends is parsed and kept in order, with the close code and
 * reason, so a test asserts exactly what a peer would have received.
 *
 * Ownership: the caller owns the hx_test_server and every hx_test_client;
 * sessions must be closed (hx_session_closed) before hx_test_server_free,
 * because closing a session talks to the other clients in its room.
 */
#ifndef HX_TESTS_SUPPORT_TEST_SERVER_H
#define HX_TESTS_SUPPORT_TEST_SERVER_H

#include "core/server.h"
#include "signal/registry.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define HX_TEST_ADMIN_KEY "test-admin-key-0123456789abcdef"

typedef struct hx_test_server {
    hx_server srv;
    char dir[256]; /* the temp data dir, removed by hx_test_server_free */
    FILE *logf;    /* owned unless it is stderr */
} hx_test_server;

/** Dev-profile defaults, the baseline a test tweaks before hx_test_server_init. */
void hx_test_config(hx_config *cfg);

/**
 * Build the server from cfg (NULL: hx_test_config defaults); data_dir is
 * replaced by a fresh temp dir. jwks_json, when not NULL, is parsed into the
 * key set. 0, or -1 with a reason on stderr (call hx_test_server_free anyway).
 */
int hx_test_server_init(hx_test_server *t, const hx_config *cfg, const char *jwks_json);

/**
 * Free everything and remove the temp dir. Returns the number of sessions
 * still open (a test bug: they are leaked, not closed, since their clients
 * may be gone).
 */
size_t hx_test_server_free(hx_test_server *t);

/** cmocka-style setup: *state becomes a heap hx_test_server with the default config. 0 or -1. */
int hx_test_server_setup(void **state);
/** hx_test_server_setup with this config (NULL: the defaults). */
int hx_test_server_setup_with(void **state, const hx_config *cfg);
/** cmocka-style teardown of hx_test_server_setup: -1 when sessions were left open (a test bug). */
int hx_test_server_teardown(void **state);

/** Mint a ticket for room/user/device at `version` (sid/jti NULL = ""). 0 or -1. */
int hx_test_mint(hx_server *s, const char *room, const char *user, const char *device, const char *sid,
                 const char *jti, int version, char *text, size_t len);

/** hx_test_mint with these grants (HX_GRANT_*). */
int hx_test_mint_grants(hx_server *s, const char *room, const char *user, const char *device, uint32_t grants,
                        int version, char *text, size_t len);

/** Number of participants across every room. */
size_t hx_test_participants(const hx_server *s);

/** What a session sent to its peer, and how it closed. */
typedef struct hx_test_client {
    json_t *msgs;           /* array of parsed messages, in send order */
    size_t n_bad;           /* sends that were not a JSON object */
    int close_code;         /* 0 until the session asks to close */
    char close_reason[128];
    int n_closes;           /* close requests seen (a session should ask once) */
    int n_pings;            /* keep-alive pings the session asked for */
    bool fail_send;         /* make send report a full queue */
    hx_session *session;    /* resumable io: the session this connection now belongs to */
    int n_adopts;
} hx_test_client;

/** The recording io: pass with a hx_test_client * as io_ctx. */
extern const hx_sig_io hx_test_client_io;
/** The same, able to resume (hx_sig_io.adopt records the session in c->session). */
extern const hx_sig_io hx_test_client_resumable_io;

void hx_test_client_init(hx_test_client *c);
void hx_test_client_free(hx_test_client *c);
/** Forget the messages (the close state stays). */
void hx_test_client_clear(hx_test_client *c);
/** Messages of `type` (NULL: all). */
size_t hx_test_client_count(const hx_test_client *c, const char *type);
/** The i-th message (borrowed), NULL past the end. */
json_t *hx_test_client_nth(const hx_test_client *c, size_t i);
/** The last message of `type` (NULL: any), borrowed; NULL when none. */
json_t *hx_test_client_last(const hx_test_client *c, const char *type);
/** data.code of the last `error`, or NULL. */
const char *hx_test_client_last_error(const hx_test_client *c);
/** A message's "type" / "id" (NULL when absent) and "data" object. */
const char *hx_test_msg_type(const json_t *m);
const char *hx_test_msg_id(const json_t *m);
json_t *hx_test_msg_data(const json_t *m);

#endif
