// swift-tools-version:6.0
//
// Swift binding tests for RukaSec. Run them with `scripts/test-swift.sh`, which generates the
// bindings, copies the generated `RukaSec.swift` into Sources/RukaSec/ (git-ignored), writes the
// examples of docs/INTEGRATION.md as Tests/RukaSecTests/IntegrationExamples.swift (git-ignored,
// scripts/doc_examples.py), and passes
// what the package cannot know by itself: the `RukaSecFFI` module map
// (`-Xcc -fmodule-map-file=...`), the directory of `librukasec_ffi.so` (`-L`, and
// `LD_LIBRARY_PATH` at run time) and `RUKASEC_ROOT` for the fixtures.
import PackageDescription

let package = Package(
    name: "RukaSecSwiftTests",
    targets: [
        // The UniFFI-generated Swift code, exactly as an app would ship it.
        .target(
            name: "RukaSec",
            path: "Sources/RukaSec",
            sources: ["RukaSec.swift"],
            // Swift 5 mode for the generated code: in Swift 6 mode, Swift 6.0.3 crashes compiling
            // UniFFI's helper for async foreign methods (the `Authenticator`), and UniFFI's async
            // foreign-trait code is not yet clean under strict concurrency (uniffi-rs #2929).
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: [.linkedLibrary("rukasec_ffi")]
        ),
        .testTarget(
            name: "RukaSecTests",
            dependencies: ["RukaSec"],
            path: "Tests/RukaSecTests"
        ),
    ]
)
