// Section 7 through event channels (ec_sync.h): mq_notify with SIGEV_EC, sem_await,
// pthread_mutex_alock.
#include "sio/core/FutexWaiter.h"
#include "sio/ec_sync.h"
#include "sio/sio.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

class EcSyncTest : public ::testing::Test {
protected:
    void SetUp() override {
        ec_ = ec_create(0);
        ASSERT_NE(ec_, nullptr);
    }
    void TearDown() override {
        if (ec_ != nullptr) {
            EXPECT_EQ(ec_destroy(ec_), 0) << sio_last_error();
        }
    }
    // The next event within @p ms milliseconds, or an event of type -1 when none came.
    // "No event came": a type nexnet never posts (a value outside the enum is undefined behaviour
    // to load, which UBSan reports).
    static constexpr event_type_t kNothing = event_type_sig;
    event_data_t next(int ms = 5000) {
        event_data_t e{};
        e.ev_type = kNothing;
        ec_next_events(ec_, &e, 1, ms);
        return e;
    }
    ec_t ec_ = nullptr;
};

timespec inMilliseconds(long ms) {
    timespec t{};
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ms * 1000000;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

// The state letter of the helper thread ("nexnet-futex") in /proc, or 0 when there is none.
char helperState() {
    DIR* tasks = opendir("/proc/self/task");
    char state = 0;
    while (dirent* entry = readdir(tasks)) {
        std::string base = std::string("/proc/self/task/") + entry->d_name;
        std::ifstream comm(base + "/comm");
        std::string name;
        std::getline(comm, name);
        if (name != "nexnet-futex") continue;
        std::ifstream stat(base + "/stat");
        std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        state = all[all.rfind(')') + 2];
    }
    closedir(tasks);
    return state;
}

class MessageQueue {
public:
    MessageQueue() : name_("/nxs-ecsync-" + std::to_string(getpid())) {
        mq_attr attr{};
        attr.mq_maxmsg = 4;
        attr.mq_msgsize = 64;
        queue_ = mq_open(name_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &attr);
    }
    ~MessageQueue() {
        if (queue_ != static_cast<mqd_t>(-1)) mq_close(queue_);
        mq_unlink(name_.c_str());
    }
    mqd_t get() const { return queue_; }

private:
    std::string name_;
    mqd_t queue_;
};

TEST_F(EcSyncTest, MessageQueueNotifiesOnceWhenAMessageArrives) {
    MessageQueue queue;
    ASSERT_NE(queue.get(), static_cast<mqd_t>(-1)) << strerror(errno);
    int tag = 0;
    sio_sigevent notification{};
    notification.sigev_notify = SIGEV_EC;
    notification.sigev_ec = ec_;
    notification.sigev_value.sival_ptr = &tag;
    ASSERT_EQ(mq_notify(queue.get(), &notification), 0) << sio_last_error();
    EXPECT_EQ(mq_notify(queue.get(), &notification), -1);  // one registration per queue
    EXPECT_EQ(errno, EBUSY);
    std::thread([&] { mq_send(queue.get(), "hi", 2, 0); }).join();
    event_data_t e = next();
    ASSERT_EQ(e.ev_type, event_type_msq);
    EXPECT_EQ(e.ev_un.ev_msq, queue.get());
    EXPECT_EQ(e.ev_data, &tag);
    char message[64];
    EXPECT_EQ(mq_receive(queue.get(), message, sizeof message, nullptr), 2);
    mq_send(queue.get(), "again", 5, 0);  // the registration ended with the first
    EXPECT_EQ(next(100).ev_type, kNothing);
    mq_receive(queue.get(), message, sizeof message, nullptr);
    ASSERT_EQ(mq_notify(queue.get(), &notification), 0);  // register again
    ASSERT_EQ(sio_mq_notify(queue.get(), nullptr), 0);    // and remove it
    mq_send(queue.get(), "none", 4, 0);
    EXPECT_EQ(next(100).ev_type, kNothing);
    notification.sigev_notify = SIGEV_THREAD;
    EXPECT_EQ(mq_notify(queue.get(), &notification), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST_F(EcSyncTest, DestroyingTheChannelEndsItsQueueRegistrations) {
    MessageQueue queue;
    ec_t other = ec_create(0);
    sio_sigevent notification{};
    notification.sigev_notify = SIGEV_EC;
    notification.sigev_ec = other;
    ASSERT_EQ(mq_notify(queue.get(), &notification), 0);
    ASSERT_EQ(ec_destroy(other), 0);
    notification.sigev_ec = ec_;
    EXPECT_EQ(mq_notify(queue.get(), &notification), 0) << sio_last_error();  // not EBUSY: it was removed
}

TEST_F(EcSyncTest, AvailableSemaphoreIsTakenAtOnce) {
    sem_t sem;
    sem_init(&sem, 0, 1);
    int tag;
    ASSERT_EQ(sem_await(&sem, nullptr, ec_, &tag), 0);
    event_data_t e = next();
    ASSERT_EQ(e.ev_type, event_type_sem);
    EXPECT_EQ(e.ev_un.ev_sem, &sem);
    EXPECT_EQ(e.ev_errno, 0);
    EXPECT_EQ(e.ev_data, &tag);
    int value = -1;
    sem_getvalue(&sem, &value);
    EXPECT_EQ(value, 0);  // taken for the caller: no sem_wait needed
    sem_destroy(&sem);
}

TEST_F(EcSyncTest, SemaphoreIsTakenWhenPostedAndTheHelperSleepsMeanwhile) {
    sem_t sem;
    sem_init(&sem, 0, 0);
    ASSERT_EQ(sem_await(&sem, nullptr, ec_, nullptr), 0);
    EXPECT_EQ(next(50).ev_type, kNothing);
    usleep(20000);
    EXPECT_EQ(helperState(), 'S');  // asleep in futex_waitv, not polling
    std::thread([&] { sem_post(&sem); }).join();
    event_data_t e = next();
    ASSERT_EQ(e.ev_type, event_type_sem);
    EXPECT_EQ(e.ev_errno, 0);
    int value = -1;
    sem_getvalue(&sem, &value);
    EXPECT_EQ(value, 0);
    EXPECT_EQ(nexnet::sio::FutexWaiter::instance().pending(), 0u);
    sem_post(&sem);  // the waiter count went back: a plain sem_wait works on
    EXPECT_EQ(sem_trywait(&sem), 0);
    sem_destroy(&sem);
}

TEST_F(EcSyncTest, SemaphoreWaitTimesOutWithoutTakingAnything) {
    sem_t sem;
    sem_init(&sem, 0, 0);
    timespec deadline = inMilliseconds(30);
    ASSERT_EQ(sem_await(&sem, &deadline, ec_, nullptr), 0);
    event_data_t e = next();
    ASSERT_EQ(e.ev_type, event_type_sem);
    EXPECT_EQ(e.ev_errno, ETIMEDOUT);
    EXPECT_EQ(e.ev_result, -1);
    sem_post(&sem);
    EXPECT_EQ(sem_trywait(&sem), 0);  // still there for others
    timespec bad{0, 2000000000};
    EXPECT_EQ(sem_await(&sem, &bad, ec_, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(sem_await(nullptr, nullptr, ec_, nullptr), -1);
    EXPECT_EQ(sem_await(&sem, nullptr, reinterpret_cast<ec_t>(777), nullptr), -1);
    sem_destroy(&sem);
}

TEST_F(EcSyncTest, DestroyingTheChannelCancelsItsSemaphoreWaits) {
    sem_t sem;
    sem_init(&sem, 0, 0);
    ec_t other = ec_create(0);
    ASSERT_EQ(sem_await(&sem, nullptr, other, nullptr), 0);
    ASSERT_EQ(ec_destroy(other), 0);
    EXPECT_EQ(nexnet::sio::FutexWaiter::instance().pending(), 0u);
    sem_post(&sem);
    usleep(10000);
    int value = -1;
    sem_getvalue(&sem, &value);
    EXPECT_EQ(value, 1);  // nobody took it
    sem_destroy(&sem);
}

TEST_F(EcSyncTest, FreeMutexIsLockedAtOnceForTheCaller) {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    ASSERT_EQ(pthread_mutex_alock(&mutex, ec_, &mutex), 0);
    event_data_t e = next();
    ASSERT_EQ(e.ev_type, event_type_mutex);
    EXPECT_EQ(e.ev_un.ev_mutex, &mutex);
    EXPECT_EQ(e.ev_data, &mutex);
    int other = 0;
    std::thread([&] { other = pthread_mutex_trylock(&mutex); }).join();
    EXPECT_EQ(other, EBUSY);  // held
    EXPECT_EQ(pthread_mutex_unlock(&mutex), 0);
}

TEST_F(EcSyncTest, BusyMutexIsLockedForTheCallerWhenReleased) {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    std::atomic<bool> locked{false}, release{false};
    std::thread owner([&] {
        pthread_mutex_lock(&mutex);
        locked = true;
        while (!release) usleep(1000);
        pthread_mutex_unlock(&mutex);
    });
    while (!locked) usleep(1000);
    ASSERT_EQ(pthread_mutex_alock(&mutex, ec_, nullptr), 0);
    EXPECT_EQ(next(50).ev_type, kNothing);
    release = true;
    owner.join();
    event_data_t e = next();
    ASSERT_EQ(e.ev_type, event_type_mutex);
    EXPECT_EQ(e.ev_errno, 0);
    int other = 0;
    std::thread([&] { other = pthread_mutex_trylock(&mutex); }).join();
    EXPECT_EQ(other, EBUSY);
    EXPECT_EQ(pthread_mutex_unlock(&mutex), 0);  // the caller holds it
    std::thread([&] { other = pthread_mutex_trylock(&mutex); }).join();
    EXPECT_EQ(other, 0);
    pthread_mutex_unlock(&mutex);
}

TEST_F(EcSyncTest, MutexesTiedToTheirLockingThreadAreRefused) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t mutex;
    pthread_mutex_init(&mutex, &attr);
    EXPECT_EQ(pthread_mutex_alock(&mutex, ec_, nullptr), -1);
    EXPECT_EQ(errno, EINVAL);
    pthread_mutex_destroy(&mutex);
    pthread_mutexattr_destroy(&attr);
}

}  // namespace
