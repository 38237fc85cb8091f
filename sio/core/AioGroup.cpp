#include "sio/core/AioGroup.h"

#include "sio/core/Channel.h"

namespace nexnet::sio {

void AioGroup::finishOne(int error) {
    if (error != 0) failed_.store(true, std::memory_order_relaxed);
    if (left_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (channel_ != nullptr) {
        event_data_t event{};
        event.ev_type = event_type_aio;
        event.ev_result = count_;
        event.ev_errno = failed_.load(std::memory_order_relaxed) ? EIO : 0;
        event.ev_data = data_;
        Channel* channel = channel_;
        delete this;
        channel->post(event, true);
        channel->removePending();
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
    done_.notify_all();
}

bool AioGroup::wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return finished_; });
    return !failed_.load(std::memory_order_relaxed);
}

}  // namespace nexnet::sio
