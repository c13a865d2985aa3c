/*
 * Active speakers of a room from the audio levels its publishers send (RFC 6464 client-to-mixer
 * audio level: a V flag and the level in -dBov, 0 the loudest, 127 silence), as LiveKit's
 * ActiveSpeakers and Jitsi's dominant speaker let a client light up who is talking without
 * decoding audio. The engine feeds every audio packet's level; every interval the detector
 * decides who speaks, loudest first, and says whether that differs from what it last reported,
 * so the caller sends an event only on change.
 *
 * The algorithm, per source (a track, named by a 64-bit key the caller picks):
 *
 *  - A packet is speech when its level is at or below `threshold` (default 50: quieter than
 *    -50 dBov is background noise, comfort noise or silence), and, only with `use_voice_flag`,
 *    its V flag is not 0 (browsers do not all set it, so by default it is ignored). A speech
 *    packet's loudness is (threshold + 1 - level) / (threshold + 1): 1 at 0 dBov, falling
 *    linearly in dB to 1/(threshold + 1) at the threshold, the scale a level meter draws.
 *  - Intervals of `interval_ms` (default 500) follow one grid from init. For an interval,
 *        slots     = max(packets received, interval_ms / packet_ms)
 *        activity  = speech packets / slots                 (the fraction of time spoken)
 *        loudness  = sum of speech packets' loudness / slots (silence weighs 0)
 *    A source that sent nothing counts as silent: Opus DTX stops sending in silence, so time
 *    is measured in expected packets of `packet_ms` (default 20, WebRTC's Opus ptime), not in
 *    packets received; a cough in an otherwise DTX-silent interval stays a small fraction.
 *  - Both are smoothed over intervals by an exponential moving average, the newest interval
 *    weighing `smoothing` (default 0.5): x += smoothing * (interval value - x). An interval in
 *    which no call at all reached the detector is an empty one (a late timer loses nothing).
 *  - A source speaks while its smoothed activity is at least `active_bar` (default 0.3); the
 *    speakers are ordered by smoothed loudness, loudest first (equal ones by key), and each is
 *    reported with that loudness as its level (0..1).
 *
 * With the defaults, a source that starts speaking continuously is named at the first or
 * second decision after it starts (an interval activity a >= 0.6 gives 0.5a >= 0.3 at the
 * first, else 0.5 + 0.25a at the second): within 0.8 s. One that stops (or goes DTX) after
 * speaking long enough to saturate is dropped at the second or third decision (1 -> 0.5 + 0.5a
 * -> 0.25 + 0.25a, under 0.3 unless the last interval held a >= 0.2 of speech, then
 * 0.125 + 0.125a): within 1.4 s. Ordering can swap between two speakers of about equal
 * loudness from one interval to the next; each swap is a change.
 *
 * The detector is a value the caller embeds: fixed arrays of HX_SPEAKER_MAX sources, no
 * allocation, no clock (times come in, in ms), single-threaded like its owner. A decision is
 * made by the first call (hx_speaker_level or hx_speaker_tick) at or after the interval's end,
 * hx_speaker_next_due; the caller arms a deadline timer for it and calls hx_speaker_tick.
 */
#ifndef HX_ADAPT_SPEAKER_H
#define HX_ADAPT_SPEAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Sources one detector holds at most (cfg.max_sources may lower it). */
#define HX_SPEAKER_MAX 64

/** Errors of hx_speaker_init, _add, _remove and _level. */
enum {
    HX_SPEAKER_EINVAL = -1, /**< the config fails hx_speaker_config_check */
    HX_SPEAKER_EFULL = -2,  /**< max_sources sources already */
    HX_SPEAKER_EEXIST = -3, /**< the key is a source already */
    HX_SPEAKER_ENOENT = -4, /**< no source has the key */
};

/** Tuning; hx_speaker_config_default fills the defaults, hx_speaker_config_check the ranges. */
typedef struct hx_speaker_config {
    int interval_ms;     /**< 500: how often the speakers are decided; 100..10000 */
    int threshold;       /**< 50: a level (-dBov) at or below it is speech; 0..126 */
    double smoothing;    /**< 0.5: the newest interval's weight in the averages; (0, 1] */
    double active_bar;   /**< 0.3: smoothed activity at which a source speaks; (0, 1] */
    int packet_ms;       /**< 20: audio per packet, the unit of an interval; 5..interval_ms */
    bool use_voice_flag; /**< false: the V flag is ignored; true: V = 0 is not speech */
    size_t max_sources;  /**< HX_SPEAKER_MAX: sources held at most; 1..HX_SPEAKER_MAX */
} hx_speaker_config;

