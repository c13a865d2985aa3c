/*
 * libFuzzer target for the signaling path: signal/envelope, signal/protocol,
 * signal/session and signal/join, against a real (socketless) server context
 * with a SQLite store (tests/support/test_server.c).
 *
 * An input is a script of steps separated by the byte 0xFF (never part of
 * UTF-8 text). A step's first byte picks the connection (low 2 bits, up to
 * four at once) and the operation (high bits):
 *   0 send the rest as one text message;
 *   1 the same, with every "$T" replaced by a fresh ticket for room "r"
 *     minted for user "u<n>" device "d<n>" (so fuzzing reaches the join path
 *     and everything behind it: rooms, replacement, leave, replays); users
 *     u0 and u1 are moderators (moderate, vote and what they enforce); and
 *     every "$R" by the latest resume token the server handed out (resume,
 *     takeover of a live connection, replays of spent tokens);
 *   2 the peer sent a message over the size limit;
 *   3 the transport reports the connection gone (reopened at the next step
 *     that names it, with the protocol version in the next byte); a joined
 *     v2 session stays AWAY, resumable;
 *   4 a housekeeping tick (keep-alive and join timeouts, vote deadlines and
 *     sanction expiry, token rotation and AWAY expiry, with an advancing
 *     clock offset); so is every higher operation but
 *   5 the engine's active speakers of room "r": the rest is the list
 *     ("TRACK:LEVEL,...", signal/speakers.c), told to the room as it stands;
 *   6 the engine's layers for one of the connection's tracks (signal/layers.c): the
 *     next byte picks the track TR_0..TR_3 (published at mid "1" first if the
 *     session does not publish it yet), the mid told ("1" or "2") and the
 *     transport (publisher or subscriber); the rest is the rid list ("q,h,f");
 *     with bit 4 of that byte, what the connection receives of another
 *     participant's track (signal/receiving.c): the rest split into rid and size.
 * An input with a step 6 has a media plane that takes every command and answers
 * none, so joined sessions have transports for the engine's events to reach; the
 * others have none (media requests get `media_unavailable`), as before.
 * Connections can resume (the resumable recording io): a resume moves a
 * connection to another session, which the harness follows. Room events wait
 * for the end of each step, as they wait for the end of a loop turn in
 * hearthd (signal/fanout.c).
 * Moderation's live state is cleared after each input, so one input's ban
 * does not shut the door on the next.
 * Every connection records what the session sent (test_server's recording
 * io). Beyond ASan/UBSan/LSan, it aborts when the server breaks the
 * protocol's contract: a message that is not a JSON object with a string
 * `type`, an `error` without a string `data.code`, more than one close
 * request per connection, or participants left in rooms after every
 * connection is gone and every AWAY session's window has passed.
 */
#include "support/test_server.h"

#include "common/clock.h"
#include "core/moderate.h"
#include "sfu/sfu.h"
#include "signal/protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNS 4
#define STEP_CAP 8192

typedef struct conn {
    bool open;
    hx_session *sess; /* NULL once a resume elsewhere took its session away */
    hx_test_client c;
    int adopts;       /* c.n_adopts already followed */
} conn;

static char resume_token[1400]; /* the latest the server handed out */

static hx_test_server ts;

static void teardown(void)
{
    hx_test_server_free(&ts);
}

/* The media plane: takes every command, answers none (the script plays the engine's events). */
static int media_sink(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    (void)msg;
    (void)len;
    return 0;
}

/* One engine event on transport t: tag/value string pairs, 0-terminated; the value of
 * HX_SFU_T_LAYERS is followed by its length (a size_t), as the script's bytes are not C strings. */
static void engine_event(uint64_t t, hx_sfu_kind kind, ...)
{
    static uint8_t ev[STEP_CAP + 256];
    hx_sfu_builder b;
    hx_sfu_build(&b, ev, sizeof ev, kind, t);
    va_list ap;
    va_start(ap, kind);
    for (int tag; (tag = va_arg(ap, int)) != 0;) {
        const char *v = va_arg(ap, const char *);
        bool sized = tag == HX_SFU_T_LAYERS || tag == HX_SFU_T_LAYER || tag == HX_SFU_T_SIZE;
        size_t len = sized ? va_arg(ap, size_t) : strlen(v); /* fuzzed bytes: their length */
        hx_sfu_put_str(&b, (hx_sfu_tag)tag, v, len);
    }
    va_end(ap);
    long n = hx_sfu_finish(&b);
    if (n > 0) hx_signal_engine_event(&ts.srv, ev, (size_t)n);
}

