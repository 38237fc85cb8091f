/* The sio C API used from C, compiled as C: the paper's names as a C program writes them,
 * including the spellings it shares with glibc (aio_error, aio_return, lio_listio, mq_notify),
 * which choose nexnet's or glibc's function by the argument's type. Each function returns 0 when
 * everything held, or the line of the first check that failed. */
#include "sio/aio.h"
#include "sio/ec_sync.h"
#include "sio/nexnet.h"
#include "sio/sio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#define CHECK(condition)                   \
    do {                                   \
        if (!(condition)) return __LINE__; \
    } while (0)

enum { MEMORY = 1 << 20 };

static int udp_socket(struct sockaddr_in* address) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t length = sizeof *address;
    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr*)address, sizeof *address);
    getsockname(fd, (struct sockaddr*)address, &length);
    return fd;
}

int sio_c_sync_echo(void) {
    struct sockaddr_in server_address, client_address, from;
    socklen_t from_length = sizeof from;
    int server = udp_socket(&server_address), client = udp_socket(&client_address);
    dma_mem_t mem;
    void* data;
    char answer[16];
    ssize_t n;
    CHECK(dma_alloc(&mem, MEMORY, 0) == 0);
    CHECK(dma_assoc(server, mem, MEMORY, 0) == 0);
    CHECK(sendto(client, "marco", 5, 0, (struct sockaddr*)&server_address, sizeof server_address) == 5);
    n = sio_recvfrom(server, &data, 2048, 0, (struct sockaddr*)&from, &from_length);
    CHECK(n == 5);
    CHECK(memcmp(data, "marco", 5) == 0);
    CHECK(dma_find(data) == mem);
    memcpy(data, "polo!", 5);
    CHECK(sio_sendto(server, data, 5, 0, (struct sockaddr*)&from, from_length) == 5);
    CHECK(sio_release(mem, data, 5) == 0);
    CHECK(recv(client, answer, sizeof answer, 0) == 5);
    CHECK(memcmp(answer, "polo!", 5) == 0);
    CHECK(sio_close(server) == 0);
    CHECK(dma_free(mem, MEMORY) == 0);
    close(client);
    return 0;
}

int sio_c_aio_on_a_channel(void) {
    struct sockaddr_in server_address, client_address;
    int server = udp_socket(&server_address), client = udp_socket(&client_address);
    dma_mem_t mem;
    ec_t ec = ec_create(0);
    struct sio_aiocb cb, write_cb;
    struct sio_aiocb* list[1];
    event_data_t event;
    CHECK(ec != NULL);
    CHECK(dma_alloc(&mem, MEMORY, 0) == 0);
    CHECK(dma_assoc(server, mem, MEMORY, 0) == 0);
    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = server;
    cb.aio_dma_buf = mem;
    cb.aio_sigevent.sigev_notify = SIGEV_EC;
    cb.aio_sigevent.sigev_ec = ec;
    cb.aio_sigevent.sigev_value.sival_ptr = &cb;
    CHECK(aio_recv(&cb, AIO_DMA_BUF) == 0);
    CHECK(aio_error(&cb) == EINPROGRESS); /* nexnet's, chosen by the argument's type */
    CHECK(sendto(client, "async", 5, 0, (struct sockaddr*)&server_address, sizeof server_address) == 5);
    CHECK(ec_next_event(ec, &event) == 0);
    CHECK(event.ev_type == event_type_aio);
    CHECK(event.ev_un.ev_aio == &cb);
    CHECK(event.ev_data == &cb);
    CHECK(aio_error(&cb) == 0);
    CHECK(aio_return(&cb) == 5);
    CHECK(memcmp((const void*)cb.aio_buf, "async", 5) == 0);
    /* The received buffer goes straight back out, with lio_listio's LIO_DMA_WRITE. */
    memset(&write_cb, 0, sizeof write_cb);
    write_cb.aio_fildes = server;
    write_cb.aio_buf = cb.aio_buf;
    write_cb.aio_nbytes = 5;
    write_cb.aio_dma_buf = mem;
    write_cb.aio_lio_opcode = LIO_DMA_WRITE;
    CHECK(connect(server, (struct sockaddr*)&client_address, sizeof client_address) == 0);
    list[0] = &write_cb;
    CHECK(lio_listio(LIO_WAIT, list, 1, NULL) == 0);
    CHECK(aio_return(&write_cb) == 5);
    CHECK(sio_release(mem, (void*)cb.aio_buf, 5) == 0);
    CHECK(sio_close(server) == 0);
    CHECK(dma_free(mem, MEMORY) == 0);
    CHECK(ec_destroy(ec) == 0);
    close(client);
    return 0;
}

int sio_c_glibc_names_still_reach_glibc(void) {
    struct aiocb glibc_cb;
    memset(&glibc_cb, 0, sizeof glibc_cb);
    glibc_cb.__error_code = ECANCELED; /* what glibc's aio_error reads back */
    CHECK(aio_error(&glibc_cb) == ECANCELED);
    return 0;
}

int sio_c_semaphore_and_mutex_events(void) {
    ec_t ec = ec_create(0);
    sem_t sem;
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    event_data_t event;
    CHECK(ec != NULL);
    sem_init(&sem, 0, 1);
    CHECK(sem_await(&sem, NULL, ec, &sem) == 0);
    CHECK(ec_next_event(ec, &event) == 0);
    CHECK(event.ev_type == event_type_sem && event.ev_errno == 0 && event.ev_data == &sem);
    CHECK(pthread_mutex_alock(&mutex, ec, &mutex) == 0);
    CHECK(ec_next_event(ec, &event) == 0);
    CHECK(event.ev_type == event_type_mutex && event.ev_un.ev_mutex == &mutex);
    CHECK(pthread_mutex_unlock(&mutex) == 0);
    CHECK(ec_destroy(ec) == 0);
    sem_destroy(&sem);
    return 0;
}
