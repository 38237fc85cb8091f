#include "sio/core/AioRequest.h"

#include "sio/core/AioGroup.h"
#include "sio/core/Channel.h"

namespace nexnet::sio {

namespace {
thread_local bool batch = false;
}  // namespace

bool submittingBatch() { return batch; }
void setSubmittingBatch(bool on) { batch = on; }

void finishRequest(sio_aiocb& cb, ssize_t result, int error, bool fromChannelThread) {
    AioRequest& r = requestOf(cb);
    // Everything needed after the hand-over is read first: once the state says done, the
    // program may reuse or free the control block.
    Channel* channel = r.channel;
    AioGroup* group = r.group;
    bool internal = r.internal;
    event_data_t event{};
    if (internal) {
        bool send = r.op == AioOp::send || r.op == AioOp::sendto || r.op == AioOp::sendmsg;
        event.ev_type = send ? event_type_send : event_type_recv;
        event.ev_un.ev_fd = cb.aio_fildes;
        event.ev_data = r.data;
    } else {
        event.ev_type = event_type_aio;
        event.ev_un.ev_aio = &cb;
        event.ev_data = cb.aio_sigevent.sigev_value.sival_ptr;
    }
    event.ev_result = error != 0 ? -1 : result;
    event.ev_errno = error;
    r.result = event.ev_result;
    r.error = error;
    std::atomic_ref<int>(r.state).store(kAioDone, std::memory_order_release);
    if (internal) channel->freeRequest(&cb);
    if (channel != nullptr) {
        channel->post(event, !fromChannelThread);
        channel->removePending();
    }
    if (group != nullptr) group->finishOne(error);
}

}  // namespace nexnet::sio