/* Step 6: the engine tells the layers of one of s's tracks (publishing it first if need be), or
 * (bit 4) what s receives of another participant's track (track.receiving). */
static void layers_step(hx_session *s, const uint8_t *arg, size_t alen)
{
    if (!s || !s->media_serial || !alen) return;
    char track[8];
    snprintf(track, sizeof track, "TR_%d", arg[0] & 3);
    uint64_t pub = s->media_serial * 2;
    bool known = false;
    for (size_t i = 0; i < s->p.n_tracks; i++)
        known |= !strcmp(s->p.tracks[i].id, track);
    if (!known)
        engine_event(pub, HX_SFU_EV_TRACK_PUBLISHED, HX_SFU_T_ROOM, "r", HX_SFU_T_TRACK, track,
                     HX_SFU_T_MEDIA_KIND, "video", HX_SFU_T_MID, "1", 0);
    if (arg[0] & 0x10) { /* what s receives of another's track: the bytes as rid and size */
        const char *other = NULL;
        for (hx_participant *o = s->p.room ? s->p.room->pub_head : NULL; o && !other;
             o = o->pub_next)
            if (o != &s->p && o->n_tracks) other = o->tracks[0].id;
        size_t half = (alen - 1) / 2;
        engine_event(pub + 1, HX_SFU_EV_RECEIVING, HX_SFU_T_TRACK, other ? other : track,
                     HX_SFU_T_LAYER, (const char *)arg + 1, half, HX_SFU_T_SIZE,
                     (const char *)arg + 1 + half, alen - 1 - half, 0);
        return;
    }
    engine_event(pub + (arg[0] >> 3 & 1), HX_SFU_EV_LAYERS, HX_SFU_T_TRACK, track, HX_SFU_T_MID,
                 arg[0] & 4 ? "2" : "1", HX_SFU_T_LAYERS, (const char *)arg + 1, alen - 1, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hx_config cfg;
    hx_test_config(&cfg);
    cfg.log_level = HX_LOG_ERROR;
    cfg.max_participants = 3;
    cfg.max_message_bytes = 4096;
    if (hx_test_server_init(&ts, &cfg, NULL) != 0) abort();
    ts.srv.sessions->defer = true; /* hx_signal_flush after each step: a loop turn's end */
    atexit(teardown);
    return 0;
}

static void check_client(const hx_test_client *c)
{
    if (c->n_bad || c->n_closes > 1) abort();
    for (size_t i = 0; i < json_array_size(c->msgs); i++) {
        const json_t *m = hx_test_client_nth(c, i);
        const char *type = hx_test_msg_type(m);
        if (!type) abort();
        if (strcmp(type, "error") == 0 &&
            !json_is_string(json_object_get(hx_test_msg_data(m), "code")))
            abort();
    }
}

/* Keep the latest resume token a client was given (join or resume result, session.token). */
static void note_tokens(const hx_test_client *c)
{
    for (size_t i = 0; i < json_array_size(c->msgs); i++) {
        json_t *d = hx_test_msg_data(hx_test_client_nth(c, i));
        json_t *t = json_object_get(json_object_get(d, "resume"), "token");
        if (!t) t = json_object_get(d, "token");
        if (json_is_string(t) && json_string_length(t) < sizeof resume_token)
            snprintf(resume_token, sizeof resume_token, "%s", json_string_value(t));
    }
}

/* Copy msg into out with "$T" replaced by a fresh ticket and "$R" by the latest resume
 * token; returns the length. */
static size_t with_ticket(int who, const uint8_t *msg, size_t len, char *out, size_t cap)
{
    char ticket[1024], user[8], dev[8];
    snprintf(user, sizeof user, "u%d", who);
    snprintf(dev, sizeof dev, "d%d", who);
    uint32_t grants = HX_GRANT_DEFAULT_FLAGS | (who < 2 ? HX_GRANT_MODERATE : 0);
    if (hx_test_mint_grants(&ts.srv, "r", user, dev, grants, HX_PROTO_MAX, ticket, sizeof ticket) != 0)
        abort();
    size_t tl = strlen(ticket), rl = strlen(resume_token), n = 0;
    for (size_t i = 0; i < len && n < cap; i++) {
        if (i + 1 < len && msg[i] == '$' && msg[i + 1] == 'T' && n + tl <= cap) {
            memcpy(out + n, ticket, tl);
            n += tl;
            i++;
        } else if (i + 1 < len && msg[i] == '$' && msg[i + 1] == 'R' && n + rl <= cap) {
            memcpy(out + n, resume_token, rl);
            n += rl;
            i++;
        } else {
            out[n++] = (char)msg[i];
        }
    }
    return n;
}

/* A resume moved a connection to another session (or took its session away): follow it. */
static void follow(conn *k)
{
    if (k->open && k->c.n_adopts != k->adopts) {
        k->adopts = k->c.n_adopts;
        k->sess = k->c.session;
    }
}

static void close_conn(conn *k)
{
    if (!k->open) return;
    follow(k);
    if (k->sess) hx_session_closed(k->sess);
    k->sess = NULL;
    k->open = false;
    note_tokens(&k->c);
    check_client(&k->c);
    hx_test_client_free(&k->c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[STEP_CAP];
    conn conns[CONNS];
    memset(conns, 0, sizeof conns);
    int64_t clock = hx_mono_ms();
    int next_version = HX_PROTO_MAX;

    const uint8_t *p = data, *end = data + size;
    ts.srv.sfu_post = NULL;
    for (const uint8_t *q = data; q < end; q++) /* a step 6 anywhere: media from the start */
        if ((q == data || q[-1] == 0xFF) && *q >> 2 == 6) ts.srv.sfu_post = media_sink;
    while (p < end) {
        const uint8_t *sep = memchr(p, 0xFF, (size_t)(end - p));
        const uint8_t *stop = sep ? sep : end;
        if (stop > p) {
            int who = p[0] & 3, op = p[0] >> 2;
            const uint8_t *arg = p + 1;
            size_t alen = (size_t)(stop - arg);
            conn *k = &conns[who];
            if (!k->open && op != 3) {
                hx_test_client_init(&k->c);
                k->adopts = 0;
                k->open = true;
                k->sess = hx_session_open(&ts.srv, &hx_test_client_resumable_io, &k->c, next_version);
                if (!k->sess) abort();
            }
            switch (op) {
            case 0:
                if (k->c.close_code == 0 && k->sess)
                    hx_session_message(k->sess, (const char *)arg, alen);
                break;
            case 1:
                if (k->c.close_code == 0 && k->sess) {
                    size_t n = with_ticket(who, arg, alen, buf, sizeof buf);
                    hx_session_message(k->sess, buf, n);
                }
                break;
            case 2:
                if (k->c.close_code == 0 && k->sess) hx_session_too_large(k->sess);
                break;
            case 3:
                close_conn(k);
                next_version = alen ? arg[0] % 5 : HX_PROTO_MAX;
                break;
            case 5: {
                static uint8_t ev[STEP_CAP + 256];
                hx_sfu_builder b;
                hx_sfu_build(&b, ev, sizeof ev, HX_SFU_EV_SPEAKERS, 0);
                hx_sfu_put_cstr(&b, HX_SFU_T_ROOM, "r");
                hx_sfu_put_str(&b, HX_SFU_T_SPEAKERS, (const char *)arg, alen);
                long n = hx_sfu_finish(&b);
                if (n > 0) hx_signal_engine_event(&ts.srv, ev, (size_t)n);
                break;
            }
            case 6:
                follow(k);
                layers_step(k->sess, arg, alen);
                break;
            default:
                clock += alen ? (int64_t)arg[0] * 1000 : 100;
                hx_sessions_tick(&ts.srv, clock); /* AWAY ones too: rotation, expiry */
                hx_moderation_tick(&ts.srv, hx_now_ms() + (clock - hx_mono_ms()) * 100);
                break;
            }
            hx_signal_flush(&ts.srv);
            for (int i = 0; i < CONNS; i++) {
                follow(&conns[i]);
                if (conns[i].open) note_tokens(&conns[i].c);
                /* A session that asked to close is gone once its queue drains. */
                if (conns[i].open && conns[i].c.close_code) close_conn(&conns[i]);
            }
        }
        p = stop + (sep ? 1 : 0);
    }
    for (int i = 0; i < CONNS; i++)
        close_conn(&conns[i]);
    /* Past every window: the AWAY sessions leave. */
    hx_sessions_tick(&ts.srv, clock + (ts.srv.cfg.restart_grace_s + ts.srv.cfg.drop_grace_s + 1) * 1000);
    hx_signal_flush(&ts.srv);
    if (ts.srv.sessions->dirty || ts.srv.sessions->held) abort(); /* nobody left waiting */
    if (hx_test_participants(&ts.srv) != 0 || hx_sessions_count(&ts.srv) != 0) abort();
    resume_token[0] = '\0';
    hx_moderation_free(&ts.srv);
    return 0;
}
