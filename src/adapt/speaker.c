/*
 * The active speaker detector (speaker.h). Sources sit in one array ordered by key, so a
 * packet finds its source by binary search and add/remove move at most HX_SPEAKER_MAX small
 * structs. Each source accumulates the current interval's counts; closing an interval folds
 * them into the smoothed values, decays them for intervals nobody called in, and rebuilds the
 * decision: the speaking sources, insertion-sorted by loudness (at most HX_SPEAKER_MAX, once
 * an interval). What hx_speaker_tick last reported is kept as keys only, to tell a change.
 *
 * Values decayed below SETTLE are set to 0, so a long silence ends in exact zeros rather than
 * denormals, and a source silent for good looks like one never heard.
 */
#include "adapt/speaker.h"

#include "common/invariant.h"

#include <math.h>
#include <string.h>

#define SETTLE 1e-6f
#define SILENCE 127

void hx_speaker_config_default(hx_speaker_config *cfg)
{
    *cfg = (hx_speaker_config){
        .interval_ms = 500,
        .threshold = 50,
        .smoothing = 0.5,
        .active_bar = 0.3,
        .packet_ms = 20,
        .use_voice_flag = false,
        .max_sources = HX_SPEAKER_MAX,
    };
}

const char *hx_speaker_config_check(const hx_speaker_config *cfg)
{
    if (cfg->interval_ms < 100 || cfg->interval_ms > 10000)
        return "speaker.interval_ms must be 100..10000";
    if (cfg->threshold < 0 || cfg->threshold >= SILENCE)
        return "speaker.threshold must be 0..126 (-dBov)";
    /* Written so that NaN fails too. */
    if (!(cfg->smoothing > 0 && cfg->smoothing <= 1)) return "speaker.smoothing must be in (0, 1]";
    if (!(cfg->active_bar > 0 && cfg->active_bar <= 1))
        return "speaker.active_bar must be in (0, 1]";
    if (cfg->packet_ms < 5 || cfg->packet_ms > cfg->interval_ms)
        return "speaker.packet_ms must be 5..interval_ms";
    if (cfg->max_sources < 1 || cfg->max_sources > HX_SPEAKER_MAX)
        return "speaker.max_sources must be 1..64";
    return NULL;
}

int hx_speaker_init(hx_speaker_detector *d, const hx_speaker_config *cfg, int64_t now_ms)
{
    memset(d, 0, sizeof *d);
    if (cfg)
        d->cfg = *cfg;
    else
        hx_speaker_config_default(&d->cfg);
    if (hx_speaker_config_check(&d->cfg)) return HX_SPEAKER_EINVAL;
    d->start = now_ms;
    d->due = now_ms + d->cfg.interval_ms;
    return 0;
}

/* The index of key, or where it would go (with *found 0). */
static size_t find(const hx_speaker_detector *d, uint64_t key, int *found)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->src[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < d->n && d->src[lo].key == key;
    return lo;
}

int hx_speaker_add(hx_speaker_detector *d, uint64_t key)
{
    int found;
    size_t i = find(d, key, &found);
    if (found) return HX_SPEAKER_EEXIST;
    if (d->n >= d->cfg.max_sources) return HX_SPEAKER_EFULL;
    if (HX_NEVER(d->n >= HX_SPEAKER_MAX)) return HX_SPEAKER_EFULL;
    memmove(&d->src[i + 1], &d->src[i], (d->n - i) * sizeof d->src[0]);
    d->src[i] = (hx_speaker_source){.key = key};
    d->n++;
    return 0;
}

int hx_speaker_remove(hx_speaker_detector *d, uint64_t key)
{
    int found;
    size_t i = find(d, key, &found);
    if (!found) return HX_SPEAKER_ENOENT;
    memmove(&d->src[i], &d->src[i + 1], (d->n - i - 1) * sizeof d->src[0]);
    d->n--;
    for (size_t j = 0; j < d->n_cur; j++) {
        if (d->cur[j].key != key) continue;
        memmove(&d->cur[j], &d->cur[j + 1], (d->n_cur - j - 1) * sizeof d->cur[0]);
        d->n_cur--;
        break;
    }
    return 0;
}

int hx_speaker_evict(hx_speaker_detector *d, uint64_t *key)
{
    size_t best = d->n;
    for (size_t i = 0; i < d->n; i++) {
        const hx_speaker_source *s = &d->src[i];
        if (s->speech) continue; /* speaking in the current interval */
        bool current = false;
        for (size_t j = 0; j < d->n_cur && !current; j++)
            current = d->cur[j].key == s->key;
        if (current) continue;
        if (best == d->n || s->activity < d->src[best].activity ||
            (s->activity == d->src[best].activity && s->loudness < d->src[best].loudness))
            best = i;
    }
    if (best == d->n) return HX_SPEAKER_ENOENT;
    *key = d->src[best].key;
    return hx_speaker_remove(d, *key);
}

/* a before b in a decision: louder first, then the smaller key. */
static int before(const hx_speaker *a, const hx_speaker *b)
{
    return a->level > b->level || (a->level == b->level && a->key < b->key);
}

static float settle(float x)
{
    return x < SETTLE ? 0.0f : x > 1.0f ? 1.0f : x;
}

/* Close the interval [start, due) and the `empty` whole intervals after it that nothing
 * reached, then decide. */
