/* nb.h used from C, compiled as C: NeXT-style code over nexnet netbufs. Each function returns 0
 * when everything held, or the line of the first check that failed. */
#include "netbuf/nb.h"

#include <stddef.h>
#include <string.h>

#define CHECK(condition)                   \
    do {                                   \
        if (!(condition)) return __LINE__; \
    } while (0)

int nb_c_alloc_write_read_free(void) {
    netbuf_t nb = nb_alloc(60);
    char out[5];
    CHECK(nb != NULL);
    CHECK(nb_size(nb) == 60);
    CHECK(nb_map(nb) != NULL);
    CHECK(nb_write(nb, 10, 5, "hello") == 0);
    CHECK(nb_read(nb, 10, 5, out) == 0);
    CHECK(memcmp(out, "hello", 5) == 0);
    CHECK(memcmp(nb_map(nb) + 10, "hello", 5) == 0);
    nb_free(nb);
    return 0;
}

int nb_c_bounds_are_checked(void) {
    netbuf_t nb = nb_alloc(20);
    char byte = 0;
    CHECK(nb != NULL);
    CHECK(nb_read(nb, 20, 1, &byte) == -1);
    CHECK(nb_write(nb, 15, 6, "123456") == -1);
    CHECK(nb_shrink_top(nb, 21) == -1);
    CHECK(nb_shrink_bot(nb, 21) == -1);
    CHECK(nb_grow_top(nb, 1000000) == -1);
    CHECK(nb_grow_bot(nb, 1000000) == -1);
    CHECK(nb_size(nb) == 20);
    nb_free(nb);
    return 0;
}

int nb_c_grow_and_shrink(void) {
    netbuf_t nb = nb_alloc(10);
    char* data;
    CHECK(nb != NULL);
    data = nb_map(nb);
    CHECK(nb_grow_top(nb, 14) == 0);
    CHECK(nb_map(nb) == data - 14);
    CHECK(nb_size(nb) == 24);
    CHECK(nb_shrink_top(nb, 14) == 0);
    CHECK(nb_map(nb) == data);
    CHECK(nb_grow_bot(nb, 4) == 0);
    CHECK(nb_size(nb) == 14);
    CHECK(nb_shrink_bot(nb, 14) == 0);
    CHECK(nb_size(nb) == 0);
    nb_free(nb);
    return 0;
}

static int wrapper_frees;
static void count_free(void* arg) { wrapper_frees += *(int*)arg; }

int nb_c_wrapper_calls_its_free_function_once(void) {
    static char memory[32];
    int weight = 1;
    netbuf_t nb;
    wrapper_frees = 0;
    nb = nb_alloc_wrapper(memory, sizeof memory, count_free, &weight);
    CHECK(nb != NULL);
    CHECK(nb_map(nb) == memory);
    CHECK(nb_size(nb) == sizeof memory);
    CHECK(nb_grow_bot(nb, 1) == -1);
    nb_free(nb);
    CHECK(wrapper_frees == 1);
    return 0;
}

int nb_c_null_is_harmless(void) {
    char byte = 0;
    nb_free(NULL);
    CHECK(nb_map(NULL) == NULL);
    CHECK(nb_size(NULL) == 0);
    CHECK(nb_read(NULL, 0, 1, &byte) == -1);
    CHECK(nb_write(NULL, 0, 1, &byte) == -1);
    CHECK(nb_grow_top(NULL, 1) == -1);
    CHECK(nb_alloc_wrapper(NULL, 1, NULL, NULL) == NULL);
    return 0;
}

int nb_c_too_big_is_null(void) {
    CHECK(nb_alloc(1000000) == NULL);
    return 0;
}
