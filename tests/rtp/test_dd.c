/*
 * The dependency descriptor reader (src/rtp/dd.c) against descriptors written by
 * tests/support/dd_writer (an L3T3 structure like Chromium's): the structure's layers, targets,
 * chains and sizes; frames resolved through it, with the template id offset and its wrap;
 * keyframes; custom frame diffs; the active targets; and refusals (no structure yet, a template
 * outside it, truncation anywhere) that leave the stream's structure as it was.
 */
#include "rtp/dd.h"
#include "support/dd_writer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

static size_t key(uint8_t *buf, uint8_t offset, bool sizes)
{
    ddw_args a = {.start = true,
                  .end = true,
                  .template_index = 0,
                  .frame_number = 100,
                  .id_offset = offset,
                  .structure = true,
                  .sizes = sizes};
    size_t n = ddw_write(buf, 255, &a);
    assert_true(n > 16); /* a two-byte extension element, as Chromium sends it */
    return n;
}

static void test_structure(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = key(buf, 5, true);
    hx_dd_structure s;
    hx_dd_frame f;
    assert_int_equal(hx_dd_parse(buf, n, NULL, &s, &f), HX_RTP_OK);
    assert_true(f.has_structure && f.start && f.end && f.keyframe);
    assert_int_equal(f.frame_number, 100);
    assert_int_equal(f.sid, 0);
    assert_int_equal(f.n_fdiffs, 0);
    assert_true(s.valid);
    assert_int_equal(s.id_offset, 5);
    assert_int_equal(s.dt_cnt, DDW_TARGETS);
    assert_int_equal(s.n_templates, DDW_TEMPLATES);
    assert_int_equal(s.chain_cnt, 3);
    assert_int_equal(s.max_sid, 2);
    assert_int_equal(s.max_tid, 2);
    assert_true(s.has_sizes);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.width[i], 320 << i);
        assert_int_equal(s.height[i], 180 << i);
    }
    assert_int_equal(f.active, (1u << DDW_TARGETS) - 1);
    /* Without sizes. */
    n = key(buf, 0, false);
    assert_int_equal(hx_dd_parse(buf, n, NULL, &s, &f), HX_RTP_OK);
    assert_false(s.has_sizes);
    assert_int_equal(s.width[0], 0);
}

static void test_frames(void **state)
{
    (void)state;
    uint8_t buf[256];
    hx_dd_structure s;
    hx_dd_frame f;
    for (uint8_t offset = 0; offset < 64; offset += 9) { /* 54 + 9 templates wraps past 63 */
        size_t n = key(buf, offset, true);
        assert_int_equal(hx_dd_parse(buf, n, NULL, &s, &f), HX_RTP_OK);
        for (int sid = 0; sid < 3; sid++)
            for (int tid = 0; tid < 3; tid++) {
                ddw_args a = {.start = tid == 0,
                              .end = sid == 2,
                              .frame_number = 65535,
                              .id_offset = offset,
                              .template_index = ddw_template(sid, tid)};
                n = ddw_write(buf, sizeof buf, &a);
                assert_int_equal(n, 3); /* mandatory fields only */
                hx_dd_structure untouched = s;
                assert_int_equal(hx_dd_parse(buf, n, &s, &s, &f), HX_RTP_OK);
                assert_memory_equal(&s, &untouched, sizeof s);
                assert_int_equal(f.sid, sid);
                assert_int_equal(f.tid, tid);
                assert_int_equal(f.start, tid == 0);
                assert_int_equal(f.end, sid == 2);
                assert_int_equal(f.frame_number, 65535);
                assert_false(f.keyframe || f.has_structure);
                assert_true(f.n_fdiffs > 0);
            }
    }
}