static void close_interval(hx_speaker_detector *d, int64_t empty)
{
    const hx_speaker_config *c = &d->cfg;
    float w = (float)c->smoothing;
    /* (1 - w)^empty: each empty interval moves the averages a step w toward 0. */
    float decay = empty > 0 ? (float)pow(1.0 - c->smoothing, (double)empty) : 1.0f;
    uint32_t expected = (uint32_t)(c->interval_ms / c->packet_ms);
    d->n_cur = 0;
    for (size_t i = 0; i < d->n; i++) {
        hx_speaker_source *s = &d->src[i];
        float slots = (float)(s->packets > expected ? s->packets : expected);
        float act = (float)s->speech / slots;
        float loud = (float)s->loud_sum / (float)(c->threshold + 1) / slots;
        s->activity = settle((s->activity + w * (act - s->activity)) * decay);
        s->loudness = settle((s->loudness + w * (loud - s->loudness)) * decay);
        s->packets = s->speech = 0;
        s->loud_sum = 0;
        if (s->activity < c->active_bar) continue;
        hx_speaker x = {.key = s->key, .level = s->loudness};
        size_t j = d->n_cur++;
        for (; j > 0 && before(&x, &d->cur[j - 1]); j--)
            d->cur[j] = d->cur[j - 1];
        d->cur[j] = x;
    }
    (void)HX_ALWAYS(d->n_cur <= d->n);
}

/* Decide every interval that ended by now. */
static void advance(hx_speaker_detector *d, int64_t now_ms)
{
    if (now_ms < d->due) return;
    int64_t iv = d->cfg.interval_ms;
    int64_t k = (now_ms - d->start) / iv; /* whole intervals since start, >= 1 */
    close_interval(d, k - 1);
    d->start += k * iv;
    d->due = d->start + iv;
    (void)HX_ALWAYS(d->start <= now_ms && now_ms < d->due);
}

int hx_speaker_level(hx_speaker_detector *d, uint64_t key, int voice, uint8_t level, int64_t now_ms)
{
    advance(d, now_ms);
    int found;
    size_t i = find(d, key, &found);
    if (!found) return HX_SPEAKER_ENOENT;
    hx_speaker_source *s = &d->src[i];
    /* No interval holds that many packets; should a caller's clock stall, counts stay sane. */
    if (s->packets == UINT32_MAX) return 0;
    s->packets++;
    if (level > d->cfg.threshold || (d->cfg.use_voice_flag && voice == 0)) return 0;
    s->speech++;
    s->loud_sum += (uint64_t)(d->cfg.threshold + 1 - level);
    return 0;
}

size_t hx_speaker_current(const hx_speaker_detector *d, hx_speaker *out, size_t cap)
{
    size_t n = d->n_cur < cap ? d->n_cur : cap;
    for (size_t i = 0; i < n; i++) {
        (void)HX_ALWAYS(d->cur[i].level >= 0.0f && d->cur[i].level <= 1.0f);
        out[i] = d->cur[i];
    }
    return n;
}

size_t hx_speaker_tick(hx_speaker_detector *d, int64_t now_ms, hx_speaker *out, size_t cap,
                       bool *changed)
{
    advance(d, now_ms);
    bool diff = d->n_cur != d->n_rep;
    for (size_t i = 0; i < d->n_cur && !diff; i++)
        diff = d->cur[i].key != d->rep[i];
    if (diff) {
        for (size_t i = 0; i < d->n_cur; i++)
            d->rep[i] = d->cur[i].key;
        d->n_rep = d->n_cur;
    }
    if (changed) *changed = diff;
    return hx_speaker_current(d, out, cap);
}

int64_t hx_speaker_next_due(const hx_speaker_detector *d)
{
    return d->due;
}

static int in_range(float x)
{
    return x >= 0.0f && x <= 1.0f; /* false for NaN */
}

int hx_speaker_check(const hx_speaker_detector *d)
{
    const hx_speaker_config *c = &d->cfg;
    if (hx_speaker_config_check(c)) return -__LINE__;
    if (d->n > c->max_sources || d->n_cur > d->n || d->n_rep > HX_SPEAKER_MAX) return -__LINE__;
    if (d->due - d->start != c->interval_ms) return -__LINE__;
    size_t speaking = 0;
    for (size_t i = 0; i < d->n; i++) {
        const hx_speaker_source *s = &d->src[i];
        if (i > 0 && d->src[i - 1].key >= s->key) return -__LINE__;
        if (s->speech > s->packets || s->loud_sum > (uint64_t)s->speech * (c->threshold + 1u))
            return -__LINE__;
        if (s->activity >= c->active_bar) speaking++;
        if (!in_range(s->activity) || !in_range(s->loudness)) return -__LINE__;
    }
    for (size_t i = 0; i < d->n_cur; i++) {
        const hx_speaker *x = &d->cur[i];
        int found;
        if (!in_range(x->level)) return -__LINE__;
        if (i > 0 && !before(&d->cur[i - 1], x)) return -__LINE__; /* sorted, so no duplicate */
        size_t j = find(d, x->key, &found);
        if (!found || d->src[j].activity < c->active_bar || d->src[j].loudness != x->level)
            return -__LINE__;
    }
    /* Every source speaking is in the decision: a source added since has activity 0. */
    if (speaking != d->n_cur) return -__LINE__;
    for (size_t i = 0; i < d->n_rep; i++)
        for (size_t j = 0; j < i; j++)
            if (d->rep[j] == d->rep[i]) return -__LINE__;
    return 0;
}