/** One speaker of a decision. */
typedef struct hx_speaker {
    uint64_t key;
    float level; /**< smoothed loudness, 0..1 (1: continuously at 0 dBov) */
} hx_speaker;

/** A source's state (read-only to the caller). */
typedef struct hx_speaker_source {
    uint64_t key;
    uint32_t packets, speech; /**< in the current interval */
    uint64_t loud_sum;        /**< its speech packets' threshold + 1 - level, summed */
    float activity, loudness; /**< smoothed, 0..1 */
} hx_speaker_source;

/** The detector. Fields are read-only to the caller; use the functions. */
typedef struct hx_speaker_detector {
    hx_speaker_config cfg;
    int64_t start, due;                    /**< the current interval: [start, due) */
    size_t n;                              /**< sources */
    hx_speaker_source src[HX_SPEAKER_MAX]; /**< by key, increasing */
    size_t n_cur;                          /**< the latest decision */
    hx_speaker cur[HX_SPEAKER_MAX];
    size_t n_rep; /**< the keys hx_speaker_tick last reported, in order */
    uint64_t rep[HX_SPEAKER_MAX];
} hx_speaker_detector;

/** Fill the defaults above. */
void hx_speaker_config_default(hx_speaker_config *cfg);

/** NULL when cfg is usable, else a static text naming the value and its range. */
const char *hx_speaker_config_check(const hx_speaker_config *cfg);

/** An empty detector whose first interval starts at now_ms; cfg NULL for the defaults.
 *  0, or HX_SPEAKER_EINVAL (d is then unusable). */
int hx_speaker_init(hx_speaker_detector *d, const hx_speaker_config *cfg, int64_t now_ms);

/** Start following a source, silent so far. 0, HX_SPEAKER_EEXIST or HX_SPEAKER_EFULL. */
int hx_speaker_add(hx_speaker_detector *d, uint64_t key);

/** Forget a source. It leaves the latest decision at once, and the next hx_speaker_tick
 *  reports the change if the source had been reported. 0 or HX_SPEAKER_ENOENT. */
int hx_speaker_remove(hx_speaker_detector *d, uint64_t key);

/**
 * Make room: remove the quietest source (lowest smoothed activity, then loudness) that is not a
 * current speaker and sent no speech in the current interval; its key in *key. 0, or
 * HX_SPEAKER_ENOENT when every source is speaking.
 */
int hx_speaker_evict(hx_speaker_detector *d, uint64_t *key);

/** One audio packet of a source: voice is the V flag (1, 0, or -1 when unknown), level its
 *  -dBov (0..127; above 127 counts as silence). First decides any interval ended by now_ms.
 *  0 or HX_SPEAKER_ENOENT (the packet is not counted). */
int hx_speaker_level(hx_speaker_detector *d, uint64_t key, int voice, uint8_t level,
                     int64_t now_ms);

/**
 * Decide every interval ended by now_ms, then write the latest decision's first cap speakers
 * to out (loudest first) and return how many were written. *changed (may be NULL) tells
 * whether the full list of keys, in order, differs from what the previous tick reported; it
 * can be true before the next due time when hx_speaker_level decided or a reported source was
 * removed.
 */
size_t hx_speaker_tick(hx_speaker_detector *d, int64_t now_ms, hx_speaker *out, size_t cap,
                       bool *changed);

/** When the current interval ends: the time for the caller's next hx_speaker_tick. */
int64_t hx_speaker_next_due(const hx_speaker_detector *d);

/** The latest decision's first cap speakers, deciding nothing (for a client that joins). */
size_t hx_speaker_current(const hx_speaker_detector *d, hx_speaker *out, size_t cap);

/** Keys unique and ordered, counts within max, values in range, the decision sorted and of
 *  known sources, the interval one long: 0, or a negative line number. */
int hx_speaker_check(const hx_speaker_detector *d);

#endif
