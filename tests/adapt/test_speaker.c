/*
 * Unit tests for adapt/speaker: a simulated room where sources send a packet every 20 ms (or
 * nothing, as Opus DTX does in silence) and the caller ticks at hx_speaker_next_due. A loud
 * source is named within 1 s of starting wherever it starts against the interval grid, a
 * quiet, absent or sporadic (a cough per interval) one never; one that falls quiet or stops
 * sending is dropped within 1.5 s; speakers come loudest first; a removed one leaves at once;
 * the changed flag is set exactly on changes of set or order; late ticks decay over the
 * intervals missed; the V flag counts only when asked; capacity and config limits hold.
 */
#include "adapt/speaker.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define KEYS 8   /* sources 1..KEYS in the simulation */
#define OFF (-1) /* a source that sends nothing */

typedef struct sim {
    hx_speaker_detector d;
    int64_t now;
    hx_speaker out[HX_SPEAKER_MAX];
    size_t n;
    int ticks, changes;
    int64_t named_at[KEYS + 1], dropped_at[KEYS + 1]; /* the last transitions, -1 none */
    int voice;                                        /* the V flag sent */
} sim;

static void sim_init(sim *s, const hx_speaker_config *cfg, int64_t t0, int sources)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(hx_speaker_init(&s->d, cfg, t0), 0);
    s->now = t0;
    s->voice = -1;
    for (int k = 0; k <= KEYS; k++)
        s->named_at[k] = s->dropped_at[k] = -1;
    for (int k = 1; k <= sources; k++)
        assert_int_equal(hx_speaker_add(&s->d, (uint64_t)k), 0);
}

static int named(const sim *s, uint64_t key)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->out[i].key == key) return 1;
    return 0;
}

static void sim_tick(sim *s)
{
    bool was[KEYS + 1];
    for (int k = 1; k <= KEYS; k++)
        was[k] = named(s, (uint64_t)k);
    bool changed = false;
    s->n = hx_speaker_tick(&s->d, s->now, s->out, HX_SPEAKER_MAX, &changed);
    s->ticks++;
    s->changes += changed;
    assert_int_equal(hx_speaker_check(&s->d), 0);
    assert_true(hx_speaker_next_due(&s->d) > s->now);
    for (size_t i = 0; i < s->n; i++) {
        assert_true(s->out[i].level > 0.0f && s->out[i].level <= 1.0f);
        if (i > 0) assert_true(s->out[i - 1].level >= s->out[i].level);
    }
    for (int k = 1; k <= KEYS; k++) {
        if (!was[k] && named(s, (uint64_t)k)) s->named_at[k] = s->now;
        if (was[k] && !named(s, (uint64_t)k)) s->dropped_at[k] = s->now;
    }
}

/* Run ms of time: every 20 ms, source k sends levels[k - 1] unless OFF; the tick runs when
 * due (before the packets of that instant, as a timer would). */
static void sim_run(sim *s, const int *levels, int n_levels, int64_t ms)
{
    for (int64_t end = s->now + ms; s->now < end; s->now += 10) {
        if (s->now >= hx_speaker_next_due(&s->d)) sim_tick(s);
        if (s->now % 20) continue;
        for (int k = 1; k <= n_levels; k++) {
            if (levels[k - 1] == OFF) continue;
            assert_int_equal(
                hx_speaker_level(&s->d, (uint64_t)k, s->voice, (uint8_t)levels[k - 1], s->now), 0);
            assert_int_equal(hx_speaker_check(&s->d), 0);
        }
    }
}

/* The grid starts at init (t0); speech starts or stops at 10000, and t0 = 5000 - offset puts
 * that at every 10 ms of an interval. */

