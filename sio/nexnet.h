#pragma once
/// @file nexnet.h
/// @brief The sio/aio calls on a UDP port of a nexnet interface (nexnet extension):
/// sio_nexnet_open.
///
/// A nexnet endpoint is a UDP port of an interface nexnet drives itself (a tap, a VFIO NIC): the
/// datagram a driver received is handed to the program in the netbuf the driver received it in.
/// It is named by a real file descriptor (readable while datagrams wait: poll, select, epoll and
/// event channels work on it), and every sio_* and aio_* call of sio.h and aio.h takes it as it
/// takes a kernel socket. What differs:
/// - its DMA memory is the pool the driver receives into, associated from the start:
///   sio_recv returns a pointer into the netbuf the driver filled (with a VFIO NIC, where the
///   device wrote), sio_reserve hands out a netbuf's payload space with headroom for the UDP,
///   IPv4 and Ethernet headers, sio_release frees the netbuf. dma_assoc of other memory is
///   refused (ENOTSUP), and dma_free of the pool's handle too (sio_close ends it);
/// - sends need a destination (sio_sendto, or sio_sendmsg with msg_name): EDESTADDRREQ;
///   one buffer per datagram (the payload of one netbuf); no control messages;
/// - a send hands the netbuf holding the buffer to the interface's thread without a copy or an
///   allocation: the driver sends that very netbuf, from its device address (a VFIO NIC reads the
///   payload where the program wrote it), and gives it back to the program when done. The buffer
///   must come from sio_reserve or a receive: other memory is refused (EINVAL), as a kernel socket
///   refuses memory not associated with it. A second send of a buffer whose first send is still
///   in flight goes out in a copy (a netbuf cannot sit in a transmit ring twice). sio_release
///   right after a send is allowed and takes effect when the driver is done with it (as after a
///   zero-copy send on a kernel socket);
/// - sio_close ends the interface too, and frees every buffer the program still holds from it.
#include "sio/dma.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Opens the nexnet interface @p uri (DriverRegistry: "tap:nx0", "vfio:0000:00:03.0"), brings
/// it up with IPv4 address @p address ("10.0.0.2/24"), binds UDP port @p port on it and starts
/// the interface's thread (receive, ARP, sends). The pool the driver receives into is stored in
/// @p *memp, associated with the descriptor.
/// @return the descriptor, or -1 with errno and sio_last_error(): EINVAL (a malformed address,
/// NULL arguments), the driver's errno (ENODEV, EPERM, ...), EADDRINUSE.
int sio_nexnet_open(const char* uri, const char* address, unsigned short port, dma_mem_t* memp);

#ifdef __cplusplus
}
#endif
