/*
 * libFuzzer target for the active speaker detector (adapt/speaker.h), stateful: the input's
 * first 5 bytes are a config, the rest a sequence of operations on one detector, on a clock
 * that only moves forward, as the engine would drive it:
 *
 *   config  interval_ms = 100 + 20 b0, threshold = b1 - 1, smoothing = (b2 % 16 + 1) / 16,
 *           active_bar = (b2 / 16 + 1) / 16, packet_ms = b3 & 0x7f, use_voice_flag = b3 & 0x80,
 *           max_sources = b4 (some out of range: check and init must both refuse them);
 *   op % 8  0 add [k], 1 remove [k], 2 level [k][level], 3 a burst [mask][level][count] of
 *           packets every 20 ms from the sources mask picks among k = 0..7 (level + 6 k),
 *           4 tick [cap], 5 time passes [ms hi][ms lo], 6 current [cap], 7 tick at the due
 *           time - 1, + 0 or + 1 [d]; op / 8 % 3 - 1 is the V flag of packets.
 *
 * A key byte k names key k, or k << 56 from 240 on (far-apart keys). The harness keeps a model
 * beside the detector and aborts (HX_ALWAYS) unless, after every operation, hx_speaker_check
 * holds and the model agrees: return codes of add/remove/level from the set of keys and the
 * capacity; a tick's output at most cap, sorted, of known keys, never one that sent no speech
 * since it was added, nor one whose last speech is older than the smoothing must have
 * forgotten; `changed` exactly when the full list of keys differs from the last one reported;
 * the next due time ahead of the clock.
 *
 * Seeds (fuzz/corpus/speaker): two speakers taking turns, DTX after speech, a full small
 * detector, a late timer, an invalid config.
 */
#include "adapt/speaker.h"
#include "common/invariant.h"

#include <math.h>
#include <string.h>

typedef struct model {
    hx_speaker_detector d;
    int64_t now;
    int voice;
    bool present[256], spoke[256];
    int64_t last_speech[256];
    size_t n;
    size_t n_rep;
    uint64_t rep[HX_SPEAKER_MAX];
    int64_t forget_ms; /* after this long without speech, a source cannot be named */
} model;

static uint64_t key_of(uint8_t k)
{
    return k < 240 ? k : (uint64_t)k << 56;
}

static int byte_of(uint64_t key)
{
    if (key < 240) return (int)key;
    if ((key & ((1ull << 56) - 1)) == 0 && (key >> 56) >= 240) return (int)(key >> 56);
    return -1;
}

/* Every named speaker is one the model allows. */
static void check_named(const model *m, const hx_speaker *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int b = byte_of(out[i].key);
        (void)HX_ALWAYS(b >= 0 && m->present[b] && m->spoke[b]);
        (void)HX_ALWAYS(m->now - m->last_speech[b] < m->forget_ms);
        (void)HX_ALWAYS(out[i].level > 0.0f && out[i].level <= 1.0f);
        (void)HX_ALWAYS(i == 0 || out[i - 1].level >= out[i].level);
    }
}

static void tick(model *m, size_t cap)
{
    hx_speaker out[HX_SPEAKER_MAX + 2], full[HX_SPEAKER_MAX];
    bool changed;
    size_t n = hx_speaker_tick(&m->d, m->now, out, cap, &changed);
    (void)HX_ALWAYS(n <= cap && n <= m->n);
    (void)HX_ALWAYS(hx_speaker_next_due(&m->d) > m->now);
    check_named(m, out, n);
    size_t nf = hx_speaker_current(&m->d, full, HX_SPEAKER_MAX);
    (void)HX_ALWAYS(n == (nf < cap ? nf : cap));
    (void)HX_ALWAYS(memcmp(out, full, n * sizeof out[0]) == 0);
    bool diff = nf != m->n_rep;
    for (size_t i = 0; i < nf && !diff; i++)
        diff = full[i].key != m->rep[i];
    (void)HX_ALWAYS(changed == diff);
    for (size_t i = 0; i < nf; i++)
        m->rep[i] = full[i].key;
    m->n_rep = nf;
}

