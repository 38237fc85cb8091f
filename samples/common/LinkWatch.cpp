#include "samples/common/LinkWatch.h"

namespace nexnet {

LinkWatch::LinkWatch(const IONetwork& driver, std::string label)
    : driver_(driver), label_(std::move(label)), link_(driver.linkStatus()), fault_(driver.faultDescription()) {}

std::optional<std::string> LinkWatch::change() {
    LinkStatus link = driver_.linkStatus();
    const std::string& fault = driver_.faultDescription();
    if (link == link_ && fault == fault_) return std::nullopt;
    bool recovered = !fault_.empty() && fault.empty();
    recovering_ = fault.empty() && (recovering_ || recovered);
    link_ = link;
    fault_ = fault;
    std::string line = label_ + ": ";
    if (link == LinkStatus::up) {
        line += recovering_ ? "link up again" : "link up";
        recovering_ = false;
    } else {
        line += link == LinkStatus::down ? "link down" : "link state unknown";
    }
    if (!fault.empty()) line += ": " + fault;
    else if (recovered && link != LinkStatus::up) line += " (the fault has cleared)";
    return line;
}

std::optional<std::string> LinkWatch::finalMessage() const {
    const std::string& fault = driver_.faultDescription();
    if (fault.empty()) return std::nullopt;
    return label_ + ": stopping with a fault: " + fault;
}

int LinkWatch::exitStatus() const { return driver_.faultDescription().empty() ? 0 : 1; }

}  // namespace nexnet
