#pragma once
/// @file PciDevice.h
/// @brief PciDevice: a PCI device opened through vfio-pci (config space, BARs, MSI-X, reset).

#include "framework/pci/PciBar.h"
#include "framework/pci/VfioContainer.h"
#include "netbuf/Result.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nexnet {

/// One entry of a device's PCI capability list (config space offset 0x34 onwards).
struct PciCapability {
    std::uint8_t id = 0;      ///< Capability ID (0x11 MSI-X, 0x09 vendor specific, ...).
    std::uint8_t offset = 0;  ///< Where it starts in config space.
};

/// A PCI device driven from userspace through vfio-pci: what a NIC driver (E1000eDriver,
/// VirtioNetDriver) uses to reach its hardware.
///
/// open() checks the device step by step and explains the first thing that is wrong (no such
/// device, bound to a host driver, no IOMMU group, group not viable, permission) in the message
/// it returns, with what to do about it. Then:
/// - config space: configRead/Write of 8, 16 and 32 bits, enableBusMaster (vfio-pci leaves the
///   memory and bus-master bits off: nothing DMAs until the driver sets them), capabilities();
/// - BARs: mapBar() maps a memory BAR for typed register access (PciBar);
/// - interrupts: enableMsix() routes MSI-X vectors into eventfds (VFIO_DEVICE_SET_IRQS), which an
///   EventLoop waits on; without it the driver polls;
/// - reset() (VFIO_DEVICE_RESET, function-level reset where the device has it).
///
/// DMA goes through the container the device was opened in (container()). Destroying the
/// device turns its interrupts off, clears bus mastering and closes the fd.
///
/// Not thread safe: one driver owns one device.
class PciDevice {
public:
    /// Opens @p bdf ("0000:00:03.0") in @p container. Errors: EINVAL (malformed address), ENODEV
    /// (no such device, no IOMMU group, or bound to no driver), EBUSY (bound to another driver,
    /// or group not viable), EACCES (permission), ENOENT (no VFIO), or an ioctl's errno.
    /// @p message, when not nullptr, receives a sentence saying what is wrong and what to do.
    static Result<std::unique_ptr<PciDevice>> open(const std::string& bdf, std::shared_ptr<VfioContainer> container,
                                                   std::string* message = nullptr);
    /// Reads vendor and device IDs from sysfs without opening the device: (vendor << 16) | device,
    /// as drivers are chosen by them. Errors: EINVAL (malformed address), ENODEV (no such device).
    static Result<std::uint32_t> readSysfsId(const std::string& bdf);
    /// The host driver @p bdf is bound to ("vfio-pci", "e1000e"), or "" when none.
    static std::string boundDriver(const std::string& bdf);
    /// True when @p bdf is a PCI address as sysfs writes it, "DDDD:BB:DD.F" (hex domain, bus and
    /// device up to 1f, function 0-7), nothing before or after: what every path built from a
    /// user's address is checked with first ("..", "" and "../x" are not addresses).
    static bool isAddress(std::string_view bdf);

    /// Turns interrupts off, clears bus mastering and closes the device (unless released), and
    /// closes the eventfds.
    ~PciDevice();
    PciDevice(const PciDevice&) = delete;
    PciDevice& operator=(const PciDevice&) = delete;

    /// The device's address ("0000:00:03.0").
    const std::string& address() const { return bdf_; }
    /// PCI vendor ID (config offset 0).
    std::uint16_t vendorId() const { return vendor_; }
    /// PCI device ID (config offset 2).
    std::uint16_t deviceId() const { return device_; }
    /// The container the device's DMA goes through.
    VfioContainer& container() const { return *container_; }
    /// The container as a shared pointer.
    const std::shared_ptr<VfioContainer>& sharedContainer() const { return container_; }

