/* nexnet-sio-echo: a UDP echo server written in C with Drepper's API (sio/): the kernel
 * chooses the receive buffer in DMA memory associated with the socket, and the datagram goes
 * back out from where it was received, without a copy in the program.
 *
 *   nexnet-sio-echo [--port N] [--mode sync|aio] [--transport kernel|nexnet URI ADDRESS/PREFIX]
 *                   [--count N] [--quiet]
 *
 *   --mode sync   sio_recvfrom, sio_sendto, sio_release, one datagram at a time (default)
 *   --mode aio    64 aio_recvfrom requests pre-posted with AIO_DMA_BUF, completions taken from
 *                 an event channel in batches, each answered with sio_sendto and posted again
 *   --transport   kernel: a kernel UDP socket (io_uring, or epoll where io_uring is missing:
 *                 the first line says which); nexnet URI ADDRESS/PREFIX: a UDP endpoint of the
 *                 nexnet interface URI ("tap:nx0") with that IPv4 address, the datagrams
 *                 received in the driver's netbufs (sio_nexnet_open)
 *   --count N     exit after N echoes (default: run until SIGINT or SIGTERM)
 *
 * At exit it prints how many datagrams it echoed. */
#include "sio/aio.h"
#include "sio/nexnet.h"
#include "sio/sio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MEMORY = 8 << 20, POSTED = 64 };

static volatile sig_atomic_t stop;
static void on_signal(int signal) { stop = signal; }

struct options {
    int port;
    int aio;
    long count;
    int quiet;
    const char* uri;     /* --transport nexnet: the interface, or NULL for a kernel socket */
    const char* address; /* and its address */
};

/* One pre-posted receive: its control block and where the sender's address goes. */
struct posted {
    struct sio_aiocb cb;
    struct sockaddr_in from;
    socklen_t from_length;
};

static int usage(const char* program) {
    fprintf(
        stderr,
        "usage: %s [--port N] [--mode sync|aio] [--transport kernel|nexnet URI ADDRESS/PREFIX] [--count N] [--quiet]\n",
        program);
    return 2;
}

static long echo_sync(int sock, dma_mem_t mem, long count) {
    long echoed = 0;
    while (!stop && (count == 0 || echoed < count)) {
        void* data;
        struct sockaddr_in from;
        socklen_t from_length = sizeof from;
        ssize_t n = sio_recvfrom(sock, &data, 65536, 0, (struct sockaddr*)&from, &from_length);
        if (n < 0) {
            if (errno != EINTR) fprintf(stderr, "sio_recvfrom: %s\n", sio_last_error());
            break;
        }
        if (sio_sendto(sock, data, (size_t)n, 0, (struct sockaddr*)&from, from_length) < 0)
            fprintf(stderr, "sio_sendto: %s\n", sio_last_error());
        sio_release(mem, data, n > 0 ? (size_t)n : 1);
        ++echoed;
    }
    return echoed;
}

static int post(struct posted* p, int sock, dma_mem_t mem, ec_t ec) {
    memset(&p->cb, 0, sizeof p->cb);
    p->cb.aio_fildes = sock;
    p->cb.aio_dma_buf = mem;
    p->cb.aio_nbytes = 65536;
    p->cb.aio_sigevent.sigev_notify = SIGEV_EC;
    p->cb.aio_sigevent.sigev_ec = ec;
    p->cb.aio_sigevent.sigev_value.sival_ptr = p;
    p->from_length = sizeof p->from;
    return aio_recvfrom(&p->cb, AIO_DMA_BUF, (struct sockaddr*)&p->from, &p->from_length);
}

