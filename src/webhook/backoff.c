/*
 * Exponential backoff with "equal jitter" (AWS architecture blog, 2015): the
 * n-th wait is d = min(max, base * 2^(n-1)), taken as d/2 plus a random part
 * of at most d/2. The fixed half keeps a receiver that is down from being
 * asked again at once; the random half keeps many hearthd nodes pointed at one
 * receiver from retrying in step after it comes back.
 */
#include "webhook/webhook_internal.h"

int64_t hx__wh_backoff_ms(const hx_wh_policy *p, int64_t failures, uint32_t rnd)
{
    int64_t d = p->backoff_ms > 0 ? p->backoff_ms : 1;
    int64_t cap = p->backoff_max_ms > d ? p->backoff_max_ms : d;
    for (int64_t i = 1; i < failures && d < cap; i++)
        d *= 2;
    if (d > cap) d = cap;
    int64_t half = d / 2;
    return d - half + (int64_t)(rnd % (uint64_t)(half + 1));
}
