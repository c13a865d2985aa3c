/* Token bucket: `rate` tokens per second up to `burst`. Used per WebSocket
 * connection (messages) and per client address (HTTP requests). */
#ifndef HX_COMMON_RATELIMIT_H
#define HX_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hx_bucket {
    double tokens;
    double rate;   /* tokens per second */
    double burst;
    int64_t last_ms;
} hx_bucket;

void hx_bucket_init(hx_bucket *b, double rate, double burst, int64_t now_ms);
/** Take one token; false when empty. */
bool hx_bucket_take(hx_bucket *b, int64_t now_ms);
/** Seconds until one token is available (0 if one is). */
double hx_bucket_wait_s(const hx_bucket *b, int64_t now_ms);

#endif
