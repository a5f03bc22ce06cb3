import Foundation
import Models

/// Realistic raw interactions for benchmarks, deterministic for a seed: contacts over every channel
/// and its aliases (English and Chinese), Chinese text with phone numbers, ID numbers and e-mail
/// addresses to mask, public opinion posts, adapter retries and invalid records. About 400 bytes each.
struct RawInteractionSamples {
    enum Kind { case valid, duplicate, invalid }

    struct Sample {
        var key: [UInt8]
        var value: [UInt8]
        var kind: Kind
    }

    private var state: UInt64
    private let stamp: String
    private var recent: [Sample] = []

    static let contactChannels = [
        "phone", "电话", "chat", "在线", "WeChat", "微信", "app", "sms", "短信", "email", "邮件", "store", "门店",
        "12315", "12345",
    ]
    static let publicChannels = ["weibo", "微博", "tieba", "贴吧", "zhihu", "知乎", "toutiao", "头条", "公众号", "电视台", "报纸"]
    static let kinds = ["inquiry", "inquiry", "request", "complaint", "follow_up", "survey"]
    static let departments = ["service", "after_sales", "product", "store"]
    static let topics = ["billing", "Network Quality", "plan change", "broadband install", "roaming", "device repair"]
    static let texts = [
        "用户来电咨询本月账单，称流量套餐超出较多，希望改成更合适的套餐，回拨电话 139 1234 5611。",
        "客户反映家里宽带晚上经常掉线，已经报修两次仍未解决，情绪较激动，要求尽快上门处理。",
        "咨询国际漫游资费，下周出差香港，想了解日租包价格，邮箱 zhang.wei@example.com 请发资料。",
        "客户要求办理携号转网，原因是资费太高，坐席挽留并介绍了新套餐，客户表示考虑一下。",
        "身份证号 11010519491231002X 的客户申请补办SIM卡，已核实身份并受理，预计明天到营业厅领取。",
        "老客户来电表扬装维师傅服务好，顺便咨询家庭融合套餐和智能音箱的优惠活动。",
    ]
    static let posts = [
        "这家运营商的5G信号在地铁里真不错，网速比以前快多了 #5G体验#",
        "客服电话打了半小时都没人接，投诉无门，考虑换一家了",
        "双十一的宽带优惠看起来很划算，有没有人办过？说说体验",
    ]

    init(seed: UInt64, now: Date) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        stamp = Timestamp.format(now.addingTimeInterval(-120)) ?? "2026-11-25T08:00:00.000Z"
    }

    /// SplitMix64.
    private mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(random() % UInt64(values.count))] }

    /// The record at `index` of a stream: 2 % repeats of a recent record (an adapter's retry, same key),
    /// 1 % invalid (not JSON, an array, a survey score out of range, an unknown channel), else valid.
    mutating func next(index: Int) -> Sample {
        let roll = random() % 100
        if roll < 2, !recent.isEmpty {
            var sample = pick(recent)
            sample.kind = .duplicate
            return sample
        }
        if roll == 2 {
            let customer = Array("C-\(100_000 + index % 200_000)".utf8)
            let broken: String
            switch index % 4 {
            case 0: broken = #"{"eventId":"bad-\#(index)","occurredAt":"\#(stamp)","channel":"phone""#
            case 1: broken = "[\(index),1,2]"
            case 2:
                broken =
                    #"{"eventId":"bad-\#(index)","occurredAt":"\#(stamp)","channel":"phone","kind":"survey","customerId":"C-1","csat":9}"#
            default:
                broken =
                    #"{"eventId":"bad-\#(index)","occurredAt":"\#(stamp)","channel":"carrier pigeon","kind":"inquiry","customerId":"C-1"}"#
            }
            return Sample(key: customer, value: Array(broken.utf8), kind: .invalid)
        }
        let sample = valid(eventId: "ev-\(state % 1_000_000_007)-\(index)", index: index)
        if recent.count < 64 {
            recent.append(sample)
        } else {
            recent[index % 64] = sample
        }
        return sample
    }

    /// A valid record: 90 % contacts of a customer, 10 % public opinion posts (keyed by eventId).
    mutating func valid(eventId: String, index: Int) -> Sample {
        if random() % 10 == 0 {
            let json =
                #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"\#(pick(Self.publicChannels))","kind":"opinion","brand":"\#(random() % 3 == 0 ? "competitor:unicom" : "own")","reach":\#(random() % 50_000),"sentiment":\#(Double(Int(random() % 200) - 100) / 100),"topic":"network","campaignId":"double11","text":"\#(pick(Self.posts))"}"#
            return Sample(key: Array(eventId.utf8), value: Array(json.utf8), kind: .valid)
        }
        let customer = "C-\(100_000 + Int(random() % 200_000))"
        let kind = pick(Self.kinds)
        let survey = kind == "survey" ? #","csat":\#(1 + random() % 5),"nps":\#(random() % 11)"# : ""
        let json =
            #"{"eventId":"\#(eventId)","occurredAt":"\#(stamp)","channel":"\#(pick(Self.contactChannels))","kind":"\#(kind)","customerId":"\#(customer)","department":"\#(pick(Self.departments))","topic":"\#(pick(Self.topics))","queue":"q\#(random() % 40)","agentId":"A\#(random() % 500)","waitSeconds":\#(random() % 90),"answered":true,"handleSeconds":\#(60 + random() % 600),"resolved":\#(random() % 4 != 0),"sentiment":\#(Double(Int(random() % 200) - 100) / 100)\#(survey),"text":"\#(pick(Self.texts))"}"#
        return Sample(key: Array(customer.utf8), value: Array(json.utf8), kind: .valid)
    }
}
