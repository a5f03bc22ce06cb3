/// Masks personal data in free text before it leaves intake (SPEC §2, Interaction `text`).
///
/// A hand-written, allocation-light scanner over the UTF-8 bytes — no regular expression, nothing
/// compiled per call, text without a digit or an `@` is returned as is without copying. Only ASCII
/// bytes are ever replaced, so the result is valid UTF-8 whenever the input is.
///
/// ## What is masked
///
/// - **Mainland mobile numbers**: 11 digits starting `1[3-9]` become the first 3 digits, `****`
///   and the last 4: `13912345611` → `139****5611`. Also when the digits are written in groups
///   separated by single spaces or dashes (`139 1234 5611`, `139-1234-5611`: the mask is written
///   without the separators), after a country code (`+86 139…` → `+86 139****5611`,
///   `8613912345611` → `86139****5611`) and next to any non-digit, Chinese characters included
///   (`电话13912345611联系`).
/// - **Resident ID numbers**: 18 characters, 17 digits then a digit or `X`/`x`, keep the first 6
///   (the region code) and the last 4: `11010119900307123X` → `110101********123X`. The checksum
///   and birth date are deliberately *not* verified: an ID with a typo is still someone's ID.
///   Digit groups totalling 18 (`110101 19900307 1234`) are masked too.
/// - **E-mail addresses**: `local@domain.tld` becomes the first character of the local part,
///   `***@` and the domain, kept for provider statistics: `zhang.san@example.com` →
///   `z***@example.com`. The domain needs a dot and a final label of at least two letters. An
///   address's digits are never masked a second time (`13912345611@qq.com` → `1***@qq.com`).
///
/// ## What is not masked (false positives avoided on purpose)
///
/// - A number is only considered whole: a digit run (or a chain of digit groups) is never cut
///   into pieces, so a 12-digit order number `139123456112`, a 16-digit card-like number
///   `6222021234567890` or a 19-digit tracking number stays as written, even if it contains
///   a phone-like run.
/// - 11 digits not starting `1[3-9]` (`12345678901`, order numbers `20241234567`), landlines
///   (`010-12345678`), dates (`2024-01-15`), amounts and times.
/// - Bank card numbers (16–19 digits) are not PII of the spec's list and are indistinguishable
///   from order and tracking numbers agents need; they are left alone.
/// - Full-width digits (`１３９…`) and non-ASCII e-mail local parts are not recognised.
public enum PIIMasker {
    /// The text with every phone number, ID number and e-mail address masked.
    public static func mask(_ text: String) -> String {
        var text = text
        guard let masked = text.withUTF8(mask(utf8:)) else { return text }
        return String(decoding: masked, as: UTF8.self)
    }

    /// The masked UTF-8 bytes of a text, or nil when it has nothing to mask.
    public static func mask(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        Scanner().mask(utf8: bytes)
    }

    /// Masks texts one after another, reusing its working storage: per masked text the only
    /// allocation is the result. One per thread.
    public final class Scanner {
        private var storage = Matches()

        public init() {}

        /// The masked UTF-8 bytes of a text, or nil when it has nothing to mask.
        public func mask(utf8 bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
            guard needsScan(bytes) else { return nil }
            // The work is done on a local value (a class property would be checked for
            // exclusive access at every use); the storage goes back for the next text.
            var matches = Matches()
            swap(&matches, &storage)
            defer { swap(&matches, &storage) }
            return matches.mask(bytes)
        }
    }

    /// What was found in a text: its e-mail addresses first, in order, then its numbers, in order.
    struct Matches {
        private var spans: [Span] = []
        private var chain: [Group] = []

