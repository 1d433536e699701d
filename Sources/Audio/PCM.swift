/// Conversions between 16-bit little-endian PCM bytes (the wire format of Vonage and Lex)
/// and samples.
public enum PCM {
    /// Samples from little-endian bytes; a trailing odd byte is ignored.
    public static func samples(littleEndian bytes: some Collection<UInt8>) -> [Int16] {
        var samples: [Int16] = []
        samples.reserveCapacity(bytes.count / 2)
        var iterator = bytes.makeIterator()
        while let low = iterator.next(), let high = iterator.next() {
            samples.append(Int16(bitPattern: UInt16(low) | UInt16(high) << 8))
        }
        return samples
    }

    /// Little-endian bytes of `samples`.
    public static func littleEndianBytes(_ samples: some Collection<Int16>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(samples.count * 2)
        for sample in samples {
            let bits = UInt16(bitPattern: sample)
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        }
        return bytes
    }
}
