// The XDP programs of the xdp: driver (drivers/xdp/XdpProgram.h), compiled with clang -target bpf
// at build time and embedded in libnexnet.
//
// Both programs redirect a frame to the AF_XDP socket bound to the queue it arrived on, found in
// nexnet_xsks under the queue's index (Documentation/networking/af_xdp.rst, "XSKMAP /
// BPF_MAP_TYPE_XSKMAP"), and pass everything else to the kernel: the lower bits of
// bpf_redirect_map's flags are the action when the queue has no socket in the map (Linux 5.3), so
// a queue nexnet does not own, or owns while stopped, stays the kernel's.
//
// - nexnet_queue: whole queues go to nexnet (the default).
// - nexnet_filter: only IPv4/IPv6 UDP or TCP frames whose destination port is in nexnet_ports
//   (key: IPPROTO_x << 16 | port); everything else, fragments and VLAN-tagged frames included,
//   stays the kernel's.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 1);  // sized to the interface's queues by the driver before loading
    __type(key, __u32);
    __type(value, __u32);
} nexnet_xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u8);
} nexnet_ports SEC(".maps");

static __always_inline int toSocket(struct xdp_md* ctx) {
    return bpf_redirect_map(&nexnet_xsks, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int nexnet_queue(struct xdp_md* ctx) { return toSocket(ctx); }

// The destination port of a UDP or TCP header at @p l4 as a nexnet_ports key, or 0.
static __always_inline __u32 portKey(void* l4, void* end, __u8 protocol) {
    if (protocol == IPPROTO_UDP) {
        struct udphdr* udp = l4;
        if ((void*)(udp + 1) > end) return 0;
        return (__u32)IPPROTO_UDP << 16 | bpf_ntohs(udp->dest);
    }
    if (protocol == IPPROTO_TCP) {
        struct tcphdr* tcp = l4;
        if ((void*)(tcp + 1) > end) return 0;
        return (__u32)IPPROTO_TCP << 16 | bpf_ntohs(tcp->dest);
    }
    return 0;
}

SEC("xdp")
int nexnet_filter(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    if ((void*)(eth + 1) > end) return XDP_PASS;
    __u32 key = 0;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr* ip = (void*)(eth + 1);
        if ((void*)(ip + 1) > end || ip->ihl < 5) return XDP_PASS;
        // A fragment: only the first carries the ports; the kernel reassembles them all.
        if ((ip->frag_off & bpf_htons(0x3fff)) != 0) return XDP_PASS;
        key = portKey((void*)ip + ip->ihl * 4, end, ip->protocol);
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip6 = (void*)(eth + 1);
        if ((void*)(ip6 + 1) > end) return XDP_PASS;
        key = portKey(ip6 + 1, end, ip6->nexthdr);  // extension headers: the kernel's
    }
    if (key != 0 && bpf_map_lookup_elem(&nexnet_ports, &key) != 0) return toSocket(ctx);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