static void test_named_within_1s(void **state)
{
    (void)state;
    for (int64_t off = 0; off < 500; off += 10) {
        for (int dtx = 0; dtx < 2; dtx++) {
            sim s;
            sim_init(&s, NULL, 5000 - off, 2);
            int quiet[] = {dtx ? OFF : 127, dtx ? OFF : 127};
            sim_run(&s, quiet, 2, 10000 - s.now);
            assert_int_equal(s.now, 10000);
            assert_int_equal(s.n, 0);
            int talk[] = {20, dtx ? OFF : 127};
            sim_run(&s, talk, 2, 3000);
            assert_true(s.named_at[1] >= 10000);
            assert_true(s.named_at[1] <= 10000 + 1000);
            assert_int_equal(s.dropped_at[1], -1);
            assert_int_equal(s.named_at[2], -1);
        }
    }
}

static void test_quiet_never_named(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL, 0, 5);
    /* just above the threshold, noise, silence, nothing at all, and just at the threshold */
    int levels[] = {51, 70, 127, OFF, 50};
    sim_run(&s, levels, 5, 20000);
    for (int k = 1; k <= 4; k++)
        assert_int_equal(s.named_at[k], -1);
    /* the control: at the threshold is speech */
    assert_true(s.named_at[5] >= 0);
    assert_int_equal(s.changes, 1);
}

static void test_cough_in_dtx(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL, 0, 1);
    /* DTX: one loud packet per interval and otherwise nothing; a few per interval still isn't
     * speech (3/25 < 0.3), though every packet received is loud */
    for (int i = 0; i < 40; i++) {
        for (int p = 0; p < 3; p++)
            assert_int_equal(hx_speaker_level(&s.d, 1, 1, 0, s.now + 20 * p), 0);
        s.now = hx_speaker_next_due(&s.d);
        sim_tick(&s);
        assert_int_equal(s.n, 0);
    }
    assert_int_equal(s.changes, 0);
}

static void test_dropped_within_1500ms(void **state)
{
    (void)state;
    for (int64_t off = 0; off < 500; off += 10) {
        for (int dtx = 0; dtx < 2; dtx++) {
            sim s;
            sim_init(&s, NULL, 5000 - off, 1);
            int talk[] = {0};
            sim_run(&s, talk, 1, 10000 - s.now); /* long enough to saturate */
            assert_int_equal(s.now, 10000);
            assert_true(named(&s, 1));
            int stop[] = {dtx ? OFF : 127};
            sim_run(&s, stop, 1, 3000);
            assert_true(s.dropped_at[1] > 10000);
            assert_true(s.dropped_at[1] <= 10000 + 1500);
            assert_int_equal(s.n, 0);
        }
    }
}

static void test_order(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL, 0, 4);
    int levels[] = {30, 10, 45, 10};
    sim_run(&s, levels, 4, 3000);
    /* loudest first; the two equal ones by key */
    assert_int_equal(s.n, 4);
    assert_int_equal(s.out[0].key, 2);
    assert_int_equal(s.out[1].key, 4);
    assert_int_equal(s.out[2].key, 1);
    assert_int_equal(s.out[3].key, 3);
    assert_true(s.out[0].level == s.out[1].level);
    assert_true(s.out[1].level > s.out[2].level && s.out[2].level > s.out[3].level);
    /* five intervals (ticks at 500..2500) at -10 dBov: (51 - 10) / 51 but for 2^-5 */
    assert_int_equal(s.ticks, 5);
    assert_true(fabsf(s.out[0].level - (1.0f - 1.0f / 32) * 41.0f / 51.0f) < 1e-4f);
    assert_true(fabsf(s.out[3].level - (1.0f - 1.0f / 32) * 6.0f / 51.0f) < 1e-4f);
    /* 1 gets louder than everyone: it moves to the front, the order change is a change */
    int changes = s.changes;
    int louder[] = {0, 10, 45, 10};
    sim_run(&s, louder, 4, 2000);
    assert_int_equal(s.out[0].key, 1);
    assert_int_equal(s.out[1].key, 2);
    assert_int_equal(s.changes, changes + 1);
    /* a smaller cap gets the loudest */
    hx_speaker top[2];
    assert_int_equal(hx_speaker_current(&s.d, top, 2), 2);
    assert_int_equal(top[0].key, 1);
    assert_int_equal(top[1].key, 2);
    assert_int_equal(hx_speaker_current(&s.d, top, 0), 0);
}

