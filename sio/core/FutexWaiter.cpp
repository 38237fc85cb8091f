#include "sio/core/FutexWaiter.h"

#include "sio/core/Channel.h"

#include <algorithm>
#include <cerrno>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nexnet::sio {

namespace {

// glibc's semaphore (sysdeps/nptl/internaltypes.h, struct new_sem with 64-bit atomics): value
// in the low 32 bits of `data` (the futex word on little-endian machines), waiters in the high
// 32; `private` is 0 for a process-private semaphore (LLL_PRIVATE) and FUTEX_PRIVATE_FLAG for
// a shared one (LLL_SHARED), and futex calls XOR it into FUTEX_PRIVATE_FLAG.
struct GlibcSemaphore {
    std::uint64_t data;
    int isPrivate;
    int pad;
};
static_assert(sizeof(GlibcSemaphore) <= sizeof(sem_t));
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the value is the low word of data on little-endian machines");
constexpr std::uint64_t kOneWaiter = 1ull << 32;

GlibcSemaphore& semaphoreOf(void* object) { return *static_cast<GlibcSemaphore*>(object); }
std::uint32_t* valueWord(void* object) { return reinterpret_cast<std::uint32_t*>(&semaphoreOf(object).data); }

// glibc's mutex (bits/struct_mutex.h): __lock is the futex word, __kind the type and flags.
constexpr int kKindMask = 3;               // PTHREAD_MUTEX_KIND_MASK_NP
constexpr int kAdaptive = 3;               // PTHREAD_MUTEX_ADAPTIVE_NP
constexpr int kRobustPiPp = 16 | 32 | 64;  // robust, priority-inherit, priority-protect flags
constexpr int kShared = 128;               // PTHREAD_MUTEX_PSHARED_BIT

std::uint32_t* lockWord(void* object) {
    return reinterpret_cast<std::uint32_t*>(&static_cast<pthread_mutex_t*>(object)->__data.__lock);
}

bool before(const timespec& a, const timespec& b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

long futexWaitv(futex_waitv* waiters, unsigned count, const timespec* deadline) {
    return syscall(SYS_futex_waitv, waiters, count, 0, deadline, CLOCK_REALTIME);
}

bool haveFutexWaitv() {
    static const bool have = futexWaitv(nullptr, 0, nullptr) != 0 && errno != ENOSYS;
    return have;
}

}  // namespace

FutexWaiter& FutexWaiter::instance() {
    static FutexWaiter* waiter = new FutexWaiter();  // its thread outlives static destruction
    return *waiter;
}

int FutexWaiter::awaitSemaphore(sem_t* semaphore, const timespec* deadline, Channel& channel, void* data) {
    Wait wait;
    wait.semaphore = true;
    wait.object = semaphore;
    wait.channel = &channel;
    wait.data = data;
    if (sem_trywait(semaphore) == 0) {
        finish(wait, 0);  // taken at once: the event goes now
        return 0;
    }
    wait.shared = semaphoreOf(semaphore).isPrivate != 0;
    wait.hasDeadline = deadline != nullptr;
    if (deadline != nullptr) wait.deadline = *deadline;
    return add(wait);
}

int FutexWaiter::lockMutex(pthread_mutex_t* mutex, Channel& channel, void* data) {
    int kind = mutex->__data.__kind;
    if ((kind & kRobustPiPp) != 0 || ((kind & kKindMask) != PTHREAD_MUTEX_NORMAL && (kind & kKindMask) != kAdaptive))
        return EINVAL;
    Wait wait;
    wait.object = mutex;
    wait.channel = &channel;
    wait.data = data;
    if (pthread_mutex_trylock(mutex) == 0) {
        finish(wait, 0);  // locked at once, by the caller itself: the event goes now
        return 0;
    }
    wait.shared = (kind & kShared) != 0;
    wait.requester = static_cast<pid_t>(syscall(SYS_gettid));
    return add(wait);
}

int FutexWaiter::add(const Wait& wait) {
    if (!haveFutexWaitv()) return ENOTSUP;
    std::lock_guard<std::mutex> lock(mutex_);
    if (waits_.size() == kMaxWaits) return EAGAIN;
    if (wait.semaphore) {
        // Counted in as a waiter, as sem_wait does, so that sem_post wakes the futex.
        std::atomic_ref<std::uint64_t>(semaphoreOf(wait.object).data).fetch_add(kOneWaiter, std::memory_order_relaxed);
    }
    waits_.push_back(wait);
    if (!started_) {
        started_ = true;
        thread_ = std::thread([this] {
            pthread_setname_np(pthread_self(), "nexnet-futex");
            run();
        });
        thread_.detach();
    }
    wake();
    return 0;
}

void FutexWaiter::wake() {
    wakeWord_.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, &wakeWord_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool FutexWaiter::tryTake(Wait& wait) {
    if (wait.semaphore) {
        std::atomic_ref<std::uint64_t> data(semaphoreOf(wait.object).data);
        std::uint64_t d = data.load(std::memory_order_relaxed);
        while ((d & 0xffffffffu) != 0) {
            // One unit taken and this waiter counted out, in one step (sem_waitcommon.c).
            if (data.compare_exchange_weak(d, d - 1 - kOneWaiter, std::memory_order_acquire)) return true;
        }
        return false;
    }
    std::atomic_ref<std::uint32_t> word(*lockWord(wait.object));
    // lowlevellock.c's __lll_lock_wait: exchange in 2; 0 back means the lock is ours, and 2
    // (not 1) stays, so the eventual unlock wakes any other waiter.
    if (word.exchange(2, std::memory_order_acquire) != 0) return false;
    auto* mutex = static_cast<pthread_mutex_t*>(wait.object);
    mutex->__data.__owner = wait.requester;  // what pthread_mutex_lock records after taking it
    ++mutex->__data.__nusers;
    return true;
}

void FutexWaiter::finish(const Wait& wait, int error) {
    event_data_t event{};
    event.ev_type = wait.semaphore ? event_type_sem : event_type_mutex;
    if (wait.semaphore) event.ev_un.ev_sem = static_cast<sem_t*>(wait.object);
    else event.ev_un.ev_mutex = static_cast<pthread_mutex_t*>(wait.object);
    event.ev_result = error != 0 ? -1 : 0;
    event.ev_errno = error;
    event.ev_data = wait.data;
    wait.channel->post(event, true);
}

void FutexWaiter::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    std::vector<futex_waitv> waiters;
    for (;;) {
        timespec now{};
        clock_gettime(CLOCK_REALTIME, &now);
        const timespec* earliest = nullptr;
        for (std::size_t i = 0; i < waits_.size();) {
            Wait& wait = waits_[i];
            if (tryTake(wait)) {
                finish(wait, 0);
            } else if (wait.hasDeadline && !before(now, wait.deadline)) {
                std::atomic_ref<std::uint64_t>(semaphoreOf(wait.object).data)
                    .fetch_sub(kOneWaiter, std::memory_order_relaxed);
                finish(wait, ETIMEDOUT);
            } else {
                if (wait.hasDeadline && (earliest == nullptr || before(wait.deadline, *earliest)))
                    earliest = &wait.deadline;
                ++i;
                continue;
            }
            waits_.erase(waits_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        timespec deadline = earliest != nullptr ? *earliest : timespec{};
        waiters.clear();
        std::uint32_t seen = wakeWord_.load(std::memory_order_acquire);
        waiters.push_back({seen, reinterpret_cast<std::uintptr_t>(&wakeWord_), FUTEX_32 | FUTEX_PRIVATE_FLAG, 0});
        for (const Wait& wait : waits_) {
            // A semaphore's waiter sleeps while the value reads 0, a mutex's while the word reads 2.
            std::uint32_t* word = wait.semaphore ? valueWord(wait.object) : lockWord(wait.object);
            std::uint32_t flags = FUTEX_32 | (wait.shared ? 0u : static_cast<std::uint32_t>(FUTEX_PRIVATE_FLAG));
            waiters.push_back({wait.semaphore ? 0u : 2u, reinterpret_cast<std::uintptr_t>(word), flags, 0});
        }
        lock.unlock();
        // Returns when a word was woken, or did not read as expected (EAGAIN: something
        // changed since the look above), or at the earliest deadline: then look again.
        futexWaitv(waiters.data(), static_cast<unsigned>(waiters.size()), earliest != nullptr ? &deadline : nullptr);
        lock.lock();
    }
}

void FutexWaiter::forget(Channel& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto gone = std::remove_if(waits_.begin(), waits_.end(), [&](const Wait& wait) {
        if (wait.channel != &channel) return false;
        if (wait.semaphore)
            std::atomic_ref<std::uint64_t>(semaphoreOf(wait.object).data)
                .fetch_sub(kOneWaiter, std::memory_order_relaxed);
        return true;
    });
    bool any = gone != waits_.end();
    waits_.erase(gone, waits_.end());
    if (any) wake();
}

std::size_t FutexWaiter::pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    return waits_.size();
}

}  // namespace nexnet::sio