static long echo_aio(int sock, dma_mem_t mem, long count) {
    static struct posted posted[POSTED];
    event_data_t events[POSTED];
    long echoed = 0;
    int i;
    ec_t ec = ec_create(0);
    if (ec == NULL) {
        fprintf(stderr, "ec_create: %s\n", sio_last_error());
        return 0;
    }
    for (i = 0; i < POSTED; ++i) {
        if (post(&posted[i], sock, mem, ec) != 0) {
            fprintf(stderr, "aio_recvfrom: %s\n", sio_last_error());
            return 0;
        }
    }
    while (!stop && (count == 0 || echoed < count)) {
        int n = ec_next_events(ec, events, POSTED, -1);
        if (n < 0) {
            if (errno != EINTR) fprintf(stderr, "ec_next_events: %s\n", sio_last_error());
            break;
        }
        for (i = 0; i < n; ++i) {
            struct posted* p = events[i].ev_data;
            ssize_t length;
            if (events[i].ev_type != event_type_aio || p == NULL) continue;
            length = aio_return(&p->cb);
            if (length >= 0) {
                void* data = (void*)p->cb.aio_buf;
                sio_sendto(sock, data, (size_t)length, 0, (struct sockaddr*)&p->from, p->from_length);
                sio_release(mem, data, length > 0 ? (size_t)length : 1);
                ++echoed;
            }
            if (post(p, sock, mem, ec) != 0) fprintf(stderr, "aio_recvfrom: %s\n", sio_last_error());
        }
    }
    sio_aio_cancel(sock, NULL);
    /* The cancelled requests' events go to the channel; it may go once they are there. */
    while (ec_next_events(ec, events, POSTED, 100) > 0) {
    }
    ec_destroy(ec);
    return echoed;
}

int main(int argc, char** argv) {
    struct options options = {7, 0, 0, 0, NULL, NULL};
    struct sockaddr_in address;
    struct sigaction action;
    dma_mem_t mem;
    long echoed;
    int sock, i;
    for (i = 1; i < argc; ++i) {
        const char* next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--port") == 0 && next) options.port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mode") == 0 && next) options.aio = strcmp(argv[++i], "aio") == 0;
        else if (strcmp(argv[i], "--count") == 0 && next) options.count = atol(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0) options.quiet = 1;
        else if (strcmp(argv[i], "--transport") == 0 && next) {
            if (strcmp(argv[++i], "nexnet") == 0 && i + 2 < argc) {
                options.uri = argv[++i];
                options.address = argv[++i];
            } else if (strcmp(argv[i], "kernel") != 0) {
                return usage(argv[0]);
            }
        } else return usage(argv[0]);
    }

    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal; /* no SA_RESTART: a blocked receive returns with EINTR */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    if (options.uri != NULL) {
        /* The endpoint comes with its memory: the pool the interface's driver receives into. */
        sock = sio_nexnet_open(options.uri, options.address, (unsigned short)options.port, &mem);
        if (sock < 0) {
            fprintf(stderr, "%s\n", sio_last_error());
            return 1;
        }
    } else {
        sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        memset(&address, 0, sizeof address);
        address.sin_family = AF_INET;
        address.sin_port = htons((unsigned short)options.port);
        if (sock < 0 || bind(sock, (struct sockaddr*)&address, sizeof address) != 0) {
            perror("bind");
            return 1;
        }
        if (dma_alloc(&mem, MEMORY, 0) != 0 || dma_assoc(sock, mem, MEMORY, 0) != 0) {
            fprintf(stderr, "DMA memory: %s\n", sio_last_error());
            return 1;
        }
    }
    if (!options.quiet) {
        printf("nexnet-sio-echo: UDP port %d, %s, %s\n", options.port, options.aio ? "aio" : "sync",
               options.uri != NULL ? options.uri : sio_mode_message());
        fflush(stdout);
    }

    echoed = options.aio ? echo_aio(sock, mem, options.count) : echo_sync(sock, mem, options.count);

    printf("nexnet-sio-echo: %ld datagrams echoed\n", echoed);
    sio_close(sock); /* a nexnet endpoint's memory ends with it */
    if (options.uri == NULL) dma_free(mem, MEMORY);
    return 0;
}
