/// Where an interaction happened (SPEC §2, "Channels").
public enum Channel: String, Codable, Sendable, Hashable, CaseIterable {
    // Contact channels.
    case phone, chat, wechat, app, sms, email, store
    // Online opinion.
    case weibo, tieba, zhihu, toutiao
    case wechatOfficial = "wechat_official"
    // Offline and regulatory opinion.
    case tv, radio, newspaper
    case hotline12315 = "hotline_12315"
    case hotline12345 = "hotline_12345"
    case regulator
    case industryAssociation = "industry_association"

    /// Which family of channels this is, for KPIs and routing.
    public var channelGroup: ChannelGroup {
        switch self {
        case .phone, .chat, .wechat, .app, .sms, .email, .store: return .contact
        case .weibo, .tieba, .zhihu, .toutiao, .wechatOfficial: return .onlineOpinion
        case .tv, .radio, .newspaper, .hotline12315, .hotline12345, .regulator, .industryAssociation:
            return .offlineOpinion
        }
    }

    /// Live channels have answer and abandon metrics: phone, chat, wechat, app.
    public var isLive: Bool {
        switch self {
        case .phone, .chat, .wechat, .app: return true
        default: return false
        }
    }

    /// True for consumer hotlines and regulators: a contact there is an escalation.
    ///
    /// The spec names "hotline/regulator channels"; the industry association is a regulator-like
    /// body customers complain to, so it counts too.
    public var isEscalation: Bool {
        switch self {
        case .hotline12315, .hotline12345, .regulator, .industryAssociation: return true
        default: return false
        }
    }

    /// Normalises a channel name as adapters send it: canonical names in any case and with
    /// surrounding whitespace, common English spellings, and the Chinese names.
    ///
    /// `"WeChat"`, `"weixin"`, `"微信"` → ``wechat``; `"12315"` → ``hotline12315``;
    /// `"online"`, `"webchat"`, `"在线"` → ``chat``. Returns `nil` for anything else.
    public init?(alias: String) {
        // Most adapters send a canonical name or an exact alias: no trimming or case folding then.
        // One hash lookup in names and aliases together (a `rawValue` init compares the cases in turn).
        if let channel = Channel.names[alias] {
            self = channel
            return
        }
        let key = alias.trimmingWhitespace().lowercased()
        guard let channel = Channel.names[key] ?? Channel.names[key.replacingSeparators()] else { return nil }
        self = channel
    }

    /// ``init(alias:)`` for UTF-8 bytes, with the canonical names and exact aliases matched on
    /// their bytes in `table` (``exactNames()``), without making a string; anything else (case,
    /// whitespace, separators) goes through ``init(alias:)``. A byte match is a string match, so
    /// the result is always that of ``init(alias:)``.
    init?(aliasUTF8 bytes: UnsafeBufferPointer<UInt8>, table: NameTable<Channel>) {
        if let channel = table.value(bytes) {
            self = channel
            return
        }
        self.init(alias: String(decoding: bytes, as: UTF8.self))
    }

    /// A new table of the canonical names and aliases (those of up to 16 bytes). Hot paths keep
    /// their own: a table shared by threads would have its reference count bounce between cores.
    static func exactNames() -> NameTable<Channel> { NameTable(names.map { ($0.key, $0.value) }) }

    /// The canonical names and the aliases.
    private static let names: [String: Channel] = aliases.merging(allCases.map { ($0.rawValue, $0) }) { _, name in
        name
    }

    /// Aliases, lower-cased, with `-` and spaces written as `_`.
    private static let aliases: [String: Channel] = [
        "weixin": .wechat, "wx": .wechat, "微信": .wechat,
        "12315": .hotline12315, "hotline12315": .hotline12315, "12315热线": .hotline12315,
        "12345": .hotline12345, "hotline12345": .hotline12345, "12345热线": .hotline12345,
        "online": .chat, "webchat": .chat, "web_chat": .chat, "livechat": .chat, "live_chat": .chat,
        "在线": .chat, "在线客服": .chat,
        "telephone": .phone, "tel": .phone, "voice": .phone, "call": .phone, "电话": .phone,
        "短信": .sms, "text_message": .sms,
        "e_mail": .email, "mail": .email, "邮件": .email, "电子邮件": .email,
        "mobile_app": .app, "application": .app, "手机app": .app, "客户端": .app,
        "shop": .store, "retail": .store, "门店": .store, "营业厅": .store,
        "sina_weibo": .weibo, "微博": .weibo,
        "baidu_tieba": .tieba, "贴吧": .tieba,
        "知乎": .zhihu,
        "头条": .toutiao, "今日头条": .toutiao,
        "wechatofficial": .wechatOfficial, "wechat_official_account": .wechatOfficial,
        "official_account": .wechatOfficial,
        "公众号": .wechatOfficial, "微信公众号": .wechatOfficial,
        "television": .tv, "电视": .tv, "电视台": .tv,
        "电台": .radio, "广播": .radio,
        "newspapers": .newspaper, "press": .newspaper, "报纸": .newspaper,
        "监管": .regulator, "监管机构": .regulator,
        "industryassociation": .industryAssociation, "行业协会": .industryAssociation,
    ]
}

/// The family of a channel (SPEC §2, Interaction).
public enum ChannelGroup: String, Codable, Sendable, Hashable, CaseIterable {
    /// Customers contacting us: phone, chat, wechat, app, sms, email, store.
    case contact
    /// Public posts online: weibo, tieba, zhihu, toutiao, WeChat official accounts.
    case onlineOpinion = "online_opinion"
    /// Media and regulatory channels: tv, radio, newspaper, hotlines, regulators.
    case offlineOpinion = "offline_opinion"
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    fileprivate func replacingSeparators() -> String {
        String(map { $0 == "-" || $0 == " " ? "_" : $0 })
    }
}
