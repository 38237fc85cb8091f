#pragma once
/// @file nb.h
/// @brief NeXT's netbuf C API (nb_alloc, nb_free, nb_map, nb_size, nb_read, ...) over nexnet's
/// Netbuf, usable from C and C++.
///
/// Old-style driver and protocol code reads as it did on NEXTSTEP:
/// @code
///   netbuf_t nb = nb_alloc(60);
///   if (nb == NULL) return ENOBUFS;
///   nb_write(nb, 0, sizeof header, &header);
///   nb_grow_top(nb, 14);            /* room for an Ethernet header */
///   memcpy(nb_map(nb), frame_header, 14);
///   nb_free(nb);
/// @endcode
///
/// Differences from NeXT, all for safety: nb_grow_top / nb_shrink_top / nb_grow_bot /
/// nb_shrink_bot are bounds-checked and return -1 instead of running off the buffer, and every
/// call accepts NULL (returning -1, 0 or NULL). A netbuf_t is a nexnet::Netbuf *, so C++ code
/// can pass one to the rest of nexnet directly.

#include <stddef.h>

#ifdef __cplusplus
namespace nexnet {
class Netbuf;
}
/// A netbuf: in C an opaque pointer, in C++ a nexnet::Netbuf *.
typedef nexnet::Netbuf* netbuf_t;
extern "C" {
#else
/// A netbuf: in C an opaque pointer, in C++ a nexnet::Netbuf *.
typedef struct nexnet_Netbuf* netbuf_t;
#endif

/// A netbuf whose data is @p size bytes (content undefined), from the process-wide default
/// pool (2048 bytes of data room after 128 bytes of headroom, made on first use, never freed).
/// @return NULL when @p size exceeds the data room or the pool is exhausted.
netbuf_t nb_alloc(unsigned int size);

/// Wraps caller memory: a netbuf whose data is the @p size bytes at @p data. When the netbuf is
/// freed, @p freefunc(@p freefunc_arg) runs once (unless @p freefunc is NULL). Allocates its
/// metadata on the heap: not for the data path.
/// @return NULL when @p data is NULL or memory is short.
netbuf_t nb_alloc_wrapper(void* data, unsigned int size, void (*freefunc)(void* arg), void* freefunc_arg);

/// Frees @p nb: back to its pool, or through its wrapper's free function. NULL is ignored.
void nb_free(netbuf_t nb);

/// The start of @p nb's data (NULL for NULL).
char* nb_map(netbuf_t nb);

/// Bytes of data in @p nb (0 for NULL).
unsigned int nb_size(netbuf_t nb);

/// Copies @p size bytes at offset @p offset of @p nb's data into @p target.
/// @return 0, or -1 when the range is not inside the data or an argument is NULL (nothing copied).
int nb_read(netbuf_t nb, unsigned int offset, unsigned int size, void* target);

/// Copies @p size bytes from @p source into @p nb's data at offset @p offset.
/// @return 0, or -1 when the range is not inside the data or an argument is NULL (nothing written).
int nb_write(netbuf_t nb, unsigned int offset, unsigned int size, const void* source);

/// Adds @p size bytes in front of the data (data moves back into the headroom).
/// @return 0, or -1 when the headroom is too small (nothing changes).
int nb_grow_top(netbuf_t nb, unsigned int size);

/// Removes @p size bytes from the front of the data.
/// @return 0, or -1 when the data is shorter than @p size (nothing changes).
int nb_shrink_top(netbuf_t nb, unsigned int size);

/// Adds @p size bytes at the end of the data (into the tailroom).
/// @return 0, or -1 when the tailroom is too small (nothing changes).
int nb_grow_bot(netbuf_t nb, unsigned int size);

/// Removes @p size bytes from the end of the data.
/// @return 0, or -1 when the data is shorter than @p size (nothing changes).
int nb_shrink_bot(netbuf_t nb, unsigned int size);

#ifdef __cplusplus
}
#endif
