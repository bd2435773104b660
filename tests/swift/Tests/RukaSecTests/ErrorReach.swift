// Which variants of the exported error enums these tests really reach: one line per reach
// (`TlsError.PinMismatch<TAB>TlsTests.testX()`), appended to the file `$RUKASEC_REACHED_ERRORS`
// names (scripts/test-swift.sh). scripts/check-error-reach.sh prints the table (variant, test)
// and fails when a variant of bindings/src is never reached.
//
// An error counts when a test's assertion catches it from a call into Rust (the assert* helpers
// and `tlsCase` call `reached`), or when a Swift callback throws it into Rust
// (`thrownIntoRust`): recorded at run time, so a test that never gets there does not count.

import Foundation

enum ErrorReach {
    private static let lock = NSLock()
    private static let path: String? = {
        let value = ProcessInfo.processInfo.environment["RUKASEC_REACHED_ERRORS"] ?? ""
        return value.isEmpty ? nil : value
    }()

    /// `TlsError.PinMismatch` for a `TlsError.PinMismatch(reason:)`; nil for errors not of ours
    /// (the generated module is `RukaSec`, the error enums' names end in `Error`).
    static func variant(of error: Error) -> String? {
        let qualified = String(reflecting: type(of: error))
        guard qualified.hasPrefix("RukaSec."), qualified.hasSuffix("Error") else { return nil }
        let name = String(qualified.dropFirst("RukaSec.".count))
        // A case with a payload is a mirror child labelled with the case's name; a case without
        // one describes itself by its name.
        let caseName = Mirror(reflecting: error).children.first?.label ?? String(describing: error)
        return "\(name).\(caseName)"
    }

    static func record(_ error: Error, test: String) {
        guard let variant = variant(of: error), let path else { return }
        let line = Data("\(variant)\t\(test)\n".utf8)
        lock.lock()
        defer { lock.unlock() }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(line)
            handle.closeFile()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: line)
        }
    }
}

/// Records `error` as reached by the test that called the helper (`#filePath` and `#function`
/// of the call site: `TlsTests.testX()`).
func reached(_ error: Error, file: StaticString = #filePath, function: String = #function) {
    let type = URL(fileURLWithPath: "\(file)").deletingPathExtension().lastPathComponent
    ErrorReach.record(error, test: "\(type).\(function)")
}

/// Returns `error` for a Swift callback to throw into Rust, recording it.
func thrownIntoRust<E: Error>(_ error: E, file: StaticString = #filePath, function: String = #function) -> E {
    reached(error, file: file, function: function)
    return error
}