static void test_custom_and_active(void **state)
{
    (void)state;
    uint8_t buf[256];
    hx_dd_structure s;
    hx_dd_frame f;
    size_t n = key(buf, 0, true);
    assert_int_equal(hx_dd_parse(buf, n, NULL, &s, &f), HX_RTP_OK);
    /* Template 0 is the intra one; with a custom diff the frame is no keyframe. */
    ddw_args a = {.start = true, .template_index = 0, .custom_fdiffs = 2};
    n = ddw_write(buf, sizeof buf, &a);
    assert_int_equal(hx_dd_parse(buf, n, &s, NULL, &f), HX_RTP_OK);
    assert_int_equal(f.n_fdiffs, 2);
    assert_false(f.keyframe);
    a.custom_fdiffs = -1; /* custom, and none: intra */
    n = ddw_write(buf, sizeof buf, &a);
    assert_int_equal(hx_dd_parse(buf, n, &s, NULL, &f), HX_RTP_OK);
    assert_int_equal(f.n_fdiffs, 0);
    assert_true(f.keyframe);
    /* A delta template's frame, custom diffs removed: intra but in layer 1: no keyframe. */
    a.template_index = ddw_template(1, 0);
    n = ddw_write(buf, sizeof buf, &a);
    assert_int_equal(hx_dd_parse(buf, n, &s, NULL, &f), HX_RTP_OK);
    assert_false(f.keyframe);
    /* The active decode targets. */
    ddw_args b = {.start = true, .template_index = 1, .active = true, .active_mask = 0x07};
    n = ddw_write(buf, sizeof buf, &b);
    assert_int_equal(hx_dd_parse(buf, n, &s, NULL, &f), HX_RTP_OK);
    assert_true(f.has_active);
    assert_int_equal(f.active, 0x07);
    ddw_args c = {.start = true, .template_index = 1, .extended = true};
    n = ddw_write(buf, sizeof buf, &c);
    assert_int_equal(n, 4);
    assert_int_equal(hx_dd_parse(buf, n, &s, NULL, &f), HX_RTP_OK);
    assert_false(f.has_active);
    assert_int_equal(f.active, (1u << DDW_TARGETS) - 1);
}

static void test_refusals(void **state)
{
    (void)state;
    uint8_t buf[256], key_buf[256];
    hx_dd_structure s, none = {0};
    hx_dd_frame f;
    ddw_args a = {.start = true, .template_index = 2};
    size_t n = ddw_write(buf, sizeof buf, &a);
    assert_int_equal(hx_dd_parse(buf, n, NULL, &s, &f), HX_RTP_EINVAL); /* no structure yet */
    assert_int_equal(hx_dd_parse(buf, n, &none, &s, &f), HX_RTP_EINVAL);
    assert_int_equal(hx_dd_parse(buf, 2, NULL, &s, &f), HX_RTP_ETRUNC);
    size_t kn = key(key_buf, 60, true);
    assert_int_equal(hx_dd_parse(key_buf, kn, NULL, &s, &f), HX_RTP_OK);
    /* A template id the structure does not hold (offset 60, ten templates: 6..59 are out). */
    for (int idx = DDW_TEMPLATES; idx < 64; idx++) {
        ddw_args o = {.start = true, .template_index = idx, .id_offset = 60};
        n = ddw_write(buf, sizeof buf, &o);
        assert_int_equal(hx_dd_parse(buf, n, &s, &s, &f), HX_RTP_EINVAL);
    }
    /* A structure cut anywhere is refused and the one kept stays as it was (three bytes are
     * the mandatory fields alone: a frame of the kept structure). */
    hx_dd_structure kept = s;
    assert_int_equal(hx_dd_parse(key_buf, 3, &s, &s, &f), HX_RTP_OK);
    assert_false(f.has_structure);
    for (size_t cut = 4; cut < kn; cut++) {
        int rc = hx_dd_parse(key_buf, cut, &s, &s, &f);
        assert_true(rc == HX_RTP_ETRUNC || rc == HX_RTP_EINVAL);
        assert_memory_equal(&s, &kept, sizeof s);
    }
    /* Too long for one extension element. */
    uint8_t big[300] = {0};
    memcpy(big, key_buf, kn);
    assert_int_equal(hx_dd_parse(big, sizeof big, &s, NULL, &f), HX_RTP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_custom_and_active),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
