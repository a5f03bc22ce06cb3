import Testing

@testable import Models

@Suite("NameTable")
struct NameTableTests {
    static func value(_ table: NameTable<Int>, _ name: String) -> Int? {
        var name = name
        return name.withUTF8 { table.value($0) }
    }

    /// Every length from 0 to 16 bytes (the word boundaries 7, 8, 9, 15, 16 among them), a name
    /// over 16 bytes left out, and near misses at every byte position.
    @Test func matchesExactlyAndOnlyExactly() {
        let names = (0...17).map { String(repeating: "a", count: $0) } + ["微信", "wechat", "wechat_official", "x\u{0}"]
        let table = NameTable(names.enumerated().map { ($0.element, $0.offset) })
        for (index, name) in names.enumerated() {
            #expect(Self.value(table, name) == (name.utf8.count <= 16 ? index : nil), "\(name)")
        }
        for length in 1...16 {
            for position in 0..<length {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                bytes[position] = UInt8(ascii: "b")
                #expect(Self.value(table, String(decoding: bytes, as: UTF8.self)) == nil)
            }
        }
        #expect(Self.value(table, "wechat ") == nil)
        #expect(Self.value(table, "wecha") == nil)
        #expect(Self.value(table, "x") == nil)
        #expect(Self.value(table, "微") == nil)
    }
}
