/// Conversions between 16-bit little-endian PCM bytes (the wire format of Vonage and Lex)
/// and samples.
public enum PCM {
    /// Samples from little-endian bytes; a trailing odd byte is ignored.
    @inlinable
    public static func samples(littleEndian bytes: some Collection<UInt8>) -> [Int16] {
        let count = bytes.count / 2
        #if _endian(little)
        // Contiguous bytes (an array or a slice of one, as on the audio path): one copy.
        if let fast = bytes.withContiguousStorageIfAvailable({ raw -> [Int16] in
            [Int16](unsafeUninitializedCapacity: count) { out, initialized in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[0..<(count * 2)]))
                initialized = count
            }
        }) {
            return fast
        }
        #endif
        var samples: [Int16] = []
        samples.reserveCapacity(count)
        var iterator = bytes.makeIterator()
        while let low = iterator.next(), let high = iterator.next() {
            samples.append(Int16(bitPattern: UInt16(low) | UInt16(high) << 8))
        }
        return samples
    }

    /// Little-endian bytes of `samples`.
    @inlinable
    public static func littleEndianBytes(_ samples: some Collection<Int16>) -> [UInt8] {
        let count = samples.count
        #if _endian(little)
        if let fast = samples.withContiguousStorageIfAvailable({ src -> [UInt8] in
            [UInt8](unsafeUninitializedCapacity: count * 2) { out, initialized in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(src))
                initialized = count * 2
            }
        }) {
            return fast
        }
        #endif
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 2)
        for sample in samples {
            let bits = UInt16(bitPattern: sample)
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        }
        return bytes
    }
}
