import Foundation

/// Chinese wording of the simulated contacts and posts, after the scenarios of mainland
/// contact-center and public-opinion work: bill disputes, weak signal, plan changes, campaigns.
enum SimulatedText {
    /// Our brand as people write it.
    static let ownName = "天达通信"

    /// Competitors as the `brand` field carries them (their names, as the spec asks).
    static let competitors = ["星河移动", "蓝海电信", "启明宽带"]

    /// Campaigns: id, how people call it, and how well it lands (mean sentiment of posts).
    static let campaigns: [(id: String, name: String, mood: Double)] = [
        ("cmp-5g-upgrade", "5G升级季", 0.35),
        ("cmp-family-bundle", "全家享融合套餐", 0.25),
        ("cmp-double11", "双11充值返现", 0.1),
        ("cmp-unlimited-throttle", "不限量套餐", -0.45),
    ]

    /// Contact topics with their weight, department and the family a customer may show interest in.
    static let topics: [(topic: String, weight: Double, department: String)] = [
        ("billing", 24, "service"),
        ("plan", 16, "product"),
        ("network", 15, "after_sales"),
        ("broadband", 10, "after_sales"),
        ("device", 7, "after_sales"),
        ("account", 8, "service"),
        ("promotion", 7, "product"),
        ("roaming", 5, "service"),
        ("refund", 4, "service"),
        ("5g", 4, "product"),
    ]

    /// What a customer says, by topic.
    static let contactLines: [String: [String]] = [
        "billing": [
            "客户反映本月话费比上月多了四十多元,要求核实扣费明细",
            "客户对账单中的增值业务费有疑问,称从未订购",
            "客户询问话费余额和本月账单出账日期",
            "客户称流量超出被收取高额费用,情绪较激动",
        ],
        "plan": [
            "客户想把现在的套餐换成更便宜的,每月流量用不完",
            "客户咨询5G套餐资费和合约期",
            "客户要求取消合约套餐,询问违约金",
            "客户询问亲情网和副卡怎么办理",
        ],
        "network": [
            "客户反映家里和小区信号差,通话经常中断",
            "客户称地铁里4G/5G网速很慢",
            "客户投诉连续三天无法上网,多次报修无人处理",
        ],
        "broadband": [
            "客户反映宽带晚上经常掉线,要求上门检修",
            "客户咨询千兆宽带升级和安装时间",
            "客户投诉装机师傅迟到两次,宽带至今未开通",
        ],
        "device": [
            "客户咨询合约机分期剩余期数",
            "客户新买的手机无法识别SIM卡",
            "客户要求办理手机碎屏险理赔",
        ],
        "account": [
            "客户办理实名信息变更",
            "客户忘记服务密码,申请重置",
            "客户咨询积分兑换规则和有效期",
        ],
        "promotion": [
            "客户咨询充值返现活动的返还时间",
            "客户称参加活动后承诺的赠送流量没有到账",
            "客户询问老用户是否可以参加新活动",
        ],
        "roaming": [
            "客户下周出国,咨询国际漫游包",
            "客户出境后收到高额漫游扣费短信,要求解释",
        ],
        "refund": [
            "客户要求退还被误扣的费用",
            "客户销户后余额未退,第二次来电催办",
        ],
        "5g": [
            "客户咨询所在区域是否已覆盖5G",
            "客户开通5G套餐后手机仍显示4G",
        ],
    ]

    /// Public posts by tone; `{brand}` is the brand's name, `{topic}` a subject in words.
    static let positivePosts = [
        "{brand}这次{topic}处理得挺快,客服小姐姐很耐心,点赞",
        "用了{brand}半年,{topic}一直很稳定,推荐给家里人了",
        "{brand}的新活动真香,{topic}比之前划算多了",
    ]
    static let neutralPosts = [
        "有没有人用过{brand}的{topic}?求真实体验",
        "{brand}和别家的{topic}对比了一下,各有优缺点",
        "转发:{brand}发布{topic}相关新规,下月起执行",
    ]
    static let negativePosts = [
        "{brand}的{topic}太坑了,打了三次客服都没解决,准备携号转网",
        "吐槽{brand}:{topic}乱扣费,投诉无门,已经打12315了",
        "{brand}客服电话半小时打不进去,{topic}问题拖了一个星期",
        "大家避雷{brand}的{topic},宣传和实际完全不一样",
    ]
    static let mediaLines = [
        "本台记者调查:{brand}{topic}投诉情况",
        "《都市晚报》报道:{brand}推出{topic}新举措",
        "交通广播听众热线反映{brand}{topic}问题",
    ]
    static let escalationLines = [
        "消费者投诉{brand}{topic}问题多次未解决,要求运营商限期答复",
        "市民反映{brand}{topic}存在不合理收费,请求协调处理",
        "用户称已向{brand}客服投诉三次无果,申请监管部门介入",
    ]

    /// A subject in words for posts.
    static let topicWords: [String: String] = [
        "billing": "话费账单", "plan": "套餐", "network": "网络信号", "broadband": "宽带",
        "device": "合约机", "account": "账户服务", "promotion": "优惠活动", "roaming": "国际漫游",
        "refund": "退费", "5g": "5G网络",
    ]

    /// A phone number or e-mail address somebody leaves in a text (intake masks them).
    static func contactDetail(random: inout SimulationRandom) -> String {
        if random.chance(0.6) {
            let prefix = random.pick(["138", "139", "150", "186", "177", "199"])
            var digits = ""
            for _ in 0..<8 { digits += String(random.int(0...9)) }
            return ",联系电话\(prefix)\(digits)"
        }
        let user = random.pick(["zhang.wei", "li_na88", "wangfang", "chen.jie", "liu.yang"])
        let domain = random.pick(["qq.com", "163.com", "126.com", "example.cn"])
        return ",邮箱\(user)\(random.int(1...99))@\(domain)"
    }

    /// Fills `{brand}` and `{topic}`.
    static func fill(_ template: String, brand: String, topic: String) -> String {
        template.replacingOccurrences(of: "{brand}", with: brand)
            .replacingOccurrences(of: "{topic}", with: topicWords[topic] ?? topic)
    }
}
