import Foundation

/// Derived SigV4 signing keys, one per access key, secret, date, region and
/// service (the secret is part of the key so a rotated secret under the same
/// key id never reuses a stale key). Thread-safe; bounded (cleared when full).
public final class SigningKeyCache: @unchecked Sendable {
    struct Key: Hashable {
        var accessKeyId: String
        var secret: Secret
        var dateStamp: String
        var region: String
        var service: String
    }

    public static let shared = SigningKeyCache()

    private let lock = NSLock()
    private var keys: [Key: [UInt8]] = [:]
    private let capacity: Int
    private var hitCount = 0
    private var missCount = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    func key(for key: Key, derive: () -> [UInt8]) -> [UInt8] {
        lock.lock()
        if let cached = keys[key] {
            hitCount += 1
            lock.unlock()
            return cached
        }
        missCount += 1
        lock.unlock()
        let derived = derive()
        lock.lock()
        if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
        keys[key] = derived
        lock.unlock()
        return derived
    }

    /// (hits, misses) since creation.
    public var statistics: (hits: Int, misses: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (hitCount, missCount)
    }

    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return keys.count
    }
}
