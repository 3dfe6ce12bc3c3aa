extension StepResult {
    /// The record as JSON, keys in a fixed order, one object.
    public var json: String {
        var fields: [(String, String)] = [
            ("status", JSONText.string(status.rawValue)),
            ("exitCode", exitCode.map { "\($0)" } ?? "null"),
            ("signal", signal.map { "\($0)" } ?? "null"),
            ("wallSeconds", JSONText.seconds(wallSeconds)),
            ("cpuSeconds", JSONText.seconds(cpuSeconds)),
            ("peakMemoryBytes", "\(peakMemoryBytes)"),
            ("stdoutBytes", "\(stdoutBytes)"),
            ("stderrBytes", "\(stderrBytes)"),
            ("limitsHit", "[" + limitsHit.map { JSONText.string($0.rawValue) }.joined(separator: ", ") + "]"),
            (
                "deniedSyscalls",
                "["
                    + deniedSyscalls.map { "{\"name\": \(JSONText.string($0.name)), \"count\": \($0.count)}" }
                    .joined(separator: ", ") + "]"
            ),
        ]
        if let setupFailure {
            fields.append(
                (
                    "setupFailure",
                    "{\"stage\": \(JSONText.string(setupFailure.stage.name)), \"errno\": \(setupFailure.errno.map { "\($0)" } ?? "null"), "
                        + "\"message\": \(JSONText.string(setupFailure.message))}"
                ))
        }
        return "{\n" + fields.map { "  \(JSONText.string($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}

/// The little JSON writing the records need, without Foundation.
public enum JSONText {
    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Seconds to the millisecond; finite always.
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "0" }
        let millis = UInt64((value * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
