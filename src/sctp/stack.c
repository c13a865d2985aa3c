/*
 * The usrsctp stack. usrsctp has one global stack per process, so this file
 * holds the module's only mutable statics: a mutex-guarded count of live
 * hx_sctp_stack objects, to run usrsctp_init_nothreads on the first create
 * and usrsctp_finish on the last destroy. Everything else hangs off the
 * objects.
 *
 * init_nothreads: usrsctp runs no timer thread of its own (one idle iterator
 * thread still starts); hx_sctp_stack_tick drives usrsctp_handle_timers.
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

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned stack_refs;

static int output_cb(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    hx_sctp_assoc *a = addr;
    if (!a || !a->cfg.send) return -1;
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
    pthread_mutex_lock(&stack_lock);
    if (stack_refs++ == 0) {
        usrsctp_init_nothreads(0, output_cb, NULL);
        configure_globals(cfg);
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
