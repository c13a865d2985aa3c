/*
 * Unit test for sctp/ with CRC32c offload on (hx_sctp_stack_config): the
 * setting is process-wide in usrsctp, hence its own program. Packets leave
 * with a zero checksum field, and two in-process associations with the
 * same setting still come up and carry a message. The default (computed
 * and verified) is covered by test_assoc's test_checksums_computed.
 */
#include "sctp/sctp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pair.h"

static int got_message(pair *p)
{
    return log_count(&p->s[1], HX_SCTP_EV_MESSAGE, -1) == 1;
}

static int opened(pair *p)
{
    return log_count(&p->s[0], HX_SCTP_EV_CHANNEL_OPEN, -1) == 1;
}

static void test_offload(void **state)
{
    (void)state;
    hx_sctp_stack *stack;
    hx_sctp_stack_config sc = {.crc32c_offload = true};
    assert_int_equal(hx_sctp_stack_create(&sc, &stack), 0);
    pair p;
    assert_int_equal(pair_init(&p, stack, NULL, NULL), 0);
    assert_int_equal(hx_sctp_assoc_connect(p.s[0].a), 0);
    assert_int_equal(hx_sctp_assoc_connect(p.s[1].a), 0);
    for (int i = 0; i < 2; i++) {
        const uint8_t *init = p.s[i].out.pkt[0];
        assert_int_equal(p.s[i].out.tail, 1);
        assert_int_equal(init[12], 1); /* INIT */
        assert_int_equal(init[8] | init[9] | init[10] | init[11], 0);
    }
    assert_true(pair_wait(&p, both_up, 5000));
    hx_sctp_channel_info info = {.label = (const uint8_t *)"o", .label_len = 1};
    int sid = hx_sctp_channel_open(p.s[0].a, &info);
    assert_int_equal(sid, 0);
    assert_true(pair_wait(&p, opened, 2000));
    assert_int_equal(hx_sctp_channel_send(p.s[0].a, 0, false, (const uint8_t *)"hi", 2), 0);
    assert_true(pair_wait(&p, got_message, 2000));
    assert_memory_equal(log_find(&p.s[1], HX_SCTP_EV_MESSAGE, 0)->data, "hi", 2);
    pair_free(&p);
    assert_int_equal(hx_sctp_stack_destroy(stack), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
