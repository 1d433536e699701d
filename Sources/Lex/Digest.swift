import COpenSSL

/// SHA-256 and HMAC-SHA256 through OpenSSL's libcrypto.
enum Digest {
    static func sha256<Bytes: Collection<UInt8>>(_ data: Bytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let done: Void? = data.withContiguousStorageIfAvailable { buffer in
            out.withUnsafeMutableBufferPointer { lc_sha256(buffer.baseAddress, buffer.count, $0.baseAddress) }
        }
        if done == nil {
            let copy = Array(data)
            copy.withUnsafeBufferPointer { buffer in
                out.withUnsafeMutableBufferPointer { lc_sha256(buffer.baseAddress, buffer.count, $0.baseAddress) }
            }
        }
        return out
    }

    static func sha256(_ string: String) -> [UInt8] {
        var string = string
        return string.withUTF8 { sha256($0) }
    }

    static func hmacSHA256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    // Only fails on allocation failure inside OpenSSL.
                    let ok = lc_hmac_sha256(k.baseAddress, k.count, d.baseAddress, d.count, o.baseAddress)
                    precondition(ok == 1, "HMAC-SHA256 failed inside OpenSSL")
                }
            }
        }
        return out
    }

    static func hmacSHA256(key: [UInt8], string: String) -> [UInt8] {
        hmacSHA256(key: key, data: Array(string.utf8))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in lc_const_time_equal(pa.baseAddress, pb.baseAddress, pa.count) == 1 }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ string: String) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