static void level(model *m, uint8_t k, uint8_t lv)
{
    int rc = hx_speaker_level(&m->d, key_of(k), m->voice, lv, m->now);
    (void)HX_ALWAYS(rc == (m->present[k] ? 0 : HX_SPEAKER_ENOENT));
    if (rc == 0 && lv <= m->d.cfg.threshold && !(m->d.cfg.use_voice_flag && m->voice == 0)) {
        m->spoke[k] = true;
        m->last_speech[k] = m->now;
    }
}

/* The caller's timer: tick whenever due. */
static void pass(model *m, int64_t ms)
{
    m->now += ms;
    if (m->now >= hx_speaker_next_due(&m->d)) tick(m, HX_SPEAKER_MAX);
}

static int setup(model *m, const uint8_t *b)
{
    hx_speaker_config c = {
        .interval_ms = 100 + 20 * b[0],
        .threshold = b[1] - 1,
        .smoothing = (b[2] % 16 + 1) / 16.0,
        .active_bar = (b[2] / 16 + 1) / 16.0,
        .packet_ms = b[3] & 0x7f,
        .use_voice_flag = b[3] & 0x80,
        .max_sources = b[4],
    };
    memset(m, 0, sizeof *m);
    m->now = 1000;
    const char *err = hx_speaker_config_check(&c);
    int rc = hx_speaker_init(&m->d, &c, m->now);
    (void)HX_ALWAYS((err == NULL) == (rc == 0));
    if (rc) {
        (void)HX_ALWAYS(rc == HX_SPEAKER_EINVAL && err[0]);
        return -1;
    }
    /* After k intervals without speech activity is at most (1 - smoothing)^k of what it was
     * (at most 1); the first k under the bar, with room for float rounding, plus the interval
     * the last speech was in. */
    int k = 1;
    while (pow(1.0 - c.smoothing, k) >= c.active_bar * 0.99)
        k++;
    m->forget_ms = (int64_t)(k + 1) * c.interval_ms;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static model m;
    if (size < 5 || setup(&m, data) != 0) return 0;
    size_t i = 5;
    while (i < size) {
        uint8_t op = data[i++];
        static const size_t args[8] = {1, 1, 2, 3, 1, 2, 1, 1};
        if (size - i < args[op % 8]) break;
        const uint8_t *a = data + i;
        i += args[op % 8];
        m.voice = op / 8 % 3 - 1;
        switch (op % 8) {
        case 0: {
            int rc = hx_speaker_add(&m.d, key_of(a[0]));
            int want = m.present[a[0]]              ? HX_SPEAKER_EEXIST
                       : m.n == m.d.cfg.max_sources ? HX_SPEAKER_EFULL
                                                    : 0;
            (void)HX_ALWAYS(rc == want);
            if (rc == 0) {
                m.present[a[0]] = true;
                m.spoke[a[0]] = false;
                m.last_speech[a[0]] = INT64_MIN / 2;
                m.n++;
            }
            break;
        }
        case 1: {
            int rc = hx_speaker_remove(&m.d, key_of(a[0]));
            (void)HX_ALWAYS(rc == (m.present[a[0]] ? 0 : HX_SPEAKER_ENOENT));
            if (rc == 0) m.present[a[0]] = false, m.n--;
            break;
        }
        case 2:
            level(&m, a[0], a[1]);
            break;
        case 3:
            for (int p = 0; p < a[2]; p++) {
                for (uint8_t k = 0; k < 8; k++)
                    if (a[0] >> k & 1) level(&m, k, (uint8_t)(a[1] + 6 * k));
                pass(&m, 20);
            }
            break;
        case 4:
            tick(&m, a[0] % (HX_SPEAKER_MAX + 3));
            break;
        case 5:
            pass(&m, a[0] << 8 | a[1]);
            break;
        case 6: {
            hx_speaker out[HX_SPEAKER_MAX + 2];
            size_t cap = a[0] % (HX_SPEAKER_MAX + 3);
            size_t n = hx_speaker_current(&m.d, out, cap);
            (void)HX_ALWAYS(n <= cap && n <= m.n);
            break;
        }
        case 7: {
            int64_t at = hx_speaker_next_due(&m.d) + a[0] % 3 - 1;
            if (at > m.now) m.now = at;
            tick(&m, HX_SPEAKER_MAX);
            break;
        }
        }
        (void)HX_ALWAYS(hx_speaker_check(&m.d) == 0);
        (void)HX_ALWAYS(m.d.n == m.n);
    }
    return 0;
}
