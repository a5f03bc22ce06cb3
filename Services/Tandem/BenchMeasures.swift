import CKafkaCeiling
import Foundation

// What the benchmarks measure besides the wall clock, in one place.

/// User + system CPU seconds of this process so far (every thread: the loop, librdkafka, the
/// embedded broker).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds the calling thread has used.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Bytes of live malloc allocations (arena in use + mmapped blocks), glibc's accounting.
func heapInUse() -> Int { Int(tandem_ceiling_heap_in_use()) }

/// The resident set size, from /proc/self/statm (0 where there is no /proc).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
