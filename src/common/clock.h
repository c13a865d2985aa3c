/* Time sources. Wall time for tokens and audit; monotonic for timers and rates. */
#ifndef HX_COMMON_CLOCK_H
#define HX_COMMON_CLOCK_H

#include <stdint.h>

/** Unix time in milliseconds (CLOCK_REALTIME). */
int64_t hx_now_ms(void);
/** Monotonic time in milliseconds (CLOCK_MONOTONIC). */
int64_t hx_mono_ms(void);

#endif
