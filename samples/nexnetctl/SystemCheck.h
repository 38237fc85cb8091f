#pragma once
/// @file SystemCheck.h
/// @brief SystemCheck: what a machine offers nexnet (hugepages, VFIO, IOMMU, tun, locked memory),
/// and the set-up steps nexnetctl performs (reserve hugepages, bind a PCI device to vfio-pci).

#include <string>
#include <vector>

namespace nexnet {

/// Checks and prepares the machine for nexnet's drivers: the classic set-up burden of userspace
/// networking (hugepages, vfio-pci binding), each finding with what the user should do.
class SystemCheck {
public:
    /// One finding of check().
    struct Finding {
        std::string item;    ///< What was checked ("hugepages", "vfio", ...).
        bool ok = false;     ///< True when nexnet can use it as it is.
        std::string detail;  ///< What was found.
        std::string advice;  ///< What to do about it (empty when ok).
    };

    /// Looks at hugepages, /dev/vfio and IOMMU groups, vfio-pci, /dev/net/tun, the memlock
    /// limit and whether physical addresses are visible. Reads only; changes nothing.
    static std::vector<Finding> check();

    /// Reserves @p count 2 MiB hugepages and mounts hugetlbfs at /dev/hugepages when it is not
    /// mounted. @return 0 or an errno; @p message says what happened (how many were granted).
    static int reserveHugepages(unsigned count, std::string& message);

    /// Binds PCI device @p bdf ("0000:00:03.0") to vfio-pci: loads the module, unbinds the
    /// current driver, sets driver_override and binds. @return 0 or an errno (EINVAL when @p bdf
    /// is not a PCI address: nothing is touched); @p message says what happened or what the user
    /// should do.
    static int bindToVfio(const std::string& bdf, std::string& message);
};

}  // namespace nexnet
