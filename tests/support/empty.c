/* Keeps the test-support library non-empty. */
typedef int hx_test_support_empty;
