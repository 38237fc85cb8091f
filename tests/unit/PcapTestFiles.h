#pragma once
// Helpers shared by the pcap tests: a temporary directory that cleans itself up, and reading and
// writing capture files with libpcap directly (the reference the driver is checked against).

#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace nexnet::test {

/// A fresh directory under /tmp, removed with everything in it when the object goes.
class TemporaryDirectory {
public:
    TemporaryDirectory() {
        char pattern[] = "/tmp/nexnet-pcap-XXXXXX";
        const char* made = mkdtemp(pattern);
        path_ = made != nullptr ? made : "/tmp";
    }
    ~TemporaryDirectory() {
        std::error_code ignored;
        if (path_ != "/tmp") std::filesystem::remove_all(path_, ignored);
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

/// One record of a capture file.
struct CaptureRecord {
    std::vector<std::uint8_t> bytes;
    std::uint64_t nanoseconds = 0;
    std::uint32_t length = 0;  // original length
};

/// Writes @p records to @p path with libpcap at @p precision (PCAP_TSTAMP_PRECISION_MICRO/NANO).
inline bool writeCapture(const std::string& path, const std::vector<CaptureRecord>& records,
                         int precision = PCAP_TSTAMP_PRECISION_NANO, int snaplen = 65535) {
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen, static_cast<u_int>(precision));
    if (dead == nullptr) return false;
    pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
    if (dumper == nullptr) {
        pcap_close(dead);
        return false;
    }
    const std::uint64_t unit = precision == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    for (const auto& record : records) {
        pcap_pkthdr header{};
        header.ts.tv_sec = static_cast<time_t>(record.nanoseconds / 1000000000u);
        header.ts.tv_usec = static_cast<suseconds_t>(record.nanoseconds % 1000000000u / unit);
        header.caplen = static_cast<bpf_u_int32>(record.bytes.size());
        header.len = record.length != 0 ? record.length : header.caplen;
        pcap_dump(reinterpret_cast<u_char*>(dumper), &header, record.bytes.data());
    }
    pcap_dump_close(dumper);
    pcap_close(dead);
    return true;
}

/// Every record of @p path, read with libpcap at nanosecond precision; @p error gets libpcap's
/// message when the file cannot be read to the end.
inline std::vector<CaptureRecord> readCapture(const std::string& path, std::string* error = nullptr) {
    std::vector<CaptureRecord> records;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
        if (error != nullptr) *error = errbuf;
        return records;
    }
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    int result = 0;
    while ((result = pcap_next_ex(p, &header, &data)) == 1) {
        CaptureRecord record;
        record.bytes.assign(data, data + header->caplen);
        record.nanoseconds = static_cast<std::uint64_t>(header->ts.tv_sec) * 1000000000u +
            static_cast<std::uint64_t>(header->ts.tv_usec);
        record.length = header->len;
        records.push_back(std::move(record));
    }
    if (result == PCAP_ERROR && error != nullptr) *error = pcap_geterr(p);
    pcap_close(p);
    return records;
}

/// The bytes of @p path.
inline std::vector<std::uint8_t> fileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Writes @p bytes to @p path.
inline void writeBytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// A frame of @p size bytes: broadcast, EtherType 0x88b5, then @p sequence and a pattern.
inline std::vector<std::uint8_t> testFrame(std::uint32_t size, std::uint64_t sequence) {
    std::vector<std::uint8_t> frame(size, 0);
    for (unsigned i = 0; i < 6 && i < size; ++i) frame[i] = 0xff;
    for (unsigned i = 6; i < 12 && i < size; ++i) frame[i] = static_cast<std::uint8_t>(0x02 + i);
    if (size >= 14) {
        frame[12] = 0x88;
        frame[13] = 0xb5;
    }
    for (std::uint32_t i = 14; i < size; ++i)
        frame[i] = static_cast<std::uint8_t>(i < 22 ? sequence >> (8 * (i - 14)) : (sequence + i) * 31);
    return frame;
}

}  // namespace nexnet::test
