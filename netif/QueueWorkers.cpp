#include "netif/QueueWorkers.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <future>
#include <pthread.h>
#include <sched.h>

namespace nexnet {

Result<std::unique_ptr<QueueWorkers>> QueueWorkers::create(const Options& options) {
    using R = Result<std::unique_ptr<QueueWorkers>>;
    if (options.threads == 0 || options.threads > IONetwork::kMaxQueues)
        return R::failure(EINVAL,
                          std::to_string(options.threads) + " threads: 1 to " + std::to_string(IONetwork::kMaxQueues) +
                              " (one per queue pair)");
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return R::failure(errno, "sched_getaffinity");
    for (unsigned cpu : options.cpus) {
        if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
            return R::failure(EINVAL, "CPU " + std::to_string(cpu) + " is not one this process may run on");
    }
    std::unique_ptr<QueueWorkers> workers(new QueueWorkers());
    workers->options_ = options;
    for (unsigned w = 0; w < options.threads; ++w) {
        auto loop = EventLoop::create();
        if (!loop) return R::failure(loop.error(), "cannot make worker " + std::to_string(w) + "'s event loop");
        workers->loopPointers_.push_back(loop.value().get());
        workers->loops_.push_back(std::move(loop.value()));
    }
    return R(std::move(workers));
}

QueueWorkers::~QueueWorkers() {
    stop();
    for (NetworkInterface* interface : interfaces_) interface->detach();
}

int QueueWorkers::cpu(unsigned worker) const {
    if (options_.cpus.empty()) return -1;
    return static_cast<int>(options_.cpus[worker % options_.cpus.size()]);
}

Result<NetworkInterface::Mode> QueueWorkers::add(NetworkInterface& interface, NetworkInterface::Mode mode) {
    using R = Result<NetworkInterface::Mode>;
    if (isRunning()) return R::failure(EBUSY, "add interfaces while the workers are stopped");
    auto attached = interface.attach(loopPointers_, mode);
    if (attached) interfaces_.push_back(&interface);
    return attached;
}

int QueueWorkers::remove(NetworkInterface& interface) {
    if (isRunning()) return EBUSY;
    auto it = std::find(interfaces_.begin(), interfaces_.end(), &interface);
    if (it == interfaces_.end()) return ENOENT;
    interface.detach();
    interfaces_.erase(it);
    return 0;
}

int QueueWorkers::runWorker(unsigned worker) {
    std::string name = options_.name + std::to_string(worker);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());  // names are 15 bytes at most
    int target = cpu(worker);
    if (target < 0) return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(target), &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

Status QueueWorkers::start() {
    if (isRunning()) return Status(EBUSY, "the workers already run");
    std::vector<std::promise<int>> ready(loops_.size());
    std::vector<std::future<int>> started;
    for (auto& promise : ready) started.push_back(promise.get_future());
    for (unsigned w = 0; w < loops_.size(); ++w) {
        threads_.emplace_back([this, w, promise = std::move(ready[w])]() mutable {
            int error = runWorker(w);
            promise.set_value(error);
            if (error == 0) loops_[w]->run();
        });
    }
    Status status;
    for (unsigned w = 0; w < started.size(); ++w) {
        int error = started[w].get();
        if (error != 0 && status.ok())
            status = Status(error,
                            "cannot pin worker " + std::to_string(w) + " to CPU " + std::to_string(cpu(w)) + ": " +
                                std::strerror(error));
    }
    if (!status.ok()) stop();
    return status;
}

void QueueWorkers::stop() {
    for (auto& loop : loops_) loop->stop();  // any thread; a stop before run() is not lost
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
}

Result<std::vector<unsigned>> QueueWorkers::parseCpuList(std::string_view list) {
    using R = Result<std::vector<unsigned>>;
    std::vector<unsigned> cpus;
    auto number = [](std::string_view text, unsigned& out) {
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
        return error == std::errc() && end == text.data() + text.size() && !text.empty() && out < CPU_SETSIZE;
    };
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        std::size_t dash = item.find('-');
        unsigned first = 0, last = 0;
        bool valid = dash == std::string_view::npos
            ? number(item, first) && number(item, last)
            : number(item.substr(0, dash), first) && number(item.substr(dash + 1), last);
        if (!valid || last < first)
            return R::failure(EINVAL, "CPU list: \"" + std::string(item) + "\" is not a CPU or a range of CPUs (0-3)");
        for (unsigned cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
        if (comma != std::string_view::npos && list.empty()) return R::failure(EINVAL, "CPU list: ends with a comma");
    }
    if (cpus.empty()) return R::failure(EINVAL, "CPU list: empty");
    return cpus;
}

}  // namespace nexnet