        mutating func mask(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
            spans.removeAll(keepingCapacity: true)
            emailSpans(bytes, into: &spans)
            let emails = spans.count
            numberSpans(bytes, emails: emails)
            guard !spans.isEmpty else { return nil }
            // Numbers never overlap an address: one merge of the two ordered lists.
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var position = 0
            var email = 0
            var number = emails
            while email < emails || number < spans.count {
                let next: Span
                if number == spans.count || (email < emails && spans[email].start < spans[number].start) {
                    next = spans[email]
                    email += 1
                } else {
                    next = spans[number]
                    number += 1
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<next.start]))
                next.write(bytes, into: &output)
                position = next.end
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<bytes.count]))
            return output
        }

        /// Phone and ID numbers outside the e-mail spans (the first `emails` of ``spans``).
        private mutating func numberSpans(_ bytes: UnsafeBufferPointer<UInt8>, emails: Int) {
            chain.removeAll(keepingCapacity: true)
            var index = 0
            var nextEmail = 0
            while index < bytes.count {
                if nextEmail < emails, index >= spans[nextEmail].start {
                    matchChain(bytes)
                    index = spans[nextEmail].end
                    nextEmail += 1
                    continue
                }
                guard isDigit(bytes[index]) else {
                    index += 1
                    continue
                }
                var end = index
                while end < bytes.count, isDigit(bytes[end]) { end += 1 }
                if nextEmail < emails, end > spans[nextEmail].start { end = spans[nextEmail].start }
                let x =
                    end < bytes.count && (bytes[end] == upperX || bytes[end] == lowerX)
                    && (end + 1 == bytes.count || !isAlphanumeric(bytes[end + 1]))
                let group = Group(start: index, end: end, x: x)
                // A group continues the chain when one space or dash separates it from the previous one.
                if let last = chain.last, !last.x, last.end + 1 == index,
                    bytes[last.end] == space || bytes[last.end] == dash
                {
                    chain.append(group)
                } else {
                    matchChain(bytes)
                    chain.append(group)
                }
                index = end
            }
            matchChain(bytes)
        }

        /// Finds phone and ID numbers made of whole consecutive groups of ``chain``, left to
        /// right, and empties the chain.
        private mutating func matchChain(_ bytes: UnsafeBufferPointer<UInt8>) {
            defer { chain.removeAll(keepingCapacity: true) }
            var first = 0
            while first < chain.count {
                var total = 0
                var matched = false
                for last in first..<chain.count {
                    total += chain[last].count
                    if total > 18 { break }
                    let x = chain[last].x
                    if total == 11 || total == 13 || total == 17 || total == 18 {
                        let start = chain[first].start
                        var span: Span?
                        if total == 11, !x, isMobile(digit(0, from: first, bytes), digit(1, from: first, bytes)) {
                            span = Span(start: start, end: chain[last].end, keep: 3, tail: 4)
                        } else if total == 13, first == last, !x, bytes[start] == eight, bytes[start + 1] == six,
                            isMobile(bytes[start + 2], bytes[start + 3])
                        {
                            span = Span(start: start, end: chain[last].end, keep: 5, tail: 4)
                        } else if (total == 18 && !x) || (total == 17 && x) {
                            span = Span(start: start, end: chain[last].end + (x ? 1 : 0), keep: 6, tail: 4, x: x)
                        }
                        if let span {
                            spans.append(span)
                            matched = true
                        }
                    }
                    if matched {
                        first = last + 1
                        break
                    }
                    // A group followed by an X ends what can be matched from `first`.
                    if x { break }
                }
                if !matched { first += 1 }
            }
        }

        /// The digit `offset` digits into the chain from its group `group` on.
        private func digit(_ offset: Int, from group: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt8 {
            var offset = offset
            var group = group
            while offset >= chain[group].count {
                offset -= chain[group].count
                group += 1
            }
            return bytes[chain[group].start + offset]
        }
    }

    /// True when the text may contain something to mask: a digit or an `@`.
    @inline(__always)
    static func needsScan(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if let base = bytes.baseAddress {
            // Eight bytes at a time past words without a byte in "0"…"@" (digits, `:;<=>?` and `@`).
            let raw = UnsafeRawPointer(base)
            while index + 8 <= bytes.count, !mayHoldDigitOrAt(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            {
                index += 8
            }
        }
        while index < bytes.count {
            if isDigit(bytes[index]) || bytes[index] == at { return true }
            index += 1
        }
        return false
    }

    /// Whether any of eight bytes lies in 0x30…0x40 (the "has a byte between m and n" bit trick,
    /// exact for ASCII bytes; bytes ≥ 0x80 never count).
    @inline(__always)
    static func mayHoldDigitOrAt(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7 = word & (ones &* 0x7F)
        let belowTop = (ones &* (0x7F + 0x41)) &- low7  // high bit set where the byte < 0x41
        let aboveBottom = low7 &+ (ones &* (0x7F - 0x2F))  // high bit set where the byte > 0x2F
        return belowTop & ~word & aboveBottom & (ones &* 0x80) != 0
    }

    /// Something to mask: `bytes[start..<end]`, written masked by ``write(_:into:)``.
    struct Span {
        enum Kind {
            /// An e-mail address whose `@` is at `at`: its first character, `***@`, its domain.
            case email(at: Int)
            /// A number: its characters (digits, then an `X` when `x`; the separators between
            /// digit groups are dropped), the first `keep` and the last `tail` as they are, a
            /// `*` for each between.
            case number(keep: Int, tail: Int, x: Bool)
        }

        var start: Int
        var end: Int
        var kind: Kind

        init(email start: Int, at: Int, end: Int) {
            self.start = start
            self.end = end
            kind = .email(at: at)
        }

        init(start: Int, end: Int, keep: Int, tail: Int, x: Bool = false) {
            self.start = start
            self.end = end
            kind = .number(keep: keep, tail: tail, x: x)
        }

        func write(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
            switch kind {
            case .email(let at):
                output.append(bytes[start])
                output.append(contentsOf: "***@".utf8)
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(at + 1)..<end]))
            case .number(let keep, let tail, let x):
                var digits = 0
                for index in start..<end where isDigit(bytes[index]) { digits += 1 }
                let characters = digits + (x ? 1 : 0)
                var written = 0
                for index in start..<end where isDigit(bytes[index]) {
                    output.append(written < keep || written >= characters - tail ? bytes[index] : star)
                    written += 1
                }
                if x { output.append(upperX) }
            }
        }
    }

    // MARK: E-mail

    /// Every e-mail address, in order.
    static func emailSpans(_ bytes: UnsafeBufferPointer<UInt8>, into spans: inout [Span]) {
        var index = 0
        var floor = 0  // an address's local part may not reach back into the previous one
        while index < bytes.count {
            guard bytes[index] == at else {
                index += 1
                continue
            }
            // Local part: back from the @ over local characters, without a leading dot.
            var start = index
            while start > floor, isLocal(bytes[start - 1]) { start -= 1 }
            while start < index, bytes[start] == dot { start += 1 }
            // Domain: forward over domain characters, without a trailing dot or dash.
            var end = index + 1
            while end < bytes.count, isDomain(bytes[end]) { end += 1 }
            while end > index + 1, bytes[end - 1] == dot || bytes[end - 1] == dash { end -= 1 }
            if start < index, isDomainName(bytes, from: index + 1, to: end) {
                spans.append(Span(email: start, at: index, end: end))
                floor = end
                index = end
            } else {
                index += 1
            }
        }
    }

    /// A domain: labels separated by single dots, not starting with a dot, the last label at
    /// least two ASCII letters.
    static func isDomainName(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Bool {
        guard end > start, bytes[start] != dot, bytes[start] != dash else { return false }
        var lastDot = -1
        for index in start..<end where bytes[index] == dot {
            if index > start, bytes[index - 1] == dot { return false }
            lastDot = index
        }
        guard lastDot > start, end - lastDot - 1 >= 2 else { return false }
        for index in (lastDot + 1)..<end where !isLetter(bytes[index]) { return false }
        return true
    }

    // MARK: Numbers

    /// A maximal run of ASCII digits; `x` is true when an `X`/`x` follows it directly and ends a word.
    struct Group {
        var start: Int
        var end: Int
        var x: Bool
        var count: Int { end - start }
    }

    /// `1` then `3`–`9`.
    @inline(__always)
    static func isMobile(_ first: UInt8, _ second: UInt8) -> Bool {
        first == one && second >= three && second <= nine
    }

    // MARK: Bytes

    static let at = UInt8(ascii: "@")
    static let dot = UInt8(ascii: ".")
    static let dash = UInt8(ascii: "-")
    static let space = UInt8(ascii: " ")
    static let star = UInt8(ascii: "*")
    static let upperX = UInt8(ascii: "X")
    static let lowerX = UInt8(ascii: "x")
    static let one = UInt8(ascii: "1")
    static let three = UInt8(ascii: "3")
    static let six = UInt8(ascii: "6")
    static let eight = UInt8(ascii: "8")
    static let nine = UInt8(ascii: "9")

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    @inline(__always) static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
    /// Characters of an e-mail local part (the common subset of RFC 5322's atext).
    @inline(__always) static func isLocal(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == dot || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "%")
            || byte == UInt8(ascii: "+") || byte == dash
    }
    @inline(__always) static func isDomain(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == dot || byte == dash
    }
}