static void test_remove(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL, 0, 2);
    int levels[] = {20, 30};
    sim_run(&s, levels, 2, 1990);
    assert_int_equal(s.n, 2);
    int changes = s.changes;
    assert_int_equal(hx_speaker_remove(&s.d, 1), 0);
    assert_int_equal(hx_speaker_check(&s.d), 0);
    /* gone from the decision at once, and the next tick, even before due, says so */
    hx_speaker cur[HX_SPEAKER_MAX];
    assert_int_equal(hx_speaker_current(&s.d, cur, HX_SPEAKER_MAX), 1);
    assert_int_equal(cur[0].key, 2);
    int64_t due = hx_speaker_next_due(&s.d);
    sim_tick(&s);
    assert_int_equal(s.changes, changes + 1);
    assert_int_equal(hx_speaker_next_due(&s.d), due);
    assert_int_equal(s.n, 1);
    /* its packets are refused, not counted; removing twice is an error */
    assert_int_equal(hx_speaker_level(&s.d, 1, 1, 0, s.now), HX_SPEAKER_ENOENT);
    assert_int_equal(hx_speaker_remove(&s.d, 1), HX_SPEAKER_ENOENT);
    /* back again, it starts from silence: not named at the next decision */
    assert_int_equal(hx_speaker_add(&s.d, 1), 0);
    s.now = hx_speaker_next_due(&s.d);
    sim_tick(&s);
    assert_false(named(&s, 1));
    /* removing one that was never reported changes nothing */
    assert_int_equal(hx_speaker_add(&s.d, 7), 0);
    changes = s.changes;
    assert_int_equal(hx_speaker_remove(&s.d, 7), 0);
    sim_tick(&s);
    assert_int_equal(s.changes, changes);
}

static void test_config(void **state)
{
    (void)state;
    hx_speaker_config c, d;
    hx_speaker_config_default(&c);
    assert_null(hx_speaker_config_check(&c));
    assert_int_equal(c.interval_ms, 500);
    assert_int_equal(c.threshold, 50);
    assert_int_equal(c.max_sources, HX_SPEAKER_MAX);
    /* each value just outside its range is refused with its name; just inside is fine */
#define REFUSE(stmt, name)                                                                         \
    do {                                                                                           \
        d = c;                                                                                     \
        stmt;                                                                                      \
        const char *e = hx_speaker_config_check(&d);                                               \
        assert_non_null(e);                                                                        \
        assert_non_null(strstr(e, name));                                                          \
        hx_speaker_detector det;                                                                   \
        assert_int_equal(hx_speaker_init(&det, &d, 0), HX_SPEAKER_EINVAL);                         \
    } while (0)
#define ACCEPT(stmt)                                                                               \
    do {                                                                                           \
        d = c;                                                                                     \
        stmt;                                                                                      \
        assert_null(hx_speaker_config_check(&d));                                                  \
    } while (0)
    REFUSE(d.interval_ms = 99, "interval_ms");
    REFUSE(d.interval_ms = 10001, "interval_ms");
    ACCEPT(d.interval_ms = 100);
    REFUSE(d.threshold = -1, "threshold");
    REFUSE(d.threshold = 127, "threshold");
    ACCEPT(d.threshold = 126);
    ACCEPT(d.threshold = 0);
    REFUSE(d.smoothing = 0, "smoothing");
    REFUSE(d.smoothing = 1.01, "smoothing");
    REFUSE(d.smoothing = NAN, "smoothing");
    ACCEPT(d.smoothing = 1);
    REFUSE(d.active_bar = 0, "active_bar");
    REFUSE(d.active_bar = NAN, "active_bar");
    REFUSE(d.active_bar = 1.5, "active_bar");
    REFUSE(d.packet_ms = 4, "packet_ms");
    REFUSE((d.interval_ms = 100, d.packet_ms = 120), "packet_ms");
    ACCEPT(d.packet_ms = 60);
    REFUSE(d.max_sources = 0, "max_sources");
    REFUSE(d.max_sources = HX_SPEAKER_MAX + 1, "max_sources");
#undef REFUSE
#undef ACCEPT
}

