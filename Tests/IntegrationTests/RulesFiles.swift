import Foundation

/// Writes a rules file for the processes under test and returns its path: every KPI window with
/// `graceSeconds` of grace, the minute window's updates throttled to `minuteThrottleSeconds`
/// (the hour's and day's to 5 s), and an hour before idle partitions follow the wall clock (so
/// the stream's own event time closes the windows).
func writeRulesFile(name: String, graceSeconds: Int, minuteThrottleSeconds: Int) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).yaml")
    let yaml = """
        kpi:
          windows:
            minute:
              graceSeconds: \(graceSeconds)
              updateThrottleSeconds: \(minuteThrottleSeconds)
            hour:
              graceSeconds: \(graceSeconds)
              updateThrottleSeconds: 5
            day:
              graceSeconds: \(graceSeconds)
              updateThrottleSeconds: 5
        eventTime:
          idleTimeoutSeconds: 3600
        """
    try yaml.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}
