/*
 * The usrsctp stack. usrsctp has one global stack per process, so this file
 * holds the module's only mutable statics, under one mutex: a count of live
 * hx_sctp_stack objects, to run usrsctp_init_nothreads on the first create
 * and usrsctp_finish on the last destroy, and the time of the last
 * hx_sctp_stack_advance by any of them. Everything else hangs off the
 * objects.
 *
 * init_nothreads: usrsctp runs no timer thread of its own (one idle iterator
 * thread still starts); hx_sctp_stack_advance drives usrsctp_handle_timers,
 * which fires the timers of every association in the process. So the time
 * it hands over is what passed since the last call from any stack: two
 * stacks advancing to the same moment move usrsctp's clock once. When to
 * call it is a guess made from the stack's own associations
 * (hx_sctp_stack_next_due): usrsctp 0.9.5 exports no "next timer" query.
 * usrsctp starts a timer from its own clock, which stands still between
 * advances (up to a second when quiet, indefinitely without associations),
 * so input and connect first bring it up to date (hx__stack_catch_up): an
 * INIT or a delayed SACK is timed from when it happens, not from the last
 * advance. Only for stacks driven by advance: a tick-driven one keeps its
 * own count.
 * Packets leave through output_cb, whose address argument is the AF_CONN
 * address the association registered: the association itself.
 *
 * Global sysctls, as browsers set them: no ECN (WebRTC does not use it),
 * no ASCONF (one path only; it also needs SCTP-AUTH, which aiortc and some
 * stacks lack), and out-of-the-blue packets are not answered with ABORT.
 */
#include "sctp/sctp_internal.h"

#include <pthread.h>
#include <stdlib.h>

/* Timer cadence for hx_sctp_stack_next_due. FINE, after a packet came in, is below the 20 ms
 * delayed SACK set below. RETX, while an association connects or after a packet went out with
 * nothing coming back, serves the timers that can then run: retransmissions, at RTO.Min (1 s)
 * or RTO.Initial (3 s) at the earliest, so they fire at most a tenth late; an INIT nobody
 * answers (a client that never starts SCTP) costs ten wakeups a second, not a hundred. IDLE is
 * what an established, quiet association can wait (its heartbeat is 30 s). BUSY is how long
 * after a packet an association still counts as busy. */
#define DUE_FINE_MS 10
#define DUE_RETX_MS 100
#define DUE_IDLE_MS 1000
#define BUSY_MS 1000

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned stack_refs;
static int64_t timers_at = INT64_MIN; /* now_ms of the last advance; INT64_MIN: none yet */

static int output_cb(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    hx_sctp_assoc *a = addr;
    if (!a || !a->cfg.send) return -1;
    hx__assoc_active(a, false);
    return a->cfg.send(a->cfg.ud, buf, len) == 0 ? 0 : -1;
}

static void configure_globals(const hx_sctp_stack_config *cfg)
{
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    usrsctp_sysctl_set_sctp_auto_asconf(0);
    usrsctp_sysctl_set_sctp_blackhole(2);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    /* Chrome and Firefox delay SACKs by 20 ms rather than the default 200. */
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    if (cfg && cfg->crc32c_offload)
        usrsctp_enable_crc32c_offload();
    else
        usrsctp_disable_crc32c_offload();
}

int hx_sctp_stack_create(const hx_sctp_stack_config *cfg, hx_sctp_stack **out)
{
    *out = NULL;
    hx_sctp_stack *s = calloc(1, sizeof *s);
    if (!s) return HX_SCTP_ENOMEM;
    s->last_in_ms = s->last_out_ms = INT64_MIN;
    pthread_mutex_lock(&stack_lock);
    if (stack_refs++ == 0) {
        usrsctp_init_nothreads(0, output_cb, NULL);
        configure_globals(cfg);
        timers_at = INT64_MIN; /* a fresh usrsctp: its clock starts at the next advance */
    }
    pthread_mutex_unlock(&stack_lock);
    *out = s;
    return HX_SCTP_OK;
}

int hx_sctp_stack_destroy(hx_sctp_stack *s)
{
    if (!s) return HX_SCTP_OK;
    if (s->n_assocs) return HX_SCTP_EBUSY;
    pthread_mutex_lock(&stack_lock);
    if (--stack_refs == 0) {
        /* Aborted sockets can take a timer round to be released. */
        for (int i = 0; i < 100 && usrsctp_finish() != 0; i++)
            usrsctp_handle_timers(10);
    }
    pthread_mutex_unlock(&stack_lock);
    free(s);
    return HX_SCTP_OK;
}

void hx_sctp_stack_tick(hx_sctp_stack *s, uint32_t elapsed_ms)
{
    (void)s;
    usrsctp_handle_timers(elapsed_ms);
}

/* Hand usrsctp the time since the last advance by anyone, if at least min_ms passed. */
static void advance_by(int64_t now_ms, int64_t min_ms)
{
    uint64_t elapsed = 0;
    pthread_mutex_lock(&stack_lock);
    if (timers_at == INT64_MIN) {
        timers_at = now_ms;
    } else if (now_ms > timers_at && (uint64_t)now_ms - (uint64_t)timers_at >= (uint64_t)min_ms) {
        elapsed = (uint64_t)now_ms - (uint64_t)timers_at;
        timers_at = now_ms;
    }
    pthread_mutex_unlock(&stack_lock);
    /* usrsctp compares its 32-bit tick counts by signed difference: keep a step below 2^31. */
    if (elapsed) usrsctp_handle_timers(elapsed > INT32_MAX ? INT32_MAX : (uint32_t)elapsed);
}

void hx_sctp_stack_advance(hx_sctp_stack *s, int64_t now_ms)
{
    s->advancing = true;
    advance_by(now_ms, 1);
}

void hx__stack_catch_up(hx_sctp_stack *s, int64_t now_ms)
{
    if (s->advancing) advance_by(now_ms, DUE_FINE_MS);
}

static int64_t after(int64_t now_ms, int64_t ms)
{
    return now_ms > INT64_MAX - ms ? INT64_MAX : now_ms + ms;
}

int64_t hx_sctp_stack_next_due(const hx_sctp_stack *s, int64_t now_ms)
{
    if (!s->n_assocs) return INT64_MAX;
    bool in = s->last_in_ms != INT64_MIN && now_ms - BUSY_MS < s->last_in_ms;
    bool out = s->last_out_ms != INT64_MIN && now_ms - BUSY_MS < s->last_out_ms;
    if (in) return after(now_ms, DUE_FINE_MS);
    return after(now_ms, s->n_connecting || out ? DUE_RETX_MS : DUE_IDLE_MS);
}

const char *hx_sctp_strerror(int err)
{
    switch (err) {
    case HX_SCTP_OK:
        return "ok";
    case HX_SCTP_EINVAL:
        return "invalid argument";
    case HX_SCTP_ENOMEM:
        return "out of memory";
    case HX_SCTP_ESTACK:
        return "usrsctp call failed";
    case HX_SCTP_ETOOBIG:
        return "message larger than the peer's max-message-size";
    case HX_SCTP_EAGAIN:
        return "outbound buffer full";
    case HX_SCTP_ENOTOPEN:
        return "channel not open";
    case HX_SCTP_ENOTUP:
        return "association not established";
    case HX_SCTP_ENOSTREAM:
        return "no free stream id";
    case HX_SCTP_EBUSY:
        return "stack still has associations";
    default:
        return "unknown SCTP error";
    }
}
