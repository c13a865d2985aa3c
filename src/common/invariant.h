/*
 * Invariants written down, as SQLite's ALWAYS/NEVER: HX_ALWAYS(x) and
 * HX_NEVER(x) evaluate to x, so the code around them keeps its safe branch
 * (drop the malformed internal command, refuse the slot); in the builds that
 * run tests and fuzzing (HX_INVARIANTS: HX_TESTS, HX_SANITIZE or HX_FUZZ) a
 * broken invariant aborts with its expression and place instead, so a bug
 * between our own components cannot hide as a silently dropped message. The
 * production build pays nothing.
 *
 * Use them for what one part of hearthd guarantees another (the engine's
 * commands built by the control plane, the UDP slot protocol, unlinking),
 * never for input from the network: that gets an error with a code.
 */
#ifndef HX_COMMON_INVARIANT_H
#define HX_COMMON_INVARIANT_H

#ifdef HX_INVARIANTS
#define HX_ALWAYS(x) ((x) ? 1 : (hx_invariant_failed(#x, __FILE__, __LINE__), 0))
#define HX_NEVER(x) ((x) ? (hx_invariant_failed(#x, __FILE__, __LINE__), 1) : 0)
#else
#define HX_ALWAYS(x) (x)
#define HX_NEVER(x) (x)
#endif

/** Print "invariant broken: <expr> at <file>:<line>" to stderr and abort. */
_Noreturn void hx_invariant_failed(const char *expr, const char *file, int line);

#endif
