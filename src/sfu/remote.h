/*
 * A media worker in its own process (issue 13, docs/scaling.md): the control plane's side of
 * the carrier. hearthd starts itself again as `hearthd --media-worker` with one end of a
 * socketpair as fd 3 (hearthd/media_worker.c runs the engine there); the same sfu.h byte
 * messages cross it in frames: [type: 1 byte][length: 4 bytes, big-endian][payload].
 *
 *   parent -> worker   'G' the hx_engine_config (its bytes: the same binary on both ends),
 *                      then 'C' commands
 *   worker -> parent   'R' ready: the UDP and ICE-TCP ports (two big-endian int32), or
 *                      'F' failed: why (text), then 'E' events
 *
 * A worker that dies (a crash, kill -9) is reported through exited(); its transports are gone
 * and the caller starts a new one. Writes toward a worker are bounded (HX_REMOTE_MAX_QUEUED
 * bytes not yet taken by the socket): past it post() refuses, as a full engine queue does.
 * Frames from a worker are checked (type, length): a worker that sends garbage is killed.
 */
#ifndef HX_SFU_REMOTE_H
#define HX_SFU_REMOTE_H

#include "sfu/engine.h"
#include "sfu/sfu.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HX_REMOTE_MAX_QUEUED (64u << 20)
#define HX_REMOTE_MAX_FRAME (HX_SFU_MSG_MAX + 1024)

typedef struct hx_remote hx_remote;

typedef struct hx_remote_hooks {
    hx_sfu_deliver_fn deliver; /* an event, as an in-process engine delivers it */
    /* 'R': up, with its ports; or 'F' (udp < 0): start failed, why */
    void (*ready)(void *ctx, hx_remote *r, int udp_port, int tcp_port, const char *why);
    /* the process is gone (exit status, or the signal that ended it) */
    void (*exited)(void *ctx, hx_remote *r, int64_t status, int term_signal);
    void *ctx;
} hx_remote_hooks;

/** Spawn `exe --media-worker` on loop and send it cfg. 0 and *out, or -1 with err. */
int hx_remote_start(uv_loop_t *loop, const char *exe, const hx_engine_config *cfg,
                    const hx_remote_hooks *hooks, hx_remote **out, char *err, size_t errlen);
/** Send a command (sfu.h bytes). 0, or -1 when the worker is not up or its queue is full. */
int hx_remote_post(void *remote, const uint8_t *msg, size_t len);
/** The worker's process id (0 once it is gone). */
int hx_remote_pid(const hx_remote *r);
/** Stop: the process is killed (SIGKILL: it holds nothing to save) and the handles close on
 *  the loop, which frees r; no hook is called after this. */
void hx_remote_stop(hx_remote *r);

/* Frames, shared with the worker's side (hearthd/media_worker.c). */
enum {
    HX_REMOTE_CONFIG = 'G',
    HX_REMOTE_COMMAND = 'C',
    HX_REMOTE_READY = 'R',
    HX_REMOTE_FAILED = 'F',
    HX_REMOTE_EVENT = 'E',
};
/** A frame's header into hdr[5]. */
void hx_remote_header(uint8_t hdr[5], uint8_t type, uint32_t len);
/**
 * Frames out of a byte stream: feeds what was read into buf (*len bytes kept between calls,
 * cap bytes at most); for each complete frame fn(arg, type, payload, len). Returns 0, or -1 on
 * a frame over HX_REMOTE_MAX_FRAME or larger than cap (the stream is broken).
 */
int hx_remote_unframe(uint8_t *buf, size_t *len, size_t cap, const uint8_t *in, size_t n,
                      void (*fn)(void *arg, uint8_t type, const uint8_t *p, size_t len), void *arg);

#endif
