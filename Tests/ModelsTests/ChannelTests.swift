import Testing

@testable import Models

@Suite("channels")
struct ChannelTests {
    @Test func everyChannelOfTheSpecInItsGroup() {
        let contact: Set<Channel> = [.phone, .chat, .wechat, .app, .sms, .email, .store]
        let online: Set<Channel> = [.weibo, .tieba, .zhihu, .toutiao, .wechatOfficial]
        let offline: Set<Channel> = [
            .tv, .radio, .newspaper, .hotline12315, .hotline12345, .regulator, .industryAssociation,
        ]
        #expect(Channel.allCases.count == 19)
        #expect(Set(Channel.allCases.filter { $0.channelGroup == .contact }) == contact)
        #expect(Set(Channel.allCases.filter { $0.channelGroup == .onlineOpinion }) == online)
        #expect(Set(Channel.allCases.filter { $0.channelGroup == .offlineOpinion }) == offline)
    }

    @Test func liveAndEscalationChannels() {
        #expect(Set(Channel.allCases.filter(\.isLive)) == [.phone, .chat, .wechat, .app])
        #expect(
            Set(Channel.allCases.filter(\.isEscalation)) == [
                .hotline12315, .hotline12345, .regulator, .industryAssociation,
            ]
        )
    }

    @Test func wireNames() {
        #expect(Channel.wechatOfficial.rawValue == "wechat_official")
        #expect(Channel.hotline12315.rawValue == "hotline_12315")
        #expect(Channel.hotline12345.rawValue == "hotline_12345")
        #expect(Channel.industryAssociation.rawValue == "industry_association")
        #expect(ChannelGroup.onlineOpinion.rawValue == "online_opinion")
        #expect(ChannelGroup.offlineOpinion.rawValue == "offline_opinion")
    }

    @Test(arguments: [
        ("WeChat", Channel.wechat), ("weixin", .wechat), ("微信", .wechat), (" WECHAT\t", .wechat),
        ("12315", .hotline12315), ("12345", .hotline12345), ("online", .chat), ("webchat", .chat),
        ("Web-Chat", .chat), ("在线", .chat), ("电话", .phone), ("Telephone", .phone), ("短信", .sms),
        ("邮件", .email), ("E-mail", .email), ("微博", .weibo), ("贴吧", .tieba), ("知乎", .zhihu),
        ("头条", .toutiao), ("公众号", .wechatOfficial), ("门店", .store), ("电视台", .tv), ("电台", .radio),
        ("报纸", .newspaper), ("hotline_12315", .hotline12315), ("Industry Association", .industryAssociation),
        ("regulator", .regulator),
    ])
    func aliases(alias: String, expected: Channel) {
        #expect(Channel(alias: alias) == expected)
        #expect(Self.fromUTF8(alias) == expected)
    }

    @Test(arguments: ["", "   ", "fax", "wechat official pay", "12306", "phone1", "微"])
    func unknownAliases(alias: String) {
        #expect(Channel(alias: alias) == nil)
        #expect(Self.fromUTF8(alias) == nil)
    }

    static func fromUTF8(_ alias: String) -> Channel? {
        var alias = alias
        return alias.withUTF8 { Channel(aliasUTF8: $0, table: Channel.exactNames()) }
    }
}
