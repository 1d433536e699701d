/// An incremental UTF-8 validator (RFC 3629 well-formed sequences): feed any split
/// of a message and it fails on the first byte that can no longer be valid.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current sequence.
    private var need: UInt8 = 0
    /// Allowed range of the next continuation byte (narrowed after E0, ED, F0, F4).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF

    public init() {}

    /// True when no sequence is cut short at the end of what was fed.
    public var isAtBoundary: Bool { need == 0 }

    /// Consumes bytes; `false` as soon as they cannot be part of valid UTF-8.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            if need == 0 {
                // ASCII fast path, eight bytes at a time.
                while i + 8 <= n && bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                }
                if i >= n { break }
                let b = bytes[i]
                i += 1
                switch b {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: need = 1; low = 0x80; high = 0xBF
                case 0xE0: need = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: need = 2; low = 0x80; high = 0xBF
                case 0xED: need = 2; low = 0x80; high = 0x9F
                case 0xF0: need = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: need = 3; low = 0x80; high = 0xBF
                case 0xF4: need = 3; low = 0x80; high = 0x8F
                default: return false
                }
            } else {
                let b = bytes[i]
                i += 1
                guard b >= low && b <= high else { return false }
                need -= 1
                low = 0x80
                high = 0xBF
            }
        }
        return true
    }

    public mutating func consume<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        if let r = bytes.withContiguousStorageIfAvailable({ consume(UnsafeRawBufferPointer($0)) }) { return r }
        return Array(bytes).withUnsafeBytes { consume($0) }
    }

    /// Validates a complete byte string.
    public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var v = UTF8Validator()
        return v.consume(bytes) && v.isAtBoundary
    }
}
