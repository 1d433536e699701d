// swift-tools-version: 6.0
import PackageDescription

// The product and its test support. The tools (lexcall, lex-standin, wsecho, wsbench,
// floor-server, the benches) are a nested package, Tools/Package.swift, that depends on this
// one by path: the library products below are what it uses. Linux only (epoll, sd_notify).
let package = Package(
    name: "lexconnector",
    products: [
        .executable(name: "lexconnector", targets: ["lexconnector"]),
        .library(name: "WebSocketProtocol", targets: ["WebSocketProtocol"]),
        .library(name: "WebSocketServer", targets: ["WebSocketServer"]),
        .library(name: "Audio", targets: ["Audio"]),
        .library(name: "Lex", targets: ["Lex"]),
        .library(name: "LexStandIn", targets: ["LexStandIn"]),
        .library(name: "CEpoll", targets: ["CEpoll"]),
        .library(name: "CWebRTCVAD", targets: ["CWebRTCVAD"]),
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
        // libdeflate's CRC-32 (PCLMULQDQ): the event stream's message checksums.
        .target(name: "CDeflate", linkerSettings: [.linkedLibrary("deflate")]),
        .target(name: "CEpoll"),
        // nghttp2 + libssl: the HTTP/2 streaming transport (Lex StartConversation) and its stand-in.
        .target(name: "CNghttp2", linkerSettings: [.linkedLibrary("nghttp2"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]),

        // Swift modules.
        // The shared vocabulary: HTTP fields, status and response; the monotonic Instant. Pure.
        .target(name: "CoreTypes"),
        // HTTP/1.1 request parser, handshake, RFC 6455 frame codec, UTF-8 validation, the
        // WebSocket state machine: pure, no sockets (the fuzzers build this folder).
        .target(name: "WebSocketProtocol", dependencies: ["CoreTypes", "COpenSSL"]),
        // Listener, event loops, connections, output queues, plain HTTP routes.
        .target(name: "WebSocketServer", dependencies: [
            "WebSocketProtocol", "CEpoll",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Audio", dependencies: ["CoreTypes", "CWebRTCVAD", "CSpeexDSP"]),
        .target(name: "Lex", dependencies: [
            "CoreTypes", "COpenSSL", "CCurl", "CZlib", "CDeflate", "CNghttp2", "CEpoll",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test support: an in-process Amazon Lex stand-in (HTTP on loopback).
        .target(name: "LexStandIn", dependencies: ["CoreTypes", "Lex", "COpenSSL", "CNghttp2"]),
        // Test support: a blocking loopback WebSocket client with receive timeouts.
        .target(name: "WebSocketTestClient", dependencies: ["WebSocketProtocol"], path: "Tests/WebSocketTestClient"),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // sd_notify (READY=1, STOPPING=1, WATCHDOG=1) over $NOTIFY_SOCKET.
        .target(name: "SystemdSupport"),

        // The product: routes, call parameters, CallSession, configuration, events, metrics.
        .target(name: "Connector", dependencies: [
            "WebSocketProtocol", "WebSocketServer", "Audio", "Lex",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "lexconnector", dependencies: [
            "Connector", "WebSocketServer", "Lex", "SystemdSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests (Swift Testing).
        .testTarget(name: "WebSocketProtocolTests", dependencies: ["WebSocketProtocol", "TestSupport"]),
        .testTarget(name: "WebSocketServerTests", dependencies: [
            "WebSocketServer", "WebSocketTestClient", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ConnectorTests", dependencies: [
            "Connector", "LexStandIn", "WebSocketServer", "WebSocketTestClient", "Audio", "Lex", "COpenSSL",
        ]),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LexTests", dependencies: [
            "Lex", "LexStandIn", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Vectors")]),
        .testTarget(name: "SystemdSupportTests", dependencies: ["SystemdSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
