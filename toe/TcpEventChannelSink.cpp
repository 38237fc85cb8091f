#include "toe/TcpEventChannelSink.h"

#include "toe/TcpCompletion.h"

namespace nexnet {

void TcpEventChannelSink::complete(const TcpCompletion& completion) {
    event_data_t event{};
    event.ev_type = completion.send ? event_type_tcp_send : event_type_tcp_recv;
    event.ev_un.ev_tcp = completion.connection.value;
    event.ev_data = completion.buffer;
    event.ev_result = static_cast<ssize_t>(completion.bytes);
    event.ev_errno = completion.error;
    // A buffer that ended the stream with nothing in it is the end itself: one event says both.
    bool endOnly = completion.endOfStream && completion.bytes == 0 && completion.error == 0;
    if (endOnly) event.ev_data = nullptr;
    post(event);
    if (completion.endOfStream && !endOnly) {
        event_data_t end{};
        end.ev_type = event_type_tcp_recv;
        end.ev_un.ev_tcp = completion.connection.value;
        post(end);
    }
}

void TcpEventChannelSink::post(const event_data_t& event) {
    if (ec_post(channel_, &event) == 0) ++posted_;
    else ++lost_;
}

}  // namespace nexnet
