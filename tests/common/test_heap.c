/*
 * Unit tests for common/heap: seeded random push, set (earlier, later, or
 * onto a node not in the heap), remove and pop against a reference model,
 * a flat array of keys and flags searched linearly. After every operation
 * the heap passes hx_heap_check, holds exactly the model's nodes with the
 * model's keys, and its top has the model's minimum. Small key ranges force
 * ties; the extreme keys (INT64_MIN, INT64_MAX) and a full heap are
 * exercised; popping everything yields the keys sorted; HX_HEAP_ENTRY finds
 * the owner.
 */
#include "common/heap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define N 64

typedef struct owner {
    int id;
    hx_heap_node node;
} owner;

typedef struct model {
    bool in[N];
    int64_t at[N];
    size_t n;
} model;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A key from a range chosen per call: tiny (ties), small, or anything, extremes included. */
static int64_t key(void)
{
    switch (next() % 8) {
    case 0:
        return INT64_MIN;
    case 1:
        return INT64_MAX;
    case 2:
    case 3:
        return (int64_t)(next() % 4);
    case 4:
    case 5:
        return (int64_t)(next() % 1000) - 500;
    default:
        return (int64_t)next();
    }
}

/* An empty heap of cap and N owners in no heap. */
static void start(hx_heap *h, size_t cap, owner *o)
{
    for (int i = 0; i < N; i++)
        o[i] = (owner){.id = i, .node = HX_HEAP_NODE_INIT};
    assert_int_equal(hx_heap_init(h, cap), 0);
}

/* The heap holds exactly the model's nodes, in heap order, with the model's minimum on top. */
static void agree(const hx_heap *h, const owner *o, const model *m)
{
    assert_int_equal(hx_heap_check(h), 0);
    assert_int_equal(h->n, m->n);
    int64_t min = INT64_MAX;
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].node.pos != SIZE_MAX, m->in[i]);
        if (!m->in[i]) continue;
        assert_ptr_equal(h->items[o[i].node.pos], &o[i].node);
        assert_true(o[i].node.at == m->at[i]);
        if (m->at[i] < min) min = m->at[i];
    }
    const hx_heap_node *top = hx_heap_top(h);
    if (!m->n) {
        assert_null(top);
        return;
    }
    assert_non_null(top);
    assert_true(top->at == min);
}

static void random_ops(size_t cap, int rounds)
{
    hx_heap h;
    owner o[N];
    model m = {0};
    start(&h, cap, o);
    for (int r = 0; r < rounds; r++) {
        int i = (int)(next() % N);
        int64_t at = key();
        switch (next() % 5) {
        case 0: /* push: only a node in no heap */
            if (m.in[i]) break;
            if (m.n == cap) {
                assert_int_equal(hx_heap_push(&h, &o[i].node, at), -1);
                assert_int_equal(o[i].node.pos, SIZE_MAX);
                break;
            }
            assert_int_equal(hx_heap_push(&h, &o[i].node, at), 0);
            m.in[i] = true, m.at[i] = at, m.n++;
            break;
        case 1: /* set: move, or push */
            if (!m.in[i] && m.n == cap) {
                assert_int_equal(hx_heap_set(&h, &o[i].node, at), -1);
                break;
            }
            assert_int_equal(hx_heap_set(&h, &o[i].node, at), 0);
            if (!m.in[i]) m.n++;
            m.in[i] = true, m.at[i] = at;
            break;
        case 2: /* remove, in the heap or not */
            hx_heap_remove(&h, &o[i].node);
            if (m.in[i]) m.n--;
            m.in[i] = false;
            break;
        case 3: { /* pop: an earliest node */
            hx_heap_node *x = hx_heap_pop(&h);
            if (!m.n) {
                assert_null(x);
                break;
            }
            assert_non_null(x);
            owner *w = HX_HEAP_ENTRY(x, owner, node);
            assert_true(m.in[w->id]);
            for (int j = 0; j < N; j++)
                if (m.in[j]) assert_true(m.at[w->id] <= m.at[j]);
            assert_int_equal(x->pos, SIZE_MAX);
            m.in[w->id] = false, m.n--;
            break;
        }
        default: /* set a queued node to the same key: nothing moves */
            if (!m.in[i]) break;
            assert_int_equal(hx_heap_set(&h, &o[i].node, m.at[i]), 0);
            break;
        }
        agree(&h, o, &m);
    }
    hx_heap_free(&h);
}

static void test_random_against_model(void **state)
{
    (void)state;
    random_ops(N, 200000);
}

/* A heap smaller than the node population: pushes and sets fail when full, nothing else. */
static void test_random_bounded(void **state)
{
    (void)state;
    random_ops(5, 100000);
    random_ops(1, 20000);
    random_ops(0, 1000);
}

static void test_pop_sorts(void **state)
{
    (void)state;
    hx_heap h;
    owner o[N];
    start(&h, N, o);
    for (int i = 0; i < N; i++)
        assert_int_equal(hx_heap_push(&h, &o[i].node, key()), 0);
    assert_int_equal(hx_heap_push(&h, &HX_HEAP_NODE_INIT, 0), -1); /* full */
    int64_t prev = INT64_MIN;
    for (int i = 0; i < N; i++) {
        hx_heap_node *x = hx_heap_pop(&h);
        assert_non_null(x);
        assert_true(x->at >= prev);
        prev = x->at;
        assert_int_equal(hx_heap_check(&h), 0);
    }
    assert_null(hx_heap_pop(&h));
    assert_null(hx_heap_top(&h));
    hx_heap_free(&h);
    hx_heap_free(&h); /* freeing a freed heap is harmless */
    assert_int_equal(hx_heap_check(&h), 0);
}

/* Moving a node earlier and later takes it up and down past its neighbours. */
static void test_set_moves_both_ways(void **state)
{
    (void)state;
    hx_heap h;
    owner o[N];
    start(&h, N, o);
    for (int i = 0; i < 10; i++)
        assert_int_equal(hx_heap_set(&h, &o[i].node, 100 + i), 0);
    assert_ptr_equal(hx_heap_top(&h), &o[0].node);
    assert_int_equal(hx_heap_set(&h, &o[9].node, 5), 0); /* a leaf to the top */
    assert_ptr_equal(hx_heap_top(&h), &o[9].node);
    assert_int_equal(hx_heap_set(&h, &o[9].node, 1000), 0); /* the top to a leaf */
    assert_ptr_equal(hx_heap_top(&h), &o[0].node);
    assert_int_equal(hx_heap_check(&h), 0);
    hx_heap_remove(&h, &o[0].node); /* the top, by node */
    hx_heap_remove(&h, &o[0].node); /* again: no longer in the heap */
    assert_ptr_equal(hx_heap_top(&h), &o[1].node);
    assert_int_equal(h.n, 9);
    assert_int_equal(hx_heap_check(&h), 0);
    hx_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_random_bounded),
        cmocka_unit_test(test_pop_sorts),
        cmocka_unit_test(test_set_moves_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