static void test_changed_only_on_change(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL, 0, 3);
    int none[] = {127, 127, 127};
    sim_run(&s, none, 3, 3000);
    assert_int_equal(s.ticks, 5);
    assert_int_equal(s.changes, 0); /* nobody, as before anything was reported */
    int one[] = {20, 127, 127};
    sim_run(&s, one, 3, 3000);
    assert_int_equal(s.changes, 1); /* 1 named, then the same list each interval */
    int two[] = {20, 40, 127};
    sim_run(&s, two, 3, 3000);
    assert_int_equal(s.changes, 2); /* 2 joins behind 1, no flicker */
    assert_int_equal(s.n, 2);
    /* an early tick decides nothing and reports no change */
    int64_t due = hx_speaker_next_due(&s.d);
    bool changed = true;
    hx_speaker out[HX_SPEAKER_MAX];
    assert_int_equal(hx_speaker_tick(&s.d, due - 1, out, HX_SPEAKER_MAX, &changed), 2);
    assert_false(changed);
    assert_int_equal(hx_speaker_next_due(&s.d), due);
    sim_run(&s, none, 3, 3000);
    assert_int_equal(s.changes, 3); /* 1 and 2, equally active, leave at the same tick */
    assert_int_equal(s.n, 0);
    /* a decision made by a packet is reported by the next tick, even an early one */
    int loud[] = {0, 127, 127};
    sim_run(&s, loud, 3, 400);
    s.now = hx_speaker_next_due(&s.d) + 2;
    assert_int_equal(hx_speaker_level(&s.d, 3, 1, 127, s.now), 0);
    assert_int_equal(hx_speaker_current(&s.d, out, HX_SPEAKER_MAX), 1);
    assert_true(hx_speaker_next_due(&s.d) > s.now);
    sim_tick(&s);
    assert_int_equal(s.changes, 4);
    assert_true(named(&s, 1));
    sim_tick(&s);
    assert_int_equal(s.changes, 4);
}

static void test_late_tick(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL, 1000, 1);
    int talk[] = {0};
    sim_run(&s, talk, 1, 3000);
    assert_true(named(&s, 1));
    /* the timer is 3.2 s late and nothing came: the intervals missed count as silent */
    s.now += 3200;
    sim_tick(&s);
    assert_int_equal(s.n, 0);
    assert_true(s.d.src[0].activity < 0.05f);
    /* the grid holds: the next interval ends on a multiple of 500 after init */
    assert_int_equal((hx_speaker_next_due(&s.d) - 1000) % 500, 0);
    assert_true(hx_speaker_next_due(&s.d) - s.now <= 500);
    /* one interval late only: one step of decay, still speaking */
    sim_run(&s, talk, 1, 3000);
    s.now = hx_speaker_next_due(&s.d) + 499;
    sim_tick(&s);
    assert_true(named(&s, 1));
}

static void test_voice_flag(void **state)
{
    (void)state;
    hx_speaker_config c;
    hx_speaker_config_default(&c);
    int talk[] = {10};
    for (int use = 0; use < 2; use++) {
        c.use_voice_flag = use;
        for (int v = -1; v <= 1; v++) {
            sim s;
            sim_init(&s, &c, 0, 1);
            s.voice = v;
            sim_run(&s, talk, 1, 2000);
            assert_int_equal(named(&s, 1), !(use && v == 0));
        }
    }
}

/* A detector of the default configuration that holds three sources. */
static void small_detector(hx_speaker_detector *d)
{
    hx_speaker_config c;
    hx_speaker_config_default(&c);
    c.max_sources = 3;
    assert_int_equal(hx_speaker_init(d, &c, 0), 0);
}

