import CKafkaCeiling
import Foundation
import ServiceKit

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

/// A processing loop's throughput, clocked from the moment its first batch is seen read: that
/// batch finished before the clock started, so only the records after it count.
struct LoopThroughput {
    /// Records read after the first batch.
    var records: Int
    /// Wall-clock seconds from the first batch to the last record (0 if the loop read nothing).
    var seconds: Double
    /// CPU seconds of the whole process meanwhile.
    var cpuSeconds: Double

    var perSecond: Double { Double(records) / seconds }
    var perCPUSecond: Double { Double(records) / cpuSeconds }

    /// Polls `loop` every `poll` until it has read `total` records or `timeout` passed; the caller
    /// checks `loop.counts` for whether it got there.
    ///
    /// Timed from the poll that first sees records read (those are not counted) to the completion
    /// of the batch that reached `total` (``ProcessingLoop/Counters/lastCompleted``), so the poll
    /// interval does not bias the figure, and polls can be few: each is a timer, a wake-up and a
    /// lock taken from the loop it measures (intake polled every 0.5 ms: 2,000 a second). The CPU
    /// time runs to the last poll, up to one interval past the end (≈ 1 % of a 1 s measurement).
    static func measure<Processor>(
        _ loop: ProcessingLoop<Processor>,
        total: Int,
        poll: Duration = .milliseconds(10),
        timeout: Duration = .seconds(600)
    ) async throws -> LoopThroughput {
        var start: ContinuousClock.Instant?
        var cpuAtStart = 0.0
        var counted = 0
        let deadline = ContinuousClock.now + timeout
        var counts = loop.counts
        while counts.recordsIn < total, ContinuousClock.now < deadline {
            if start == nil, counts.recordsIn > 0 {
                start = .now
                cpuAtStart = processCPUSeconds()
                counted = counts.recordsIn
            }
            try await Task.sleep(for: poll)
            counts = loop.counts
        }
        let end = counts.recordsIn >= total ? counts.lastCompleted ?? .now : .now
        return LoopThroughput(
            records: total - counted,
            seconds: (end - (start ?? end)).seconds,
            cpuSeconds: processCPUSeconds() - cpuAtStart
        )
    }
}
