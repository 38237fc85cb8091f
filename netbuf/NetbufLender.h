#pragma once
/// @file NetbufLender.h
/// @brief NetbufLender: who takes back a pool netbuf it lent to a transmit path.

namespace nexnet {

class Netbuf;

/// The holder of pool netbufs that hands them to a transmit path without giving them up (the
/// sio calls' nexnet endpoints: the program keeps its buffer until sio_release, yet the driver
/// sends that very netbuf, with its device address). NetbufPool::lend marks a netbuf lent; when
/// whoever has it frees it (through any free call, on any thread), the pool hands it to its
/// lender (NetbufPool::setLender) instead of putting it back with the free netbufs.
class NetbufLender {
public:
    /// @p netbuf, lent with NetbufPool::lend, was freed: it is the lender's again (no longer
    /// marked lent), to keep or to free to its pool. Called on the thread that freed it (a
    /// driver's transmit completion, a drop in a layer): must not block.
    virtual void netbufReturned(Netbuf* netbuf) = 0;
    /// A lender is not deleted through this interface, but may be.
    virtual ~NetbufLender() = default;
};

}  // namespace nexnet
