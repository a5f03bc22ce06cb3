import Foundation

extension FastJSON {
    /// Appends a ``Lead`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns.
    ///
    /// On error nothing is appended.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` for a non-finite number or a date outside years
    ///   0001–9999, with the reference's message (the first failure in declaration order).
    public static func encode(_ lead: Lead, into buffer: inout [UInt8]) throws(ModelError) {
        // Foundation encodes in declaration order and stops at the first failure: check in that order.
        let createdAt = try millis("createdAt", lead.createdAt)
        try finite("propensity", lead.propensity)
        try finite("estimatedMonthlySaving", lead.estimatedMonthlySaving)
        let notBefore = try millis("followUp.notBefore", lead.followUp.notBefore)
        let expiresAt = try millis("followUp.expiresAt", lead.followUp.expiresAt)

        let l = lead
        var bound = Bound()
        bound.add(l.leadId, l.customerId, l.type.rawValue, l.productId, l.productName, l.script)
        bound.add(l.riskLevel.rawValue, l.tier, l.reason, l.triggerEventId)
        bound.add(l.followUp.channel.rawValue, l.followUp.assignee.rawValue)
        FastJSONWriter.write(into: &buffer, bound: bound.bytes) { writer in
            writer.beginObject()
            writer.field("createdAt", millis: createdAt)
            writer.field("customerId", l.customerId)
            writer.field("estimatedMonthlySaving", l.estimatedMonthlySaving)
            writer.key("followUp")
            writer.beginObject()
            writer.field("assignee", l.followUp.assignee.rawValue)
            writer.field("channel", l.followUp.channel.rawValue)
            writer.field("expiresAt", millis: expiresAt)
            writer.field("notBefore", millis: notBefore)
            writer.endObject()
            writer.field("leadId", l.leadId)
            writer.field("productId", l.productId)
            writer.field("productName", l.productName)
            writer.field("propensity", l.propensity)
            writer.field("reason", l.reason)
            writer.field("riskLevel", l.riskLevel.rawValue)
            writer.field("script", l.script)
            writer.field("tier", l.tier)
            writer.field("triggerEventId", l.triggerEventId)
            writer.field("type", l.type.rawValue)
            writer.endObject()
        }
    }

    /// Appends a ``LeadSuppression`` as JSON to `buffer`: the bytes ``TandemJSON/encode(_:)`` returns.
    ///
    /// On error nothing is appended.
    ///
    /// - Throws: ``ModelError/encoding(message:)`` when `occurredAt` is outside years 0001–9999.
    public static func encode(_ suppression: LeadSuppression, into buffer: inout [UInt8]) throws(ModelError) {
        let occurredAt = try millis("occurredAt", suppression.occurredAt)

        let s = suppression
        var bound = Bound()
        bound.add(s.suppressionId, s.customerId, s.type.rawValue, s.reason.rawValue, s.tier, s.triggerEventId)
        FastJSONWriter.write(into: &buffer, bound: bound.bytes) { writer in
            writer.beginObject()
            writer.field("customerId", s.customerId)
            writer.field("occurredAt", millis: occurredAt)
            writer.field("reason", s.reason.rawValue)
            writer.field("suppressionId", s.suppressionId)
            writer.field("tier", s.tier)
            writer.field("triggerEventId", s.triggerEventId)
            writer.field("type", s.type.rawValue)
            writer.endObject()
        }
    }

    /// Encodes a ``Lead`` into a new array (see ``encode(_:into:)-(Lead,_)``).
    public static func encode(_ lead: Lead) throws(ModelError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(lead, into: &bytes)
        return bytes
    }

    /// Encodes a ``LeadSuppression`` into a new array (see ``encode(_:into:)-(LeadSuppression,_)``).
    public static func encode(_ suppression: LeadSuppression) throws(ModelError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(suppression, into: &bytes)
        return bytes
    }
}
