/*
 * The TURN server's carrier: what turn.h's hx_turn is made of, shared by
 * server.c (thread, loop, start and stop, cross-thread requests),
 * udp.c (the UDP listener and the relay sockets), conn.c (TCP, TLS and
 * adopted stream connections) and tls.c (OpenSSL over memory BIOs).
 *
 * Threads: hx_turn_start and hx_turn_stop run on the caller's thread;
 * everything else on the TURN thread, except what goes through `lock`
 * (stop flag, new secrets, the adoption queue) and `tls_lock` (the
 * SSL_CTX for new connections), and the relaxed atomic counters.
 *
 * Ownership: hx_turn owns the core, the listeners, every connection
 * (freed in its close callback) and, through the core's allocations, every
 * relay (freed in its poll handle's close callback).
 */
#ifndef HX_TURN_CARRIER_INTERNAL_H
#define HX_TURN_CARRIER_INTERNAL_H

#include "turn/core.h"
#include "turn/stream.h"
#include "turn/turn.h"

#include "common/strmap.h"
#include "net/udp.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#define HX__TURN_TICK_MS 500
#define HX__TURN_ADOPT_QUEUE 64       /* connections waiting to be adopted */
#define HX__TURN_OUT_HALF (32 * 1024) /* a connection's write buffer (two of them) */
#define HX__TURN_STALL_MS 10000       /* a write not done after this: the client is gone */
#define HX__TURN_SILENT_MS 10000      /* a connection without one frame by then is closed */
#define HX__TURN_DIRTY 64             /* relays with queued datagrams per batch */
#define HX__TURN_READ_CHUNK (64 * 1024)

typedef struct hx__turn_relay {
    struct hx_turn *t;
    uint64_t alloc_id;
    hx_udp *udp;
    uv_poll_t poll;
    bool dirty, closing;
} hx__turn_relay;

typedef struct hx__turn_conn {
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;
    struct hx_turn *t;
    uint32_t slot;
    hx_turn_client client; /* proto, conn id (generation << 32 | slot), peer address */
    char ip[64];           /* per-address count key */
    SSL *ssl;              /* TLS: memory BIOs, ciphertext through the stream */
    hx_turn_stream_rx rx;
    int64_t opened_ms, write_started_ms;
    uint64_t frames;
    bool closing;
    int inflight; /* index of the buffer being written, -1 when none */
    uv_write_t wreq;
    size_t out_len[2];
    uint8_t out[2][HX__TURN_OUT_HALF];
    uint8_t rxbuf[HX_TURN_STREAM_MAX_FRAME];
} hx__turn_conn;

typedef struct hx__turn_adopt {
    int fd;
    struct sockaddr_storage peer;
    size_t len;
    uint8_t head[HX_TURN_STREAM_MAX_FRAME];
} hx__turn_adopt;

struct hx_turn {
    hx_turn_config cfg;
    hx_turn_core *core;
    uv_loop_t loop;
    bool loop_ready, thread_started;
    pthread_t thread;
    uv_async_t wake;
    uv_timer_t tick;
    int64_t now_ms;
    int ports[3];

    /* UDP (udp.c) */
    hx_udp *udp;
    uv_poll_t udp_poll;
    bool udp_on;
    char relay_host[2][64]; /* [0] IPv4, [1] IPv6 bind address; "" when that family is off */
    uint32_t next_port;
    hx__turn_relay *dirty[HX__TURN_DIRTY];
    size_t n_dirty;

    /* streams (conn.c, tls.c) */
    uv_tcp_t tcp_listen, tls_listen;
    bool tcp_on, tls_on;
    hx__turn_conn **conns; /* by slot; cfg.max_conns */
    uint32_t n_conns, conn_gen;
    hx_strmap per_ip;    /* ip -> (uintptr_t) open connections */
    uint8_t *read_chunk; /* uv alloc_cb buffer, shared: reads are handled one at a time */
    uint8_t *plain;      /* TLS plaintext out of SSL_read (16 KB) */
    uint8_t *scratch;    /* answers to stream clients are written here, then queued */
    pthread_mutex_t tls_lock;
    SSL_CTX *ssl_ctx;

    /* from other threads */
    pthread_mutex_t lock;
    bool stop, secrets_dirty;
    char secrets[HX_TURN_MAX_SECRETS][128];
    size_t n_secrets;
    hx__turn_adopt *adopt; /* ring of HX__TURN_ADOPT_QUEUE */
    size_t adopt_head, adopt_len;

    _Atomic uint64_t connections, refused_connections, dropped;
    hx_turn_stats final; /* the core's counters at stop */
    void *owner_data;    /* hx_turn_set_owner_data: the owner's, never touched here */
};

typedef struct hx_turn hx_turn;

/* udp.c */
int hx__turn_udp_start(hx_turn *t, char *err, size_t errlen);
void hx__turn_udp_stop(hx_turn *t);
/** Send every relay's and the listener's queued datagrams. */
void hx__turn_flush(hx_turn *t);
/** The core's I/O callbacks over this carrier. */
void hx__turn_io(hx_turn *t, hx_turn_io *io);

/* conn.c */
int hx__turn_listen(hx_turn *t, uv_tcp_t *h, int port, bool tls, char *err, size_t errlen);
/** A connection from an accepted or adopted stream; head bytes are fed first. */
void hx__turn_conn_open(hx_turn *t, uv_stream_t *listener, int fd,
                        const struct sockaddr_storage *peer, const uint8_t *head, size_t len);
hx__turn_conn *hx__turn_conn_get(hx_turn *t, uint64_t id);
/** Queue bytes to write (ciphertext for TLS): 0, or -1 dropped (the buffer is full). */
int hx__turn_conn_queue(hx__turn_conn *c, const uint8_t *data, size_t len);
/** Bytes the filling buffer can still take. */
size_t hx__turn_conn_room(const hx__turn_conn *c);
void hx__turn_conn_close(hx__turn_conn *c);
/** Close the stalled and the silent. */
void hx__turn_conns_tick(hx_turn *t);
void hx__turn_conns_stop(hx_turn *t);

/* tls.c */
int hx__turn_tls_load(const hx_turn_config *cfg, SSL_CTX **out, char *err, size_t errlen);
/** A server-side SSL on memory BIOs for a new connection, or NULL. */
SSL *hx__turn_tls_new(hx_turn *t);
/** Ciphertext in: plaintext frames go to the core. 0, or -1 to close. */
int hx__turn_tls_input(hx__turn_conn *c, const uint8_t *data, size_t len);
/** Plaintext out: encrypt and queue. */
void hx__turn_tls_output(hx__turn_conn *c, const uint8_t *data, size_t len);
/** Hand plaintext stream bytes to the framer and the core. 0, or -1 to close. */
int hx__turn_conn_plain(hx__turn_conn *c, const uint8_t *data, size_t len);

#endif