/* Full: the quietest source that is not speaking makes room; a speaker never does. */
static void test_evict(void **state)
{
    (void)state;
    hx_speaker_detector d;
    small_detector(&d);
    for (uint64_t k = 1; k <= 3; k++)
        assert_int_equal(hx_speaker_add(&d, k), 0);
    hx_speaker out[4];
    bool changed;
    for (int64_t t = 0; t < 1500; t += 20) {
        hx_speaker_level(&d, 1, 1, 10, t);                      /* speaks */
        hx_speaker_level(&d, 2, 1, (t / 20) % 4 ? 127 : 30, t); /* a word now and then */
        hx_speaker_level(&d, 3, 1, 127, t);                     /* quiet packets */
        hx_speaker_tick(&d, t, out, 4, &changed);
    }
    assert_int_equal(hx_speaker_current(&d, out, 4), 1);
    assert_int_equal(out[0].key, 1);
    uint64_t key = 0;
    assert_int_equal(hx_speaker_evict(&d, &key), 0);
    assert_int_equal(key, 3); /* the quietest */
    assert_int_equal(hx_speaker_add(&d, 4), 0);
    assert_int_equal(hx_speaker_evict(&d, &key), 0);
    assert_true(key == 4 || key == 2); /* both quieter than the speaker */
    assert_int_equal(hx_speaker_check(&d), 0);
    /* only the speaker left: nothing to evict */
    hx_speaker_remove(&d, key == 4 ? 2 : 4);
    assert_int_equal(hx_speaker_evict(&d, &key), HX_SPEAKER_ENOENT);
    assert_int_equal(hx_speaker_check(&d), 0);
}

static void test_capacity(void **state)
{
    (void)state;
    hx_speaker_detector d;
    small_detector(&d);
    assert_int_equal(hx_speaker_add(&d, 30), 0);
    assert_int_equal(hx_speaker_add(&d, 10), 0);
    assert_int_equal(hx_speaker_add(&d, 10), HX_SPEAKER_EEXIST);
    assert_int_equal(hx_speaker_add(&d, UINT64_MAX), 0);
    assert_int_equal(hx_speaker_add(&d, 20), HX_SPEAKER_EFULL);
    assert_int_equal(hx_speaker_add(&d, 30), HX_SPEAKER_EEXIST);
    assert_int_equal(hx_speaker_check(&d), 0);
    assert_int_equal(hx_speaker_remove(&d, 10), 0);
    assert_int_equal(hx_speaker_add(&d, 20), 0);
    assert_int_equal(hx_speaker_check(&d), 0);
    assert_int_equal(hx_speaker_level(&d, 10, 1, 0, 0), HX_SPEAKER_ENOENT);
    /* the default holds HX_SPEAKER_MAX, all of them speaking at once */
    assert_int_equal(hx_speaker_init(&d, NULL, 0), 0);
    for (uint64_t k = 0; k < HX_SPEAKER_MAX; k++)
        assert_int_equal(hx_speaker_add(&d, k * 0x9e3779b97f4a7c15u), 0);
    assert_int_equal(hx_speaker_add(&d, 12345), HX_SPEAKER_EFULL);
    for (int64_t t = 0; t < 2000; t += 20)
        for (uint64_t k = 0; k < HX_SPEAKER_MAX; k++)
            assert_int_equal(hx_speaker_level(&d, k * 0x9e3779b97f4a7c15u, 1, (uint8_t)(k % 40), t),
                             0);
    hx_speaker out[HX_SPEAKER_MAX];
    bool changed;
    assert_int_equal(hx_speaker_tick(&d, 2000, out, HX_SPEAKER_MAX, &changed), HX_SPEAKER_MAX);
    assert_true(changed);
    assert_int_equal(hx_speaker_check(&d), 0);
    assert_int_equal(out[0].key, 0); /* level 0, the smallest key among the loudest */
    assert_int_equal(out[1].key, 40 * 0x9e3779b97f4a7c15u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_within_1s), cmocka_unit_test(test_quiet_never_named),
        cmocka_unit_test(test_cough_in_dtx),    cmocka_unit_test(test_dropped_within_1500ms),
        cmocka_unit_test(test_order),           cmocka_unit_test(test_remove),
        cmocka_unit_test(test_config),          cmocka_unit_test(test_changed_only_on_change),
        cmocka_unit_test(test_late_tick),       cmocka_unit_test(test_voice_flag),
        cmocka_unit_test(test_capacity),        cmocka_unit_test(test_evict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
