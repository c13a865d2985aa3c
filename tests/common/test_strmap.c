/*
 * Unit tests for common/strmap: insert, look up, replace (returning the old
 * value), delete, growth well past the initial bucket count, and deletion
 * from inside hx_strmap_foreach. A shadow array of expected values is
 * checked against the map after each phase; keys are copied, so the
 * caller's buffer is reused between calls on purpose.
 */
#include "common/strmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define N 5000

static int vals[N];

static void key_of(int i, char *buf, size_t len)
{
    snprintf(buf, len, "key-%d", i);
}

static void test_empty(void **state)
{
    (void)state;
    hx_strmap m;
    hx_strmap_init(&m);
    assert_null(hx_strmap_get(&m, "x"));
    assert_null(hx_strmap_del(&m, "x"));
    assert_int_equal(m.count, 0);
    hx_strmap_free(&m);
    hx_strmap_free(&m); /* freeing a freed (zeroed) map is harmless */
}

static void test_put_get_replace_delete(void **state)
{
    (void)state;
    hx_strmap m;
    int a = 1, b = 2, c = 3;
    void *old = &c;
    hx_strmap_init(&m);
    assert_int_equal(hx_strmap_put(&m, "alpha", &a, &old), 0);
    assert_null(old);
    assert_int_equal(hx_strmap_put(&m, "beta", &b, NULL), 0);
    assert_int_equal(hx_strmap_put(&m, "", &c, NULL), 0); /* the empty key is a key */
    assert_int_equal(m.count, 3);
    assert_ptr_equal(hx_strmap_get(&m, "alpha"), &a);
    assert_ptr_equal(hx_strmap_get(&m, "beta"), &b);
    assert_ptr_equal(hx_strmap_get(&m, ""), &c);
    assert_null(hx_strmap_get(&m, "alph"));
    assert_null(hx_strmap_get(&m, "alphaa"));

    /* Replace: old value handed back, count unchanged. */
    assert_int_equal(hx_strmap_put(&m, "alpha", &b, &old), 0);
    assert_ptr_equal(old, &a);
    assert_ptr_equal(hx_strmap_get(&m, "alpha"), &b);
    assert_int_equal(m.count, 3);
    /* A NULL value is stored (and reads back as NULL). */
    assert_int_equal(hx_strmap_put(&m, "beta", NULL, &old), 0);
    assert_ptr_equal(old, &b);
    assert_int_equal(m.count, 3);

    assert_ptr_equal(hx_strmap_del(&m, "alpha"), &b);
    assert_null(hx_strmap_get(&m, "alpha"));
    assert_null(hx_strmap_del(&m, "alpha"));
    assert_int_equal(m.count, 2);
    assert_ptr_equal(hx_strmap_del(&m, ""), &c);
    assert_int_equal(m.count, 1);
    hx_strmap_free(&m);
}

static void test_keys_are_copied(void **state)
{
    (void)state;
    hx_strmap m;
    char key[16];
    int v[3];
    hx_strmap_init(&m);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(hx_strmap_put(&m, key, &v[i], NULL), 0);
    }
    memset(key, 0, sizeof key);
    assert_ptr_equal(hx_strmap_get(&m, "k0"), &v[0]);
    assert_ptr_equal(hx_strmap_get(&m, "k2"), &v[2]);
    hx_strmap_free(&m);
}

static void test_growth(void **state)
{
    (void)state;
    hx_strmap m;
    char key[32];
    hx_strmap_init(&m);
    for (int i = 0; i < N; i++) {
        key_of(i, key, sizeof key);
        assert_int_equal(hx_strmap_put(&m, key, &vals[i], NULL), 0);
        assert_int_equal(m.count, (size_t)i + 1);
        assert_true(m.count <= m.nbuckets);                  /* load factor <= 1 */
        assert_int_equal(m.nbuckets & (m.nbuckets - 1), 0); /* power of two */
    }
    for (int i = 0; i < N; i++) {
        key_of(i, key, sizeof key);
        assert_ptr_equal(hx_strmap_get(&m, key), &vals[i]);
    }
    /* Every entry sits in the bucket its hash says (walk and count). */
    size_t seen = 0;
    for (size_t b = 0; b < m.nbuckets; b++)
        for (hx_strmap_entry *e = m.buckets[b]; e; e = e->next) seen++;
    assert_int_equal(seen, N);
    /* Delete the odd ones, then check all. */
    for (int i = 1; i < N; i += 2) {
        key_of(i, key, sizeof key);
        assert_ptr_equal(hx_strmap_del(&m, key), &vals[i]);
    }
    assert_int_equal(m.count, N / 2);
    for (int i = 0; i < N; i++) {
        key_of(i, key, sizeof key);
        if (i % 2) assert_null(hx_strmap_get(&m, key));
        else assert_ptr_equal(hx_strmap_get(&m, key), &vals[i]);
    }
    hx_strmap_free(&m);
    assert_int_equal(m.count, 0);
    assert_null(m.buckets);
}

static int delete_multiples_of_3(void *arg, const char *key, void *value)
{
    int *visits = arg;
    (*visits)++;
    int i = (int)((int *)value - vals);
    char want[32];
    key_of(i, want, sizeof want);
    assert_string_equal(key, want);
    return i % 3 == 0 ? 1 : 0;
}

static int stop_after_10(void *arg, const char *key, void *value)
{
    int *visits = arg;
    return ++*visits == 10 ? -1 : 0;
}

static int delete_all(void *arg, const char *key, void *value)
{
    return 1;
}

static void test_foreach_delete(void **state)
{
    (void)state;
    hx_strmap m;
    char key[32];
    hx_strmap_init(&m);
    hx_strmap_foreach(&m, delete_all, NULL); /* empty map */
    for (int i = 0; i < N; i++) {
        key_of(i, key, sizeof key);
        assert_int_equal(hx_strmap_put(&m, key, &vals[i], NULL), 0);
    }
    int visits = 0;
    hx_strmap_foreach(&m, delete_multiples_of_3, &visits);
    assert_int_equal(visits, N); /* deleting does not skip the next entry */
    int left = N - (N + 2) / 3;
    assert_int_equal(m.count, (size_t)left);
    for (int i = 0; i < N; i++) {
        key_of(i, key, sizeof key);
        if (i % 3 == 0) assert_null(hx_strmap_get(&m, key));
        else assert_ptr_equal(hx_strmap_get(&m, key), &vals[i]);
    }
    visits = 0;
    hx_strmap_foreach(&m, stop_after_10, &visits);
    assert_int_equal(visits, 10);
    assert_int_equal(m.count, (size_t)left);
    hx_strmap_foreach(&m, delete_all, NULL);
    assert_int_equal(m.count, 0);
    for (size_t b = 0; b < m.nbuckets; b++) assert_null(m.buckets[b]);
    /* Usable again after being emptied. */
    assert_int_equal(hx_strmap_put(&m, "again", &vals[0], NULL), 0);
    assert_ptr_equal(hx_strmap_get(&m, "again"), &vals[0]);
    hx_strmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_put_get_replace_delete),
        cmocka_unit_test(test_keys_are_copied), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_foreach_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
