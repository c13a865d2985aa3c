#include "common/ratelimit.h"

void hx_bucket_init(hx_bucket *b, double rate, double burst, int64_t now_ms)
{
    b->rate = rate;
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->last_ms = now_ms;
}

static void refill(hx_bucket *b, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
        if (b->tokens > b->burst) b->tokens = b->burst;
        b->last_ms = now_ms;
    }
}

bool hx_bucket_take(hx_bucket *b, int64_t now_ms)
{
    refill(b, now_ms);
    if (b->tokens < 1.0) return false;
    b->tokens -= 1.0;
    return true;
}

double hx_bucket_wait_s(const hx_bucket *b, int64_t now_ms)
{
    hx_bucket c = *b;
    refill(&c, now_ms);
    if (c.tokens >= 1.0 || c.rate <= 0) return 0;
    return (1.0 - c.tokens) / c.rate;
}
