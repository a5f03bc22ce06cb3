import Intake
import Testing

@Suite("PIIMasker")
struct PIIMaskerTests {
    @Test(
        "mobile numbers keep the first 3 and last 4 digits",
        arguments: [
            ("13912345611", "139****5611"),
            ("call me on 13912345611 please", "call me on 139****5611 please"),
            ("电话13912345611联系", "电话139****5611联系"),
            ("手机：18600001234。", "手机：186****1234。"),
            ("139 1234 5611", "139****5611"),
            ("139-1234-5611", "139****5611"),
            ("+86 139 1234 5611", "+86 139****5611"),
            ("+86-139-1234-5611", "+86-139****5611"),
            ("+8613912345611", "+86139****5611"),
            ("8613912345611", "86139****5611"),
            ("(+86)13912345611", "(+86)139****5611"),
            ("13012345678,15912345678", "130****5678,159****5678"),
            ("tel:19912345678;", "tel:199****5678;"),
            ("A13912345611", "A139****5611"),
            ("2024-01-15 13912345611", "2024-01-15 139****5611"),
            ("号码是17712345678吗", "号码是177****5678吗"),
        ]
    )
    func masksMobiles(input: String, expected: String) {
        #expect(PIIMasker.mask(input) == expected)
    }

    @Test(
        "18-character ID numbers keep the first 6 and last 4",
        arguments: [
            ("110101199003071234", "110101********1234"),
            ("身份证11010119900307123X。", "身份证110101********123X。"),
            ("id 11010119900307123x ok", "id 110101********123X ok"),
            ("110101 19900307 1234", "110101********1234"),
        ]
    )
    func masksIDs(input: String, expected: String) {
        #expect(PIIMasker.mask(input) == expected)
    }

    @Test(
        "e-mail addresses keep the first character and the domain",
        arguments: [
            ("zhang.san@example.com", "z***@example.com"),
            ("write to Li_Si+cs@mail.example.com.cn.", "write to L***@mail.example.com.cn."),
            ("邮箱:wang@qq.com谢谢", "邮箱:w***@qq.com谢谢"),
            ("13912345611@qq.com", "1***@qq.com"),
            ("a@b.co and c@d.org", "a***@b.co and c***@d.org"),
            ("<x.y@corp-mail.example.org>", "<x***@corp-mail.example.org>"),
        ]
    )
    func masksEmails(input: String, expected: String) {
        #expect(PIIMasker.mask(input) == expected)
    }

    @Test(
        "leaves look-alikes alone",
        arguments: [
            "",
            "no digits here, 没有数字",
            "order 12345678901",  // 11 digits, not 1[3-9]
            "订单20241234567",  // 11 digits starting 2
            "ref 10012345678",  // 1 then 0
            "11112345678",  // 1 then 1
            "12912345678",  // 1 then 2
            "order 139123456112",  // 12 digits: one number, never cut
            "card 6222021234567890",  // 16 digits: cards are left alone (documented)
            "tracking 1391234561112345678",  // 19 digits
            "1391234561",  // 10 digits
            "landline 010-12345678",
            "date 2024-01-15 10:30",
            "amount 139.50 yuan",
            "11010119900307123",  // 17 digits, no X
            "11010119900307123XY",  // X followed by a letter: a code, not an ID
            "user@localhost",  // no dot in the domain
            "@example.com",  // no local part
            "a@b.c",  // one-letter top-level label
            "price 2@3.5",
            "weibo @某用户 said",
        ]
    )
    func leavesLookAlikes(input: String) {
        #expect(PIIMasker.mask(input) == input)
    }

    @Test func mixedTextMasksEverythingOnce() {
        let text = "客户13912345611（身份证110101199003071234，邮箱zs@example.com）投诉订单20241234567"
        let masked = PIIMasker.mask(text)
        #expect(masked == "客户139****5611（身份证110101********1234，邮箱z***@example.com）投诉订单20241234567")
        for pii in ["13912345611", "110101199003071234", "zs@example.com"] { #expect(!masked.contains(pii)) }
    }

    @Test func longTextStaysValidAndBounded() {
        let unit = "我的号码13912345611，"
        let text = String(repeating: unit, count: 300)
        let masked = PIIMasker.mask(text)
        #expect(masked == String(repeating: "我的号码139****5611，", count: 300))
    }

    /// The scan skips text eight bytes at a time: whatever the alignment, and after any padding
    /// (ASCII punctuation near the digits' byte range, Chinese), a number or an address is found.
    @Test func numbersAndAddressesAreFoundAtEveryAlignment() {
        for padding in ["", "a", "中", ":;<=>?", "/", "AZ[`"] {
            for count in 0..<17 {
                let prefix = String(repeating: padding, count: count) + " "
                #expect(PIIMasker.mask(prefix + "13912345611") == prefix + "139****5611")
                #expect(PIIMasker.mask(prefix + "li@example.cn") == prefix + "l***@example.cn")
                #expect(PIIMasker.mask(prefix + "no personal data here") == prefix + "no personal data here")
            }
        }
    }
}
