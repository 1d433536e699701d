// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "lexconnector",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lexconnector", targets: ["lexconnector"]),
        .executable(name: "wsecho", targets: ["wsecho"]),
        .executable(name: "lexcall", targets: ["lexcall"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C modules: declarations and tiny shims over Debian's libraries.
        .target(name: "CWebRTCVAD", linkerSettings: [.linkedLibrary("webrtc_audio_processing")]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "COpenSSL", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "CSpeexDSP", linkerSettings: [.linkedLibrary("speexdsp")]),
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        // nghttp2 + libssl: the HTTP/2 streaming transport (Lex StartConversation) and its stand-in.
        .target(name: "CNghttp2", linkerSettings: [.linkedLibrary("nghttp2"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]),

        // Swift modules.
        .target(name: "WebSocketServer", dependencies: [
            "COpenSSL", "CEpoll",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Audio", dependencies: ["CWebRTCVAD", "CSpeexDSP"]),
        .target(name: "Lex", dependencies: [
            "COpenSSL", "CCurl", "CZlib", "CNghttp2", "CEpoll",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test support: an in-process Amazon Lex stand-in (HTTP on loopback).
        .target(name: "LexStandIn", dependencies: ["Lex", "COpenSSL", "CNghttp2"]),
        // sd_notify (READY=1, STOPPING=1, WATCHDOG=1) over $NOTIFY_SOCKET.
        .target(name: "SystemdSupport"),

        // The product: routes, call parameters, CallSession, configuration, events, metrics.
        .target(name: "Connector", dependencies: [
            "WebSocketServer", "Audio", "Lex",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),

        // Executables.
        .executableTarget(name: "lexconnector", dependencies: [
            "Connector", "WebSocketServer", "Lex", "SystemdSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "wsecho", dependencies: [
            "WebSocketServer",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Audio path benchmark: swift run -c release audio-bench (see BENCHMARKS.md).
        .executableTarget(name: "audio-bench", dependencies: ["Audio", "CWebRTCVAD"]),
        // Lex benchmark: swift run -c release lex-bench (see BENCHMARKS.md).
        .executableTarget(name: "lex-bench", dependencies: ["Lex", "LexStandIn"]),
        // WebSocket echo load client: scripts/bench-echo.sh (see BENCHMARKS.md).
        .executableTarget(name: "wsbench", dependencies: ["WebSocketServer"]),
        // The Lex stand-in as a process, for scripts/nginx-e2e.sh.
        .executableTarget(name: "lex-standin", dependencies: [
            "LexStandIn", "Lex", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // lexcall: call simulator and load generator (see README); floor-server: the kernel floor
        // it is measured against (see BENCHMARKS.md).
        .target(name: "CEpoll"),
        .target(name: "LexcallCore", dependencies: ["Audio", "WebSocketServer"]),
        .executableTarget(name: "lexcall", dependencies: ["LexcallCore", "CEpoll", "Audio", "WebSocketServer", "Lex", "LexStandIn"]),
        .executableTarget(name: "floor-server", dependencies: ["CEpoll", "WebSocketServer"]),

        // Tests (Swift Testing).
        .testTarget(name: "WebSocketServerTests", dependencies: [
            "WebSocketServer", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ConnectorTests", dependencies: ["Connector", "LexStandIn", "WebSocketServer", "Audio", "Lex", "COpenSSL"]),
        .testTarget(name: "AudioTests", dependencies: ["Audio"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LexTests", dependencies: [
            "Lex", "LexStandIn", .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Vectors")]),
        .testTarget(name: "SystemdSupportTests", dependencies: ["SystemdSupport"]),
        .testTarget(name: "LexcallTests", dependencies: ["LexcallCore", "Audio"]),
    ],
    swiftLanguageModes: [.v6]
)
