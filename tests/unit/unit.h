/* unit.h: SEV's small C unit test runner.
 *
 * Each test runs in its own process (fork), so a crash fails one test, not the file; under
 * the ASan build LeakSanitizer runs at the child's exit and a leak fails the test too.
 * A file lists its tests in a table and ends with UNIT_MAIN(tests). Output is TAP, with
 * "# pass N" / "# fail N" at the end, which scripts/test.sh adds up.
 *
 *   static void test_buf_grows(void) { ... CHECK(x == 1); CHECK_STR(a, "b"); }
 *   static const struct unit_test tests[] = {{"buf grows", test_buf_grows}, {0}};
 *   UNIT_MAIN(tests)
 */
#ifndef SEV_UNIT_H
#define SEV_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct unit_test {
    const char *name;
    void (*fn)(void);
};

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);         \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                               \
            fprintf(stderr, "# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                 \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                   \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                                        \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ != b_) {                                                                        \
            fprintf(stderr, "# %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a,    \
                    a_, b_);                                                                   \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

static inline int unit_run(const struct unit_test *tests, int argc, char **argv)
{
    int pass = 0, fail = 0, n = 0;
    for (const struct unit_test *t = tests; t->name; t++) {
        if (argc > 1 && !strstr(t->name, argv[1]))
            continue;
        n++;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            t->fn();
            exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (ok)
            pass++;
        else
            fail++;
        printf("%s %d - %s%s\n", ok ? "ok" : "not ok", n, t->name,
               WIFSIGNALED(st) ? " (crashed)" : "");
    }
    printf("1..%d\n# pass %d\n# fail %d\n", n, pass, fail);
    return fail ? 1 : 0;
}

#define UNIT_MAIN(tests)                                                                       \
    int main(int argc, char **argv)                                                            \
    {                                                                                          \
        return unit_run(tests, argc, argv);                                                    \
    }

#endif
