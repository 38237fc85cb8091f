#pragma once
/// @file IOCommands.h
/// @brief The performCommand strings and the UNIX-ioctl argument, as NeXT's net/netif.h named them.
///
/// Applications include netif/netif.h, which declares these for them; drivers get them through
/// IONetwork.h.

#ifdef __cplusplus
extern "C" {
#endif

/// Turn interface flags on or off; data: union ifr_ifru (net/if.h), ifru_flags holds the new flags.
static const char IFCONTROL_SETFLAGS[] __attribute__((unused)) = "setflags";
/// Set the hardware address; data: 6 bytes.
static const char IFCONTROL_SETADDR[] __attribute__((unused)) = "setaddr";
/// Get the hardware address; data: 6 bytes, written.
static const char IFCONTROL_GETADDR[] __attribute__((unused)) = "getaddr";
/// Set the address automatically (Ethernet: back to the permanent address); data: 6 bytes written, or NULL.
static const char IFCONTROL_AUTOADDR[] __attribute__((unused)) = "autoaddr";
/// Perform a UNIX SIOC* ioctl; data: if_ioctl_t *.
static const char IFCONTROL_UNIXIOCTL[] __attribute__((unused)) = "unix-ioctl";
/// Receive every frame (promiscuous mode on); data: unused.
static const char IFCONTROL_RCVPROMISCUOUS[] __attribute__((unused)) = "promiscuous-on";
/// Promiscuous mode off; data: unused.
static const char IFCONTROL_RCVPROMISCOFF[] __attribute__((unused)) = "promiscuous-off";
/// Join a multicast group; data: 6-byte multicast address.
static const char IFCONTROL_ADDMULTICAST[] __attribute__((unused)) = "add-multicast";
/// Leave a multicast group; data: 6-byte multicast address.
static const char IFCONTROL_RMVMULTICAST[] __attribute__((unused)) = "rmv-multicast";

/// The argument of IFCONTROL_UNIXIOCTL: a SIOC* request and its data (a struct ifreq *).
typedef struct {
    unsigned long ioctl_command; /**< SIOCGIFFLAGS, SIOCSIFMTU, ... */
    void* ioctl_data;            /**< Almost always a struct ifreq *. */
} if_ioctl_t;

#ifdef __cplusplus
}
#endif
