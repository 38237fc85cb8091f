#include "sio/core/Runtime.h"

namespace nexnet::sio {

Runtime& Runtime::instance() {
    // Never destroyed: objects the program still holds at exit must stay valid for its other
    // threads and atexit handlers.
    static Runtime* runtime = new Runtime();
    return *runtime;
}

}  // namespace nexnet::sio
