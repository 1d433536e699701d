import CNghttp2

/// Header fields as nghttp2 takes them (`nghttp2_nv`), for the HTTP/2 client's requests and the
/// stand-in's responses and trailers. Names go out in lower case, as HTTP/2 requires (RFC 9113
/// §8.2.1: a field name with an upper-case letter makes the message malformed), whatever case the
/// caller used; values as given. (nghttp2's submit functions lower-case the names they copy as
/// well; lower-casing here keeps the rule ours and testable.) A sensitive field
/// (`HTTPField.isSensitive`) is flagged never-indexed, so HPACK keeps it out of the dynamic
/// tables (RFC 7541 §7.1.3).
package enum HTTP2NameValues {
    /// Calls `body` with one `nghttp2_nv` per field, in order. The name and value bytes live
    /// until `body` returns (nghttp2 copies them when a frame is submitted).
    package static func with<T>(_ fields: HTTPFields, _ body: (UnsafeBufferPointer<nghttp2_nv>) -> T) -> T {
        var pointers: [UnsafeMutablePointer<UInt8>] = []
        pointers.reserveCapacity(fields.count * 2)
        defer { pointers.forEach { $0.deallocate() } }
        func copy(_ text: String, lowerCase: Bool) -> (UnsafeMutablePointer<UInt8>, Int) {
            let count = text.utf8.count
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, count))
            for (i, byte) in text.utf8.enumerated() {
                p[i] = lowerCase && byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            }
            pointers.append(p)
            return (p, count)
        }
        let nva = fields.map { field in
            let (name, value) = (copy(field.name, lowerCase: true), copy(field.value, lowerCase: false))
            return nghttp2_nv(name: name.0, value: value.0, namelen: name.1, valuelen: value.1,
                              flags: UInt8(field.isSensitive ? NGHTTP2_NV_FLAG_NO_INDEX.rawValue : NGHTTP2_NV_FLAG_NONE.rawValue))
        }
        return nva.withUnsafeBufferPointer(body)
    }
}