    // ---- config space ------------------------------------------------------------------------
    /// Reads @p size bytes of config space at @p offset into @p out. @return 0 or errno (EIO).
    int readConfig(std::uint32_t offset, void* out, std::size_t size) const;
    /// Writes @p size bytes of config space at @p offset. @return 0 or errno (EIO).
    int writeConfig(std::uint32_t offset, const void* in, std::size_t size);
    /// The config byte at @p offset (0xff when the read fails, as a missing device reads).
    std::uint8_t configRead8(std::uint32_t offset) const;
    /// The config word at @p offset (0xffff when the read fails).
    std::uint16_t configRead16(std::uint32_t offset) const;
    /// The config dword at @p offset (0xffffffff when the read fails).
    std::uint32_t configRead32(std::uint32_t offset) const;
    /// Writes the config word at @p offset. @return 0 or errno.
    int configWrite16(std::uint32_t offset, std::uint16_t value) { return writeConfig(offset, &value, 2); }
    /// Sets COMMAND.MEMORY and COMMAND.BUS_MASTER (PCI 3.0, 6.2.2): needed before any MMIO or DMA,
    /// since vfio-pci leaves them off. @return 0 or errno.
    int enableBusMaster();
    /// The capability list, in list order (bounded: a looping list ends after 48 entries).
    std::vector<PciCapability> capabilities() const;
    /// The first capability with @p id, or one with id 0 and offset 0 when there is none.
    PciCapability findCapability(std::uint8_t id) const;

    // ---- BARs --------------------------------------------------------------------------------
    /// Size in bytes of BAR @p index (0-5), 0 when it does not exist.
    std::uint64_t barSize(unsigned index) const;
    /// Maps memory BAR @p index (0-5). Errors: EINVAL (index), ENODEV (no such BAR), ENOTSUP (BAR
    /// is not mappable, e.g. I/O ports), or mmap's errno.
    Result<PciBar> mapBar(unsigned index);

    // ---- interrupts --------------------------------------------------------------------------
    /// MSI-X vectors the device has (0: none).
    unsigned msixVectorCount() const;
    /// Routes MSI-X vectors 0..@p count-1 into fresh eventfds (VFIO_DEVICE_SET_IRQS with
    /// DATA_EVENTFD | ACTION_TRIGGER). Calling it again replaces the previous set.
    /// @return 0, EINVAL (count 0 or above msixVectorCount), or the errno of eventfd/ioctl.
    int enableMsix(unsigned count);
    /// The eventfd of MSI-X vector @p vector, readable when the device raised it; -1 when not
    /// enabled. The device owns it: read it (8 bytes) to re-arm, never close it.
    int msixEventFd(unsigned vector) const;
    /// Turns MSI-X off and closes the eventfds. @return 0 or errno.
    int disableMsix();

    /// Asks vfio-pci to tell this process when the kernel wants the device back (hot-unplug, an
    /// unbind, the device's removal): VFIO_PCI_REQ_IRQ_INDEX routed into an eventfd,
    /// removalRequestEventFd(). Until the process closes the device the kernel's removal waits,
    /// repeating the request (every 10 seconds in vfio's core); a driver that hears it calls
    /// release(). Control thread. @return 0, ENOTSUP (the kernel offers no request channel), or
    /// the errno of eventfd/ioctl.
    int enableRemovalRequest();
    /// The eventfd that becomes readable when the kernel asks for the device back; -1 before
    /// enableRemovalRequest(). The device owns it.
    int removalRequestEventFd() const { return requestFd_; }
    /// True when the kernel asked for the device back (reads removalRequestEventFd(), without
    /// blocking). Control thread; no effect on the device.
    bool removalRequested();
    /// Gives the device back to the kernel while this object lives on: turns its interrupts and the
    /// request channel off in vfio (their eventfds stay open, msixEventFd() still names them, so
    /// that an event loop that watches one never watches a reused number), and closes the device.
    /// Nothing is written to the device, which may be gone already. The owner first stops using
    /// the device's memory (PciBar::detach) and unmaps the DMA it gave it: vfio finishes the
    /// removal once the last mapping of the device's file is gone. Afterwards config reads return
    /// all ones, mapBar fails and reset() is ENODEV. Control thread.
    void release();
    /// True after release().
    bool isReleased() const { return fd_ < 0; }
    /// Resets the device (VFIO_DEVICE_RESET). @return 0, ENOTTY when it cannot be reset, ENODEV
    /// once released, or errno.
    int reset();
    /// True when VFIO reports the device can be reset.
    bool canReset() const { return resettable_; }

private:
    PciDevice() = default;
    int setRequestTrigger(int eventFd);

    std::string bdf_;
    std::shared_ptr<VfioContainer> container_;
    int fd_ = -1;
    std::uint64_t configOffset_ = 0;
    std::uint16_t vendor_ = 0;
    std::uint16_t device_ = 0;
    bool resettable_ = false;
    std::vector<int> msixFds_;
    int requestFd_ = -1;  // VFIO_PCI_REQ_IRQ_INDEX's eventfd
};

}  // namespace nexnet
