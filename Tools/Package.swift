// swift-tools-version: 6.0
import PackageDescription

// The tools around lexconnector: a call simulator and load generator, the Lex stand-in as a
// process, the servers and clients the benchmarks and Autobahn use, and the benches. Not
// shipped; they depend on the product package (..) through its library products.
// Build: swift build --package-path Tools (make demo, make bench and make test do).
let package = Package(
    name: "lexconnector-tools",
    dependencies: [
        .package(name: "lexconnector", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // lexcall: call simulator and load generator (see README); floor-server: the kernel
        // floor it is measured against (see BENCHMARKS.md).
        .target(name: "LexcallCore", dependencies: [
            .product(name: "Audio", package: "lexconnector"),
            .product(name: "WebSocketProtocol", package: "lexconnector"),
        ]),
        .executableTarget(name: "lexcall", dependencies: [
            "LexcallCore",
            .product(name: "CEpoll", package: "lexconnector"),
            .product(name: "Audio", package: "lexconnector"),
            .product(name: "WebSocketProtocol", package: "lexconnector"),
            .product(name: "Lex", package: "lexconnector"),
            .product(name: "LexStandIn", package: "lexconnector"),
        ]),
        .executableTarget(name: "floor-server", dependencies: [
            .product(name: "CEpoll", package: "lexconnector"),
            .product(name: "WebSocketProtocol", package: "lexconnector"),
        ]),
        // The Lex stand-in as a process, for scripts/test/nginx-e2e.sh.
        .executableTarget(name: "lex-standin", dependencies: [
            .product(name: "LexStandIn", package: "lexconnector"),
            .product(name: "Lex", package: "lexconnector"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Echo server on the product's WebSocketServer: scripts/test/autobahn.sh, scripts/bench/echo.sh.
        .executableTarget(name: "wsecho", dependencies: [
            .product(name: "WebSocketServer", package: "lexconnector"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // WebSocket echo load client: scripts/bench/echo.sh (see BENCHMARKS.md).
        .executableTarget(name: "wsbench", dependencies: [
            .product(name: "WebSocketProtocol", package: "lexconnector"),
        ]),
        // StartConversation event stream CPU per event: swift run --package-path Tools -c release eventstream-bench.
        .executableTarget(name: "eventstream-bench", dependencies: [
            .product(name: "Lex", package: "lexconnector"),
        ]),
        // Segmentation in noise: scripts/fixtures/make-segmentation-fixtures.sh, then
        // swift run --package-path Tools -c release segmentation-bench (see BENCHMARKS.md).
        .executableTarget(name: "segmentation-bench", dependencies: [
            .product(name: "Audio", package: "lexconnector"),
        ]),
        // Audio path benchmark: swift run --package-path Tools -c release audio-bench (see BENCHMARKS.md).
        .executableTarget(name: "audio-bench", dependencies: [
            .product(name: "Audio", package: "lexconnector"),
            .product(name: "CWebRTCVAD", package: "lexconnector"),
        ]),
        // Lex benchmark: swift run --package-path Tools -c release lex-bench (see BENCHMARKS.md).
        .executableTarget(name: "lex-bench", dependencies: [
            .product(name: "Lex", package: "lexconnector"),
            .product(name: "LexStandIn", package: "lexconnector"),
        ]),

        .testTarget(name: "LexcallTests", dependencies: [
            "LexcallCore", .product(name: "Audio", package: "lexconnector"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
